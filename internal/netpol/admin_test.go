package netpol

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
)

// Admin policy semantics the upstream conformance suite does not pin down,
// one test each, and Grid held to Decide with admin policies present.

func anp(name string, priority int32, subject anpv1alpha1.AdminNetworkPolicySubject) anpv1alpha1.AdminNetworkPolicy {
	return anpv1alpha1.AdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: anpv1alpha1.AdminNetworkPolicySpec{Priority: priority, Subject: subject}}
}

func inNamespaces(kv ...string) anpv1alpha1.AdminNetworkPolicySubject {
	return anpv1alpha1.AdminNetworkPolicySubject{Namespaces: ml(kv...)}
}

func egressRule(action anpv1alpha1.AdminNetworkPolicyRuleAction, to anpv1alpha1.AdminNetworkPolicyEgressPeer, ports ...anpv1alpha1.AdminNetworkPolicyPort) anpv1alpha1.AdminNetworkPolicyEgressRule {
	r := anpv1alpha1.AdminNetworkPolicyEgressRule{Action: action, To: []anpv1alpha1.AdminNetworkPolicyEgressPeer{to}}
	if len(ports) > 0 {
		r.Ports = &ports
	}
	return r
}

func ingressRule(action anpv1alpha1.AdminNetworkPolicyRuleAction, from anpv1alpha1.AdminNetworkPolicyIngressPeer, ports ...anpv1alpha1.AdminNetworkPolicyPort) anpv1alpha1.AdminNetworkPolicyIngressRule {
	r := anpv1alpha1.AdminNetworkPolicyIngressRule{Action: action, From: []anpv1alpha1.AdminNetworkPolicyIngressPeer{from}}
	if len(ports) > 0 {
		r.Ports = &ports
	}
	return r
}

func toNamespace(ns string) anpv1alpha1.AdminNetworkPolicyEgressPeer {
	return anpv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: ml(corev1.LabelMetadataName, ns)}
}

func fromNamespace(ns string) anpv1alpha1.AdminNetworkPolicyIngressPeer {
	return anpv1alpha1.AdminNetworkPolicyIngressPeer{Namespaces: ml(corev1.LabelMetadataName, ns)}
}

const (
	allow = anpv1alpha1.AdminNetworkPolicyRuleActionAllow
	deny  = anpv1alpha1.AdminNetworkPolicyRuleActionDeny
	pass  = anpv1alpha1.AdminNetworkPolicyRuleActionPass
)

// adminPods: x/a and x/b, y/c; every pod serves http (80/TCP) and dns (53/UDP).
func adminPods() []Pod {
	dns := corev1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: udp}
	return []Pod{
		pod("x/a", "100.96.1.1", map[string]string{"app": "a"}, http, dns),
		pod("x/b", "100.96.1.2", map[string]string{"app": "b"}, http, dns),
		pod("y/c", "100.96.2.1", map[string]string{"app": "c"}, http, dns),
	}
}

func TestAdminTiers(t *testing.T) {
	t.Parallel()
	// y/c is isolated for ingress by a NetworkPolicy that admits nothing.
	denyY := policy("y/deny-all", networkingv1.NetworkPolicySpec{})
	x := inNamespaces(corev1.LabelMetadataName, "x")
	for _, tc := range []struct {
		name     string
		admin    []anpv1alpha1.AdminNetworkPolicy
		policies []networkingv1.NetworkPolicy
		baseline []anpv1alpha1.BaselineAdminNetworkPolicyEgressRule
		want     bool // x/a -> y/c 80/TCP
		reason   string
	}{
		{
			name:   "nothing applies",
			want:   true,
			reason: "no policy selects either end",
		},
		{
			name:     "an admin Allow overrides the NetworkPolicy",
			admin:    []anpv1alpha1.AdminNetworkPolicy{withIngress(anp("open-y", 5, inNamespaces(corev1.LabelMetadataName, "y")), ingressRule(allow, fromNamespace("x")))},
			policies: []networkingv1.NetworkPolicy{denyY},
			want:     true,
			reason:   "ingress: allowed by admin policy open-y, rule 0 (priority 5)",
		},
		{
			name:   "an admin Deny decides",
			admin:  []anpv1alpha1.AdminNetworkPolicy{withEgress(anp("deny-y", 10, x), egressRule(deny, toNamespace("y")))},
			want:   false,
			reason: "egress: denied by admin policy deny-y, rule 0 (priority 10)",
		},
		{
			name: "lower priority number first",
			admin: []anpv1alpha1.AdminNetworkPolicy{
				withEgress(anp("deny-y", 10, x), egressRule(deny, toNamespace("y"))),
				withEgress(anp("allow-y", 9, x), namedRule(egressRule(allow, toNamespace("y")), "to-y")),
			},
			want:   true,
			reason: `egress: allowed by admin policy allow-y, rule 0 "to-y" (priority 9)`,
		},
		{
			name: "equal priorities: by name",
			admin: []anpv1alpha1.AdminNetworkPolicy{
				withEgress(anp("b-allow", 10, x), egressRule(allow, toNamespace("y"))),
				withEgress(anp("a-deny", 10, x), egressRule(deny, toNamespace("y"))),
			},
			want:   false,
			reason: "egress: denied by admin policy a-deny, rule 0 (priority 10)",
		},
		{
			name:   "rules in order: the first match decides",
			admin:  []anpv1alpha1.AdminNetworkPolicy{withEgress(anp("p", 1, x), egressRule(deny, toNamespace("z")), egressRule(allow, toNamespace("y")), egressRule(deny, toNamespace("y")))},
			want:   true,
			reason: "egress: allowed by admin policy p, rule 1 (priority 1)",
		},
		{
			name: "Pass skips the remaining admin policies",
			admin: []anpv1alpha1.AdminNetworkPolicy{
				withEgress(anp("pass", 1, x), egressRule(pass, toNamespace("y"))),
				withEgress(anp("deny", 2, x), egressRule(deny, toNamespace("y"))),
			},
			want:   true,
			reason: "egress: passed by admin policy pass, rule 0 (priority 1), then allowed: no NetworkPolicy or baseline rule applies",
		},
		{
			name:     "Pass then the NetworkPolicies",
			admin:    []anpv1alpha1.AdminNetworkPolicy{withIngress(anp("pass", 1, inNamespaces(corev1.LabelMetadataName, "y")), ingressRule(pass, fromNamespace("x")))},
			policies: []networkingv1.NetworkPolicy{denyY},
			want:     false,
			reason:   "ingress: passed by admin policy pass, rule 0 (priority 1), then default deny by y/deny-all",
		},
		{
			name:     "Pass then the baseline",
			admin:    []anpv1alpha1.AdminNetworkPolicy{withEgress(anp("pass", 1, x), egressRule(pass, toNamespace("y")))},
			baseline: []anpv1alpha1.BaselineAdminNetworkPolicyEgressRule{{Name: "no-y", Action: "Deny", To: []anpv1alpha1.BaselineAdminNetworkPolicyEgressPeer{{Namespaces: ml(corev1.LabelMetadataName, "y")}}}},
			want:     false,
			reason:   `egress: passed by admin policy pass, rule 0 (priority 1), then baseline deny (rule 0 "no-y")`,
		},
		{
			name:     "the baseline only when no NetworkPolicy isolates the pod",
			policies: []networkingv1.NetworkPolicy{policy("x/out", networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, Egress: []networkingv1.NetworkPolicyEgressRule{{}}})},
			baseline: []anpv1alpha1.BaselineAdminNetworkPolicyEgressRule{{Action: "Deny", To: []anpv1alpha1.BaselineAdminNetworkPolicyEgressPeer{{Namespaces: &metav1.LabelSelector{}}}}},
			want:     true,
			reason:   "egress: allowed by x/out",
		},
		{
			name: "the baseline: first matching rule",
			baseline: []anpv1alpha1.BaselineAdminNetworkPolicyEgressRule{
				{Action: "Allow", To: []anpv1alpha1.BaselineAdminNetworkPolicyEgressPeer{{Pods: &anpv1alpha1.NamespacedPod{PodSelector: *ml("app", "c")}}}},
				{Action: "Deny", To: []anpv1alpha1.BaselineAdminNetworkPolicyEgressPeer{{Namespaces: &metav1.LabelSelector{}}}},
			},
			want:   true,
			reason: "egress: baseline allow (rule 0)",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Cluster{Pods: adminPods(), AdminPolicies: tc.admin, Policies: tc.policies}
			if tc.baseline != nil {
				c.Baseline = &anpv1alpha1.BaselineAdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: anpv1alpha1.BaselineAdminNetworkPolicySpec{Subject: x, Egress: tc.baseline}}
			}
			e := mustEval(t, c)
			d, err := e.Decide(PodRef{"x", "a"}, PodRef{"y", "c"}, p80)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allowed != tc.want || d.Reason() != tc.reason {
				t.Errorf("allowed=%v %q, want %v %q", d.Allowed, d.Reason(), tc.want, tc.reason)
			}
			assertGridMatchesDecide(t, e, []PortProto{p80, {53, udp}})
		})
	}
}

func withEgress(p anpv1alpha1.AdminNetworkPolicy, rules ...anpv1alpha1.AdminNetworkPolicyEgressRule) anpv1alpha1.AdminNetworkPolicy {
	p.Spec.Egress = rules
	return p
}

func withIngress(p anpv1alpha1.AdminNetworkPolicy, rules ...anpv1alpha1.AdminNetworkPolicyIngressRule) anpv1alpha1.AdminNetworkPolicy {
	p.Spec.Ingress = rules
	return p
}

func namedRule(r anpv1alpha1.AdminNetworkPolicyEgressRule, name string) anpv1alpha1.AdminNetworkPolicyEgressRule {
	r.Name = name
	return r
}

func TestAdminDecisionFields(t *testing.T) {
	t.Parallel()
	e := mustEval(t, Cluster{
		Pods:          adminPods(),
		AdminPolicies: []anpv1alpha1.AdminNetworkPolicy{withEgress(anp("deny-y", 10, inNamespaces("kubernetes.io/metadata.name", "x")), egressRule(deny, toNamespace("y")))},
	})
	d, err := e.Decide(PodRef{"x", "a"}, PodRef{"y", "c"}, p80)
	if err != nil {
		t.Fatal(err)
	}
	want := Decision{
		Egress:  DirectionDecision{Admin: &AdminRule{Policy: "deny-y", Priority: 10, Index: 0, Action: "Deny"}},
		Ingress: DirectionDecision{Allowed: true},
	}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("Decide = %+v\nwant     %+v", d, want)
	}
	// A pod always reaches itself, whatever an admin policy says.
	self := mustEval(t, Cluster{
		Pods:          adminPods(),
		AdminPolicies: []anpv1alpha1.AdminNetworkPolicy{withEgress(anp("deny-all", 0, anpv1alpha1.AdminNetworkPolicySubject{Namespaces: &metav1.LabelSelector{}}), egressRule(deny, anpv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: &metav1.LabelSelector{}}))},
	})
	assertProbes(t, self, []probeWant{{"x/a", "x/a", p80, true}, {"x/a", "x/b", p80, false}})
}

func TestAdminPorts(t *testing.T) {
	t.Parallel()
	num := func(proto corev1.Protocol, port int32) anpv1alpha1.AdminNetworkPolicyPort {
		return anpv1alpha1.AdminNetworkPolicyPort{PortNumber: &anpv1alpha1.Port{Protocol: proto, Port: port}}
	}
	rng := func(proto corev1.Protocol, start, end int32) anpv1alpha1.AdminNetworkPolicyPort {
		return anpv1alpha1.AdminNetworkPolicyPort{PortRange: &anpv1alpha1.PortRange{Protocol: proto, Start: start, End: end}}
	}
	named := func(name string) anpv1alpha1.AdminNetworkPolicyPort {
		return anpv1alpha1.AdminNetworkPolicyPort{NamedPort: &name}
	}
	x := inNamespaces(corev1.LabelMetadataName, "x")
	for _, tc := range []struct {
		name  string
		port  anpv1alpha1.AdminNetworkPolicyPort
		probe []probeWant // x/a -> x/b; the rule denies what it matches
	}{
		{"portNumber, protocol defaulting to TCP", num("", 80), []probeWant{{port: p80, want: false}, {port: PortProto{80, udp}, want: true}, {port: p81, want: true}}},
		{"portNumber UDP", num(udp, 53), []probeWant{{port: PortProto{53, udp}, want: false}, {port: PortProto{53, tcp}, want: true}}},
		{"portRange is inclusive", rng(tcp, 80, 81), []probeWant{{port: PortProto{79, tcp}, want: true}, {port: p80, want: false}, {port: p81, want: false}, {port: PortProto{82, tcp}, want: true}}},
		{"namedPort takes the container port's protocol", named("dns"), []probeWant{{port: PortProto{53, udp}, want: false}, {port: PortProto{53, tcp}, want: true}, {port: p80, want: true}}},
		{"namedPort absent on the destination", named("metrics"), []probeWant{{port: p80, want: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEval(t, Cluster{
				Pods:          adminPods(),
				AdminPolicies: []anpv1alpha1.AdminNetworkPolicy{withEgress(anp("p", 1, x), egressRule(deny, toNamespace("x"), tc.port))},
			})
			for i := range tc.probe {
				tc.probe[i].from, tc.probe[i].to = "x/a", "x/b"
			}
			assertProbes(t, e, tc.probe)
		})
	}
}

func TestAdminNetworksAndOutside(t *testing.T) {
	t.Parallel()
	outside := netip.MustParseAddr("203.0.113.10")
	every := anpv1alpha1.AdminNetworkPolicySubject{Namespaces: &metav1.LabelSelector{}}
	e := mustEval(t, Cluster{
		Pods:    adminPods(),
		Outside: []netip.Addr{outside},
		AdminPolicies: []anpv1alpha1.AdminNetworkPolicy{withEgress(anp("internet", 1, every),
			egressRule(allow, anpv1alpha1.AdminNetworkPolicyEgressPeer{Networks: []anpv1alpha1.CIDR{"100.96.2.0/24"}}),
			egressRule(deny, anpv1alpha1.AdminNetworkPolicyEgressPeer{Networks: []anpv1alpha1.CIDR{"0.0.0.0/0", "::/0"}}),
		)},
	})
	out := "[outside]/" + outside.String()
	// Networks match pod IPs too; no subject selects the outside address.
	assertProbes(t, e, []probeWant{
		{"x/a", "y/c", p80, true},
		{"x/a", "x/b", p80, false},
		{"x/a", out, p80, false},
		{out, "x/a", p80, true},
	})
	assertGridMatchesDecide(t, e, []PortProto{p80})
}

// TestAdminErrorsNameTheField: NewEvaluator refuses what ValidateAdminPolicy
// and ValidateBaselinePolicy refuse (their tests hold the details), naming the
// object and the field; and what only a whole cluster shows.
func TestAdminErrorsNameTheField(t *testing.T) {
	t.Parallel()
	x := inNamespaces(corev1.LabelMetadataName, "x")
	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: "Near"}}}
	for _, tc := range []struct {
		name  string
		admin anpv1alpha1.AdminNetworkPolicy
		want  string
	}{
		{"nodes peer", withEgress(anp("p", 1, x), egressRule(deny, anpv1alpha1.AdminNetworkPolicyEgressPeer{Nodes: &metav1.LabelSelector{}})),
			"AdminNetworkPolicy p: spec.egress[0].to[0].nodes"},
		{"two peer fields", withEgress(anp("p", 1, x), egressRule(deny, anpv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: &metav1.LabelSelector{}, Networks: []anpv1alpha1.CIDR{"10.0.0.0/8"}})),
			"AdminNetworkPolicy p: spec.egress[0].to[0]: "},
		{"bad CIDR", withEgress(anp("p", 1, x), egressRule(deny, anpv1alpha1.AdminNetworkPolicyEgressPeer{Networks: []anpv1alpha1.CIDR{"10.0.0/8"}})),
			"AdminNetworkPolicy p: spec.egress[0].to[0].networks[0]"},
		{"bad selector", withIngress(anp("p", 1, x), ingressRule(allow, anpv1alpha1.AdminNetworkPolicyIngressPeer{Pods: &anpv1alpha1.NamespacedPod{PodSelector: *bad}})),
			"AdminNetworkPolicy p: spec.ingress[0].from[0].pods.podSelector"},
		{"no subject", anp("p", 1, anpv1alpha1.AdminNetworkPolicySubject{}), "AdminNetworkPolicy p: spec.subject: "},
		{"bad action", withEgress(anp("p", 1, x), egressRule("Log", toNamespace("y"))), `AdminNetworkPolicy p: spec.egress[0].action: "Log"`},
		{"empty port", withEgress(anp("p", 1, x), egressRule(deny, toNamespace("y"), anpv1alpha1.AdminNetworkPolicyPort{})),
			"AdminNetworkPolicy p: spec.egress[0].ports[0]: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEvaluator(Cluster{Pods: adminPods(), AdminPolicies: []anpv1alpha1.AdminNetworkPolicy{tc.admin}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	twice := []anpv1alpha1.AdminNetworkPolicy{anp("p", 1, x), anp("p", 2, x)}
	if _, err := NewEvaluator(Cluster{AdminPolicies: twice}); err == nil || !strings.Contains(err.Error(), "AdminNetworkPolicy p: defined twice") {
		t.Errorf("duplicate: %v", err)
	}
	passInBaseline := &anpv1alpha1.BaselineAdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: anpv1alpha1.BaselineAdminNetworkPolicySpec{
		Subject: x, Ingress: []anpv1alpha1.BaselineAdminNetworkPolicyIngressRule{{Action: "Pass", From: []anpv1alpha1.AdminNetworkPolicyIngressPeer{fromNamespace("y")}}},
	}}
	if _, err := NewEvaluator(Cluster{Baseline: passInBaseline}); err == nil || !strings.Contains(err.Error(), `BaselineAdminNetworkPolicy default: spec.ingress[0].action: "Pass"`) {
		t.Errorf("Pass in the baseline: %v", err)
	}
}

// assertGridMatchesDecide compares every case of the grid with Decide.
func assertGridMatchesDecide(t *testing.T, e *Evaluator, ports []PortProto) (cases int) {
	t.Helper()
	g, err := e.Grid(ports)
	if err != nil {
		t.Fatal(err)
	}
	pods := g.Pods()
	for s, from := range pods {
		for d, to := range pods {
			for k, pp := range g.Ports() {
				f, _ := ParsePodRef(from)
				tt, _ := ParsePodRef(to)
				dec, err := e.Decide(f, tt, pp)
				if err != nil {
					t.Fatal(err)
				}
				if got := g.Allowed(s, d, k); got != dec.Allowed {
					t.Fatalf("%s -> %s %s: Grid=%v, Decide=%v (%s)", from, to, pp, got, dec.Allowed, dec.Reason())
				}
				cases++
			}
		}
	}
	return cases
}

// TestAdminGridMatchesDecide holds Grid, which decides whole sets of pods at
// once, to Decide on random clusters with admin policies, NetworkPolicies, a
// baseline and outside addresses (seeded, so every run sees the same inputs).
func TestAdminGridMatchesDecide(t *testing.T) {
	t.Parallel()
	outside := []netip.Addr{netip.MustParseAddr("203.0.113.10"), netip.MustParseAddr("10.1.2.3")}
	ports := append(diffPorts, PortProto{53, udp})
	cases, byTier := 0, map[string]int{}
	for seed := uint64(1); seed <= 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 0x616e70))
		sc := generateScenario(r)
		c := Cluster{Namespaces: sc.namespaces, Pods: sc.pods, Policies: sc.policies, Outside: outside}
		for i, n := 0, 1+r.IntN(3); i < n; i++ {
			c.AdminPolicies = append(c.AdminPolicies, generateAdminPolicy(r, fmt.Sprintf("anp-%d", i)))
		}
		if r.IntN(3) > 0 {
			c.Baseline = generateBaseline(r)
		}
		e, err := NewEvaluator(c)
		if err != nil {
			t.Fatalf("seed %d: generated an invalid cluster: %v", seed, err)
		}
		cases += assertGridMatchesDecide(t, e, ports)
		for _, a := range e.Pods() {
			for _, b := range e.Pods() {
				d, _ := e.Decide(a.Ref(), b.Ref(), p80)
				for _, s := range []DirectionDecision{d.Egress, d.Ingress} {
					switch {
					case s.Admin != nil:
						byTier["admin "+s.Admin.Action]++
					case s.Baseline != nil:
						byTier["baseline "+s.Baseline.Action]++
					}
				}
			}
		}
	}
	t.Logf("%d cases agree; sides decided at 80/TCP: %v", cases, byTier)
	for _, tier := range []string{"admin Allow", "admin Deny", "admin Pass", "baseline Allow", "baseline Deny"} {
		if byTier[tier] < 100 {
			t.Errorf("only %d sides decided by %s: the generator no longer exercises every tier", byTier[tier], tier)
		}
	}
}

func generateAdminSubject(r *rand.Rand) anpv1alpha1.AdminNetworkPolicySubject {
	if r.IntN(2) == 0 {
		return anpv1alpha1.AdminNetworkPolicySubject{Namespaces: orEmpty(generateSelector(r, true))}
	}
	return anpv1alpha1.AdminNetworkPolicySubject{Pods: generateNamespacedPod(r)}
}

func generateNamespacedPod(r *rand.Rand) *anpv1alpha1.NamespacedPod {
	return &anpv1alpha1.NamespacedPod{NamespaceSelector: *orEmpty(generateSelector(r, true)), PodSelector: *orEmpty(generateSelector(r, false))}
}

func orEmpty(s *metav1.LabelSelector) *metav1.LabelSelector {
	if s == nil {
		return &metav1.LabelSelector{}
	}
	return s
}

// generatePeer returns namespaces, pods or (egress) networks.
func generatePeer(r *rand.Rand, egress bool) anpv1alpha1.AdminNetworkPolicyEgressPeer {
	switch r.IntN(5) {
	case 0, 1:
		return anpv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: orEmpty(generateSelector(r, true))}
	case 2:
		if egress {
			networks := []anpv1alpha1.CIDR{anpv1alpha1.CIDR(pick(r, genCIDRs))}
			if r.IntN(2) == 0 {
				networks = append(networks, pick(r, []anpv1alpha1.CIDR{"203.0.113.0/24", "10.1.0.0/16", "::/0"}))
			}
			return anpv1alpha1.AdminNetworkPolicyEgressPeer{Networks: networks}
		}
	}
	return anpv1alpha1.AdminNetworkPolicyEgressPeer{Pods: generateNamespacedPod(r)}
}

// generateAdminPorts returns nil or ports; named ports only when the rule has
// no networks peer (the CRD refuses them there).
func generateAdminPorts(r *rand.Rand, named bool) *[]anpv1alpha1.AdminNetworkPolicyPort {
	if r.IntN(2) == 0 {
		return nil
	}
	var out []anpv1alpha1.AdminNetworkPolicyPort
	for i, n := 0, 1+r.IntN(2); i < n; i++ {
		proto := pick(r, []corev1.Protocol{"", tcp, udp, sctp})
		kinds := 3
		if !named {
			kinds = 2
		}
		switch r.IntN(kinds) {
		case 0:
			out = append(out, anpv1alpha1.AdminNetworkPolicyPort{PortNumber: &anpv1alpha1.Port{Protocol: proto, Port: pick(r, []int32{53, 80, 81, 8080})}})
		case 1:
			start := pick(r, []int32{53, 79, 80})
			out = append(out, anpv1alpha1.AdminNetworkPolicyPort{PortRange: &anpv1alpha1.PortRange{Protocol: proto, Start: start, End: start + pick(r, []int32{1, 2, 8000})}})
		case 2:
			name := pick(r, genNamedPorts)
			out = append(out, anpv1alpha1.AdminNetworkPolicyPort{NamedPort: &name})
		}
	}
	return &out
}

func generateAdminPolicy(r *rand.Rand, name string) anpv1alpha1.AdminNetworkPolicy {
	p := anp(name, int32(r.IntN(3)), generateAdminSubject(r))
	actions := []anpv1alpha1.AdminNetworkPolicyRuleAction{allow, deny, pass}
	for i, n := 0, r.IntN(4); i < n; i++ {
		rule := anpv1alpha1.AdminNetworkPolicyIngressRule{Action: pick(r, actions), Ports: generateAdminPorts(r, true)}
		for j, m := 0, 1+r.IntN(2); j < m; j++ {
			peer := generatePeer(r, false)
			rule.From = append(rule.From, anpv1alpha1.AdminNetworkPolicyIngressPeer{Namespaces: peer.Namespaces, Pods: peer.Pods})
		}
		p.Spec.Ingress = append(p.Spec.Ingress, rule)
	}
	for i, n := 0, r.IntN(4); i < n; i++ {
		rule := anpv1alpha1.AdminNetworkPolicyEgressRule{Action: pick(r, actions)}
		networks := false
		for j, m := 0, 1+r.IntN(2); j < m; j++ {
			rule.To = append(rule.To, generatePeer(r, true))
			networks = networks || rule.To[j].Networks != nil
		}
		rule.Ports = generateAdminPorts(r, !networks)
		p.Spec.Egress = append(p.Spec.Egress, rule)
	}
	return p
}

func generateBaseline(r *rand.Rand) *anpv1alpha1.BaselineAdminNetworkPolicy {
	b := &anpv1alpha1.BaselineAdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: anpv1alpha1.BaselineAdminNetworkPolicySpec{Subject: generateAdminSubject(r)}}
	actions := []anpv1alpha1.BaselineAdminNetworkPolicyRuleAction{"Allow", "Deny"}
	for i, n := 0, r.IntN(4); i < n; i++ {
		peer := generatePeer(r, false)
		b.Spec.Ingress = append(b.Spec.Ingress, anpv1alpha1.BaselineAdminNetworkPolicyIngressRule{
			Action: pick(r, actions), Ports: generateAdminPorts(r, true),
			From: []anpv1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: peer.Namespaces, Pods: peer.Pods}},
		})
	}
	for i, n := 0, r.IntN(4); i < n; i++ {
		peer := generatePeer(r, true)
		b.Spec.Egress = append(b.Spec.Egress, anpv1alpha1.BaselineAdminNetworkPolicyEgressRule{
			Action: pick(r, actions), Ports: generateAdminPorts(r, peer.Networks == nil),
			To: []anpv1alpha1.BaselineAdminNetworkPolicyEgressPeer{{Namespaces: peer.Namespaces, Pods: peer.Pods, Networks: peer.Networks}},
		})
	}
	return b
}
