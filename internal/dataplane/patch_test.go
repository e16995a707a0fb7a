package dataplane

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Only a mode within the pool's overlay is patched, and only once
// calico-node has rolled out; across overlays the fix is a migration.
func TestPatches(t *testing.T) {
	t.Parallel()
	always := PoolPatch{Pool: DefaultPoolName, From: "ipipMode=Always vxlanMode=Never", IPIPMode: ModeCrossSubnet, VXLANMode: ModeNever}
	rolling := running(ModeAlways, ModeNever, BackendBIRD)
	rolling.Rollout.Updated = 1
	for _, tc := range []struct {
		name    string
		desired Desired
		obs     Observed
		want    []PoolPatch
	}{
		{"adopted Always", ipipWanted, running(ModeAlways, ModeNever, BackendBIRD), []PoolPatch{always}},
		{"vxlan Always", vxlanWanted, running(ModeNever, ModeAlways, BackendVXLAN),
			[]PoolPatch{{Pool: DefaultPoolName, From: "ipipMode=Never vxlanMode=Always", IPIPMode: ModeNever, VXLANMode: ModeCrossSubnet}}},
		{"already CrossSubnet", ipipWanted, running(ModeCrossSubnet, ModeNever, BackendBIRD), nil},
		{"calico-node still rolling", ipipWanted, rolling, nil},
		{"ipip pool, vxlan asked", vxlanWanted, running(ModeCrossSubnet, ModeNever, BackendBIRD), nil},
		{"vxlan pool, ipip asked", ipipWanted, running(ModeNever, ModeCrossSubnet, BackendVXLAN), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, Compare(tc.desired, tc.obs).Patches()); diff != "" {
				t.Errorf("patches (-want +got):\n%s", diff)
			}
		})
	}
	body, err := always.ApplyConfiguration()
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool", "metadata": map[string]any{"name": DefaultPoolName},
		"spec": map[string]any{"ipipMode": "CrossSubnet", "vxlanMode": "Never"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("apply configuration (-want +got):\n%s", diff)
	}
	if s := always.String(); s != "ippools.crd.projectcalico.org default-ipv4-ippool: ipipMode=Always vxlanMode=Never -> ipipMode=CrossSubnet vxlanMode=Never" {
		t.Errorf("String() = %q", s)
	}
}
