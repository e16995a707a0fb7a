package infra

import (
	"sort"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/config"
)

// The program pins the probes by the cluster's zones: from another zone
// than the target and from the same one where there are two zones or more;
// unpinned on one zone.
func TestProbesPlacedByZones(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		zones string
		// one zone is a cluster the program does not manage: it refuses
		// to make one.
		manage string
		want   string
	}{
		{"us-east-1a,us-east-1b", "true", "ns-1/probe-busybox-to-http-echo-cross-zone ns-1/probe-busybox-to-http-echo-same-zone ns-1/probe-busybox-to-kube-dns-cross-zone ns-1/probe-busybox-to-kube-dns-same-zone " +
			"ns-1/probe-stranger-to-http-echo-cross-zone ns-1/probe-stranger-to-http-echo-same-zone ns-1/probe-stranger-to-kube-dns-cross-zone ns-1/probe-stranger-to-kube-dns-same-zone"},
		{"us-east-1a", "false", "ns-1/probe-busybox-to-http-echo ns-1/probe-busybox-to-kube-dns ns-1/probe-stranger-to-http-echo ns-1/probe-stranger-to-kube-dns"},
	} {
		t.Run(tc.zones, func(t *testing.T) {
			t.Parallel()
			cfg := devConfig()
			cfg[config.KeyZones] = tc.zones
			cfg[config.KeyManageCluster] = tc.manage
			if tc.manage == "false" {
				cfg[config.KeyKubeconfig] = "apiVersion: v1\nkind: Config\n"
			}
			rec, _, err := runProgram(t, cfg, true)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, j := range rec.byType("kubernetes:batch/v1:Job") {
				names = append(names, j.Name)
				affinity := j.Inputs["spec"].ObjectValue()["template"].ObjectValue()["spec"].ObjectValue()["affinity"]
				if strings.HasSuffix(j.Name, "-cross-zone") != (affinity.IsObject() && affinity.ObjectValue().HasValue("podAntiAffinity")) {
					t.Errorf("%s: affinity %v", j.Name, affinity)
				}
			}
			sort.Strings(names)
			if got := strings.Join(names, " "); got != tc.want {
				t.Errorf("probe Jobs = %s, want %s", got, tc.want)
			}
		})
	}
}
