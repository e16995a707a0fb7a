// Package netpol decides, offline, which pod-to-pod connections Kubernetes
// NetworkPolicies allow, with the semantics of the networking.k8s.io/v1 API as
// Calico enforces it. It is pure: manifests in, verdicts out.
//
// The rules, as the API documentation defines them:
//
//   - A pod is isolated for a direction (ingress or egress) only by policies
//     that select it and whose policyTypes include that direction. policyTypes
//     defaults to ["Ingress"], plus "Egress" when the policy has egress rules.
//   - A pod not isolated for a direction allows everything in that direction.
//     An isolated pod allows the union of the rules of its isolating policies.
//   - A connection needs both the source's egress and the destination's
//     ingress to allow it. A pod always reaches itself (a connection to its own
//     IP never leaves its network namespace, so Calico never sees it).
//   - Peers: an absent podSelector means every pod, an empty one every pod; an
//     absent namespaceSelector means the policy's namespace, an empty one every
//     namespace; both in one peer are ANDed; separate peers are ORed; an absent
//     or empty from/to list matches every peer.
//   - ipBlock matches pod IPs, as Calico does: a pod matches when its IP is
//     inside cidr and outside every except.
//   - Ports: absent or empty ports match every port and protocol. A port
//     entry's protocol defaults to TCP; without port it matches every port of
//     that protocol; a numeric port matches it, up to endPort when set; a named
//     port resolves on the destination pod's container ports (name and
//     protocol), for ingress and egress rules alike.
//   - Namespaces carry the label kubernetes.io/metadata.name=<name>, as the
//     API server sets it.
//
// AdminNetworkPolicies and the BaselineAdminNetworkPolicy
// (policy.networking.k8s.io/v1alpha1) come before and after NetworkPolicies,
// per direction:
//
//   - AdminNetworkPolicies by priority (lower first; equal ones by name),
//     rules in order: the first rule whose peers and ports match decides.
//     Allow allows and Deny denies, skipping every later tier; Pass skips the
//     remaining admin rules.
//   - Then the NetworkPolicies, when some isolate the pod: allowed iff a rule
//     allows. Else the baseline's rules in order: the first match allows or
//     denies. Nothing matched: allowed.
//   - Subjects and peers select namespaces (by namespace labels) or pods (a
//     namespaceSelector and a podSelector); egress networks match addresses
//     as ipBlock does. nodes and domainNames peers are refused: the model has
//     neither.
//   - Ports: portNumber, portRange (inclusive), protocol defaulting to TCP;
//     namedPort matches the destination pod's container port of that name,
//     with its protocol.
//
// Inputs are k8s.io/api types (corev1.Namespace, networkingv1.NetworkPolicy),
// sigs.k8s.io/network-policy-api's v1alpha1 types, a small Pod struct
// (PodsFromDeployment builds them from Deployments) and addresses outside the
// cluster. ValidateNamespace and ValidatePolicy are
// the checks NewEvaluator makes; loaders call them to refuse bad files early.
package netpol

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
)

// Cluster is the input to the evaluator.
//
// Namespaces that pods or policies use but that are not listed are created
// implicitly, with only the kubernetes.io/metadata.name label. Objects with an
// empty namespace belong to "default".
type Cluster struct {
	Namespaces []corev1.Namespace
	Pods       []Pod
	Policies   []networkingv1.NetworkPolicy
	// AdminPolicies are the cluster's AdminNetworkPolicies, decided before
	// NetworkPolicies by priority; Baseline is its one
	// BaselineAdminNetworkPolicy ("default"), decided after them, or nil.
	AdminPolicies []anpv1alpha1.AdminNetworkPolicy
	Baseline      *anpv1alpha1.BaselineAdminNetworkPolicy
	// Outside are addresses outside the cluster, endpoints of the matrix
	// like pods (named OutsideNamespace/<address>): ipBlock peers match them,
	// selectors never do, and no policy isolates them.
	Outside []netip.Addr
}

// OutsideNamespace is the namespace part of an outside address's reference,
// "[outside]/203.0.113.10"; the brackets keep it apart from every real
// namespace name.
const OutsideNamespace = "[outside]"

// Pod is what NetworkPolicy evaluation needs to know about a pod.
type Pod struct {
	Namespace string
	Name      string
	Labels    map[string]string
	// IP is the pod's address (status.podIP). When empty, NewEvaluator assigns
	// a synthetic address (see SyntheticPodCIDR), stable across runs.
	IP string
	// Ports are the container ports of all the pod's containers; named ports
	// of policies resolve against them (name and protocol). An empty protocol
	// means TCP.
	Ports []corev1.ContainerPort
}

// Ref returns the pod's reference.
func (p Pod) Ref() PodRef { return PodRef{Namespace: p.Namespace, Name: p.Name} }

// PodRef names a pod.
type PodRef struct {
	Namespace string
	Name      string
}

// String renders the reference as "namespace/name", the form used in
// matrices.
func (r PodRef) String() string { return r.Namespace + "/" + r.Name }

// ParsePodRef parses "namespace/name".
func ParsePodRef(s string) (PodRef, error) {
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return PodRef{}, fmt.Errorf("pod %q: want namespace/name", s)
	}
	return PodRef{Namespace: ns, Name: name}, nil
}

// PortProto is a destination port and its protocol.
type PortProto struct {
	Port     int32
	Protocol corev1.Protocol
}

// String renders the port as "80/TCP".
func (p PortProto) String() string {
	return strconv.Itoa(int(p.Port)) + "/" + string(p.Protocol)
}

// ParsePortProto parses "80/TCP", "81/udp" or "80" (TCP).
func ParsePortProto(s string) (PortProto, error) {
	num, proto, hasProto := strings.Cut(strings.TrimSpace(s), "/")
	port, err := strconv.Atoi(num)
	if err != nil || port < 1 || port > 65535 {
		return PortProto{}, fmt.Errorf("port %q: want a number from 1 to 65535, optionally followed by /TCP, /UDP or /SCTP", s)
	}
	p := PortProto{Port: int32(port), Protocol: corev1.ProtocolTCP}
	if hasProto {
		p.Protocol = corev1.Protocol(strings.ToUpper(proto))
		if !validProtocol(p.Protocol) {
			return PortProto{}, fmt.Errorf("port %q: protocol must be TCP, UDP or SCTP", s)
		}
	}
	return p, nil
}

// ParsePortList parses a comma-separated list such as "80/TCP,81/UDP".
func ParsePortList(s string) ([]PortProto, error) {
	var out []PortProto
	for _, f := range strings.Split(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		p, err := ParsePortProto(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("port list %q is empty", s)
	}
	return out, nil
}

func validProtocol(p corev1.Protocol) bool {
	return p == corev1.ProtocolTCP || p == corev1.ProtocolUDP || p == corev1.ProtocolSCTP
}

// protocolOrTCP applies the API default of TCP to an optional protocol.
func protocolOrTCP(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}
