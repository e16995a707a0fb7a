package netpol

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Semantics the upstream e2e cases do not pin down, one test each.

func pod(ref string, ip string, labels map[string]string, ports ...corev1.ContainerPort) Pod {
	r, _ := ParsePodRef(ref)
	return Pod{Namespace: r.Namespace, Name: r.Name, IP: ip, Labels: labels, Ports: ports}
}

func policy(ref string, spec networkingv1.NetworkPolicySpec) networkingv1.NetworkPolicy {
	r, _ := ParsePodRef(ref)
	return networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: r.Namespace, Name: r.Name}, Spec: spec}
}

func mustEval(t *testing.T, c Cluster) *Evaluator {
	t.Helper()
	e, err := NewEvaluator(c)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type probeWant struct {
	from, to string
	port     PortProto
	want     bool
}

func assertProbes(t *testing.T, e *Evaluator, probes []probeWant) {
	t.Helper()
	for _, p := range probes {
		f, _ := ParsePodRef(p.from)
		to, _ := ParsePodRef(p.to)
		got, err := e.Allowed(f, to, p.port)
		if err != nil {
			t.Fatal(err)
		}
		if got != p.want {
			v, _ := e.Decide(f, to, p.port)
			t.Errorf("%s -> %s %s: allowed=%v, want %v (%+v)", p.from, p.to, p.port, got, p.want, v)
		}
	}
}

var (
	p80  = PortProto{80, tcp}
	p81  = PortProto{81, tcp}
	u80  = PortProto{80, udp}
	http = corev1.ContainerPort{Name: "http", ContainerPort: 80, Protocol: tcp}
)

func TestPolicyTypesDefault(t *testing.T) {
	t.Parallel()
	pods := []Pod{pod("x/a", "", map[string]string{"pod": "a"}, http), pod("x/b", "", map[string]string{"pod": "b"}, http)}
	// No policyTypes and egress rules only: the API defaults policyTypes to
	// [Ingress, Egress], so ingress is isolated with no rule: denied.
	e := mustEval(t, Cluster{Pods: pods, Policies: []networkingv1.NetworkPolicy{policy("x/egress-only", networkingv1.NetworkPolicySpec{
		PodSelector: *ml("pod", "a"),
		Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{intPort(81, nil)}}},
	})}})
	assertProbes(t, e, []probeWant{
		{"x/b", "x/a", p80, false}, // ingress isolated by default
		{"x/a", "x/b", p80, false}, // egress only to 81
		{"x/a", "x/b", p81, true},
	})
	// No policyTypes and no egress rules: Ingress only, egress untouched.
	e = mustEval(t, Cluster{Pods: pods, Policies: []networkingv1.NetworkPolicy{policy("x/ingress", networkingv1.NetworkPolicySpec{PodSelector: *ml("pod", "a")})}})
	assertProbes(t, e, []probeWant{{"x/b", "x/a", p80, false}, {"x/a", "x/b", p80, true}})
}

func TestRulesOfAnUnlistedPolicyTypeAreIgnored(t *testing.T) {
	t.Parallel()
	pods := []Pod{pod("x/a", "", map[string]string{"pod": "a"}), pod("x/b", "", map[string]string{"pod": "b"})}
	// policyTypes [Egress] with an ingress rule that would deny: the ingress
	// rules are ignored and ingress is not isolated.
	e := mustEval(t, Cluster{Pods: pods, Policies: []networkingv1.NetworkPolicy{policy("x/p", networkingv1.NetworkPolicySpec{
		PodSelector: *ml("pod", "a"),
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{intPort(9, nil)}}},
		Egress:      []networkingv1.NetworkPolicyEgressRule{{}},
	})}})
	assertProbes(t, e, []probeWant{{"x/b", "x/a", p80, true}, {"x/a", "x/b", p80, true}})
	v, _ := e.Decide(PodRef{"x", "b"}, PodRef{"x", "a"}, p80)
	if len(v.Ingress.IsolatedBy) != 0 || !reflect.DeepEqual(v.Egress.IsolatedBy, []string(nil)) {
		t.Errorf("x/b -> x/a: %+v, want no isolation", v)
	}
}

func TestAbsentVersusEmptySelectors(t *testing.T) {
	t.Parallel()
	pods := []Pod{
		pod("x/server", "", map[string]string{"app": "server"}),
		pod("x/a", "", map[string]string{"pod": "a"}),
		pod("y/a", "", map[string]string{"pod": "a"}),
		pod("y/b", "", map[string]string{"pod": "b"}),
	}
	cases := []struct {
		name string
		peer networkingv1.NetworkPolicyPeer
		want map[string]bool // source -> allowed to x/server
	}{
		{"podSelector empty, namespaceSelector absent: all pods of the policy's namespace",
			networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{}},
			map[string]bool{"x/a": true, "y/a": false, "y/b": false}},
		{"namespaceSelector empty, podSelector absent: all pods of all namespaces",
			networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{}},
			map[string]bool{"x/a": true, "y/a": true, "y/b": true}},
		{"podSelector set, namespaceSelector empty: matching pods of all namespaces",
			networkingv1.NetworkPolicyPeer{PodSelector: ml("pod", "a"), NamespaceSelector: &metav1.LabelSelector{}},
			map[string]bool{"x/a": true, "y/a": true, "y/b": false}},
		{"podSelector set, namespaceSelector absent: matching pods of the policy's namespace",
			networkingv1.NetworkPolicyPeer{PodSelector: ml("pod", "a")},
			map[string]bool{"x/a": true, "y/a": false, "y/b": false}},
		{"both set: AND",
			networkingv1.NetworkPolicyPeer{PodSelector: ml("pod", "b"), NamespaceSelector: ml(corev1.LabelMetadataName, "y")},
			map[string]bool{"x/a": false, "y/a": false, "y/b": true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustEval(t, Cluster{Pods: pods, Policies: []networkingv1.NetworkPolicy{policy("x/p", networkingv1.NetworkPolicySpec{
				PodSelector: *ml("app", "server"),
				Ingress:     []networkingv1.NetworkPolicyIngressRule{from(tc.peer)},
			})}})
			for src, want := range tc.want {
				assertProbes(t, e, []probeWant{{src, "x/server", p80, want}})
			}
		})
	}
	// Separate peers are ORed; an empty from list matches everything.
	e := mustEval(t, Cluster{Pods: pods, Policies: []networkingv1.NetworkPolicy{
		policy("x/or", networkingv1.NetworkPolicySpec{PodSelector: *ml("app", "server"), Ingress: []networkingv1.NetworkPolicyIngressRule{from(
			networkingv1.NetworkPolicyPeer{PodSelector: ml("pod", "b"), NamespaceSelector: &metav1.LabelSelector{}},
			networkingv1.NetworkPolicyPeer{PodSelector: ml("pod", "a")},
		)}}),
	}})
	assertProbes(t, e, []probeWant{{"x/a", "x/server", p80, true}, {"y/a", "x/server", p80, false}, {"y/b", "x/server", p80, true}})
	e = mustEval(t, Cluster{Pods: pods, Policies: []networkingv1.NetworkPolicy{
		policy("x/all", networkingv1.NetworkPolicySpec{PodSelector: *ml("app", "server"), Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{}}}}),
	}})
	assertProbes(t, e, []probeWant{{"y/a", "x/server", p80, true}})
}

func TestPorts(t *testing.T) {
	t.Parallel()
	pods := []Pod{
		pod("x/client", "", nil),
		pod("x/web80", "", map[string]string{"app": "web"}, corev1.ContainerPort{Name: "web", ContainerPort: 80}), // protocol defaults to TCP
		pod("x/web81", "", map[string]string{"app": "web"}, corev1.ContainerPort{Name: "web", ContainerPort: 81, Protocol: tcp}),
		pod("x/plain", "", map[string]string{"app": "web"}, corev1.ContainerPort{ContainerPort: 80}),
	}
	named := func(name string, proto *corev1.Protocol) networkingv1.NetworkPolicyPort {
		return namedPort(name, proto)
	}
	rangePort := func(from, to int32) networkingv1.NetworkPolicyPort {
		p := intPort(from, nil)
		p.EndPort = &to
		return p
	}
	cases := []struct {
		name   string
		egress bool
		ports  []networkingv1.NetworkPolicyPort
		want   []probeWant
	}{
		{"ingress named port resolves on the destination", false, []networkingv1.NetworkPolicyPort{named("web", nil)}, []probeWant{
			{"x/client", "x/web80", p80, true}, {"x/client", "x/web80", p81, false},
			{"x/client", "x/web81", p81, true}, {"x/client", "x/web81", p80, false},
			{"x/client", "x/plain", p80, false}, // no port named web
		}},
		{"egress named port resolves on the destination too", true, []networkingv1.NetworkPolicyPort{named("web", nil)}, []probeWant{
			{"x/client", "x/web80", p80, true}, {"x/client", "x/web80", p81, false},
			{"x/client", "x/web81", p81, true}, {"x/client", "x/web81", p80, false},
			{"x/client", "x/plain", p80, false},
		}},
		{"named port with another protocol does not match", false, []networkingv1.NetworkPolicyPort{named("web", &udp)}, []probeWant{
			{"x/client", "x/web80", p80, false}, {"x/client", "x/web80", u80, false},
		}},
		{"endPort is an inclusive range", false, []networkingv1.NetworkPolicyPort{rangePort(80, 81)}, []probeWant{
			{"x/client", "x/web80", p80, true}, {"x/client", "x/web80", p81, true},
			{"x/client", "x/web80", PortProto{82, tcp}, false}, {"x/client", "x/web80", u80, false},
		}},
		{"protocol only matches every port of it", false, []networkingv1.NetworkPolicyPort{{Protocol: &udp}}, []probeWant{
			{"x/client", "x/web80", u80, true}, {"x/client", "x/web80", PortProto{5353, udp}, true}, {"x/client", "x/web80", p80, false},
		}},
		{"protocol defaults to TCP", false, []networkingv1.NetworkPolicyPort{intPort(80, nil)}, []probeWant{
			{"x/client", "x/web80", p80, true}, {"x/client", "x/web80", u80, false},
		}},
		{"SCTP does not match TCP", false, []networkingv1.NetworkPolicyPort{intPort(80, &sctp)}, []probeWant{
			{"x/client", "x/web80", p80, false}, {"x/client", "x/web80", PortProto{80, sctp}, true},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var p networkingv1.NetworkPolicy
			if tc.egress {
				p = policy("x/p", networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpDoesNotExist}}},
					Egress:      []networkingv1.NetworkPolicyEgressRule{{Ports: tc.ports}},
				})
			} else {
				p = policy("x/p", networkingv1.NetworkPolicySpec{
					PodSelector: *ml("app", "web"),
					Ingress:     []networkingv1.NetworkPolicyIngressRule{{Ports: tc.ports}},
				})
			}
			e := mustEval(t, Cluster{Pods: pods, Policies: []networkingv1.NetworkPolicy{p}})
			assertProbes(t, e, tc.want)
			// The matrix agrees with the single-case path.
			m, err := e.Matrix([]PortProto{p80, p81, u80})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range m.Cases {
				f, _ := ParsePodRef(c.From)
				to, _ := ParsePodRef(c.To)
				if got, _ := e.Allowed(f, to, PortProto{int32(c.Port), corev1.Protocol(c.Protocol)}); got != c.Allowed {
					t.Errorf("%s: Matrix says %v, Allowed says %v", c.Key(), c.Allowed, got)
				}
			}
		})
	}
}

func TestIPBlockMatchesPodIPs(t *testing.T) {
	t.Parallel()
	pods := []Pod{
		pod("x/server", "100.96.1.10", map[string]string{"app": "server"}),
		pod("x/in", "100.96.1.20", nil),
		pod("x/excepted", "100.96.1.30", nil),
		pod("y/out", "100.96.2.20", nil),
		pod("y/v6", "fd00::1", nil),
	}
	e := mustEval(t, Cluster{Pods: pods, Policies: []networkingv1.NetworkPolicy{policy("x/p", networkingv1.NetworkPolicySpec{
		PodSelector: *ml("app", "server"),
		Ingress: []networkingv1.NetworkPolicyIngressRule{from(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{
			CIDR: "100.96.1.0/24", Except: []string{"100.96.1.30/32"},
		}})},
	})}})
	assertProbes(t, e, []probeWant{
		{"x/in", "x/server", p80, true},
		{"x/excepted", "x/server", p80, false},
		{"y/out", "x/server", p80, false},
		{"y/v6", "x/server", p80, false},
	})
}

func TestSelfAlwaysAllowed(t *testing.T) {
	t.Parallel()
	e := mustEval(t, Cluster{
		Pods: []Pod{pod("x/a", "", nil)},
		Policies: []networkingv1.NetworkPolicy{policy("x/deny-all", networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		})},
	})
	v, err := e.Decide(PodRef{"x", "a"}, PodRef{"x", "a"}, p80)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Allowed || !v.Self || v.Egress.Allowed || v.Ingress.Allowed {
		t.Errorf("self: %+v, want allowed as self while both directions deny", v)
	}
}

func TestNamespaceLabels(t *testing.T) {
	t.Parallel()
	pods := []Pod{pod("x/server", "", map[string]string{"app": "server"}), pod("y/a", "", nil), pod("implicit/a", "", nil)}
	spec := func(sel *metav1.LabelSelector) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{
			PodSelector: *ml("app", "server"),
			Ingress:     []networkingv1.NetworkPolicyIngressRule{from(networkingv1.NetworkPolicyPeer{NamespaceSelector: sel})},
		}
	}
	// A declared kubernetes.io/metadata.name is overridden, as the API server does.
	e := mustEval(t, Cluster{
		Namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "y", Labels: map[string]string{corev1.LabelMetadataName: "lie", "team": "t"}}}},
		Pods:       pods,
		Policies: []networkingv1.NetworkPolicy{
			policy("x/by-name", spec(ml(corev1.LabelMetadataName, "y"))),
			policy("x/implicit", spec(ml(corev1.LabelMetadataName, "implicit"))),
		},
	})
	assertProbes(t, e, []probeWant{{"y/a", "x/server", p80, true}, {"implicit/a", "x/server", p80, true}})
	e = mustEval(t, Cluster{
		Namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "y", Labels: map[string]string{corev1.LabelMetadataName: "lie"}}}},
		Pods:       pods,
		Policies:   []networkingv1.NetworkPolicy{policy("x/lie", spec(ml(corev1.LabelMetadataName, "lie")))},
	})
	assertProbes(t, e, []probeWant{{"y/a", "x/server", p80, false}})
}

func TestEmptyNamespaceMeansDefault(t *testing.T) {
	t.Parallel()
	e := mustEval(t, Cluster{
		Pods: []Pod{{Name: "a", Labels: map[string]string{"app": "a"}}, {Namespace: "default", Name: "b"}},
		Policies: []networkingv1.NetworkPolicy{{ObjectMeta: metav1.ObjectMeta{Name: "deny"},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: *ml("app", "a")}}},
	})
	assertProbes(t, e, []probeWant{{"default/b", "default/a", p80, false}, {"default/a", "default/b", p80, true}})
}

func TestSyntheticIPs(t *testing.T) {
	t.Parallel()
	base := []Pod{pod("x/a", "", nil), pod("x/b", "", nil), pod("y/a", "100.96.0.7", nil)}
	e := mustEval(t, Cluster{Pods: base})
	prefix := netip.MustParsePrefix(SyntheticPodCIDR)
	seen := map[string]bool{}
	ips := map[string]string{}
	for _, p := range e.Pods() {
		a := netip.MustParseAddr(p.IP)
		if p.Ref().String() != "y/a" && !prefix.Contains(a) {
			t.Errorf("%s: synthetic IP %s outside %s", p.Ref(), a, SyntheticPodCIDR)
		}
		if seen[p.IP] {
			t.Errorf("%s: IP %s reused", p.Ref(), p.IP)
		}
		seen[p.IP] = true
		ips[p.Ref().String()] = p.IP
	}
	if ips["y/a"] != "100.96.0.7" {
		t.Errorf("y/a kept IP %s, want its own 100.96.0.7", ips["y/a"])
	}
	// Stable across runs, and a pod's address does not move when others come.
	e2 := mustEval(t, Cluster{Pods: append([]Pod{pod("a/new", "", nil), pod("z/z", "", nil)}, base...)})
	for _, p := range e2.Pods() {
		if want, ok := ips[p.Ref().String()]; ok && p.IP != want {
			t.Errorf("%s: IP %s, was %s", p.Ref(), p.IP, want)
		}
	}
}

func TestValidationErrorsNameTheField(t *testing.T) {
	t.Parallel()
	port := func(p networkingv1.NetworkPolicyPort) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{Ingress: []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{p}}}}
	}
	peer := func(p networkingv1.NetworkPolicyPeer) networkingv1.NetworkPolicySpec {
		return networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{}, {To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}, p}}}}
	}
	bad := intstr.FromString("Not_A_Port")
	named := intstr.FromString("http")
	zero := intstr.FromInt32(0)
	eighty := intstr.FromInt32(80)
	seventy, big := int32(70), int32(70000)
	weird := corev1.Protocol("ICMP")
	cases := []struct {
		name string
		spec networkingv1.NetworkPolicySpec
		want string
	}{
		{"bad pod selector", networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"a b": "c"}}}, "NetworkPolicy x/p: spec.podSelector"},
		{"bad policy type", networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Sideways"}}, `spec.policyTypes[0] "Sideways"`},
		{"empty peer", peer(networkingv1.NetworkPolicyPeer{}), "spec.egress[1].to[1] is empty"},
		{"ipBlock with selector", peer(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8"}, PodSelector: &metav1.LabelSelector{}}), "spec.egress[1].to[1] sets ipBlock together with a selector"},
		{"valid peer (control)", peer(networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{}}), ""},
		{"bad cidr text", networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0/8"}}}}}}, `spec.egress[0].to[0].ipBlock.cidr "10.0.0/8"`},
		{"except outside cidr", networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"11.0.0.0/16"}}}}}}}, "ipBlock.except[0]"},
		{"except not strict", networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.0.0.0/8"}}}}}}}, "strict subset"},
		{"bad namespace selector", peer(networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: metav1.LabelSelectorOpIn}}}}), "spec.egress[1].to[1].namespaceSelector"},
		{"bad named port", port(networkingv1.NetworkPolicyPort{Port: &bad}), `spec.ingress[0].ports[0].port "Not_A_Port"`},
		{"port zero", port(networkingv1.NetworkPolicyPort{Port: &zero}), "spec.ingress[0].ports[0].port 0"},
		{"endPort with named port", port(networkingv1.NetworkPolicyPort{Port: &named, EndPort: &seventy}), "spec.ingress[0].ports[0].endPort"},
		{"endPort below port", port(networkingv1.NetworkPolicyPort{Port: &eighty, EndPort: &seventy}), "endPort 70 is below"},
		{"endPort too big", port(networkingv1.NetworkPolicyPort{Port: &eighty, EndPort: &big}), "endPort 70000"},
		{"endPort without port", port(networkingv1.NetworkPolicyPort{EndPort: &big}), "endPort needs a numeric"},
		{"bad protocol", port(networkingv1.NetworkPolicyPort{Protocol: &weird}), `spec.ingress[0].ports[0].protocol "ICMP"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewEvaluator(Cluster{Policies: []networkingv1.NetworkPolicy{policy("x/p", tc.spec)}})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid policy rejected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "NetworkPolicy x/p") {
				t.Fatalf("error %v, want one naming x/p and %q", err, tc.want)
			}
		})
	}
	if _, err := NewEvaluator(Cluster{Pods: []Pod{pod("x/a", "", nil), pod("x/a", "", nil)}}); err == nil || !strings.Contains(err.Error(), "x/a") {
		t.Errorf("duplicate pod: %v", err)
	}
	if _, err := NewEvaluator(Cluster{Pods: []Pod{pod("x/a", "10.0.0.300", nil)}}); err == nil || !strings.Contains(err.Error(), "x/a") {
		t.Errorf("bad pod IP: %v", err)
	}
	if _, err := NewEvaluator(Cluster{Policies: []networkingv1.NetworkPolicy{policy("x/p", networkingv1.NetworkPolicySpec{}), policy("x/p", networkingv1.NetworkPolicySpec{})}}); err == nil || !strings.Contains(err.Error(), "x/p") {
		t.Errorf("duplicate policy: %v", err)
	}
}

func TestDecideExplains(t *testing.T) {
	t.Parallel()
	e := mustEval(t, Cluster{
		Pods: []Pod{pod("x/a", "", map[string]string{"pod": "a"}), pod("x/b", "", map[string]string{"pod": "b"})},
		Policies: []networkingv1.NetworkPolicy{
			policy("x/deny", networkingv1.NetworkPolicySpec{}),
			policy("x/allow-b", networkingv1.NetworkPolicySpec{PodSelector: *ml("pod", "a"), Ingress: []networkingv1.NetworkPolicyIngressRule{
				from(networkingv1.NetworkPolicyPeer{PodSelector: ml("pod", "b")}), {Ports: []networkingv1.NetworkPolicyPort{intPort(80, nil)}},
			}}),
		},
	})
	v, err := e.Decide(PodRef{"x", "b"}, PodRef{"x", "a"}, p80)
	if err != nil {
		t.Fatal(err)
	}
	want := Decision{
		Allowed: true,
		Egress:  DirectionDecision{Allowed: true},
		Ingress: DirectionDecision{Allowed: true, IsolatedBy: []string{"x/allow-b", "x/deny"}, AllowedBy: []string{"x/allow-b"}},
	}
	if !reflect.DeepEqual(v, want) {
		t.Errorf("Decide = %+v\nwant    %+v", v, want)
	}
	if _, err := e.Decide(PodRef{"x", "nope"}, PodRef{"x", "a"}, p80); err == nil || !strings.Contains(err.Error(), "x/nope") {
		t.Errorf("unknown pod: %v", err)
	}
	if _, err := e.Decide(PodRef{"x", "a"}, PodRef{"x", "b"}, PortProto{80, "ICMP"}); err == nil {
		t.Error("bad protocol accepted")
	}
}

func TestDecisionReason(t *testing.T) {
	t.Parallel()
	e := mustEval(t, Cluster{
		Pods: []Pod{pod("x/a", "", map[string]string{"app": "a"}), pod("x/b", "", map[string]string{"app": "b"}), pod("y/c", "", nil)},
		Policies: []networkingv1.NetworkPolicy{
			policy("x/deny", networkingv1.NetworkPolicySpec{}),
			policy("x/a-from-b", networkingv1.NetworkPolicySpec{PodSelector: *ml("app", "a"), Ingress: []networkingv1.NetworkPolicyIngressRule{
				from(networkingv1.NetworkPolicyPeer{PodSelector: ml("app", "b")}),
			}}),
			policy("x/b-out", networkingv1.NetworkPolicySpec{
				PodSelector: *ml("app", "b"),
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
				Egress:      []networkingv1.NetworkPolicyEgressRule{to(networkingv1.NetworkPolicyPeer{PodSelector: ml("app", "a")})},
			}),
		},
	})
	for _, tc := range []struct{ from, to, want string }{
		{"x/b", "x/a", "egress: allowed by x/b-out; ingress: allowed by x/a-from-b"},
		{"y/c", "x/a", "ingress: default deny by x/a-from-b, x/deny"},
		{"x/b", "y/c", "egress: default deny by x/b-out"},
		{"x/a", "y/c", "no policy selects either end"},
		{"x/a", "x/a", "a pod always reaches itself"},
	} {
		f, _ := ParsePodRef(tc.from)
		to, _ := ParsePodRef(tc.to)
		d, err := e.Decide(f, to, p80)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.Reason(); got != tc.want {
			t.Errorf("%s -> %s: %q, want %q", tc.from, tc.to, got, tc.want)
		}
	}
}

func TestPodsFromDeployment(t *testing.T) {
	t.Parallel()
	zero, two := int32(0), int32(2)
	d := appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "http-echo"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &two,
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "http-echo"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 5678}}},
					{Ports: []corev1.ContainerPort{{Name: "dns", ContainerPort: 53, Protocol: udp}}},
				}},
			},
		},
	}
	got := PodsFromDeployment(d)
	want := []Pod{{
		Namespace: "default", Name: "http-echo", Labels: map[string]string{"app": "http-echo"},
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 5678, Protocol: tcp}, {Name: "dns", ContainerPort: 53, Protocol: udp}},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PodsFromDeployment = %+v, want %+v", got, want)
	}
	d.Spec.Replicas = &zero
	if got := PodsFromDeployment(d); len(got) != 0 {
		t.Errorf("scaled to zero: %+v, want no pod", got)
	}
}

func TestMatrixOrder(t *testing.T) {
	t.Parallel()
	pods := []Pod{pod("x/a", "", map[string]string{"pod": "a"}), pod("x/b", "", map[string]string{"pod": "b"}), pod("x/c", "", nil)}
	e := mustEval(t, Cluster{Pods: pods, Policies: []networkingv1.NetworkPolicy{
		policy("x/a-from-b-80", networkingv1.NetworkPolicySpec{PodSelector: *ml("pod", "a"), Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From: []networkingv1.NetworkPolicyPeer{{PodSelector: ml("pod", "b")}}, Ports: []networkingv1.NetworkPolicyPort{intPort(80, nil)},
		}}}),
	}})
	m, err := e.Matrix([]PortProto{p81, p80, p80}) // sorted and deduplicated
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Cases) != 3*3*2 {
		t.Fatalf("cases: %d, want 18", len(m.Cases))
	}
	if c := m.Cases[0]; c != (Case{From: "x/a", To: "x/a", Port: 80, Protocol: "TCP", Allowed: true}) {
		t.Errorf("first case %+v", c)
	}
	got := map[string]bool{}
	for _, c := range m.Cases {
		got[c.Key()] = c.Allowed
	}
	if !got["x/b -> x/a 80/TCP"] || got["x/b -> x/a 81/TCP"] || got["x/c -> x/a 80/TCP"] {
		t.Errorf("matrix = %v, want only b on 80 into a", got)
	}
}

func TestParsePorts(t *testing.T) {
	t.Parallel()
	got, err := ParsePortList("80/TCP, 81/udp,53")
	if err != nil {
		t.Fatal(err)
	}
	want := []PortProto{{80, tcp}, {81, udp}, {53, tcp}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParsePortList = %v, want %v", got, want)
	}
	for _, bad := range []string{"", "x/TCP", "0/TCP", "70000", "80/ICMP"} {
		if _, err := ParsePortList(bad); err == nil {
			t.Errorf("ParsePortList(%q) accepted", bad)
		}
	}
}
