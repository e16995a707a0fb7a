// Package reachability decides, offline and exactly, which connections the
// policies of a tree allow, and compares two trees, without enumerating
// pods, addresses or ports one by one. It is pure: a policies.Set in, verdicts
// out.
//
// Everything a policy can tell apart is partitioned into classes:
//   - namespaces: each declared one (a folder, its Namespace object, the
//     workloads' and the DNS's), plus one class per pattern of labels the
//     namespace selectors can tell apart among all the others;
//   - pods, per namespace class: the label sets the selectors that reach that
//     namespace treat alike ("ns-1/[app=web]", "ns-1/[app=*]" for any other
//     app, "ns-1/[no labels]"), and the known pods (the demo workloads, the
//     cluster DNS) as endpoints of their own, since only their container
//     ports are known (named ports resolve on them alone);
//   - addresses: IPv4 and IPv6 cut at every cidr and except; the classes
//     outside the pod CIDR are the outside endpoints, those inside it split
//     the pods when some ipBlock covers part of the pod CIDR;
//   - ports: TCP, UDP and SCTP cut at every port, range and container port.
//
// The number of classes grows with the distinctions the policies make, not
// with their product, and every member of a class gets the same verdict from
// every policy: the property test draws concrete members and checks them
// with netpol's Allowed.
package reachability

import (
	"maps"
	"net/netip"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kopscalico/kopscalico/internal/demo"
	"github.com/kopscalico/kopscalico/internal/netpol"
	"github.com/kopscalico/kopscalico/internal/policies"
)

// The endpoints every model holds besides the classes.
var (
	// DNSNamespace and DNSLabels are where and what the cluster DNS pods
	// are: kops labels its CoreDNS pods k8s-app=kube-dns.
	DNSNamespace = metav1.NamespaceSystem
	DNSLabels    = map[string]string{"k8s-app": "kube-dns"}
	DNSPod       = netpol.Pod{Namespace: DNSNamespace, Name: "kube-dns", Labels: DNSLabels, Ports: []corev1.ContainerPort{
		{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP},
		{Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP},
	}}
	// DefaultPodCIDR is kops's default pod range (kubeClusterCIDR), where
	// pod IPs come from unless the model is told otherwise.
	DefaultPodCIDR = netip.MustParsePrefix(netpol.SyntheticPodCIDR)
)

// Model is one tree as the evaluator sees it.
type Model struct {
	// Cluster holds the namespaces the tree declares, its policies, and the
	// known pods (the workloads and the DNS).
	Cluster netpol.Cluster
	// Owned are the namespaces the program creates and deletes; Folders
	// those with a folder, owned or not.
	Owned   []string
	Folders []string
	// PodCIDR is where pod IPs come from.
	PodCIDR netip.Prefix
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

// Build returns the model of set with the given known pods (workloads) and
// the cluster DNS.
func Build(set *policies.Set, workloads []netpol.Pod) Model {
	m := Model{
		Cluster: netpol.Cluster{
			Policies: set.AllPolicies(),
			Pods:     append(slices.Clone(workloads), DNSPod),
		},
		Folders: slices.Clone(set.Folders),
		PodCIDR: DefaultPodCIDR,
	}
	for _, n := range set.Namespaces {
		m.Cluster.Namespaces = append(m.Cluster.Namespaces, n.Object)
		m.Owned = append(m.Owned, n.Object.Name)
	}
	for _, a := range set.AdminPolicies {
		m.Cluster.AdminPolicies = append(m.Cluster.AdminPolicies, a.Object)
	}
	if set.Baseline != nil {
		b := set.Baseline.Object
		m.Cluster.Baseline = &b
	}
	return m
}

// namespaceLabels returns the labels of every namespace the model declares,
// with kubernetes.io/metadata.name as the API server sets it.
func (m Model) namespaceLabels() map[string]map[string]string {
	out := map[string]map[string]string{}
	add := func(ns string, l map[string]string) {
		c := maps.Clone(l)
		if c == nil {
			c = map[string]string{}
		}
		c[corev1.LabelMetadataName] = ns
		out[ns] = c
	}
	for _, ns := range m.Folders {
		add(ns, nil)
	}
	for _, p := range m.Cluster.Pods {
		if _, ok := out[p.Namespace]; !ok {
			add(p.Namespace, nil)
		}
	}
	for _, np := range m.Cluster.Policies {
		if _, ok := out[np.Namespace]; !ok {
			add(np.Namespace, nil)
		}
	}
	for _, n := range m.Cluster.Namespaces {
		add(n.Name, n.Labels)
	}
	return out
}
