package netpol

import (
	"net/netip"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// An outside address is matched by ipBlock peers only: not by an empty
// namespaceSelector ("every namespace") nor an empty podSelector, and no
// policy isolates it.
func TestOutsideAddresses(t *testing.T) {
	t.Parallel()
	outside := netip.MustParseAddr("203.0.113.10")
	e := mustEval(t, Cluster{
		Pods:    []Pod{pod("x/a", "", map[string]string{"app": "a"}), pod("x/b", "", map[string]string{"app": "b"})},
		Outside: []netip.Addr{outside},
		Policies: []networkingv1.NetworkPolicy{
			policy("x/a-egress", networkingv1.NetworkPolicySpec{
				PodSelector: *ml("app", "a"),
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress:      []networkingv1.NetworkPolicyEgressRule{to(networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}})},
			}),
			policy("x/b-egress", networkingv1.NetworkPolicySpec{
				PodSelector: *ml("app", "b"),
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress: []networkingv1.NetworkPolicyEgressRule{to(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{
					CIDR: "0.0.0.0/0", Except: []string{"100.64.0.0/10"},
				}})},
			}),
			// Selects every pod of x for ingress; the outside address is in
			// no namespace, so its ingress stays open.
			policy("x/deny-ingress", networkingv1.NetworkPolicySpec{}),
		},
	})
	ref := OutsideNamespace + "/203.0.113.10"
	assertProbes(t, e, []probeWant{
		{"x/a", ref, p80, false}, // every namespace is not outside
		{"x/b", ref, p80, true},  // 0.0.0.0/0 is
		{"x/b", "x/a", p80, false},
		{ref, "x/a", p80, false}, // x denies all ingress
	})
	d, err := e.Decide(PodRef{"x", "b"}, PodRef{OutsideNamespace, "203.0.113.10"}, p80)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Ingress.IsolatedBy) != 0 {
		t.Errorf("outside ingress isolated by %v", d.Ingress.IsolatedBy)
	}
	m, err := e.Matrix([]PortProto{p80})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Cases[0].From; got != ref {
		t.Errorf("first case from %q, want the outside address %q (sorted first)", got, ref)
	}
	for _, p := range e.Pods() {
		if p.Namespace == OutsideNamespace && p.IP != "203.0.113.10" {
			t.Errorf("outside address got IP %s", p.IP)
		}
	}
}
