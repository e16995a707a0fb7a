// Package infra is the Pulumi layer: it wires the stages of one `pulumi up`
// (config, state store, kops cluster, Kubernetes provider, security-group
// check, Calico manifest, policies, workloads, reachability, probes) and holds
// no business logic of its own: that lives in internal/ and policies/.
package infra

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/policies"
)

// securityGroupCheckOutput is the stack output of the security-group check.
const securityGroupCheckOutput = "securityGroupCheck"

// DemoNamespace is where the demo workloads and the probes run: the
// tutorial's namespace, which the policies folder must hold.
const DemoNamespace = "ns-1"

// Program is the one entry point: `pulumi up`, the unit tests and the
// end-to-end tests (Automation API inline program) all run it. Where it meets
// the outside world (kops, EC2, the probe pods) is the plugin's.
func Program(ctx *pulumi.Context) error {
	cfg, err := LoadConfig(ctx)
	if err != nil {
		return err
	}
	outputs, err := build(ctx, cfg)
	if err != nil {
		return err
	}
	for name, value := range outputs {
		ctx.Export(name, value)
	}
	return nil
}

// build registers every stage for a validated configuration and returns the
// stack outputs. Everything that can be refused (config, policy files, the
// reachability model) is checked before the first resource is registered.
func build(ctx *pulumi.Context, cfg config.Config) (pulumi.Map, error) {
	outputs := pulumi.Map{}
	set, err := policies.Load(cfg.Workloads.PoliciesDir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config.FullKey(config.KeyPoliciesDir), err)
	}
	// A namespace is created or deleted (with everything in it) only when
	// its folder and kopscalico:namespaces agree.
	if err := cfg.Workloads.CheckOwnedNamespaces(set.OwnedNames(), set.Folders); err != nil {
		return nil, err
	}
	demoNS := ""
	if cfg.Workloads.Demo {
		demoNS = DemoNamespace
		if !set.Owns(demoNS) {
			return nil, fmt.Errorf("%[1]s=true deploys the demo workloads into namespace %[2]s, but %[3]s has no %[2]s/ folder with its Namespace: add it, or set %[1]s=false",
				config.FullKey(config.KeyDemoWorkloads), demoNS, cfg.Workloads.PoliciesDir)
		}
	}
	reachability, err := reachabilityOutput(reachabilityModel(set, demoNS))
	if err != nil {
		return nil, err
	}

	store, err := deployStateStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	outputs["stateStore"] = store.URL

	kubeconfig := pulumi.ToSecret(pulumi.String(cfg.Cluster.Kubeconfig)).(pulumi.StringOutput)
	var clusterDeps []pulumi.Resource
	var revision pulumi.StringInput
	var kopsProvider pulumi.ProviderResource
	probesOn := cfg.Workloads.Demo && cfg.Workloads.Probes
	if cfg.Cluster.Manage || cfg.SecurityGroupCheck != config.SGCheckOff || cfg.CalicoDataplaneCheck != config.SGCheckOff || probesOn {
		if kopsProvider, err = NewKopsProvider(ctx, cfg, store.URL); err != nil {
			return nil, err
		}
	}
	if cfg.Cluster.Manage {
		// A bucket this stack owns goes only after every cluster in it.
		ready := store.Ready
		if cfg.StateStore.Create() {
			guard, err := GuardStateStore(ctx, kopsProvider, store.URL, store.Ready)
			if err != nil {
				return nil, err
			}
			ready = []pulumi.Resource{guard}
		}
		cluster, err := DeployCluster(ctx, cfg, kopsProvider, store.URL, pulumi.DependsOn(ready))
		if err != nil {
			return nil, err
		}
		kubeconfig = cluster.Kubeconfig
		clusterDeps = []pulumi.Resource{cluster}
		revision = cluster.Revision
		outputs["clusterName"] = cluster.Name
		outputs["clusterNetworking"] = cluster.Networking
		outputs["undeclaredInstanceGroups"] = cluster.UndeclaredInstanceGroups
		outputs["kubeconfig"] = kubeconfig
	}
	if cfg.SecurityGroupCheck != config.SGCheckOff {
		check, err := checkSecurityGroups(ctx, cfg, kopsProvider, revision, clusterDeps)
		if err != nil {
			return nil, err
		}
		outputs[securityGroupCheckOutput] = check.Summary
	}

	// ClusterIdentifier: the provider is never replaced because its
	// kubeconfig changed (a renewed admin credential), only when the cluster
	// itself is another one.
	provider, err := kubernetes.NewProvider(ctx, "cluster", &kubernetes.ProviderArgs{
		Kubeconfig:        kubeconfig,
		ClusterIdentifier: pulumi.String(cfg.Cluster.Name),
	}, pulumi.DependsOn(clusterDeps))
	if err != nil {
		return nil, err
	}

	calicoResources, err := deployCalico(ctx, cfg, provider, nil)
	if err != nil {
		return nil, err
	}
	dataplane, ok, err := checkCalicoDataplane(ctx, cfg, kopsProvider, kubeconfig, revision, slices.Concat(clusterDeps, calicoResources))
	if err != nil {
		return nil, err
	}
	if ok {
		outputs[calicoDataplaneOutput] = dataplane
	}

	// The admin policies' CRDs come with Calico: kops's addon on the cluster,
	// or the manifest deployed above.
	deployed, err := deployPolicies(ctx, set, provider, slices.Concat(clusterDeps, calicoResources))
	if err != nil {
		return nil, err
	}
	outputs["reachability"] = reachability
	if !cfg.Workloads.Demo {
		return outputs, nil
	}
	demoResources, err := deployDemo(ctx, demoNS, provider, deployed.NamespaceDeps(demoNS))
	if err != nil {
		return nil, err
	}
	if !cfg.Workloads.Probes {
		return outputs, nil
	}
	expect, err := policyExpect(set, demoNS)
	if err != nil {
		return nil, err
	}
	var after []pulumi.Resource
	after = append(after, deployed.All()...)
	after = append(after, demoResources...)
	after = append(after, calicoResources...)
	table, err := deployProbes(ctx, probeArgs{
		Namespace:       demoNS,
		Set:             set,
		Expect:          expect,
		Kubeconfig:      kubeconfig,
		ClusterRevision: revision,
		Zones:           cfg.Cluster.Zones,
		DependsOn:       after,
	}, provider, kopsProvider)
	if err != nil {
		return nil, err
	}
	outputs["probes"] = table
	return outputs, nil
}
