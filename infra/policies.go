package infra

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kopscalico/kopscalico/internal/policies"
)

// policyResources are the deployed objects of a policies folder.
type policyResources struct {
	// Namespaces are the namespaces the program owns, by name.
	Namespaces map[string]pulumi.Resource
	// Policies are the NetworkPolicies, by "namespace/name".
	Policies map[string]pulumi.Resource
	order    []pulumi.Resource
}

// All returns every deployed object, namespaces first: what the probes wait
// for.
func (r *policyResources) All() []pulumi.Resource { return append([]pulumi.Resource(nil), r.order...) }

// NamespaceDeps returns what an object in namespace ns must depend on: the
// Namespace resource when the program owns ns, else nothing (it exists).
func (r *policyResources) NamespaceDeps(ns string) []pulumi.Resource {
	if res, ok := r.Namespaces[ns]; ok {
		return []pulumi.Resource{res}
	}
	return nil
}

// policyResourceName is the stable Pulumi name of a policy: one resource per
// policy, so editing a file updates only its policies and removing a file
// deletes only its policies.
func policyResourceName(namespace, name string) string { return namespace + "/" + name }

// deployPolicies deploys a loaded (validated) policies set on the cluster
// behind provider: each owned Namespace, then each NetworkPolicy depending on
// its Namespace, so creation goes namespaces first and deletion policies
// first; then the cluster-scoped admin policies, after crdDeps (what makes
// their CRDs exist).
func deployPolicies(ctx *pulumi.Context, set *policies.Set, provider pulumi.ProviderResource, crdDeps []pulumi.Resource) (*policyResources, error) {
	out := &policyResources{Namespaces: map[string]pulumi.Resource{}, Policies: map[string]pulumi.Resource{}}
	for _, ns := range set.Namespaces {
		obj, err := toObjectMap(&ns.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ns.File, err)
		}
		res, err := deployObject(ctx, ns.Object.Name, obj, pulumi.Provider(provider))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ns.File, err)
		}
		out.Namespaces[ns.Object.Name] = res
		out.order = append(out.order, res)
	}
	for _, p := range set.Policies {
		obj, err := toObjectMap(&p.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.File, err)
		}
		name := policyResourceName(p.Object.Namespace, p.Object.Name)
		res, err := deployObject(ctx, name, obj, pulumi.Provider(provider), pulumi.DependsOn(out.NamespaceDeps(p.Object.Namespace)))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.File, err)
		}
		out.Policies[name] = res
		out.order = append(out.order, res)
	}
	return out, deployAdminPolicies(ctx, set, out, pulumi.Provider(provider), pulumi.DependsOn(crdDeps))
}

// deployAdminPolicies registers each AdminNetworkPolicy and the
// BaselineAdminNetworkPolicy (cluster-scoped, policy.networking.k8s.io/v1alpha1)
// under its name.
func deployAdminPolicies(ctx *pulumi.Context, set *policies.Set, out *policyResources, opts ...pulumi.ResourceOption) error {
	deploy := func(obj runtime.Object, name, file string) error {
		m, err := toObjectMap(obj)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		res, err := deployObject(ctx, name, m, opts...)
		if err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		out.order = append(out.order, res)
		return nil
	}
	for _, p := range set.AdminPolicies {
		obj := p.Object.DeepCopy()
		obj.APIVersion, obj.Kind = policies.AdminNetworkPolicyAPIVersion, policies.AdminNetworkPolicyKind
		if err := deploy(obj, obj.Name, p.File); err != nil {
			return err
		}
	}
	if b := set.Baseline; b != nil {
		obj := b.Object.DeepCopy()
		obj.APIVersion, obj.Kind = policies.AdminNetworkPolicyAPIVersion, policies.BaselineAdminNetworkPolicyKind
		return deploy(obj, obj.Name, b.File)
	}
	return nil
}
