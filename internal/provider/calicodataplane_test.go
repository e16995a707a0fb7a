package provider_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/dataplane"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/provider"
)

const dpURN = resource.URN("urn:pulumi:dev::kopscalico::" + pluginapi.CalicoDataplaneType + "::calico-dataplane")

// unreachable is a kubeconfig of an API server nobody listens on.
const unreachable = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`

func dpDesired(mode config.SGCheckMode) pluginapi.CalicoDesired {
	return pluginapi.CalicoDesired{Encapsulation: config.EncapIPIP, AWSSrcDstCheck: config.SrcDstDisable, Mode: mode, ClusterRevision: "rev-1"}
}

func dpInputs(t *testing.T, mode config.SGCheckMode) resource.PropertyMap {
	return props(t, pluginapi.CalicoDataplaneArgs{Kubeconfig: unreachable, CalicoDesired: dpDesired(mode)})
}

func createDataplane(p *provider.Provider, inputs resource.PropertyMap, preview bool) (plugin.CreateResponse, error) {
	return p.Create(context.Background(), plugin.CreateRequest{URN: dpURN, Name: "calico-dataplane", Type: pluginapi.CalicoDataplaneType, Properties: inputs, Preview: preview})
}

func TestCalicoDataplaneCheck(t *testing.T) {
	t.Parallel()
	p, _ := newProvider(nil)
	in := props(t, pluginapi.CalicoDataplaneArgs{CalicoDesired: pluginapi.CalicoDesired{Encapsulation: "geneve", AWSSrcDstCheck: config.SrcDstDisable, Mode: config.SGCheckOff}})
	resp, err := p.Check(context.Background(), plugin.CheckRequest{URN: dpURN, Type: pluginapi.CalicoDataplaneType, News: in})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range resp.Failures {
		got = append(got, string(f.Property))
	}
	if strings.Join(got, ",") != "encapsulation,kubeconfig,mode" {
		t.Errorf("failures on %v, want encapsulation, kubeconfig, mode: %+v", got, resp.Failures)
	}
}

// A preview reads nothing: the unreachable server is never asked.
func TestCalicoDataplanePreviewReadsNothing(t *testing.T) {
	t.Parallel()
	p, logs := newProvider(nil)
	resp, err := createDataplane(p, dpInputs(t, config.SGCheckEnforce), true)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Properties["summary"].IsComputed() || len(logs.lines) != 0 {
		t.Errorf("preview: summary %v, logs %+v", resp.Properties["summary"], logs.lines)
	}
	if _, ok := resp.Properties["kubeconfig"]; ok {
		t.Error("the kubeconfig is in the outputs")
	}
}

func TestCalicoDataplaneUnreadable(t *testing.T) {
	t.Parallel()
	p, logs := newProvider(nil)
	if _, err := createDataplane(p, dpInputs(t, config.SGCheckEnforce), false); err == nil || !strings.Contains(err.Error(), "kopscalico:calicoDataplaneCheck=warn") {
		t.Errorf("enforce on an unreachable API: %v", err)
	}
	resp, err := createDataplane(p, dpInputs(t, config.SGCheckWarn), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(t, resp.Properties)["error"]; !strings.Contains(got, "127.0.0.1:1") {
		t.Errorf("warn records %q, want the read error", got)
	}
	if l := logs.only(t); l.sev != diag.Warning || l.urn != dpURN {
		t.Errorf("logged %+v", l)
	}
}

// Every preview warns with a recorded difference, and only with one; in
// enforce mode the difference is a change.
func TestCalicoDataplaneDiffShowsTheRecordedDifference(t *testing.T) {
	t.Parallel()
	differs := map[string]string{"pool default-ipv4-ippool": "ipipMode=Always vxlanMode=Never, want …", "calico-config calico_backend": "ok: bird"}
	for _, tc := range []struct {
		name    string
		mode    config.SGCheckMode
		summary map[string]string
		warns   bool
		changes plugin.DiffChanges
	}{
		{"differs, warn", config.SGCheckWarn, differs, true, plugin.DiffNone},
		// enforce: the next up reads again, and fails until it is fixed.
		{"differs, enforce", config.SGCheckEnforce, differs, true, plugin.DiffSome},
		{"all ok", config.SGCheckEnforce, map[string]string{"calico-config calico_backend": "ok: bird"}, false, plugin.DiffNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, logs := newProvider(nil)
			olds := dpInputs(t, tc.mode)
			outs := props(t, pluginapi.CalicoDataplaneState{CalicoDesired: dpDesired(tc.mode), Summary: tc.summary, Report: "THE TABLE"})
			resp, err := p.Diff(context.Background(), plugin.DiffRequest{URN: dpURN, Type: pluginapi.CalicoDataplaneType, OldInputs: olds, OldOutputs: outs, NewInputs: dpInputs(t, tc.mode)})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Changes != tc.changes {
				t.Errorf("unchanged inputs diff as %v, want %v", resp.Changes, tc.changes)
			}
			if !tc.warns {
				if len(logs.lines) != 0 {
					t.Errorf("logged %+v", logs.lines)
				}
				return
			}
			if l := logs.only(t); l.sev != diag.Warning || !strings.Contains(l.msg, "THE TABLE") {
				t.Errorf("logged %+v", l)
			}
		})
	}
}

// Refresh reads again; a cluster it cannot reach keeps the record.
func TestCalicoDataplaneRefreshUnreachableKeepsTheRecord(t *testing.T) {
	t.Parallel()
	p, logs := newProvider(nil)
	state := props(t, pluginapi.CalicoDataplaneState{CalicoDesired: dpDesired(config.SGCheckWarn), Summary: map[string]string{"x": "ok: y"}})
	resp, err := p.Read(context.Background(), plugin.ReadRequest{URN: dpURN, Type: pluginapi.CalicoDataplaneType, ID: "calico", Inputs: dpInputs(t, config.SGCheckWarn), State: state})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Outputs.DeepEquals(state) {
		t.Errorf("outputs = %v, want the record", resp.Outputs)
	}
	if l := logs.only(t); l.sev != diag.Warning || !strings.Contains(l.msg, "refresh kept the recorded reading") {
		t.Errorf("logged %+v", l)
	}
}

// The preview of an update shows the pool patches it makes, planned from
// the recorded reading: only within the pool's overlay, and only once
// calico-node had rolled out.
func TestCalicoDataplaneDiffPlansThePoolPatch(t *testing.T) {
	t.Parallel()
	observed := func(ipip, vxlan string, updated int32) dataplane.Observed {
		return dataplane.Observed{PoolsInstalled: true, Backend: dataplane.BackendBIRD,
			Pools:   []dataplane.Pool{{Name: dataplane.DefaultPoolName, CIDR: "100.96.0.0/11", IPIPMode: ipip, VXLANMode: vxlan}},
			Rollout: dataplane.Rollout{Found: true, Generation: 1, ObservedGeneration: 1, Desired: 2, Updated: updated, Available: 2}}
	}
	for _, tc := range []struct {
		name     string
		observed dataplane.Observed
		plans    bool
	}{
		{"Always, rolled out", observed(dataplane.ModeAlways, dataplane.ModeNever, 2), true},
		{"Always, calico-node rolling", observed(dataplane.ModeAlways, dataplane.ModeNever, 1), false},
		{"CrossSubnet already", observed(dataplane.ModeCrossSubnet, dataplane.ModeNever, 2), false},
		// ipip asked of a vxlan pool: a migration, never a patch.
		{"vxlan pool", observed(dataplane.ModeNever, dataplane.ModeCrossSubnet, 2), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, logs := newProvider(nil)
			report := dataplane.Compare(dataplane.Desired{Encapsulation: config.EncapIPIP, AWSSrcDstCheck: config.SrcDstDisable}, tc.observed)
			outs := props(t, pluginapi.CalicoDataplaneState{CalicoDesired: dpDesired(config.SGCheckWarn), Summary: report.Summary(), Report: report.String(), Observed: tc.observed})
			resp, err := p.Diff(context.Background(), plugin.DiffRequest{URN: dpURN, Type: pluginapi.CalicoDataplaneType,
				OldInputs: dpInputs(t, config.SGCheckWarn), OldOutputs: outs, NewInputs: dpInputs(t, config.SGCheckWarn)})
			if err != nil {
				t.Fatal(err)
			}
			_, patched := resp.DetailedDiff["patched"]
			if patched != tc.plans || (resp.Changes == plugin.DiffSome) != tc.plans {
				t.Errorf("diff %v %v, want a planned patch: %v", resp.Changes, resp.DetailedDiff, tc.plans)
			}
			var planned []string
			for _, l := range logs.lines {
				if l.sev == diag.Info {
					planned = append(planned, l.msg)
				}
			}
			want := "ippools.crd.projectcalico.org default-ipv4-ippool: ipipMode=Always vxlanMode=Never -> ipipMode=CrossSubnet vxlanMode=Never"
			if got := strings.Join(planned, "\n"); strings.Contains(got, want) != tc.plans {
				t.Errorf("preview says %q, want the patch named: %v", got, tc.plans)
			}
		})
	}
}

// Another overlay than the recorded cluster runs is refused before anything
// runs, with the steps by hand in the order where the backend carries the
// pool; an Always pool within the overlay is not the Cluster's business.
func TestClusterDiffRefusesAnOverlayMigration(t *testing.T) {
	t.Parallel()
	ipipSpec := string(kopstest.Fixture(t, "calico-1.34.yaml"))
	vxlanSpec := strings.NewReplacer("encapsulationMode: ipip", "encapsulationMode: vxlan", "ipipMode: CrossSubnet", "vxlanMode: CrossSubnet").Replace(ipipSpec)
	for _, tc := range []struct {
		name       string
		recorded   string
		asked      config.Encapsulation
		wantInStep []string
	}{
		{"ipip to vxlan", ipipSpec, config.EncapVXLAN, []string{"has Calico encapsulationMode ipip in its spec: refusing to switch it to vxlan (kopscalico:encapsulation=vxlan)",
			`1. the pool, while BIRD carries both: kubectl patch ippools.crd.projectcalico.org default-ipv4-ippool --type=merge -p '{"spec":{"ipipMode":"Never","vxlanMode":"CrossSubnet"}}'`,
			"2. the backend: kops edit cluster: spec.networking.calico.encapsulationMode: vxlan", "3. pulumi refresh, then kopscalico:encapsulation=vxlan", dataplane.OverlayDocs}},
		{"vxlan to ipip", vxlanSpec, config.EncapIPIP, []string{"has Calico encapsulationMode vxlan in its spec: refusing to switch it to ipip",
			"1. the backend (BIRD carries the VXLAN pool meanwhile): kops edit cluster: spec.networking.calico.encapsulationMode: ipip",
			`2. the pool: kubectl patch ippools.crd.projectcalico.org default-ipv4-ippool --type=merge -p '{"spec":{"ipipMode":"CrossSubnet","vxlanMode":"Never"}}'`, dataplane.OverlayDocs}},
		{"ipip kept", ipipSpec, config.EncapIPIP, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newClusterProvider(t, &kopstest.Runner{T: t})
			old := clusterInputs(t, nil)
			news := clusterInputs(t, func(a *pluginapi.ClusterArgs) { a.Encapsulation = tc.asked })
			_, err := p.Diff(context.Background(), plugin.DiffRequest{URN: clusterURN, Type: pluginapi.ClusterType,
				OldInputs: old, OldOutputs: recordedState(t, old, tc.recorded), NewInputs: news})
			if tc.wantInStep == nil {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("not refused")
			}
			for _, want := range tc.wantInStep {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal lacks %q:\n%v", want, err)
				}
			}
		})
	}
}
