package probe

import (
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/kopscalico/kopscalico/internal/demo"
	"github.com/kopscalico/kopscalico/internal/netpol"
	"github.com/kopscalico/kopscalico/internal/policies"
)

// TestPolicyExpectOnShippedPolicies: the repository's own policies, the demo
// workloads and the demo probes give the tutorial's verdicts.
func TestPolicyExpectOnShippedPolicies(t *testing.T) {
	t.Parallel()
	set, err := policies.Load(filepath.Join("..", "..", "policies"))
	if err != nil {
		t.Fatal(err)
	}
	w := demo.New("ns-1")
	var namespaces []corev1.Namespace
	for _, n := range set.Namespaces {
		namespaces = append(namespaces, n.Object)
	}
	cluster := netpol.Cluster{
		Namespaces: namespaces,
		Pods:       netpol.PodsFromDeployments([]appsv1.Deployment{w.Echo, w.Client}),
		Policies:   set.AllPolicies(),
	}
	expect, err := PolicyExpect(cluster, DemoSources("ns-1"))
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
	cluster.Policies = noAllow
	expect, err = PolicyExpect(cluster, DemoSources("ns-1"))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := expect("ns-1/probe-busybox", "ns-1/http-echo", demo.EchoContainer, "TCP"); err != nil || ok {
		t.Errorf("busybox without the allow policy: allowed=%v err=%v, want blocked", ok, err)
	}
	if _, err := expect("ns-1/nobody", "ns-1/http-echo", 80, "TCP"); err == nil || !strings.Contains(err.Error(), "unknown pod") {
		t.Errorf("unknown pod: err = %v", err)
	}
}
