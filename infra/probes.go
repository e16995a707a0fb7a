package infra

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"

	"github.com/kopscalico/kopscalico/internal/demo"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/policies"
	"github.com/kopscalico/kopscalico/internal/probe"
)

// probesType is the component the probe Jobs and their verdicts are
// children of; its "table" output is the verdicts' table.
const probesType = "kopscalico:probes:Probes"

type probesComponent struct {
	pulumi.ResourceState
}

// probeVerdicts is the plugin's record of what the probe Jobs observed: read
// from their pods once, when the Jobs have run, and kept in the state, so
// later runs need no pod.
type probeVerdicts struct {
	pulumi.CustomResourceState

	// Table is expected against observed for every probe.
	Table pulumi.StringOutput `pulumi:"table"`
}

// probeArgs are what deployProbes needs.
type probeArgs struct {
	// Namespace is where the demo workloads run and the probes are made.
	Namespace string
	// Set is the deployed policies: any change to them changes the probes'
	// revision, so the Jobs are replaced and the probes run again.
	Set *policies.Set
	// Expect gives the expected verdicts; policyExpect computes them from Set.
	Expect probe.Expect
	// Kubeconfig (secret) is what the plugin reads the probe pods with.
	Kubeconfig pulumi.StringOutput
	// ClusterRevision is the Cluster's revision ("" for a cluster the
	// program does not manage): a roll of the nodes runs the probes again.
	ClusterRevision pulumi.StringInput
	// Zones are the cluster's zones: with two or more, each probe runs from
	// another zone than its target and from the same one (probe.Place).
	Zones []string
	// DependsOn: the policies and the demo workloads; the probes run once
	// they are all in place.
	DependsOn []pulumi.Resource
}

// policyExpect computes the expected verdicts of the demo probes from the
// manifests: the same model as the reachability output (the policies of set
// and the demo workloads of namespace).
func policyExpect(set *policies.Set, namespace string) (probe.Expect, error) {
	return probe.PolicyExpect(reachabilityModel(set, namespace), probe.DemoSources(namespace))
}

// probeRevision digests what the probes prove: the probes themselves (with
// their expected verdicts), the policies and the demo workloads.
func probeRevision(probes []probe.Probe, set *policies.Set, namespace string) (string, error) {
	// Objects only, not their file paths: moving the folder (another
	// checkout, a relative path) must not rerun the probes.
	var namespaces []corev1.Namespace
	for _, n := range set.Namespaces {
		namespaces = append(namespaces, n.Object)
	}
	b, err := json.Marshal(struct {
		Probes     []probe.Probe
		Namespaces []corev1.Namespace
		Policies   any
		Demo       demo.Workloads
	}{probes, namespaces, set.AllPolicies(), demo.New(namespace)})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}

// jobRevision is the Jobs' revision: what the probes prove and the cluster
// they run on. It is known at preview whenever the cluster's revision is (an
// unchanged Cluster hands back its recorded one), so an unchanged stack
// previews no Job change.
func jobRevision(probesDigest string, clusterRevision pulumi.StringInput) pulumi.StringOutput {
	return clusterRevision.ToStringOutput().ApplyT(func(cluster string) string {
		if cluster == "" {
			return probesDigest
		}
		sum := sha256.Sum256([]byte(probesDigest + "/" + cluster))
		return hex.EncodeToString(sum[:8])
	}).(pulumi.StringOutput)
}

// deployProbes registers one Job per probe (pulumi-kubernetes waits for each
// to complete) on k8s, then the plugin's ProbeVerdicts on kops, which reads
// their verdicts once the Jobs are done and fails `up` with the table when
// any differs from what the policies say. It returns the table: unknown at
// the preview of a run that runs the probes, the recorded one otherwise.
func deployProbes(ctx *pulumi.Context, args probeArgs, k8s, kops pulumi.ProviderResource) (pulumi.StringOutput, error) {
	targets := append(probe.DemoTargets(args.Namespace), probe.DNSTarget())
	probes, err := probe.Plan(args.Expect, probe.DemoSources(args.Namespace), targets)
	if err == nil {
		probes, err = probe.Place(probes, args.Zones)
	}
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("plan probes: %w", err)
	}
	digest, err := probeRevision(probes, args.Set, args.Namespace)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("probe revision: %w", err)
	}
	clusterRevision := args.ClusterRevision
	if clusterRevision == nil {
		clusterRevision = pulumi.String("")
	}
	revision := jobRevision(digest, clusterRevision)

	comp := &probesComponent{}
	if err := ctx.RegisterComponentResource(probesType, "probes", comp); err != nil {
		return pulumi.StringOutput{}, err
	}
	jobs := make([]pulumi.Resource, 0, len(probes))
	jobURNs := pulumi.StringMap{}
	for _, p := range probes {
		job := probe.Job(p, "")
		obj, err := toObjectMap(&job)
		if err == nil {
			err = setRevision(obj, revision)
		}
		if err != nil {
			return pulumi.StringOutput{}, fmt.Errorf("probe %s: %w", p.Name, err)
		}
		// DeleteBeforeReplace: the new Job has the old one's name, also on a
		// `pulumi up --replace`, where pulumi-kubernetes sees no change that
		// would tell it so and would delete the new Job as the old one.
		res, err := deployObject(ctx, args.Namespace+"/"+p.Name, obj,
			pulumi.Provider(k8s), pulumi.Parent(comp), pulumi.DependsOn(args.DependsOn), pulumi.DeleteBeforeReplace(true))
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		jobs = append(jobs, res)
		jobURNs[p.Name] = res.URN().ToStringOutput()
	}

	run := &pluginapi.ProbeVerdictsArgs{ProbeRun: pluginapi.ProbeRun{Namespace: args.Namespace, Probes: probes}}
	inputs, err := wireInputs(run, lateInput{&run.Kubeconfig, args.Kubeconfig}, lateInput{&run.Jobs, jobURNs}, lateInput{&run.Revision, revision})
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	verdicts := &probeVerdicts{}
	// DependsOn the Jobs: their registration returns once they have
	// completed, so the verdicts are read from finished pods.
	err = ctx.RegisterResource(pluginapi.ProbeVerdictsType, "probes", inputs, verdicts,
		pulumi.Provider(kops), pulumi.Parent(comp), pulumi.DependsOn(jobs))
	if err != nil {
		return pulumi.StringOutput{}, err
	}
	if err := ctx.RegisterResourceOutputs(comp, pulumi.Map{"table": verdicts.Table}); err != nil {
		return pulumi.StringOutput{}, err
	}
	return verdicts.Table, nil
}

// setRevision puts the Jobs' revision into a rendered Job's pod template
// annotation: a new revision changes the template, so the Job is replaced.
func setRevision(job map[string]any, revision pulumi.StringOutput) error {
	m := job
	for _, key := range []string{"spec", "template", "metadata", "annotations"} {
		next, ok := m[key].(map[string]any)
		if !ok {
			return fmt.Errorf("rendered Job has no %s for the revision", key)
		}
		m = next
	}
	m[probe.RevisionAnnotation] = revision
	return nil
}
