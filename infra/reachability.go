package infra

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kopscalico/kopscalico/internal/demo"
	"github.com/kopscalico/kopscalico/internal/netpol"
	"github.com/kopscalico/kopscalico/policies"
)

// reachabilityModel is what the program deploys, as the reachability
// evaluator sees it: the namespaces and policies of set, and the demo
// workloads in demoNamespace when they are deployed ("" for none).
func reachabilityModel(set *policies.Set, demoNamespace string) netpol.Cluster {
	var namespaces []corev1.Namespace
	for _, n := range set.Namespaces {
		namespaces = append(namespaces, n.Object)
	}
	c := netpol.Cluster{Namespaces: namespaces, Policies: set.AllPolicies()}
	if demoNamespace != "" {
		w := demo.New(demoNamespace)
		c.Pods = netpol.PodsFromDeployments([]appsv1.Deployment{w.Echo, w.Client})
	}
	return c
}

// reachabilityOutput is the matrix of the deployed manifests as a map from
// "from -> to port/protocol" to "allow" or "deny", one key per case, so
// `pulumi preview --diff` on a pull request lists exactly the connections a
// change opens or closes. It is computed from the manifests alone: no
// cluster is needed, and preview shows it too.
func reachabilityOutput(model netpol.Cluster) (pulumi.StringMap, error) {
	ev, err := netpol.NewEvaluator(model)
	if err != nil {
		return nil, fmt.Errorf("reachability of the policies: %w", err)
	}
	m, err := ev.Matrix(ev.ContainerPorts())
	if err != nil {
		return nil, fmt.Errorf("reachability of the policies: %w", err)
	}
	return pulumi.ToStringMap(m.Compact()), nil
}
