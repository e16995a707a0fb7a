package provider_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/provider"
)

// The preview shows the roll the update makes, with the roll's options
// from the provider's configuration; on kops 1.31 it warns of the one-hour
// credential; groups kops listed that the last update left unrolled are in
// the plan, and alone make an update.
func TestClusterDiffShowsTheRollPlan(t *testing.T) {
	t.Parallel()
	spec := string(kopstest.Fixture(t, "calico-1.34.yaml"))
	for _, tc := range []struct {
		name        string
		kops        string
		change      func(a *pluginapi.ClusterArgs)
		needsUpdate []string
		want, warn  string
	}{
		{name: "node size on 1.34", kops: "1.34", change: func(a *pluginapi.ClusterArgs) { a.NodeSize = "m6i.large" },
			want: "kops cluster demo.example.com: the update rolls 2 instance group(s), in kops's order (kops rolling-update cluster --instance-group nodes-eu-west-1a,nodes-eu-west-1b --drain-timeout 20m0s --validate-count 3 --admin=1h5m0s):\n" +
				"  nodes-eu-west-1a (Node): machineType t3.medium -> m6i.large\n  nodes-eu-west-1b (Node): machineType t3.medium -> m6i.large"},
		{name: "node size on 1.31", kops: "1.31", change: func(a *pluginapi.ClusterArgs) { a.NodeSize = "m6i.large" },
			want: "(kops rolling-update cluster --instance-group nodes-eu-west-1a,nodes-eu-west-1b --drain-timeout 20m0s --validate-count 3):",
			warn: "kops cluster demo.example.com: kops 1.31's rolling-update reaches the cluster with an admin credential it mints for one hour"},
		{name: "an upgrade on 1.34", kops: "1.34", change: func(a *pluginapi.ClusterArgs) { a.KubernetesVersion = "1.35.0" },
			want: "the update rolls 3 instance group(s), in kops's order (kops reconcile cluster: control plane, then nodes):\n  control-plane-eu-west-1a (Master): kubernetesVersion 1.34.2 -> 1.35.0"},
		{name: "a group left unrolled", kops: "1.34", needsUpdate: []string{"nodes-eu-west-1b"},
			want: "  nodes-eu-west-1b (Node): " + kops.NeedsUpdateReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logs := &recordedLogs{}
			p := provider.New(logs, provider.Deps{NewKopsRunner: func(string, func(string, string)) kops.Runner { return &kopstest.Runner{T: t} }})
			if _, err := p.Configure(context.Background(), plugin.ConfigureRequest{Inputs: props(t, pluginapi.ProviderArgs{
				RollingUpdateDrainTimeout: "20m", RollingUpdateValidateCount: 3, Stack: testStack,
			})}); err != nil {
				t.Fatal(err)
			}
			version := func(a *pluginapi.ClusterArgs) { a.KopsVersion = kopsrelease.MustParse(tc.kops) }
			olds := clusterInputs(t, version)
			news := clusterInputs(t, func(a *pluginapi.ClusterArgs) {
				version(a)
				if tc.change != nil {
					tc.change(a)
				}
			})
			state := recordedState(t, olds, spec)
			if tc.needsUpdate != nil {
				var s pluginapi.ClusterState
				if err := pluginapi.Decode(state, &s); err != nil {
					t.Fatal(err)
				}
				s.NeedsUpdate = tc.needsUpdate
				state = props(t, s)
			}
			res, err := p.Diff(context.Background(), plugin.DiffRequest{URN: clusterURN, Type: pluginapi.ClusterType, ID: "demo.example.com",
				OldInputs: olds, OldOutputs: state, NewInputs: news})
			if err != nil || res.Changes != plugin.DiffSome {
				t.Fatalf("diff %+v, %v", res, err)
			}
			if tc.needsUpdate != nil && res.DetailedDiff["needsUpdate"].Kind != plugin.DiffUpdate {
				t.Errorf("a group left unrolled is no update: %+v", res.DetailedDiff)
			}
			var info, warn []string
			for _, l := range logs.lines {
				if l.sev == diag.Warning {
					warn = append(warn, l.msg)
				} else {
					info = append(info, l.msg)
				}
			}
			if len(info) != 1 || !strings.Contains(info[0], tc.want) {
				t.Errorf("plan %q\nwant it to hold %q", info, tc.want)
			}
			if got := strings.Join(warn, "\n"); (tc.warn == "") != (got == "") || !strings.Contains(got, tc.warn) {
				t.Errorf("warnings %q, want %q", got, tc.warn)
			}
		})
	}
}
