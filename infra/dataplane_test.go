package infra

import (
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// TestCalicoDataplaneCheckRegistration: the dataplane check runs in
// calicoDataplaneCheck's mode (unset: the security-group check's), after the
// Cluster and with its revision and kubeconfig; off registers none, nor does
// a Calico that keeps its pools in etcd (the legacy manifest).
func TestCalicoDataplaneCheckRegistration(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		set  map[string]string
		want config.SGCheckMode // "": none registered
	}{
		{name: "enforce", set: map[string]string{config.KeySecurityGroupCheck: "enforce", config.KeyEncapsulation: "vxlan"}, want: "enforce"},
		{name: "warn", set: map[string]string{config.KeySecurityGroupCheck: "warn"}, want: "warn"},
		{name: "off", set: map[string]string{config.KeySecurityGroupCheck: "off"}},
		{name: "own key on, security groups off", set: map[string]string{config.KeySecurityGroupCheck: "off", config.KeyCalicoDataplaneCheck: "enforce"}, want: "enforce"},
		{name: "own key off", set: map[string]string{config.KeySecurityGroupCheck: "enforce", config.KeyCalicoDataplaneCheck: "off"}},
		{name: "legacy etcd Calico", set: map[string]string{config.KeySecurityGroupCheck: "warn", config.KeyCalicoManifest: "always"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := devConfig()
			for k, v := range tc.set {
				cfg[k] = v
			}
			rec, _, err := runProgram(t, cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			checks := rec.byType(pluginapi.CalicoDataplaneType)
			if tc.want == "" {
				if len(checks) != 0 {
					t.Errorf("registered %d dataplane checks, want none", len(checks))
				}
				return
			}
			if len(checks) != 1 {
				t.Fatalf("registered %d dataplane checks, want 1", len(checks))
			}
			c := checks[0]
			if got, want := propString(t, c.Inputs, "mode"), string(tc.want); got != want {
				t.Errorf("mode = %q, want %q", got, want)
			}
			wantEncap := tc.set[config.KeyEncapsulation]
			if wantEncap == "" {
				wantEncap = "ipip"
			}
			if got := propString(t, c.Inputs, "encapsulation"); got != wantEncap {
				t.Errorf("encapsulation = %q, want %q", got, wantEncap)
			}
			if !strings.Contains(c.Provider, "pulumi:providers:kopscalico::kops::") {
				t.Errorf("provider = %q", c.Provider)
			}
			cluster := rec.one(t, pluginapi.ClusterType)
			dependsOnCluster := false
			for _, d := range c.Deps {
				dependsOnCluster = dependsOnCluster || strings.HasSuffix(d, "::"+cluster.Name)
			}
			if !dependsOnCluster {
				t.Errorf("the dataplane check does not wait for the cluster: deps %v", c.Deps)
			}
		})
	}
}
