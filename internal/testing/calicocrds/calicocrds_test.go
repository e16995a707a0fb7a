package calicocrds

import (
	"testing"
)

func TestAll(t *testing.T) {
	t.Parallel()
	crds := All(t)
	names := map[string]bool{}
	for _, c := range crds {
		if c.GetKind() != "CustomResourceDefinition" || c.GetAPIVersion() != "apiextensions.k8s.io/v1" {
			t.Errorf("%s is a %s %s, want an apiextensions.k8s.io/v1 CustomResourceDefinition", c.GetName(), c.GetAPIVersion(), c.GetKind())
		}
		names[c.GetName()] = true
	}
	for _, want := range []string{
		"adminnetworkpolicies.policy.networking.k8s.io", "baselineadminnetworkpolicies.policy.networking.k8s.io",
		"ippools.crd.projectcalico.org", "felixconfigurations.crd.projectcalico.org",
	} {
		if !names[want] {
			t.Errorf("the CRDs lack %s; have %v", want, names)
		}
	}
	schema := Schema(t, Find(t, "adminnetworkpolicies.policy.networking.k8s.io"), "v1alpha1")
	if _, ok := schema["properties"].(map[string]any)["spec"]; !ok {
		t.Errorf("the AdminNetworkPolicy schema has no spec: %v", schema)
	}
}
