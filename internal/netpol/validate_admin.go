package netpol

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
)

// The checks of AdminNetworkPolicies and the BaselineAdminNetworkPolicy: the
// schema and x-kubernetes-validations of the CRDs kops installs with Calico
// (network-policy-api v0.1.1), plus the rules marked "beyond the CRD".

// Limits of the CRDs.
const (
	maxAdminPriority = 1000
	maxAdminItems    = 100 // rules per direction, peers and ports per rule
	maxRuleName      = 100
	maxNetworks      = 25
	maxNetworkLength = 43
)

var (
	adminActions    = []string{"Allow", "Deny", "Pass"}
	baselineActions = []string{"Allow", "Deny"}
)

// adminRule and adminPeer are the rules and peers of both kinds in one shape.
type adminRule struct {
	name, action string
	peers        []adminPeer
	ports        *[]anpv1alpha1.AdminNetworkPolicyPort
}

type adminPeer struct {
	namespaces  *metav1.LabelSelector
	pods        *anpv1alpha1.NamespacedPod
	nodes       *metav1.LabelSelector
	networks    []anpv1alpha1.CIDR
	domainNames []anpv1alpha1.DomainName
}

// ValidateAdminPolicy checks an AdminNetworkPolicy as the API server would
// with the CRD kops installs, and beyond it as ValidateBaselinePolicy says.
func ValidateAdminPolicy(anp *anpv1alpha1.AdminNetworkPolicy) []string {
	p := validateClusterMetadata("an AdminNetworkPolicy", &anp.ObjectMeta)
	switch pr := anp.Spec.Priority; {
	case pr < 0:
		p = append(p, fmt.Sprintf("spec.priority: %d is below 0; use a priority from 0 to %d", pr, maxAdminPriority))
	case pr > maxAdminPriority:
		p = append(p, fmt.Sprintf("spec.priority: %d is over %d; use a priority from 0 to %d", pr, maxAdminPriority, maxAdminPriority))
	}
	p = append(p, validateSubject(&anp.Spec.Subject)...)
	ingress, egress := adminRulesOf(anp)
	p = append(p, validateAdminRules("spec.ingress", "from", ingress, adminActions)...)
	return append(p, validateAdminRules("spec.egress", "to", egress, adminActions)...)
}

// ValidateBaselinePolicy checks the BaselineAdminNetworkPolicy as the API
// server would with the CRD kops installs. Beyond the CRD, as for
// AdminNetworkPolicies: selectors must parse, CIDRs follow the ipBlock rule,
// protocols are TCP, UDP or SCTP, named ports are port names, a port range
// starts below its end, and nodes peers are refused (the model has no nodes).
func ValidateBaselinePolicy(banp *anpv1alpha1.BaselineAdminNetworkPolicy) []string {
	p := validateClusterMetadata("a BaselineAdminNetworkPolicy", &banp.ObjectMeta)
	if banp.Name != "" && banp.Name != "default" {
		p = append(p, fmt.Sprintf("metadata.name: %q is not default; name it default (a cluster has one BaselineAdminNetworkPolicy)", banp.Name))
	}
	p = append(p, validateSubject(&banp.Spec.Subject)...)
	ingress, egress := baselineRulesOf(banp)
	p = append(p, validateAdminRules("spec.ingress", "from", ingress, baselineActions)...)
	return append(p, validateAdminRules("spec.egress", "to", egress, baselineActions)...)
}

// PriorityClashes returns the pairs of AdminNetworkPolicies (indexes into
// anps, the earlier first) that share a priority. Beyond the CRD: upstream
// leaves the order of such policies undefined, so no verdict would be sure.
func PriorityClashes(anps []anpv1alpha1.AdminNetworkPolicy) [][2]int {
	first := map[int32]int{}
	var clashes [][2]int
	for i := range anps {
		pr := anps[i].Spec.Priority
		if j, ok := first[pr]; ok {
			clashes = append(clashes, [2]int{j, i})
			continue
		}
		first[pr] = i
	}
	return clashes
}

func ingressPeers(from []anpv1alpha1.AdminNetworkPolicyIngressPeer) []adminPeer {
	var peers []adminPeer
	for _, f := range from {
		peers = append(peers, adminPeer{namespaces: f.Namespaces, pods: f.Pods})
	}
	return peers
}

// validateClusterMetadata checks the metadata of a cluster-scoped custom
// resource (what, "an AdminNetworkPolicy"): a DNS subdomain name, no namespace.
func validateClusterMetadata(what string, m *metav1.ObjectMeta) []string {
	p := validateMetadata(m, validation.IsDNS1123Subdomain)
	if m.Namespace != "" {
		p = append(p, fmt.Sprintf("metadata.namespace: %q is set, but %s is cluster-scoped; remove it", m.Namespace, what))
	}
	return p
}

// exactlyOne is the rule of a schema object with minProperties and
// maxProperties 1: set names the fields set, choices those that may be.
func exactlyOne(field string, set []string, choices string) []string {
	switch len(set) {
	case 0:
		return []string{fmt.Sprintf("%s: is empty; set one of %s", field, choices)}
	case 1:
		return nil
	default:
		return []string{fmt.Sprintf("%s: sets %s; set exactly one", field, strings.Join(set, " and "))}
	}
}

func validateSubject(s *anpv1alpha1.AdminNetworkPolicySubject) []string {
	var set, p []string
	if s.Namespaces != nil {
		set = append(set, "namespaces")
		p = append(p, validateSelector("spec.subject.namespaces", s.Namespaces)...)
	}
	if s.Pods != nil {
		set = append(set, "pods")
		p = append(p, validateNamespacedPod("spec.subject.pods", s.Pods)...)
	}
	return append(exactlyOne("spec.subject", set, "namespaces, pods"), p...)
}

func validateNamespacedPod(field string, pods *anpv1alpha1.NamespacedPod) []string {
	p := validateSelector(field+".namespaceSelector", &pods.NamespaceSelector)
	return append(p, validateSelector(field+".podSelector", &pods.PodSelector)...)
}

// validateAdminRules checks the rules of one direction (field, spec.ingress),
// whose peers are in peersField (from or to).
func validateAdminRules(field, peersField string, rules []adminRule, actions []string) []string {
	var p []string
	if len(rules) > maxAdminItems {
		p = append(p, fmt.Sprintf("%s: %d rules, over %d; split the policy", field, len(rules), maxAdminItems))
	}
	for i, r := range rules {
		f := fmt.Sprintf("%s[%d]", field, i)
		if n := utf8.RuneCountInString(r.name); n > maxRuleName {
			p = append(p, fmt.Sprintf("%s.name: %d characters, over %d; shorten it", f, n, maxRuleName))
		}
		if !slices.Contains(actions, r.action) {
			p = append(p, fmt.Sprintf("%s.action: %q is not an action here; use %s", f, r.action, strings.Join(actions, ", ")))
		}
		switch n := len(r.peers); {
		case n == 0:
			p = append(p, fmt.Sprintf("%s.%s: no peer; list 1 to %d peers", f, peersField, maxAdminItems))
		case n > maxAdminItems:
			p = append(p, fmt.Sprintf("%s.%s: %d peers, over %d; split the rule", f, peersField, n, maxAdminItems))
		}
		networks := false
		for j, peer := range r.peers {
			p = append(p, validateAdminPeer(fmt.Sprintf("%s.%s[%d]", f, peersField, j), peer)...)
			networks = networks || peer.networks != nil || peer.nodes != nil
		}
		p = append(p, validateAdminPorts(f+".ports", r.ports, networks)...)
	}
	return p
}

func validateAdminPeer(field string, peer adminPeer) []string {
	var set, p []string
	if peer.namespaces != nil {
		set = append(set, "namespaces")
		p = append(p, validateSelector(field+".namespaces", peer.namespaces)...)
	}
	if peer.pods != nil {
		set = append(set, "pods")
		p = append(p, validateNamespacedPod(field+".pods", peer.pods)...)
	}
	if peer.nodes != nil { // beyond the CRD
		set = append(set, "nodes")
		p = append(p, field+".nodes: the reachability model has no nodes; use networks with the nodes' CIDR instead")
	}
	if peer.networks != nil {
		set = append(set, "networks")
		p = append(p, validateNetworks(field+".networks", peer.networks)...)
	}
	if peer.domainNames != nil {
		set = append(set, "domainNames")
		p = append(p, field+".domainNames: not in the CRD kops installs (network-policy-api v0.1.1); use networks")
	}
	return append(exactlyOne(field, set, "namespaces, pods, networks"), p...)
}

// validateNetworks checks a networks list: a set of 1 to 25 CIDRs of at most
// 43 characters, each IPv4 or IPv6 (the CRD's rule), and, beyond the CRD,
// each a CIDR as ipBlock takes it.
func validateNetworks(field string, networks []anpv1alpha1.CIDR) []string {
	var p []string
	if n := len(networks); n == 0 || n > maxNetworks {
		p = append(p, fmt.Sprintf("%s: %d CIDRs; list 1 to %d", field, n, maxNetworks))
	}
	seen := map[anpv1alpha1.CIDR]bool{}
	for i, n := range networks {
		f := fmt.Sprintf("%s[%d]", field, i)
		s := string(n)
		switch {
		case seen[n]:
			p = append(p, fmt.Sprintf("%s: %q is listed twice; remove one", f, s))
		case utf8.RuneCountInString(s) > maxNetworkLength:
			p = append(p, fmt.Sprintf("%s: %q is over %d characters; use a CIDR like 10.0.0.0/16", f, s, maxNetworkLength))
		case strings.Contains(s, ":") == strings.Contains(s, "."):
			p = append(p, fmt.Sprintf("%s: %q is neither IPv4 nor IPv6 (IPv4 inside IPv6 is refused); use a CIDR like 10.0.0.0/16 or fd00::/64", f, s))
		default:
			if _, problem := checkCIDR(f, s); problem != "" {
				p = append(p, problem)
			}
		}
		seen[n] = true
	}
	return p
}

// validateAdminPorts checks a ports list; networks tells that the rule has a
// networks or nodes peer, which have no named ports (the CRD's rule).
func validateAdminPorts(field string, ports *[]anpv1alpha1.AdminNetworkPolicyPort, networks bool) []string {
	if ports == nil {
		return nil
	}
	var p []string
	if len(*ports) > maxAdminItems {
		p = append(p, fmt.Sprintf("%s: %d ports, over %d; split the rule", field, len(*ports), maxAdminItems))
	}
	for i, port := range *ports {
		f := fmt.Sprintf("%s[%d]", field, i)
		var set, q []string
		if n := port.PortNumber; n != nil {
			set = append(set, "portNumber")
			q = append(q, checkAdminPort(f+".portNumber.port", n.Port)...)
			q = append(q, checkAdminProtocol(f+".portNumber.protocol", n.Protocol)...)
		}
		if name := port.NamedPort; name != nil {
			set = append(set, "namedPort")
			if networks {
				q = append(q, fmt.Sprintf("%s.namedPort: networks and nodes peers have no named ports; use portNumber or portRange, or a rule of its own", f))
			}
			if msgs := validation.IsValidPortName(*name); len(msgs) > 0 { // beyond the CRD
				q = append(q, fmt.Sprintf("%s.namedPort: %q is not a port name: %s", f, *name, strings.Join(msgs, "; ")))
			}
		}
		if r := port.PortRange; r != nil {
			set = append(set, "portRange")
			bounds := append(checkAdminPort(f+".portRange.start", r.Start), checkAdminPort(f+".portRange.end", r.End)...)
			if len(bounds) == 0 && r.Start >= r.End { // beyond the CRD, as its documentation says
				bounds = append(bounds, fmt.Sprintf("%s.portRange: start %d is not below end %d; make start < end (portNumber for one port)", f, r.Start, r.End))
			}
			q = append(append(q, bounds...), checkAdminProtocol(f+".portRange.protocol", r.Protocol)...)
		}
		p = append(append(p, exactlyOne(f, set, "portNumber, namedPort, portRange")...), q...)
	}
	return p
}

func checkAdminPort(field string, port int32) []string {
	if port < 1 || port > 65535 {
		return []string{fmt.Sprintf("%s: %d is not a port; use 1 to 65535", field, port)}
	}
	return nil
}

// checkAdminProtocol: empty is TCP, the CRD's default; beyond the CRD, which
// takes any string, only TCP, UDP and SCTP.
func checkAdminProtocol(field string, protocol corev1.Protocol) []string {
	if protocol != "" && !validProtocol(protocol) {
		return []string{fmt.Sprintf("%s: %q is not a protocol; use TCP, UDP or SCTP", field, protocol)}
	}
	return nil
}
