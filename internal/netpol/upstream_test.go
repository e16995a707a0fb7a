package netpol

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// This file transcribes the upstream Kubernetes NetworkPolicy e2e suite,
// kubernetes/kubernetes test/e2e/network/netpol/network_policy.go, into
// offline cases: the same pods, policies, probes and expected truth tables.
// Each case's name is the upstream test's name (Ginkgo context + It).
//
// The model is upstream's (model.go): namespaces x, y and z labelled
// ns=<name> (plus kubernetes.io/metadata.name, set by the API server); pods
// named a, b, c labelled pod=<name>; one container per port and protocol,
// with named ports serve-<port>-<protocol> (serve-80-tcp, serve-81-udp, ...).
// Every test lists the pods it creates. Pod IPs are fixed here (upstream reads
// them from the cluster for its CIDR tests).
//
// Loopback: upstream ignores pod-to-itself probes (ignoreLoopback, see
// kubernetes/kubernetes#95879: CNIs differ when the connection goes through
// a Service). A pod connecting to its own IP never leaves its network
// namespace, so Calico never sees it: we expect those cases allowed, and
// check that.

const (
	ctxTCP  = "NetworkPolicy between server and client "
	ctxUDP  = "NetworkPolicy between server and client using UDP "
	ctxSCTP = "NetworkPolicy between server and client using SCTP "
)

var (
	tcp  = corev1.ProtocolTCP
	udp  = corev1.ProtocolUDP
	sctp = corev1.ProtocolSCTP
)

// e2ePodIPs gives each model pod a fixed address in the kops pod range.
var e2ePodIPs = map[string]string{
	"x/a": "100.96.1.1", "x/b": "100.96.1.2", "x/c": "100.96.1.3",
	"y/a": "100.96.2.1", "y/b": "100.96.2.2", "y/c": "100.96.2.3",
	"z/a": "100.96.3.1", "z/b": "100.96.3.2", "z/c": "100.96.3.3",
}

func e2ePod(s string, extraLabels map[string]string) Pod {
	ns, name, _ := strings.Cut(s, "/")
	l := map[string]string{"pod": name}
	for k, v := range extraLabels {
		l[k] = v
	}
	var ports []corev1.ContainerPort
	for _, port := range []int32{80, 81} {
		for _, proto := range []corev1.Protocol{tcp, udp, sctp} {
			ports = append(ports, corev1.ContainerPort{
				Name:          fmt.Sprintf("serve-%d-%s", port, strings.ToLower(string(proto))),
				ContainerPort: port,
				Protocol:      proto,
			})
		}
	}
	return Pod{Namespace: ns, Name: name, Labels: l, IP: e2ePodIPs[s], Ports: ports}
}

// --- policy builders, after upstream's policies.go ---

type policyOpt func(*networkingv1.NetworkPolicy)

// genPolicy mirrors GenNetworkPolicyWithNameAndPodSelector; ns is where
// CreatePolicy puts it.
func genPolicy(ns, name string, sel metav1.LabelSelector, opts ...policyOpt) networkingv1.NetworkPolicy {
	p := networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: sel},
	}
	for _, o := range opts {
		o(&p)
	}
	return p
}

// genPolicyML mirrors GenNetworkPolicyWithNameAndPodMatchLabel.
func genPolicyML(ns, name string, ml map[string]string, opts ...policyOpt) networkingv1.NetworkPolicy {
	return genPolicy(ns, name, metav1.LabelSelector{MatchLabels: ml}, opts...)
}

// ingressRules mirrors SetSpecIngressRules: it also adds the Ingress policy type.
func ingressRules(rules ...networkingv1.NetworkPolicyIngressRule) policyOpt {
	return func(p *networkingv1.NetworkPolicy) {
		if p.Spec.Ingress == nil {
			p.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{}
			p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
		}
		p.Spec.Ingress = append(p.Spec.Ingress, rules...)
	}
}

// egressRules mirrors SetSpecEgressRules: it also adds the Egress policy type.
func egressRules(rules ...networkingv1.NetworkPolicyEgressRule) policyOpt {
	return func(p *networkingv1.NetworkPolicy) {
		if p.Spec.Egress == nil {
			p.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{}
			p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
		p.Spec.Egress = append(p.Spec.Egress, rules...)
	}
}

func ml(kv ...string) *metav1.LabelSelector {
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return &metav1.LabelSelector{MatchLabels: m}
}

func expr(key string, op metav1.LabelSelectorOperator, values ...string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

func from(peers ...networkingv1.NetworkPolicyPeer) networkingv1.NetworkPolicyIngressRule {
	return networkingv1.NetworkPolicyIngressRule{From: peers}
}

func to(peers ...networkingv1.NetworkPolicyPeer) networkingv1.NetworkPolicyEgressRule {
	return networkingv1.NetworkPolicyEgressRule{To: peers}
}

func intPort(p int32, proto *corev1.Protocol) networkingv1.NetworkPolicyPort {
	v := intstr.FromInt32(p)
	return networkingv1.NetworkPolicyPort{Port: &v, Protocol: proto}
}

func namedPort(name string, proto *corev1.Protocol) networkingv1.NetworkPolicyPort {
	v := intstr.FromString(name)
	return networkingv1.NetworkPolicyPort{Port: &v, Protocol: proto}
}

// makeLargeCIDRForIP is upstream's: the /4 that contains ip.
func makeLargeCIDRForIP(ip string) string {
	podIP := net.ParseIP(ip).To4()
	return fmt.Sprintf("%s/4", podIP.Mask(net.CIDRMask(4, 32)))
}

// --- truth tables, after upstream's reachability.go ---

// peer matches pods: empty fields match everything, as upstream's Peer.
type peer struct{ ns, pod string }

func (p peer) matches(s string) bool {
	ns, name, _ := strings.Cut(s, "/")
	return (p.ns == "" || p.ns == ns) && (p.pod == "" || p.pod == name)
}

type reachability struct {
	pods     []string
	expected map[[2]string]bool
}

func newReachability(pods []string, def bool) *reachability {
	r := &reachability{pods: pods, expected: map[[2]string]bool{}}
	for _, f := range pods {
		for _, t := range pods {
			r.expected[[2]string{f, t}] = def
		}
	}
	return r
}

func (r *reachability) expectPeer(f, t peer, v bool) *reachability {
	for _, a := range r.pods {
		for _, b := range r.pods {
			if f.matches(a) && t.matches(b) {
				r.expected[[2]string{a, b}] = v
			}
		}
	}
	return r
}

func (r *reachability) expect(f, t string, v bool) *reachability {
	r.expected[[2]string{f, t}] = v
	return r
}

func (r *reachability) expectAllIngress(t string, v bool) *reachability {
	ns, pod, _ := strings.Cut(t, "/")
	return r.expectPeer(peer{}, peer{ns, pod}, v)
}

func (r *reachability) expectAllEgress(f string, v bool) *reachability {
	ns, pod, _ := strings.Cut(f, "/")
	return r.expectPeer(peer{ns, pod}, peer{}, v)
}

// step is one ValidateOrFail: the cluster state at that point and a probe.
type step struct {
	policies  []networkingv1.NetworkPolicy
	nsLabels  map[string]map[string]string // labels added to namespaces (AddNamespaceLabel)
	podLabels map[string]map[string]string // labels added to pods (AddPodLabels)
	port      int32
	protocol  corev1.Protocol
	reach     *reachability
}

type upstreamCase struct {
	name  string // upstream Ginkgo context + It text
	pods  []string
	steps []step
}

func TestUpstreamE2E(t *testing.T) {
	t.Parallel()
	x, y, z := "x", "y", "z"
	nsKey := corev1.LabelMetadataName // upstream's namespaceLabelKey
	var cases []upstreamCase
	add := func(name string, pods []string, steps ...step) {
		cases = append(cases, upstreamCase{name: name, pods: pods, steps: steps})
	}
	pods := func(p ...string) []string { return p }
	R := func(ps []string) *reachability { return newReachability(ps, true) }
	deny := []networkingv1.NetworkPolicy{}

	// --- TCP ---
	p := pods("x/a", "x/b", "y/a", "y/b")
	add(ctxTCP+"should support a 'default-deny-ingress' policy", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicy(x, "deny-ingress", metav1.LabelSelector{}, ingressRules())},
		port:     80, protocol: tcp,
		reach: R(p).expectPeer(peer{}, peer{ns: x}, false),
	})

	p = pods("x/a", "x/b", "y/a")
	add(ctxTCP+"should support a 'default-deny-all' policy", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicy(x, "deny-all", metav1.LabelSelector{}, ingressRules(), egressRules())},
		port:     80, protocol: tcp,
		reach: R(p).expectPeer(peer{}, peer{ns: x}, false).expectPeer(peer{ns: x}, peer{}, false),
	})

	p = pods("x/a", "x/b", "x/c", "y/a")
	add(ctxTCP+"should enforce policy to allow traffic from pods within server namespace based on PodSelector", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "x-a-allows-x-b", map[string]string{"pod": "a"},
			ingressRules(from(networkingv1.NetworkPolicyPeer{PodSelector: ml("pod", "b")})))},
		port: 80, protocol: tcp,
		reach: R(p).expectAllIngress("x/a", false).expect("x/b", "x/a", true),
	})

	p = pods("x/a", "x/b", "y/a")
	add(ctxTCP+"should enforce policy to allow ingress traffic for a target", p, step{
		policies: []networkingv1.NetworkPolicy{
			genPolicy(x, "deny-all", metav1.LabelSelector{}, ingressRules()),
			genPolicyML(x, "allow-all-to-a", map[string]string{"pod": "a"},
				ingressRules(from(networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{}, NamespaceSelector: &metav1.LabelSelector{}}))),
		},
		port: 80, protocol: tcp,
		reach: R(p).expectAllIngress("x/a", true).expectAllIngress("x/b", false),
	})

	p = pods("x/a", "x/b", "y/a", "z/a")
	add(ctxTCP+"should enforce policy to allow ingress traffic from pods in all namespaces", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-from-another-ns", map[string]string{"pod": "a"},
			ingressRules(from(networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{}}})))},
		port: 80, protocol: tcp,
		reach: R(p),
	})

	p = pods("x/a", "x/b", "y/a", "z/a")
	add(ctxTCP+"should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-client-a-via-ns-selector", map[string]string{"pod": "a"},
			ingressRules(from(networkingv1.NetworkPolicyPeer{NamespaceSelector: ml(nsKey, y)})))},
		port: 80, protocol: tcp,
		reach: R(p).expectPeer(peer{ns: x}, peer{x, "a"}, false).expectPeer(peer{ns: z}, peer{x, "a"}, false),
	})

	p = pods("x/a", "x/b", "y/a")
	add(ctxTCP+"should enforce policy based on PodSelector with MatchExpressions", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "x-a-allows-x-b", map[string]string{"pod": "a"},
			ingressRules(from(networkingv1.NetworkPolicyPeer{PodSelector: expr("pod", metav1.LabelSelectorOpIn, "b")})))},
		port: 80, protocol: tcp,
		reach: R(p).expectAllIngress("x/a", false).expect("x/b", "x/a", true),
	})

	p = pods("x/a", "x/b", "y/a", "z/a")
	add(ctxTCP+"should enforce policy based on NamespaceSelector with MatchExpressions", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-ns-y-match-selector", map[string]string{"pod": "a"},
			ingressRules(from(networkingv1.NetworkPolicyPeer{NamespaceSelector: expr(nsKey, metav1.LabelSelectorOpIn, y)})))},
		port: 80, protocol: tcp,
		reach: R(p).expectPeer(peer{ns: x}, peer{x, "a"}, false).expectPeer(peer{ns: z}, peer{x, "a"}, false),
	})

	p = pods("x/a", "x/b", "x/c", "y/a")
	add(ctxTCP+"should enforce policy based on PodSelector or NamespaceSelector", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-ns-y-match-selector", map[string]string{"pod": "a"},
			ingressRules(from(
				networkingv1.NetworkPolicyPeer{NamespaceSelector: expr(nsKey, metav1.LabelSelectorOpNotIn, x)},
				networkingv1.NetworkPolicyPeer{PodSelector: ml("pod", "b")})))},
		port: 80, protocol: tcp,
		reach: R(p).expect("x/a", "x/a", false).expect("x/c", "x/a", false),
	})

	p = pods("x/a", "x/b", "y/a", "y/b", "z/b")
	add(ctxTCP+"should enforce policy based on PodSelector and NamespaceSelector", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-ns-y-podselector-and-nsselector", map[string]string{"pod": "a"},
			ingressRules(from(networkingv1.NetworkPolicyPeer{
				NamespaceSelector: expr(nsKey, metav1.LabelSelectorOpNotIn, x),
				PodSelector:       ml("pod", "b"),
			})))},
		port: 80, protocol: tcp,
		reach: R(p).expectAllIngress("x/a", false).expect("y/b", "x/a", true).expect("z/b", "x/a", true),
	})

	p = pods("x/a", "x/b", "y/a", "y/b", "y/c")
	add(ctxTCP+"should enforce policy based on Multiple PodSelectors and NamespaceSelectors", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-ns-y-z-pod-b-c", map[string]string{"pod": "a"},
			ingressRules(from(networkingv1.NetworkPolicyPeer{
				NamespaceSelector: expr(nsKey, metav1.LabelSelectorOpNotIn, x),
				PodSelector:       expr("pod", metav1.LabelSelectorOpIn, "b", "c"),
			})))},
		port: 80, protocol: tcp,
		reach: R(p).expectPeer(peer{ns: x}, peer{x, "a"}, false).expect("y/a", "x/a", false),
	})

	p = pods("x/a", "x/b", "x/c")
	add(ctxTCP+"should enforce policy based on any PodSelectors", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-ns-x-pod-b-c", map[string]string{"pod": "a"},
			ingressRules(from(
				networkingv1.NetworkPolicyPeer{PodSelector: ml("pod", "b")},
				networkingv1.NetworkPolicyPeer{PodSelector: ml("pod", "c")})))},
		port: 80, protocol: tcp,
		reach: R(p).expectAllIngress("x/a", false).expect("x/b", "x/a", true).expect("x/c", "x/a", true),
	})

	podAndNSSelector := func(proto corev1.Protocol, ctx string, p []string) {
		add(ctx+"should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector", p, step{
			policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-ns-y-pod-a-via-namespace-pod-selector", map[string]string{"pod": "a"},
				ingressRules(from(networkingv1.NetworkPolicyPeer{NamespaceSelector: ml(nsKey, y), PodSelector: ml("pod", "a")})))},
			port: 80, protocol: proto,
			reach: R(p).expectAllIngress("x/a", false).expect("y/a", "x/a", true),
		})
	}
	podAndNSSelector(tcp, ctxTCP, pods("x/a", "x/b", "y/a", "y/b", "z/a"))

	p = pods("x/a", "x/b", "y/a", "y/b", "z/a")
	add(ctxTCP+"should enforce policy based on Ports", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-client-a-via-ns-selector", map[string]string{"pod": "a"},
			ingressRules(networkingv1.NetworkPolicyIngressRule{
				From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: ml(nsKey, y)}},
				Ports: []networkingv1.NetworkPolicyPort{intPort(81, &tcp)},
			}))},
		port: 81, protocol: tcp,
		reach: R(p).expectPeer(peer{ns: x}, peer{x, "a"}, false).expectPeer(peer{ns: y}, peer{x, "a"}, true).expectPeer(peer{ns: z}, peer{x, "a"}, false),
	})

	p = pods("x/a", "x/b", "y/a", "y/b", "z/a")
	allow81 := genPolicyML(x, "allow-client-a-via-ns-selector", map[string]string{"pod": "a"},
		ingressRules(networkingv1.NetworkPolicyIngressRule{
			From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: ml(nsKey, y)}},
			Ports: []networkingv1.NetworkPolicyPort{intPort(81, &tcp)},
		}))
	allow80 := genPolicyML(x, "allow-client-a-via-ns-selector-80", map[string]string{"pod": "a"},
		ingressRules(networkingv1.NetworkPolicyIngressRule{
			From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: ml(nsKey, y)}},
			Ports: []networkingv1.NetworkPolicyPort{intPort(80, &tcp)},
		}))
	reachALLOW := R(p).expectPeer(peer{ns: x}, peer{x, "a"}, false).expectPeer(peer{ns: y}, peer{x, "a"}, true).expectPeer(peer{ns: z}, peer{x, "a"}, false)
	add(ctxTCP+"should enforce multiple, stacked policies with overlapping podSelectors", p,
		step{policies: []networkingv1.NetworkPolicy{allow81}, port: 81, protocol: tcp, reach: reachALLOW},
		step{policies: []networkingv1.NetworkPolicy{allow81}, port: 80, protocol: tcp, reach: R(p).expectAllIngress("x/a", false)},
		step{policies: []networkingv1.NetworkPolicy{allow81, allow80}, port: 80, protocol: tcp, reach: reachALLOW},
	)

	p = pods("x/a", "x/b", "y/a")
	allowAll := genPolicyML(x, "allow-all", map[string]string{}, ingressRules(networkingv1.NetworkPolicyIngressRule{}))
	add(ctxTCP+"should support allow-all policy", p,
		step{policies: []networkingv1.NetworkPolicy{allowAll}, port: 80, protocol: tcp, reach: R(p)},
		step{policies: []networkingv1.NetworkPolicy{allowAll}, port: 81, protocol: tcp, reach: R(p)},
	)

	p = pods("x/a", "x/b", "y/a")
	named81 := genPolicyML(x, "allow-all", map[string]string{},
		ingressRules(networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{namedPort("serve-81-tcp", nil)}}))
	add(ctxTCP+"should allow ingress access on one named port", p,
		step{policies: []networkingv1.NetworkPolicy{named81}, port: 81, protocol: tcp, reach: R(p)},
		step{policies: []networkingv1.NetworkPolicy{named81}, port: 80, protocol: tcp, reach: R(p).expectPeer(peer{}, peer{ns: x}, false)},
	)

	p = pods("x/a", "x/b", "y/a", "z/a")
	namedFromNS := genPolicyML(x, "allow-client-a-via-ns-selector-80", map[string]string{"pod": "a"},
		ingressRules(networkingv1.NetworkPolicyIngressRule{
			From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: ml(nsKey, y)}},
			Ports: []networkingv1.NetworkPolicyPort{namedPort("serve-80-tcp", &tcp)},
		}))
	add(ctxTCP+"should allow ingress access from namespace on one named port", p,
		step{policies: []networkingv1.NetworkPolicy{namedFromNS}, port: 80, protocol: tcp,
			reach: R(p).expectPeer(peer{ns: x}, peer{x, "a"}, false).expectPeer(peer{ns: z}, peer{x, "a"}, false)},
		step{policies: []networkingv1.NetworkPolicy{namedFromNS}, port: 81, protocol: tcp, reach: R(p).expectAllIngress("x/a", false)},
	)

	p = pods("x/a", "y/a")
	namedEgress := genPolicyML(x, "allow-egress", map[string]string{},
		egressRules(networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{namedPort("serve-80-tcp", nil)}}))
	add(ctxTCP+"should allow egress access on one named port", p,
		step{policies: []networkingv1.NetworkPolicy{namedEgress}, port: 80, protocol: tcp, reach: R(p)},
		step{policies: []networkingv1.NetworkPolicy{namedEgress}, port: 81, protocol: tcp, reach: R(p).expectPeer(peer{ns: x}, peer{}, false)},
	)

	p = pods("x/a", "y/a")
	mutateAllow := genPolicyML(x, "allow-all-mutate-to-deny-all", map[string]string{}, ingressRules(networkingv1.NetworkPolicyIngressRule{}))
	mutateDeny := mutateAllow
	mutateDeny.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{}
	add(ctxTCP+"should enforce updated policy", p,
		step{policies: []networkingv1.NetworkPolicy{mutateAllow}, port: 81, protocol: tcp, reach: R(p)},
		step{policies: []networkingv1.NetworkPolicy{mutateDeny}, port: 81, protocol: tcp, reach: R(p).expectPeer(peer{}, peer{ns: x}, false)},
	)

	p = pods("x/a", "y/a")
	fromUpdatedNS := genPolicyML(x, "allow-client-a-via-ns-selector", map[string]string{"pod": "a"},
		ingressRules(from(networkingv1.NetworkPolicyPeer{NamespaceSelector: ml("ns2", "updated")})))
	add(ctxTCP+"should allow ingress access from updated namespace", p,
		step{policies: []networkingv1.NetworkPolicy{fromUpdatedNS}, port: 80, protocol: tcp, reach: R(p).expectAllIngress("x/a", false)},
		step{policies: []networkingv1.NetworkPolicy{fromUpdatedNS}, nsLabels: map[string]map[string]string{y: {"ns2": "updated"}},
			port: 80, protocol: tcp, reach: R(p).expectAllIngress("x/a", false).expectPeer(peer{ns: y}, peer{}, true)},
	)

	p = pods("x/a", "x/b")
	fromUpdatedPod := genPolicyML(x, "allow-client-a-via-pod-selector", map[string]string{"pod": "a"},
		ingressRules(from(networkingv1.NetworkPolicyPeer{PodSelector: ml("pod", "b", "pod2", "updated")})))
	add(ctxTCP+"should allow ingress access from updated pod", p,
		step{policies: []networkingv1.NetworkPolicy{fromUpdatedPod}, port: 80, protocol: tcp, reach: R(p).expectAllIngress("x/a", false)},
		step{policies: []networkingv1.NetworkPolicy{fromUpdatedPod}, podLabels: map[string]map[string]string{"x/b": {"pod": "b", "pod2": "updated"}},
			port: 80, protocol: tcp, reach: R(p).expectAllIngress("x/a", false).expect("x/b", "x/a", true)},
	)

	p = pods("x/a", "x/b", "y/a", "z/a")
	add(ctxTCP+"should deny ingress from pods on other namespaces", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicy(x, "deny-empty-policy", metav1.LabelSelector{},
			ingressRules(from(networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{}}})))},
		port: 80, protocol: tcp,
		reach: R(p).expectPeer(peer{ns: y}, peer{ns: x}, false).expectPeer(peer{ns: z}, peer{ns: x}, false),
	})

	p = pods("x/a", "y/a")
	isolateByLabel := genPolicy(x, "deny-ingress-via-label-selector", metav1.LabelSelector{MatchLabels: map[string]string{"target": "isolated"}}, ingressRules())
	add(ctxTCP+"should deny ingress access to updated pod", p,
		step{policies: []networkingv1.NetworkPolicy{isolateByLabel}, port: 80, protocol: tcp, reach: R(p)},
		step{policies: []networkingv1.NetworkPolicy{isolateByLabel}, podLabels: map[string]map[string]string{"x/a": {"target": "isolated"}},
			port: 80, protocol: tcp, reach: R(p).expectAllIngress("x/a", false)},
	)

	p = pods("x/a", "x/b", "y/a")
	add(ctxTCP+"should deny egress from pods based on PodSelector", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicy(x, "deny-egress-pod-a", metav1.LabelSelector{MatchLabels: map[string]string{"pod": "a"}}, egressRules())},
		port:     80, protocol: tcp,
		reach: R(p).expectAllEgress("x/a", false),
	})

	p = pods("x/a", "x/b", "y/a")
	add(ctxTCP+"should deny egress from all pods in a namespace", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicy(x, "deny-egress-ns-x", metav1.LabelSelector{}, egressRules())},
		port:     80, protocol: tcp,
		reach: R(p).expectPeer(peer{ns: x}, peer{}, false),
	})

	p = pods("x/a", "x/b", "x/c", "y/a")
	together := genPolicyML(x, "allow-client-a-via-pod-selector", map[string]string{"pod": "a"},
		ingressRules(from(networkingv1.NetworkPolicyPeer{PodSelector: ml("pod", "b")})))
	together.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{intPort(80, nil)}}}
	together.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress, networkingv1.PolicyTypeIngress}
	add(ctxTCP+"should work with Ingress, Egress specified together", p,
		step{policies: []networkingv1.NetworkPolicy{together}, port: 80, protocol: tcp,
			reach: R(p).expectAllIngress("x/a", false).expect("x/b", "x/a", true)},
		step{policies: []networkingv1.NetworkPolicy{together}, port: 81, protocol: tcp,
			reach: R(p).expectAllIngress("x/a", false).expectAllEgress("x/a", false).expect("x/b", "x/a", true)},
	)

	p = pods("x/a", "y/a", "y/b")
	fromXA := from(networkingv1.NetworkPolicyPeer{NamespaceSelector: ml(nsKey, x), PodSelector: ml("pod", "a")})
	add(ctxTCP+"should support denying of egress traffic on the client side (even if the server explicitly allows this traffic)", p, step{
		policies: []networkingv1.NetworkPolicy{
			genPolicyML(x, "allow-to-ns-y-pod-a", map[string]string{"pod": "a"},
				egressRules(to(networkingv1.NetworkPolicyPeer{NamespaceSelector: ml(nsKey, y), PodSelector: ml("pod", "a")}))),
			genPolicyML(y, "allow-from-xa-on-ya-match-selector", map[string]string{"pod": "a"}, ingressRules(fromXA)),
			genPolicyML(y, "allow-from-xa-on-yb-match-selector", map[string]string{"pod": "b"}, ingressRules(fromXA)),
		},
		port: 80, protocol: tcp,
		reach: R(p).expectPeer(peer{x, "a"}, peer{}, false).expectPeer(peer{}, peer{y, "a"}, false).
			expectPeer(peer{x, "a"}, peer{y, "a"}, true).expectPeer(peer{}, peer{y, "b"}, false),
	})

	p = pods("x/a", "y/a", "y/b")
	add(ctxTCP+"should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-to-ns-y-pod-a", map[string]string{"pod": "a"},
			egressRules(to(networkingv1.NetworkPolicyPeer{NamespaceSelector: ml(nsKey, y), PodSelector: ml("pod", "a")})))},
		port: 80, protocol: tcp,
		reach: R(p).expectAllEgress("x/a", false).expect("x/a", "y/a", true),
	})

	p = pods("x/a", "y/a")
	byProto := genPolicyML(x, "allow-ingress-by-proto", map[string]string{"pod": "a"},
		ingressRules(networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp}}}))
	add(ctxTCP+"should enforce ingress policy allowing any port traffic to a server on a specific protocol", p,
		step{policies: []networkingv1.NetworkPolicy{byProto}, port: 80, protocol: tcp, reach: R(p)},
		step{policies: []networkingv1.NetworkPolicy{byProto}, port: 80, protocol: udp, reach: R(p).expectPeer(peer{}, peer{x, "a"}, false)},
	)

	p = pods("x/a", "y/a")
	onlyIn80 := genPolicyML(x, "allow-ingress-port-80", map[string]string{},
		ingressRules(networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{intPort(80, nil)}}))
	allIn := genPolicyML(x, "allow-ingress", map[string]string{}, ingressRules(networkingv1.NetworkPolicyIngressRule{}))
	add(ctxTCP+"should enforce multiple ingress policies with ingress allow-all policy taking precedence", p,
		step{policies: []networkingv1.NetworkPolicy{onlyIn80}, port: 81, protocol: tcp, reach: R(p).expectPeer(peer{}, peer{ns: x}, false)},
		step{policies: []networkingv1.NetworkPolicy{onlyIn80, allIn}, port: 81, protocol: tcp, reach: R(p)},
	)

	p = pods("x/a", "y/a")
	onlyOut80 := genPolicyML(x, "allow-egress-port-80", map[string]string{},
		egressRules(networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{intPort(80, nil)}}))
	allOut := genPolicyML(x, "allow-egress", map[string]string{}, egressRules(networkingv1.NetworkPolicyEgressRule{}))
	add(ctxTCP+"should enforce multiple egress policies with egress allow-all policy taking precedence", p,
		step{policies: []networkingv1.NetworkPolicy{onlyOut80}, port: 81, protocol: tcp, reach: R(p).expectPeer(peer{ns: x}, peer{}, false)},
		step{policies: []networkingv1.NetworkPolicy{onlyOut80, allOut}, port: 81, protocol: tcp, reach: R(p)},
	)

	p = pods("x/a", "y/a")
	add(ctxTCP+"should stop enforcing policies after they are deleted", p,
		step{policies: []networkingv1.NetworkPolicy{genPolicy(x, "deny-all", metav1.LabelSelector{}, ingressRules(), egressRules())},
			port: 80, protocol: tcp, reach: R(p).expectPeer(peer{ns: x}, peer{}, false).expectPeer(peer{}, peer{ns: x}, false)},
		step{policies: deny, port: 80, protocol: tcp, reach: R(p)},
	)

	p = pods("x/a", "y/a", "y/b")
	add(ctxTCP+"should allow egress access to server in CIDR block", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-client-a-via-cidr-egress-rule", map[string]string{"pod": "a"},
			egressRules(to(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: e2ePodIPs["y/b"] + "/32"}})))},
		port: 80, protocol: tcp,
		reach: R(p).expectAllEgress("x/a", false).expect("x/a", "y/b", true),
	})

	p = pods("x/a", "x/b", "x/c")
	exceptB := genPolicyML(x, "allow-client-a-via-cidr-egress-rule", map[string]string{"pod": "a"},
		egressRules(to(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{
			CIDR: makeLargeCIDRForIP(e2ePodIPs["x/b"]), Except: []string{e2ePodIPs["x/b"] + "/32"}}})))
	add(ctxTCP+"should enforce except clause while egress access to server in CIDR block", p, step{
		policies: []networkingv1.NetworkPolicy{exceptB}, port: 80, protocol: tcp,
		reach: R(p).expect("x/a", "x/b", false),
	})

	p = pods("x/a", "x/b", "x/c")
	// UpdatePolicy replaces the policy of the same name.
	onlyB := genPolicyML(x, "allow-client-a-via-cidr-egress-rule", map[string]string{"pod": "a"},
		egressRules(to(networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: e2ePodIPs["x/b"] + "/32"}})))
	add(ctxTCP+"should ensure an IP overlapping both IPBlock.CIDR and IPBlock.Except is allowed", p,
		step{policies: []networkingv1.NetworkPolicy{exceptB}, port: 80, protocol: tcp, reach: R(p).expect("x/a", "x/b", false)},
		step{policies: []networkingv1.NetworkPolicy{onlyB}, port: 80, protocol: tcp,
			reach: R(p).expectAllEgress("x/a", false).expect("x/a", "x/b", true)},
	)

	p = pods("x/a", "x/b", "y/a")
	egressForA := genPolicy(x, "allow-egress-for-target", metav1.LabelSelector{MatchLabels: map[string]string{"pod": "a"}},
		egressRules(networkingv1.NetworkPolicyEgressRule{}))
	denyInA := genPolicy(x, "deny-ingress-via-label-selector", metav1.LabelSelector{MatchLabels: map[string]string{"pod": "a"}}, ingressRules())
	add(ctxTCP+"should enforce policies to check ingress and egress policies can be controlled independently based on PodSelector", p,
		step{policies: []networkingv1.NetworkPolicy{egressForA}, port: 80, protocol: tcp, reach: R(p)},
		step{policies: []networkingv1.NetworkPolicy{egressForA, denyInA}, port: 80, protocol: tcp, reach: R(p).expectAllIngress("x/a", false)},
	)

	p = pods("x/a", "y/a")
	add(ctxTCP+"should not mistakenly treat 'protocol: SCTP' as 'protocol: TCP', even if the plugin doesn't support SCTP", p, step{
		policies: []networkingv1.NetworkPolicy{
			genPolicy(x, "deny-ingress", metav1.LabelSelector{}, ingressRules()),
			genPolicyML(x, "allow-only-sctp-ingress-on-port-81", map[string]string{"pod": "a"},
				ingressRules(networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{intPort(81, &sctp)}})),
		},
		port: 81, protocol: tcp,
		reach: R(p).expectPeer(peer{}, peer{ns: x}, false),
	})

	p = pods("x/a", "y/a")
	add(ctxTCP+"should properly isolate pods that are selected by a policy allowing SCTP, even if the plugin doesn't support SCTP", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-only-sctp-ingress-on-port-80", map[string]string{"pod": "a"},
			ingressRules(networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{intPort(80, &sctp)}}))},
		port: 81, protocol: tcp,
		reach: R(p).expectAllIngress("x/a", false),
	})

	p = pods("x/a", "y/a")
	add(ctxTCP+"should not allow access by TCP when a policy specifies only UDP", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-only-udp-ingress-on-port-81", map[string]string{"pod": "a"},
			ingressRules(networkingv1.NetworkPolicyIngressRule{Ports: []networkingv1.NetworkPolicyPort{intPort(81, &udp)}}))},
		port: 81, protocol: tcp,
		reach: R(p).expectAllIngress("x/a", false),
	})

	p = pods("x/a", "x/b", "y/a", "z/a")
	add(ctxTCP+"should enforce policy to allow traffic based on NamespaceSelector with MatchLabels using default ns label", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-client-a-via-ns-selector-for-immutable-ns-label", map[string]string{"pod": "a"},
			ingressRules(from(networkingv1.NetworkPolicyPeer{NamespaceSelector: ml(corev1.LabelMetadataName, y)})))},
		port: 80, protocol: tcp,
		reach: R(p).expectPeer(peer{ns: x}, peer{x, "a"}, false).expectPeer(peer{ns: z}, peer{x, "a"}, false),
	})

	p = pods("x/a", "x/b", "y/a", "z/a")
	add(ctxTCP+"should enforce policy based on NamespaceSelector with MatchExpressions using default ns label", p, step{
		policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-ns-y-match-selector-for-immutable-ns-label", map[string]string{"pod": "a"},
			egressRules(to(networkingv1.NetworkPolicyPeer{NamespaceSelector: expr(corev1.LabelMetadataName, metav1.LabelSelectorOpNotIn, y)})))},
		port: 80, protocol: tcp,
		reach: R(p).expectPeer(peer{x, "a"}, peer{ns: y}, false),
	})

	// --- UDP and SCTP contexts ---
	for _, c := range []struct {
		ctx   string
		proto corev1.Protocol
	}{{ctxUDP, udp}, {ctxSCTP, sctp}} {
		proto := c.proto
		p = pods("x/a", "x/b", "y/a", "y/b")
		add(c.ctx+"should support a 'default-deny-ingress' policy", p, step{
			policies: []networkingv1.NetworkPolicy{genPolicy(x, "deny-all", metav1.LabelSelector{}, ingressRules())},
			port:     80, protocol: proto,
			reach: R(p).expectPeer(peer{}, peer{ns: x}, false),
		})
		p = pods("x/a", "x/b", "y/a", "z/a")
		add(c.ctx+"should enforce policy based on Ports", p, step{
			policies: []networkingv1.NetworkPolicy{genPolicyML(x, "allow-ingress-on-port-81-ns-x", map[string]string{"pod": "a"},
				ingressRules(networkingv1.NetworkPolicyIngressRule{
					From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: ml(nsKey, y)}},
					Ports: []networkingv1.NetworkPolicyPort{intPort(81, &proto)},
				}))},
			port: 81, protocol: proto,
			reach: R(p).expectPeer(peer{ns: x}, peer{x, "a"}, false).expectPeer(peer{ns: z}, peer{x, "a"}, false),
		})
		podAndNSSelector(proto, c.ctx, pods("x/a", "x/b", "y/a"))
	}

	checked := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for si, st := range tc.steps {
				checked += checkStep(t, fmt.Sprintf("step %d (%d/%s)", si+1, st.port, st.protocol), tc.pods, st)
			}
		})
	}
	if len(cases) < 20 {
		t.Fatalf("only %d upstream cases transcribed, want at least 20", len(cases))
	}
	t.Logf("%d upstream cases, %d probes checked", len(cases), checked)
}

// checkStep builds the cluster of one step and compares every ordered pair,
// through Check and through Matrix, with the expected truth table.
func checkStep(t *testing.T, label string, podNames []string, st step) int {
	t.Helper()
	c := Cluster{Policies: st.policies}
	for _, ns := range []string{"x", "y", "z"} {
		l := map[string]string{"ns": ns}
		for k, v := range st.nsLabels[ns] {
			l[k] = v
		}
		c.Namespaces = append(c.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: l}})
	}
	for _, s := range podNames {
		c.Pods = append(c.Pods, e2ePod(s, st.podLabels[s]))
	}
	e, err := NewEvaluator(c)
	if err != nil {
		t.Fatalf("%s: NewEvaluator: %v", label, err)
	}
	pp := PortProto{Port: st.port, Protocol: st.protocol}
	m, err := e.Matrix([]PortProto{pp})
	if err != nil {
		t.Fatalf("%s: Matrix: %v", label, err)
	}
	fromMatrix := map[[2]string]bool{}
	for _, cs := range m.Cases {
		fromMatrix[[2]string{cs.From, cs.To}] = cs.Allowed
	}
	if len(m.Cases) != len(podNames)*len(podNames) {
		t.Errorf("%s: matrix has %d cases, want %d", label, len(m.Cases), len(podNames)*len(podNames))
	}
	var wrong []string
	n := 0
	for _, f := range podNames {
		for _, to := range podNames {
			want := st.reach.expected[[2]string{f, to}]
			if f == to {
				want = true // loopback: see the comment at the top of this file
			}
			fr, _ := ParsePodRef(f)
			tr, _ := ParsePodRef(to)
			got, err := e.Allowed(fr, tr, pp)
			if err != nil {
				t.Fatalf("%s: Allowed(%s, %s): %v", label, f, to, err)
			}
			if got != want || fromMatrix[[2]string{f, to}] != want {
				wrong = append(wrong, fmt.Sprintf("%s -> %s: Allowed=%v Matrix=%v, want %v", f, to, got, fromMatrix[[2]string{f, to}], want))
			}
			n++
		}
	}
	if len(wrong) > 0 {
		sort.Strings(wrong)
		t.Errorf("%s: %d of %d cases differ from upstream:\n  %s", label, len(wrong), n, strings.Join(wrong, "\n  "))
	}
	return n
}
