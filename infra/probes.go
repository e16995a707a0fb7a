package infra

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	corev1 "k8s.io/api/core/v1"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/demo"
	"github.com/kopscalico/kopscalico/internal/probe"
	"github.com/kopscalico/kopscalico/policies"
)

// probesType is the component the probe Jobs are children of; its "table"
// output is the comparison of expected and observed verdicts.
const probesType = "kopscalico:probes:Probes"

type probesComponent struct {
	pulumi.ResourceState
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
	// Kubeconfig (secret) is what Reader reads the probe logs with.
	Kubeconfig pulumi.StringOutput
	Reader     probe.ResultReader
	// DependsOn: the policies and the demo workloads; the probes run once
	// they are all in place.
	DependsOn []pulumi.Resource
}

// policyExpect computes the expected verdicts of the demo probes from the
// manifests: the same model as the reachability output (the policies of set
// and the demo workloads of namespace).
func policyExpect(set *policies.Set, namespace string) (probe.Expect, error) {
	return probe.PolicyExpect(reachabilityModel(set, namespace).Cluster, probe.DemoSources(namespace))
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

// deployProbes registers one Job per probe (pulumi-kubernetes waits for each
// to complete) and returns the table of expected against observed verdicts.
// On `up` it reads each probe's verdict with args.Reader once the Jobs are
// done; when any differs from what the policies say, the table's output
// fails with the table as its error, and so does `up`. On preview nothing is
// read: the table shows the plan.
func deployProbes(ctx *pulumi.Context, args probeArgs, provider pulumi.ProviderResource) (pulumi.StringOutput, error) {
	probes, err := probe.Plan(args.Expect, probe.DemoSources(args.Namespace), probe.DemoTargets(args.Namespace))
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("plan probes: %w", err)
	}
	revision, err := probeRevision(probes, args.Set, args.Namespace)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("probe revision: %w", err)
	}

	comp := &probesComponent{}
	if err := ctx.RegisterComponentResource(probesType, "probes", comp); err != nil {
		return pulumi.StringOutput{}, err
	}
	names := make([]string, 0, len(probes))
	deps := []any{args.Kubeconfig}
	for _, p := range probes {
		job := probe.Job(p, revision)
		obj, err := toObjectMap(&job)
		if err != nil {
			return pulumi.StringOutput{}, fmt.Errorf("probe %s: %w", p.Name, err)
		}
		res, err := deployObject(ctx, args.Namespace+"/"+p.Name, obj,
			pulumi.Provider(provider), pulumi.Parent(comp), pulumi.DependsOn(args.DependsOn))
		if err != nil {
			return pulumi.StringOutput{}, err
		}
		names = append(names, p.Name)
		// The Job's ID resolves once the Job has completed: reading after it
		// reads finished pods.
		deps = append(deps, res.ID())
	}

	dryRun := ctx.DryRun()
	table := pulumi.All(deps...).ApplyTWithContext(ctx.Context(), func(c context.Context, vs []any) (string, error) {
		if dryRun {
			return probe.Planned(probes).String(), nil
		}
		kubeconfig, _ := vs[0].(string)
		observed, err := args.Reader.ReadResults(c, kubeconfig, args.Namespace, names)
		if err != nil {
			return "", fmt.Errorf("probes: %w", err)
		}
		t, err := probe.Compare(probes, observed)
		if err != nil {
			return "", fmt.Errorf("probes: %w\nIf this cluster's CNI does not enforce NetworkPolicies, set %s:%s=false.",
				err, config.Namespace, config.KeyProbes)
		}
		return t.String(), nil
	}).(pulumi.StringOutput)
	// The table says nothing secret; only the kubeconfig it was read with is.
	table = pulumi.Unsecret(table).(pulumi.StringOutput)

	// Registering the table as the component's output makes a failed
	// comparison fail the program even when nobody exports the table.
	if err := ctx.RegisterResourceOutputs(comp, pulumi.Map{"table": table}); err != nil {
		return pulumi.StringOutput{}, err
	}
	return table, nil
}
