package provider_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/config"
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
	if _, err := createDataplane(p, dpInputs(t, config.SGCheckEnforce), false); err == nil || !strings.Contains(err.Error(), "kopscalico:securityGroupCheck=warn") {
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
