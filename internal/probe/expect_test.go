package probe

import (
	"path/filepath"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/kopscalico/kopscalico/internal/demo"
	"github.com/kopscalico/kopscalico/internal/policies"
	"github.com/kopscalico/kopscalico/internal/reachability"
)

// TestPolicyExpectOnShippedPolicies: the repository's own policies, the demo
// workloads and the demo probes give the tutorial's verdicts.
func TestPolicyExpectOnShippedPolicies(t *testing.T) {
	t.Parallel()
	set, err := policies.Load(filepath.Join("..", "..", "policies"))
	if err != nil {
		t.Fatal(err)
	}
	m := reachability.Build(set, reachability.DemoPods("ns-1"))
	expect, err := PolicyExpect(m, DemoSources("ns-1"))
	if err != nil {
		t.Fatal(err)
	}
	probes, err := Plan(expect, DemoSources("ns-1"), DemoTargets("ns-1"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Outcome{}
	for _, p := range probes {
		got[p.Name] = p.Expect
	}
	if got["probe-busybox-to-http-echo"] != Allowed || got["probe-stranger-to-http-echo"] != Blocked {
		t.Errorf("expected verdicts = %v, want busybox allowed, stranger blocked", got)
	}

	// Without the allow policy even busybox is kept out.
	var noAllow []networkingv1.NetworkPolicy
	for _, p := range set.AllPolicies() {
		if p.Name != "allow" {
			noAllow = append(noAllow, p)
		}
	}
	m.Cluster.Policies = noAllow
	expect, err = PolicyExpect(m, DemoSources("ns-1"))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := expect("ns-1/probe-busybox", "ns-1/http-echo", demo.EchoContainer, "TCP"); err != nil || ok {
		t.Errorf("busybox without the allow policy: allowed=%v err=%v, want blocked", ok, err)
	}
	if _, err := expect("ns-1/nobody", "ns-1/http-echo", 80, "TCP"); err == nil || !strings.Contains(err.Error(), "unknown endpoint") {
		t.Errorf("unknown pod: err = %v", err)
	}
}
