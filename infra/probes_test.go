package infra

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/probe"
	"github.com/kopscalico/kopscalico/policies"
)

// fakeReader gives recorded probe outputs and remembers what it was asked.
type fakeReader struct {
	outputs map[string]string // probe name -> recorded log file in internal/probe/testdata

	mu         sync.Mutex
	calls      int
	kubeconfig string
	namespace  string
	names      []string
}

func (f *fakeReader) ReadResults(_ context.Context, kubeconfig, namespace string, names []string) (map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.kubeconfig, f.namespace, f.names = kubeconfig, namespace, names
	out := map[string]string{}
	for name, file := range f.outputs {
		b, err := os.ReadFile(filepath.Join("..", "internal", "probe", "testdata", file))
		if err != nil {
			return nil, err
		}
		out[name] = string(b)
	}
	return out, nil
}

func dryRun(info *pulumi.RunInfo) { info.DryRun = true }

// runProbes deploys the shipped policies, the demo and the probes under
// mocks, and returns the table output's value.
func runProbes(t *testing.T, m *k8sMocks, reader probe.ResultReader, policiesDir string, opts ...pulumi.RunOption) (string, error) {
	t.Helper()
	var table string
	err := withProvider(t, m, opts, func(ctx *pulumi.Context, p pulumi.ProviderResource) error {
		set, err := policies.Load(policiesDir)
		if err != nil {
			return err
		}
		pr, err := deployPolicies(ctx, set, p)
		if err != nil {
			return err
		}
		demoRes, err := deployDemo(ctx, "ns-1", p, pr.NamespaceDeps("ns-1"))
		if err != nil {
			return err
		}
		expect, err := policyExpect(set, "ns-1")
		if err != nil {
			return err
		}
		out, err := deployProbes(ctx, probeArgs{
			Namespace:  "ns-1",
			Set:        set,
			Expect:     expect,
			Kubeconfig: pulumi.ToSecret(pulumi.String("apiVersion: v1\nkind: Config\n")).(pulumi.StringOutput),
			Reader:     reader,
			DependsOn:  append(pr.All(), demoRes...),
		}, p)
		if err != nil {
			return err
		}
		out.ApplyT(func(s string) string { table = s; return s })
		return nil
	})
	return table, err
}

func TestDeployProbesAgreeing(t *testing.T) {
	m := &k8sMocks{}
	reader := &fakeReader{outputs: map[string]string{
		"probe-busybox-to-http-echo":  "busybox-allowed.log",
		"probe-stranger-to-http-echo": "stranger-blocked.log",
	}}
	table, err := runProbes(t, m, reader, filepath.Join("..", "policies"))
	if err != nil {
		t.Fatalf("up with agreeing probes failed: %v", err)
	}
	for _, want := range []string{"probe-busybox-to-http-echo", "allowed", "probe-stranger-to-http-echo", "blocked"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(table, "differs") {
		t.Errorf("agreeing table marks a row:\n%s", table)
	}
	if reader.calls != 1 || reader.namespace != "ns-1" || !strings.Contains(reader.kubeconfig, "kind: Config") ||
		strings.Join(reader.names, ",") != "probe-busybox-to-http-echo,probe-stranger-to-http-echo" {
		t.Errorf("reader called %d times with ns=%q names=%v kubeconfig=%q", reader.calls, reader.namespace, reader.names, reader.kubeconfig)
	}

	comp := m.named(t, probesType, "probes")
	_ = comp
	jobs := m.byToken(tokJob)
	if len(jobs) != 2 {
		t.Fatalf("jobs = %v, want 2", names(jobs))
	}
	compURN := "urn:pulumi:stack::kopscalico::" + probesType + "::probes"
	for _, j := range jobs {
		if j.Parent != compURN || j.Provider != providerRef() {
			t.Errorf("%s parent %q provider %q", j.Name, j.Parent, j.Provider)
		}
		// After every policy and workload.
		for _, dep := range []string{
			"urn:pulumi:stack::kopscalico::kubernetes:networking.k8s.io/v1:NetworkPolicy::ns-1/allow",
			"urn:pulumi:stack::kopscalico::kubernetes:apps/v1:Deployment::ns-1/http-echo",
			"urn:pulumi:stack::kopscalico::kubernetes:core/v1:Service::ns-1/http-echo",
		} {
			if !contains(j.Deps, dep) {
				t.Errorf("%s does not depend on %s: %v", j.Name, dep, j.Deps)
			}
		}
	}
	stranger := m.named(t, tokJob, "ns-1/probe-stranger-to-http-echo")
	if got := propString(t, stranger.Inputs, "spec", "template", "metadata", "labels", "app"); got != "stranger" {
		t.Errorf("stranger probe pod label app = %q", got)
	}
	if got := propString(t, stranger.Inputs, "spec", "backoffLimit"); got != "0" {
		t.Errorf("backoffLimit = %s", got)
	}
	if got := propString(t, stranger.Inputs, "metadata", "name"); got != "probe-stranger-to-http-echo" {
		t.Errorf("job name = %q", got)
	}
}

func TestDeployProbesDisagreeingFailsUpWithTheTable(t *testing.T) {
	m := &k8sMocks{}
	reader := &fakeReader{outputs: map[string]string{
		"probe-busybox-to-http-echo":  "busybox-allowed.log",
		"probe-stranger-to-http-echo": "stranger-allowed.log", // a hole: the policies are not enforced
	}}
	_, err := runProbes(t, m, reader, filepath.Join("..", "policies"))
	if err == nil {
		t.Fatal("up succeeded although a probe disagrees with the policies")
	}
	msg := err.Error()
	for _, want := range []string{
		"1 of 2 probes disagree with the network policies",
		"EXPECTED", "OBSERVED",
		"probe-stranger-to-http-echo  ns-1 app=stranger  http-echo.ns-1.svc.cluster.local:80  blocked   allowed",
		"<- differs",
		"kopscalico:probes=false",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestDeployProbesPreviewReadsNothing(t *testing.T) {
	m := &k8sMocks{}
	reader := &fakeReader{}
	table, err := runProbes(t, m, reader, filepath.Join("..", "policies"), dryRun)
	if err != nil {
		t.Fatal(err)
	}
	if reader.calls != 0 {
		t.Errorf("preview read probe results %d times", reader.calls)
	}
	if !strings.Contains(table, "probe-stranger-to-http-echo") || !strings.Contains(table, "(not run)") {
		t.Errorf("preview table = %q, want the plan", table)
	}
	if len(m.byToken(tokJob)) != 2 {
		t.Errorf("preview registers %d Jobs, want 2", len(m.byToken(tokJob)))
	}
}

// TestProbeRevisionFollowsThePolicies: a policy edit changes the Jobs' pod
// template (so they are replaced and run again); an identical run does not.
func TestProbeRevisionFollowsThePolicies(t *testing.T) {
	revision := func(dir string) string {
		m := &k8sMocks{}
		reader := &fakeReader{outputs: map[string]string{
			"probe-busybox-to-http-echo":  "busybox-allowed.log",
			"probe-stranger-to-http-echo": "stranger-blocked.log",
		}}
		if _, err := runProbes(t, m, reader, dir); err != nil {
			t.Fatal(err)
		}
		return propString(t, m.named(t, tokJob, "ns-1/probe-busybox-to-http-echo").Inputs,
			"spec", "template", "metadata", "annotations", probe.RevisionAnnotation)
	}
	shipped := filepath.Join("..", "policies")
	a, b := revision(shipped), revision(shipped)
	if a == "" || a != b {
		t.Fatalf("revision of the same policies: %q then %q, want equal and set", a, b)
	}

	edited := t.TempDir()
	copyTree(t, filepath.Join(shipped, "ns-1"), filepath.Join(edited, "ns-1"))
	f := filepath.Join(edited, "ns-1", "deny-egress-except-dns-and-namespace.yaml")
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(strings.Replace(string(data), "port: 53\n", "port: 5353\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	moved := t.TempDir()
	copyTree(t, filepath.Join(shipped, "ns-1"), filepath.Join(moved, "ns-1"))
	if c := revision(moved); c != a {
		t.Errorf("revision changed (%q -> %q) when the same files moved to another folder", a, c)
	}
	if c := revision(edited); c == a {
		t.Errorf("revision unchanged (%q) after a policy edit", c)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
