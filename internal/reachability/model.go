// Package reachability builds the model the reachability matrix is computed
// over, from the policies the program deploys, and compares two policy trees
// over the same pods. It is pure: a policies.Set in, netpol values out.
//
// The model holds, besides the namespaces and policies of the set:
//   - the workloads the program deploys (the demo Deployments), one
//     representative pod each;
//   - per namespace, one synthetic pod for each label set the policies
//     select (the podSelector of each policy, and the podSelector of each
//     peer in the namespaces its namespaceSelector picks among the known
//     ones), named after its labels, "ns-1/[app=web]", plus "ns-1/[no labels]"
//     for every namespace folder: any pod the policies do not name;
//   - the cluster DNS, kube-system/[k8s-app=kube-dns], listening on 53 UDP
//     and TCP, and an address outside the cluster, [outside]/203.0.113.10;
//   - as ports: the workloads' container ports, 53/UDP, 53/TCP, 443/TCP and
//     every numeric port the policies' rules name.
package reachability

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kopscalico/kopscalico/internal/demo"
	"github.com/kopscalico/kopscalico/internal/netpol"
	"github.com/kopscalico/kopscalico/internal/policies"
)

// The endpoints every model holds besides the pods.
var (
	// DNSNamespace and DNSLabels are where and what the cluster DNS pods
	// are: kops labels its CoreDNS pods k8s-app=kube-dns.
	DNSNamespace = metav1.NamespaceSystem
	DNSLabels    = map[string]string{"k8s-app": "kube-dns"}
	DNSPorts     = []netpol.PortProto{{Port: 53, Protocol: corev1.ProtocolUDP}, {Port: 53, Protocol: corev1.ProtocolTCP}}
	// OutsideAddress stands for any address outside the cluster: 203.0.113.10
	// is in TEST-NET-3 (RFC 5737), reserved for documentation, so no real
	// policy names it specifically.
	OutsideAddress = netip.MustParseAddr("203.0.113.10")
	OutsidePort    = netpol.PortProto{Port: 443, Protocol: corev1.ProtocolTCP}
)

// NoLabels is the name of the synthetic pod without labels.
const NoLabels = "[no labels]"

// Model is a cluster to evaluate and the ports its matrix probes.
type Model struct {
	Cluster netpol.Cluster
	Ports   []netpol.PortProto
	// Owned are the namespaces the program creates and deletes.
	Owned []string
}

// DemoPods are the pods of the program's demo workloads in namespace, none
// for "".
func DemoPods(namespace string) []netpol.Pod {
	if namespace == "" {
		return nil
	}
	w := demo.New(namespace)
	return netpol.PodsFromDeployments([]appsv1.Deployment{w.Echo, w.Client})
}

// Build returns the model of set with the given workload pods (see the
// package comment for what it holds).
func Build(set *policies.Set, workloads []netpol.Pod) Model {
	m := Model{Cluster: netpol.Cluster{
		Policies: set.AllPolicies(),
		Pods:     slices.Clone(workloads),
		Outside:  []netip.Addr{OutsideAddress},
	}}
	for _, n := range set.Namespaces {
		m.Cluster.Namespaces = append(m.Cluster.Namespaces, n.Object)
		m.Owned = append(m.Owned, n.Object.Name)
	}
	b := synthesis{known: knownNamespaces(set, workloads), have: map[string]bool{}}
	for _, p := range workloads {
		b.have[p.Namespace+"/"+labelString(p.Labels)] = true
	}
	b.add(DNSNamespace, DNSLabels, []corev1.ContainerPort{
		{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
		{Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP},
	})
	for _, ns := range set.Folders {
		b.add(ns, nil, nil)
	}
	for _, np := range m.Cluster.Policies {
		b.addSelected(np.Namespace, &np.Spec.PodSelector)
		for _, r := range np.Spec.Ingress {
			b.addPeers(np.Namespace, r.From)
		}
		for _, r := range np.Spec.Egress {
			b.addPeers(np.Namespace, r.To)
		}
	}
	m.Cluster.Pods = append(m.Cluster.Pods, b.pods...)
	m.Ports = modelPorts(m.Cluster)
	return m
}

// synthesis collects the synthetic pods of a model.
type synthesis struct {
	known map[string]labels.Set // namespace -> its labels
	have  map[string]bool       // "namespace/labels" already represented
	pods  []netpol.Pod
}

// knownNamespaces are the namespaces synthetic pods may land in: those with
// a folder (labels from their Namespace object when owned), those of the
// workloads, and the DNS's.
func knownNamespaces(set *policies.Set, workloads []netpol.Pod) map[string]labels.Set {
	known := map[string]labels.Set{}
	add := func(ns string, l map[string]string) {
		s := labels.Set(maps.Clone(l))
		if s == nil {
			s = labels.Set{}
		}
		s[corev1.LabelMetadataName] = ns
		known[ns] = s
	}
	for _, ns := range set.Folders {
		add(ns, nil)
	}
	for _, p := range workloads {
		if _, ok := known[p.Namespace]; !ok {
			add(p.Namespace, nil)
		}
	}
	if _, ok := known[DNSNamespace]; !ok {
		add(DNSNamespace, nil)
	}
	for _, n := range set.Namespaces {
		add(n.Object.Name, n.Object.Labels)
	}
	return known
}

// add adds the synthetic pod of one label set, unless a pod with exactly
// these labels is already in the namespace.
func (b *synthesis) add(ns string, l map[string]string, ports []corev1.ContainerPort) {
	key := ns + "/" + labelString(l)
	if b.have[key] {
		return
	}
	b.have[key] = true
	b.pods = append(b.pods, netpol.Pod{Namespace: ns, Name: SyntheticName(l), Labels: maps.Clone(l), Ports: ports})
}

// addSelected adds a pod for each label set sel stands for, in ns; a nil sel
// (a peer without podSelector) selects every pod, the pod without labels.
func (b *synthesis) addSelected(ns string, sel *metav1.LabelSelector) {
	if sel == nil {
		b.add(ns, nil, nil)
		return
	}
	for _, l := range representatives(sel) {
		b.add(ns, l, nil)
	}
}

// addPeers adds the pods the selector peers of a rule of a policy in ns
// select; ipBlock peers name no pod.
func (b *synthesis) addPeers(ns string, peers []networkingv1.NetworkPolicyPeer) {
	for _, peer := range peers {
		if peer.IPBlock != nil {
			continue
		}
		namespaces := []string{ns}
		if peer.NamespaceSelector != nil {
			namespaces = b.matchingNamespaces(peer.NamespaceSelector)
		}
		for _, n := range namespaces {
			b.addSelected(n, peer.PodSelector)
		}
	}
}

func (b *synthesis) matchingNamespaces(sel *metav1.LabelSelector) []string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil // refused by the loader's validation before this point
	}
	var out []string
	for _, ns := range slices.Sorted(maps.Keys(b.known)) {
		if s.Matches(b.known[ns]) {
			out = append(out, ns)
		}
	}
	return out
}

// representatives returns label sets that sel matches: its matchLabels, with
// one label set per value of each In expression (all combinations), the key
// with an empty value for Exists; NotIn and DoesNotExist add no label. A
// selector that nothing can match has none.
func representatives(sel *metav1.LabelSelector) []map[string]string {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil
	}
	sets := []map[string]string{maps.Clone(sel.MatchLabels)}
	for _, r := range sel.MatchExpressions {
		var values []string
		switch r.Operator {
		case metav1.LabelSelectorOpIn:
			values = slices.Sorted(slices.Values(r.Values))
		case metav1.LabelSelectorOpExists:
			values = []string{""}
		default:
			continue
		}
		var next []map[string]string
		for _, l := range sets {
			for _, v := range values {
				c := maps.Clone(l)
				if c == nil {
					c = map[string]string{}
				}
				c[r.Key] = v
				next = append(next, c)
			}
		}
		sets = next
	}
	var out []map[string]string
	for _, l := range sets {
		if s.Matches(labels.Set(l)) {
			out = append(out, l)
		}
	}
	return out
}

// SyntheticName names the pod that stands for the label set l:
// "[app=web,tier=db]", or "[no labels]".
func SyntheticName(l map[string]string) string {
	if len(l) == 0 {
		return NoLabels
	}
	return "[" + labelString(l) + "]"
}

// labelString renders labels sorted by key: "app=web,tier=db".
func labelString(l map[string]string) string {
	parts := make([]string, 0, len(l))
	for _, k := range slices.Sorted(maps.Keys(l)) {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}

// modelPorts are the ports a model probes: the pods' container ports, the
// DNS's and the outside port, and every numeric port (the first of a range)
// the policies' rules name.
func modelPorts(c netpol.Cluster) []netpol.PortProto {
	out := append(slices.Clone(DNSPorts), OutsidePort)
	for _, p := range c.Pods {
		for _, cp := range p.Ports {
			out = append(out, netpol.PortProto{Port: cp.ContainerPort, Protocol: cp.Protocol})
		}
	}
	add := func(ports []networkingv1.NetworkPolicyPort) {
		for _, p := range ports {
			if p.Port == nil || p.Port.IntVal == 0 {
				continue // every port, or a named port: no number to probe
			}
			pp := netpol.PortProto{Port: p.Port.IntVal}
			if p.Protocol != nil {
				pp.Protocol = *p.Protocol
			}
			out = append(out, pp)
		}
	}
	for _, np := range c.Policies {
		for _, r := range np.Spec.Ingress {
			add(r.Ports)
		}
		for _, r := range np.Spec.Egress {
			add(r.Ports)
		}
	}
	return netpol.NormalisePorts(out)
}

// Evaluate decides every case of the model on its ports.
func (m Model) Evaluate() (*netpol.Evaluator, *netpol.Grid, error) {
	ev, err := netpol.NewEvaluator(m.Cluster)
	if err != nil {
		return nil, nil, err
	}
	g, err := ev.Grid(m.Ports)
	if err != nil {
		return nil, nil, fmt.Errorf("ports: %w", err)
	}
	return ev, g, nil
}
