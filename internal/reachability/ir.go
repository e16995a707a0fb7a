package reachability

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	anp "sigs.k8s.io/network-policy-api/apis/v1alpha1"

	"github.com/kopscalico/kopscalico/internal/netpol"
)

// The three tiers, in the order a connection meets them.
const (
	tierAdmin = iota
	tierNetworkPolicy
	tierBaseline
)

type action int

const (
	actAllow action = iota
	actDeny
	actPass
)

// policy is a NetworkPolicy, AdminNetworkPolicy or the baseline in one
// shape: who it applies to and its rules per direction.
type policy struct {
	name     string // a NetworkPolicy's "ns/name" as "decided by" names it; an admin policy's name
	tier     int
	priority int32
	subject  podSelector
	// isolates says, for a NetworkPolicy, the directions it isolates.
	isolates [2]bool
	rules    [2][]policyRule // ingress, egress
}

const (
	ingress = 0
	egress  = 1
)

// podSelector picks pods: in the namespace named, or in the namespaces ns
// selects, those pod selects.
type podSelector struct {
	namespace string
	ns        labels.Selector // nil: the namespace named
	pod       labels.Selector
}

func (s podSelector) key() string {
	if s.ns == nil {
		return "name:" + s.namespace + "|" + s.pod.String()
	}
	return "sel:" + s.ns.String() + "|" + s.pod.String()
}

type policyRule struct {
	index    int
	ref      netpol.AdminRule // an admin or baseline rule, named as netpol names it
	action   action
	allPeers bool
	pods     []podSelector
	addrs    [][]span[netip.Addr] // each an ipBlock (cidr minus except) or a network
	allPorts bool
	ports    []span[portPoint] // merged
	named    []namedPort
}

// namedPort resolves on the destination's container ports; protocol ""
// matches any.
type namedPort struct {
	name     string
	protocol corev1.Protocol
}

// policiesOf returns the policies of m in the order they are met: admin
// policies by priority then name, NetworkPolicies, the baseline.
func policiesOf(m Model) []policy {
	var out []policy
	admins := slices.Clone(m.Cluster.AdminPolicies)
	slices.SortStableFunc(admins, func(a, b anp.AdminNetworkPolicy) int {
		if a.Spec.Priority != b.Spec.Priority {
			return int(a.Spec.Priority - b.Spec.Priority)
		}
		return compareStrings(a.Name, b.Name)
	})
	for _, a := range admins {
		p := policy{name: a.Name, tier: tierAdmin, priority: a.Spec.Priority, subject: adminSubject(a.Spec.Subject)}
		for i, r := range a.Spec.Ingress {
			ref := netpol.AdminRule{Policy: a.Name, Priority: a.Spec.Priority, Index: i, Name: r.Name, Action: string(r.Action)}
			p.rules[ingress] = append(p.rules[ingress], adminRule(ref, r.Ports, ingressPeers(r.From), nil))
		}
		for i, r := range a.Spec.Egress {
			pods, addrs := egressPeers(r.To)
			ref := netpol.AdminRule{Policy: a.Name, Priority: a.Spec.Priority, Index: i, Name: r.Name, Action: string(r.Action)}
			p.rules[egress] = append(p.rules[egress], adminRule(ref, r.Ports, pods, addrs))
		}
		out = append(out, p)
	}
	for _, np := range m.Cluster.Policies {
		out = append(out, networkPolicy(np))
	}
	if b := m.Cluster.Baseline; b != nil {
		p := policy{name: b.Name, tier: tierBaseline, subject: adminSubject(b.Spec.Subject)}
		for i, r := range b.Spec.Ingress {
			ref := netpol.AdminRule{Policy: b.Name, Baseline: true, Index: i, Name: r.Name, Action: string(r.Action)}
			p.rules[ingress] = append(p.rules[ingress], adminRule(ref, r.Ports, ingressPeers(r.From), nil))
		}
		for i, r := range b.Spec.Egress {
			var to []anp.AdminNetworkPolicyEgressPeer
			for _, peer := range r.To {
				to = append(to, anp.AdminNetworkPolicyEgressPeer{Namespaces: peer.Namespaces, Pods: peer.Pods, Networks: peer.Networks})
			}
			pods, addrs := egressPeers(to)
			ref := netpol.AdminRule{Policy: b.Name, Baseline: true, Index: i, Name: r.Name, Action: string(r.Action)}
			p.rules[egress] = append(p.rules[egress], adminRule(ref, r.Ports, pods, addrs))
		}
		out = append(out, p)
	}
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func networkPolicy(np networkingv1.NetworkPolicy) policy {
	ns := np.Namespace
	p := policy{name: ns + "/" + np.Name, tier: tierNetworkPolicy, subject: podSelector{namespace: ns, pod: selectorOf(&np.Spec.PodSelector)}}
	// policyTypes defaults to Ingress, plus Egress when there are egress rules.
	if len(np.Spec.PolicyTypes) == 0 {
		p.isolates = [2]bool{true, len(np.Spec.Egress) > 0}
	}
	for _, t := range np.Spec.PolicyTypes {
		p.isolates[ingress] = p.isolates[ingress] || t == networkingv1.PolicyTypeIngress
		p.isolates[egress] = p.isolates[egress] || t == networkingv1.PolicyTypeEgress
	}
	for i, r := range np.Spec.Ingress {
		p.rules[ingress] = append(p.rules[ingress], npRule(i, ns, r.From, r.Ports))
	}
	for i, r := range np.Spec.Egress {
		p.rules[egress] = append(p.rules[egress], npRule(i, ns, r.To, r.Ports))
	}
	return p
}

func npRule(index int, ns string, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) policyRule {
	r := policyRule{index: index, action: actAllow, allPeers: len(peers) == 0, allPorts: len(ports) == 0}
	for _, peer := range peers {
		switch {
		case peer.IPBlock != nil:
			r.addrs = append(r.addrs, ipBlockSpans(peer.IPBlock.CIDR, peer.IPBlock.Except))
		case peer.NamespaceSelector == nil:
			r.pods = append(r.pods, podSelector{namespace: ns, pod: selectorOf(peer.PodSelector)})
		default:
			r.pods = append(r.pods, podSelector{ns: selectorOf(peer.NamespaceSelector), pod: selectorOf(peer.PodSelector)})
		}
	}
	var spans []span[portPoint]
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		switch {
		case p.Port == nil:
			spans = append(spans, everyPort(proto)...)
		case p.Port.Type == intstr.String:
			r.named = append(r.named, namedPort{p.Port.StrVal, proto})
		default:
			end := p.Port.IntVal
			if p.EndPort != nil {
				end = *p.EndPort
			}
			spans = append(spans, portSpan(proto, p.Port.IntVal, end))
		}
	}
	r.ports = merged(spans)
	return r
}

func adminSubject(s anp.AdminNetworkPolicySubject) podSelector {
	if s.Pods != nil {
		return podSelector{ns: selectorOf(&s.Pods.NamespaceSelector), pod: selectorOf(&s.Pods.PodSelector)}
	}
	return podSelector{ns: selectorOf(s.Namespaces), pod: labels.Everything()}
}

func ingressPeers(from []anp.AdminNetworkPolicyIngressPeer) []podSelector {
	var out []podSelector
	for _, p := range from {
		if p.Pods != nil {
			out = append(out, podSelector{ns: selectorOf(&p.Pods.NamespaceSelector), pod: selectorOf(&p.Pods.PodSelector)})
		} else {
			out = append(out, podSelector{ns: selectorOf(p.Namespaces), pod: labels.Everything()})
		}
	}
	return out
}

func egressPeers(to []anp.AdminNetworkPolicyEgressPeer) ([]podSelector, [][]span[netip.Addr]) {
	var pods []podSelector
	var addrs [][]span[netip.Addr]
	for _, p := range to {
		switch {
		case p.Pods != nil:
			pods = append(pods, podSelector{ns: selectorOf(&p.Pods.NamespaceSelector), pod: selectorOf(&p.Pods.PodSelector)})
		case p.Namespaces != nil:
			pods = append(pods, podSelector{ns: selectorOf(p.Namespaces), pod: labels.Everything()})
		case len(p.Networks) > 0:
			var spans []span[netip.Addr]
			for _, c := range p.Networks {
				spans = append(spans, ipBlockSpans(string(c), nil)...)
			}
			addrs = append(addrs, merged(spans))
		}
		// nodes peers are refused by the loader: the model has no nodes.
	}
	return pods, addrs
}

func adminRule(ref netpol.AdminRule, ports *[]anp.AdminNetworkPolicyPort, pods []podSelector, addrs [][]span[netip.Addr]) policyRule {
	r := policyRule{index: ref.Index, ref: ref, pods: pods, addrs: addrs, allPorts: ports == nil}
	switch ref.Action {
	case netpol.ActionDeny:
		r.action = actDeny
	case netpol.ActionPass:
		r.action = actPass
	}
	if ports == nil {
		return r
	}
	var spans []span[portPoint]
	for _, p := range *ports {
		switch {
		case p.PortNumber != nil:
			spans = append(spans, portSpan(protocolOrTCP(p.PortNumber.Protocol), p.PortNumber.Port, p.PortNumber.Port))
		case p.PortRange != nil:
			spans = append(spans, portSpan(protocolOrTCP(p.PortRange.Protocol), p.PortRange.Start, p.PortRange.End))
		case p.NamedPort != nil:
			r.named = append(r.named, namedPort{name: *p.NamedPort})
		}
	}
	r.ports = merged(spans)
	return r
}

func protocolOrTCP(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// ipBlockSpans is the addresses of cidr less those of except (validated).
func ipBlockSpans(cidr string, except []string) []span[netip.Addr] {
	c, err := netip.ParsePrefix(cidr)
	if err != nil {
		return nil
	}
	all := prefixSpan(c)
	var holes []span[netip.Addr]
	for _, x := range except {
		if p, err := netip.ParsePrefix(x); err == nil {
			holes = append(holes, prefixSpan(p))
		}
	}
	return complement(merged(holes), all)
}
