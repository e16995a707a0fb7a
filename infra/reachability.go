package infra

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/policies"
	"github.com/kopscalico/kopscalico/internal/reachability"
)

// reachabilityModel is what the program deploys, as the reachability
// evaluator sees it: the namespaces and policies of set, the demo workloads
// in demoNamespace when they are deployed ("" for none), and the synthetic
// pods, DNS and outside address of reachability.Build.
func reachabilityModel(set *policies.Set, demoNamespace string) reachability.Model {
	return reachability.Build(set, reachability.DemoPods(demoNamespace))
}

// reachabilityOutput is the model's summary as a flat map: "summary" (the
// counts), "digest", and one "namespace/<class>" digest per namespace class,
// so `pulumi preview --diff` shows which namespaces a change touches. It is
// bounded by the classes the policies make, never by pods x pods x ports,
// and computed from the manifests alone: preview shows it too.
func reachabilityOutput(model reachability.Model) (pulumi.StringMap, error) {
	ev, err := reachability.Evaluate(model)
	if err != nil {
		return nil, fmt.Errorf("reachability of the policies: %w", err)
	}
	s := ev.Summary()
	out := pulumi.StringMap{
		"summary": pulumi.String(fmt.Sprintf("%d endpoint classes (%d outside), %d port classes, %d policies", s.Endpoints, s.Addresses, s.Ports, s.Policies)),
		"digest":  pulumi.String(s.Digest),
	}
	for ns, d := range s.Namespaces {
		out["namespace/"+ns] = pulumi.String(d)
	}
	return out, nil
}
