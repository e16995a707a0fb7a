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

// reachabilityOutput is the matrix of the model as a map from
// "from -> to port/protocol" to "allow" or "deny", one key per case, so
// `pulumi preview --diff` on a pull request lists exactly the connections a
// change opens or closes. It is computed from the manifests alone: no
// cluster is needed, and preview shows it too.
func reachabilityOutput(model reachability.Model) (pulumi.StringMap, error) {
	_, grid, err := model.Evaluate()
	if err != nil {
		return nil, fmt.Errorf("reachability of the policies: %w", err)
	}
	return pulumi.ToStringMap(grid.Matrix().Compact()), nil
}
