package reachability

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	anp "sigs.k8s.io/network-policy-api/apis/v1alpha1"

	"github.com/kopscalico/kopscalico/internal/netpol"
)

// TestClassVerdictsHoldForConcreteMembers draws random trees (NetworkPolicies,
// AdminNetworkPolicies and a baseline), evaluates them
// by classes, then draws concrete members of every class (namespaces and
// pods with labels, addresses, ports, irrelevant labels added) and checks
// each class verdict with netpol's Allowed on the concrete inputs.
func TestClassVerdictsHoldForConcreteMembers(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 150; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		m := randomModel(r)
		ev, err := Evaluate(m)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		checkMembers(t, seed, r, m, ev)
	}
}

var (
	propKeys   = []string{"app", "tier", "team"}
	propValues = []string{"web", "db", "api", "x"}
)

func randomSelector(r *rand.Rand) *metav1.LabelSelector {
	s := &metav1.LabelSelector{}
	for i := r.IntN(3); i > 0; i-- {
		k := propKeys[r.IntN(len(propKeys))]
		switch r.IntN(5) {
		case 0:
			s.MatchLabels = map[string]string{k: propValues[r.IntN(len(propValues))]}
		case 1:
			s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpIn, Values: []string{propValues[r.IntN(4)], propValues[r.IntN(4)]}})
		case 2:
			s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpNotIn, Values: []string{propValues[r.IntN(4)]}})
		case 3:
			s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpExists})
		default:
			s.MatchExpressions = append(s.MatchExpressions, metav1.LabelSelectorRequirement{Key: k, Operator: metav1.LabelSelectorOpDoesNotExist})
		}
	}
	return s
}

var propCIDRs = []string{"10.0.0.0/8", "10.1.0.0/16", "0.0.0.0/0", "100.96.0.0/12", "192.168.1.0/24", "::/0", "fd00::/8"}

func randomPeer(r *rand.Rand) networkingv1.NetworkPolicyPeer {
	switch r.IntN(4) {
	case 0:
		return networkingv1.NetworkPolicyPeer{PodSelector: randomSelector(r)}
	case 1:
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: randomSelector(r), PodSelector: randomSelector(r)}
	case 2:
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: randomSelector(r)}
	default:
		c := propCIDRs[r.IntN(len(propCIDRs))]
		b := &networkingv1.IPBlock{CIDR: c}
		p := netip.MustParsePrefix(c)
		if p.Bits() < 16 && p.Addr().Is4() && r.IntN(2) == 0 {
			sub, _ := p.Addr().Next().Prefix(p.Bits() + 4)
			b.Except = []string{sub.String()}
		}
		return networkingv1.NetworkPolicyPeer{IPBlock: b}
	}
}

func randomPorts(r *rand.Rand) []networkingv1.NetworkPolicyPort {
	var out []networkingv1.NetworkPolicyPort
	for i := r.IntN(3); i > 0; i-- {
		var p networkingv1.NetworkPolicyPort
		switch r.IntN(4) {
		case 0:
			v := intstr.FromInt32(int32(80 + r.IntN(3)))
			p.Port = &v
		case 1:
			v, end := intstr.FromInt32(int32(79+r.IntN(3))), int32(81+r.IntN(20))
			p.Port, p.EndPort = &v, &end
		case 2:
			v := intstr.FromString("http")
			p.Port = &v
		}
		if r.IntN(3) == 0 {
			udp := corev1.ProtocolUDP
			p.Protocol = &udp
		}
		out = append(out, p)
	}
	return out
}

func randomModel(r *rand.Rand) Model {
	m := Model{PodCIDR: DefaultPodCIDR, Folders: []string{"a", "b", "c"}}
	for _, ns := range m.Folders {
		m.Cluster.Namespaces = append(m.Cluster.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": propValues[r.IntN(4)]}}})
		m.Owned = append(m.Owned, ns)
	}
	m.Cluster.Pods = []netpol.Pod{{Namespace: "a", Name: "known", Labels: map[string]string{"app": "web"}, Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}
	for i := r.IntN(6) + 1; i > 0; i-- {
		np := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: m.Folders[r.IntN(3)], Name: fmt.Sprintf("p%d", i)}}
		np.Spec.PodSelector = *randomSelector(r)
		for j := r.IntN(3); j > 0; j-- {
			var peers []networkingv1.NetworkPolicyPeer
			for k := r.IntN(3); k > 0; k-- {
				peers = append(peers, randomPeer(r))
			}
			if r.IntN(2) == 0 {
				np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: peers, Ports: randomPorts(r)})
			} else {
				np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: peers, Ports: randomPorts(r)})
			}
		}
		if r.IntN(2) == 0 {
			np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
		}
		m.Cluster.Policies = append(m.Cluster.Policies, np)
	}
	for i := r.IntN(3); i > 0; i-- {
		a := anp.AdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("admin-%d", i)}}
		a.Spec.Priority = int32(10*i + r.IntN(5))
		a.Spec.Subject = randomSubject(r)
		for j := r.IntN(3); j > 0; j-- {
			a.Spec.Ingress = append(a.Spec.Ingress, anp.AdminNetworkPolicyIngressRule{Action: randomAction(r, true), From: randomAdminPeers(r), Ports: randomAdminPorts(r)})
			var to []anp.AdminNetworkPolicyEgressPeer
			for _, p := range randomAdminPeers(r) {
				to = append(to, anp.AdminNetworkPolicyEgressPeer{Namespaces: p.Namespaces, Pods: p.Pods})
			}
			ports := randomAdminPorts(r)
			if r.IntN(3) == 0 {
				to = append(to, anp.AdminNetworkPolicyEgressPeer{Networks: []anp.CIDR{anp.CIDR(propCIDRs[r.IntN(len(propCIDRs))])}})
				ports = numbered(ports) // the CRD gives networks peers no named ports
			}
			a.Spec.Egress = append(a.Spec.Egress, anp.AdminNetworkPolicyEgressRule{Action: randomAction(r, true), To: to, Ports: ports})
		}
		m.Cluster.AdminPolicies = append(m.Cluster.AdminPolicies, a)
	}
	if r.IntN(2) == 0 {
		b := &anp.BaselineAdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
		b.Spec.Subject = randomSubject(r)
		for j := r.IntN(3); j > 0; j-- {
			b.Spec.Ingress = append(b.Spec.Ingress, anp.BaselineAdminNetworkPolicyIngressRule{Action: anp.BaselineAdminNetworkPolicyRuleAction(randomAction(r, false)), From: randomAdminPeers(r), Ports: randomAdminPorts(r)})
		}
		m.Cluster.Baseline = b
	}
	return m
}

func numbered(ports *[]anp.AdminNetworkPolicyPort) *[]anp.AdminNetworkPolicyPort {
	if ports == nil {
		return nil
	}
	out := []anp.AdminNetworkPolicyPort{{PortNumber: &anp.Port{Protocol: corev1.ProtocolTCP, Port: 80}}}
	for _, p := range *ports {
		if p.NamedPort == nil {
			out = append(out, p)
		}
	}
	return &out
}

func randomSubject(r *rand.Rand) anp.AdminNetworkPolicySubject {
	if r.IntN(2) == 0 {
		return anp.AdminNetworkPolicySubject{Namespaces: randomSelector(r)}
	}
	return anp.AdminNetworkPolicySubject{Pods: &anp.NamespacedPod{NamespaceSelector: *randomSelector(r), PodSelector: *randomSelector(r)}}
}

func randomAction(r *rand.Rand, pass bool) anp.AdminNetworkPolicyRuleAction {
	actions := []anp.AdminNetworkPolicyRuleAction{anp.AdminNetworkPolicyRuleActionAllow, anp.AdminNetworkPolicyRuleActionDeny}
	if pass {
		actions = append(actions, anp.AdminNetworkPolicyRuleActionPass)
	}
	return actions[r.IntN(len(actions))]
}

func randomAdminPeers(r *rand.Rand) []anp.AdminNetworkPolicyIngressPeer {
	var out []anp.AdminNetworkPolicyIngressPeer
	for k := r.IntN(2) + 1; k > 0; k-- {
		if r.IntN(2) == 0 {
			out = append(out, anp.AdminNetworkPolicyIngressPeer{Namespaces: randomSelector(r)})
		} else {
			out = append(out, anp.AdminNetworkPolicyIngressPeer{Pods: &anp.NamespacedPod{NamespaceSelector: *randomSelector(r), PodSelector: *randomSelector(r)}})
		}
	}
	return out
}

func randomAdminPorts(r *rand.Rand) *[]anp.AdminNetworkPolicyPort {
	if r.IntN(3) == 0 {
		return nil
	}
	var out []anp.AdminNetworkPolicyPort
	for i := r.IntN(2) + 1; i > 0; i-- {
		proto := []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP}[r.IntN(2)]
		switch r.IntN(3) {
		case 0:
			out = append(out, anp.AdminNetworkPolicyPort{PortNumber: &anp.Port{Protocol: proto, Port: int32(79 + r.IntN(4))}})
		case 1:
			out = append(out, anp.AdminNetworkPolicyPort{PortRange: &anp.PortRange{Protocol: proto, Start: int32(70 + r.IntN(10)), End: int32(81 + r.IntN(30))}})
		default:
			name := "http"
			out = append(out, anp.AdminNetworkPolicyPort{NamedPort: &name})
		}
	}
	return &out
}

// member draws label sets from a class's boxes, with an irrelevant label.
func member(r *rand.Rand, ls *labelSpace, boxes []box) map[string]string {
	b := boxes[r.IntN(len(boxes))]
	out := map[string]string{"unrelated": fmt.Sprint(r.IntN(3))}
	for k, m := range b {
		var atoms []int
		for a := 0; a < ls.atoms(k); a++ {
			if m.has(a) {
				atoms = append(atoms, a)
			}
		}
		switch a := atoms[r.IntN(len(atoms))]; {
		case a == 0:
		case a <= len(ls.values[k]):
			out[ls.keys[k]] = ls.values[k][a-1]
		default:
			out[ls.keys[k]] = ls.otherValue(k) + fmt.Sprint(r.IntN(2))
		}
	}
	return out
}

func randomAddr(r *rand.Rand, spans []span[netip.Addr]) netip.Addr {
	s := spans[r.IntN(len(spans))]
	a := s.lo
	for i := r.IntN(300); i > 0 && a.Compare(s.hi) < 0; i-- {
		a = a.Next()
	}
	return a
}

func checkMembers(t *testing.T, seed uint64, r *rand.Rand, m Model, ev *Evaluation) {
	sp := ev.sp
	c := netpol.Cluster{Policies: m.Cluster.Policies, AdminPolicies: m.Cluster.AdminPolicies, Baseline: m.Cluster.Baseline}
	names := map[int]string{} // endpoint -> a concrete member's reference
	otherNS := map[int]string{}
	for ci, ns := range sp.namespaces {
		if ns.declared {
			labels := maps.Clone(ns.labels[0])
			delete(labels, corev1.LabelMetadataName)
			c.Namespaces = append(c.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.name, Labels: labels}})
			continue
		}
		l := member(r, ns.space, ns.boxes)
		name := l[corev1.LabelMetadataName]
		if name == "" || otherNSUsed(otherNS, name) {
			name = fmt.Sprintf("zz-other-%d", ci)
		}
		l[corev1.LabelMetadataName] = name
		otherNS[ci] = name
		c.Namespaces = append(c.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}})
	}
	for e, ep := range sp.endpoints {
		switch {
		case ep.ns < 0:
			a := randomAddr(r, sp.addrs.classes[ep.addrClass])
			c.Outside = append(c.Outside, a)
			names[e] = netpol.OutsideNamespace + "/" + a.String()
		case ep.known:
			p := m.Cluster.Pods[0]
			p.IP = ep.addr.String() // a known pod without IP is at the model's pod address
			c.Pods = append(c.Pods, p)
			names[e] = p.Namespace + "/" + p.Name
		default:
			ns := sp.namespaces[ep.ns].name
			if !sp.namespaces[ep.ns].declared {
				ns = otherNS[ep.ns]
			}
			p := netpol.Pod{Namespace: ns, Name: fmt.Sprintf("e%d", e), Labels: member(r, ep.space, ep.boxes), IP: randomAddr(r, sp.addrs.classes[ep.addrClass]).String()}
			c.Pods = append(c.Pods, p)
			names[e] = p.Ref().String()
		}
	}
	concrete, err := netpol.NewEvaluator(c)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	for i := 0; i < 400; i++ {
		src, dst := r.IntN(len(sp.endpoints)), r.IntN(len(sp.endpoints))
		if src == dst {
			continue
		}
		pc := r.IntN(len(sp.ports.classes))
		spans := sp.ports.classes[pc]
		sp0 := spans[r.IntN(len(spans))]
		pt := sp0.lo + portPoint(r.IntN(int(sp0.hi-sp0.lo)+1))
		from, _ := netpol.ParsePodRef(names[src])
		to, _ := netpol.ParsePodRef(names[dst])
		want, err := concrete.Allowed(from, to, netpol.PortProto{Port: pt.number(), Protocol: pt.protocol()})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if got := ev.s.allowed(src, dst).has(pc); got != want {
			t.Errorf("seed %d: %s -> %s %d/%s: class verdict %v (%s), concrete %s -> %s %v",
				seed, sp.endpoints[src].name, sp.endpoints[dst].name, pt.number(), pt.protocol(), got, ev.s.reason(src, dst, pc), names[src], names[dst], want)
		}
	}
}

func otherNSUsed(used map[int]string, name string) bool {
	for _, n := range used {
		if n == name {
			return true
		}
	}
	return false
}
