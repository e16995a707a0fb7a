package netpol

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	k8sfield "k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// The one validator of the objects the evaluator reads. Each function returns
// every problem found, as "field: what is wrong; the fix", with the field
// path of the object (spec.ingress[0].ports[1].endPort).

// ValidateNamespace checks a Namespace as the API server would: a DNS label
// name, no generateName, no namespace of its own, valid labels.
func ValidateNamespace(ns *corev1.Namespace) []string {
	p := validateMetadata(&ns.ObjectMeta, validation.IsDNS1123Label)
	if ns.Namespace != "" {
		p = append(p, fmt.Sprintf("metadata.namespace %q must be empty: a Namespace is not namespaced", ns.Namespace))
	}
	return p
}

// ValidatePolicy checks a NetworkPolicy as the API server would: name,
// labels, selectors, policyTypes, peers, ipBlocks, ports and protocols.
func ValidatePolicy(np *networkingv1.NetworkPolicy) []string {
	p := validateMetadata(&np.ObjectMeta, validation.IsDNS1123Subdomain)
	p = append(p, validateSelector("spec.podSelector", &np.Spec.PodSelector)...)

	seen := map[networkingv1.PolicyType]bool{}
	for i, t := range np.Spec.PolicyTypes {
		field := fmt.Sprintf("spec.policyTypes[%d]", i)
		switch {
		case t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress:
			p = append(p, fmt.Sprintf("%s %q is not a policy type; use Ingress or Egress", field, t))
		case seen[t]:
			p = append(p, fmt.Sprintf("%s %q is listed twice", field, t))
		}
		seen[t] = true
	}
	for i, rule := range np.Spec.Ingress {
		field := fmt.Sprintf("spec.ingress[%d]", i)
		p = append(p, validatePorts(field+".ports", rule.Ports)...)
		for j := range rule.From {
			p = append(p, validatePeer(fmt.Sprintf("%s.from[%d]", field, j), &rule.From[j])...)
		}
	}
	for i, rule := range np.Spec.Egress {
		field := fmt.Sprintf("spec.egress[%d]", i)
		p = append(p, validatePorts(field+".ports", rule.Ports)...)
		for j := range rule.To {
			p = append(p, validatePeer(fmt.Sprintf("%s.to[%d]", field, j), &rule.To[j])...)
		}
	}
	return p
}

// IgnoredRules reports rules the API accepts but ignores: ingress or egress
// rules of a direction that an explicit policyTypes list leaves out. The
// evaluator follows the API; a file a person edits should not hold them.
func IgnoredRules(np *networkingv1.NetworkPolicy) []string {
	if len(np.Spec.PolicyTypes) == 0 {
		return nil
	}
	listed := map[networkingv1.PolicyType]bool{}
	for _, t := range np.Spec.PolicyTypes {
		listed[t] = true
	}
	var p []string
	if len(np.Spec.Ingress) > 0 && !listed[networkingv1.PolicyTypeIngress] {
		p = append(p, "spec.ingress has rules but spec.policyTypes does not list Ingress, so they would be ignored; add Ingress to spec.policyTypes")
	}
	if len(np.Spec.Egress) > 0 && !listed[networkingv1.PolicyTypeEgress] {
		p = append(p, "spec.egress has rules but spec.policyTypes does not list Egress, so they would be ignored; add Egress to spec.policyTypes")
	}
	return p
}

// validateMetadata checks the name (with isName, the API's rule for the
// kind), that generateName is unused, and the labels.
func validateMetadata(m *metav1.ObjectMeta, isName func(string) []string) []string {
	var p []string
	if m.Name == "" {
		p = append(p, "metadata.name is missing")
	} else if msgs := isName(m.Name); len(msgs) > 0 {
		p = append(p, fmt.Sprintf("metadata.name %q is invalid: %s", m.Name, strings.Join(msgs, "; ")))
	}
	if m.GenerateName != "" {
		p = append(p, "metadata.generateName is not supported; use metadata.name")
	}
	p = append(p, validateLabels("metadata.labels", m.Labels)...)
	return append(p, validateAnnotations(m.Annotations)...)
}

// validateAnnotations checks annotations as the API server does: keys are
// qualified names (in any case), and keys and values hold at most 256 KiB.
func validateAnnotations(annotations map[string]string) []string {
	var p []string
	size := 0
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		size += len(k) + len(annotations[k])
		if msgs := validation.IsQualifiedName(strings.ToLower(k)); len(msgs) > 0 {
			p = append(p, fmt.Sprintf("metadata.annotations key %q is invalid: %s", k, strings.Join(msgs, "; ")))
		}
	}
	if size > apivalidation.TotalAnnotationSizeLimitB {
		p = append(p, fmt.Sprintf("metadata.annotations hold %d bytes, over the API server's limit of %d (256 KiB); keep large data out of annotations", size, apivalidation.TotalAnnotationSizeLimitB))
	}
	return p
}

func validateLabels(field string, labels map[string]string) []string {
	var p []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v := labels[k]
		if msgs := validation.IsQualifiedName(k); len(msgs) > 0 {
			p = append(p, fmt.Sprintf("%s key %q is invalid: %s", field, k, strings.Join(msgs, "; ")))
		}
		if msgs := validation.IsValidLabelValue(v); len(msgs) > 0 {
			p = append(p, fmt.Sprintf("%s[%q] value %q is invalid: %s", field, k, v, strings.Join(msgs, "; ")))
		}
	}
	return p
}

func validateSelector(field string, sel *metav1.LabelSelector) []string {
	if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
		return []string{fmt.Sprintf("%s does not parse: %v", field, err)}
	}
	return nil
}

func validatePeer(field string, peer *networkingv1.NetworkPolicyPeer) []string {
	var p []string
	selectors := peer.PodSelector != nil || peer.NamespaceSelector != nil
	switch {
	case peer.IPBlock != nil && selectors:
		p = append(p, fmt.Sprintf("%s sets ipBlock together with a selector; use separate peers", field))
	case peer.IPBlock == nil && !selectors:
		p = append(p, fmt.Sprintf("%s is empty; set podSelector, namespaceSelector or ipBlock", field))
	}
	if peer.PodSelector != nil {
		p = append(p, validateSelector(field+".podSelector", peer.PodSelector)...)
	}
	if peer.NamespaceSelector != nil {
		p = append(p, validateSelector(field+".namespaceSelector", peer.NamespaceSelector)...)
	}
	if peer.IPBlock != nil {
		p = append(p, validateIPBlock(field+".ipBlock", peer.IPBlock)...)
	}
	return p
}

func validateIPBlock(field string, b *networkingv1.IPBlock) []string {
	var p []string
	cidr, problem := checkCIDR(field+".cidr", b.CIDR)
	if problem != "" {
		p = append(p, problem)
	}
	for i, e := range b.Except {
		ef := fmt.Sprintf("%s.except[%d]", field, i)
		ex, problem := checkCIDR(ef, e)
		switch {
		case problem != "":
			p = append(p, problem)
		case cidr.IsValid() && !strictSubset(ex, cidr):
			p = append(p, fmt.Sprintf("%s %q must be a strict subset of cidr %q", ef, e, b.CIDR))
		}
	}
	return p
}

// checkCIDR applies kube-apiserver 1.36's rule for CIDR fields: apimachinery's
// IsValidCIDRForLegacyField, strict (the StrictIPCIDRValidation gate is on by
// default since 1.36), so no leading zeros, IPv4-mapped IPv6 nor host bits.
func checkCIDR(field, value string) (netip.Prefix, string) {
	if value == "" {
		return netip.Prefix{}, fmt.Sprintf("%s is missing; set a CIDR like 10.0.0.0/16", field)
	}
	_, ipnet, err := netutils.ParseCIDRSloppy(value)
	if err != nil {
		return netip.Prefix{}, fmt.Sprintf("%s %q is not a CIDR (like 10.0.0.0/16)", field, value)
	}
	if errs := validation.IsValidCIDRForLegacyField(k8sfield.NewPath(field), value, true, nil); len(errs) > 0 {
		return netip.Prefix{}, fmt.Sprintf("%s %q %s; use %s", field, value, errs[0].Detail, ipnet)
	}
	prefix, err := netip.ParsePrefix(value) // parses: the strict rule parses it so too
	if err != nil {
		return netip.Prefix{}, fmt.Sprintf("%s %q is not a CIDR (like 10.0.0.0/16)", field, value)
	}
	return prefix, ""
}

// strictSubset reports whether inner lies inside outer and is smaller.
func strictSubset(inner, outer netip.Prefix) bool {
	return inner.Addr().Is4() == outer.Addr().Is4() && inner.Bits() > outer.Bits() && outer.Contains(inner.Addr())
}

func validatePorts(field string, ports []networkingv1.NetworkPolicyPort) []string {
	var p []string
	for i, port := range ports {
		f := fmt.Sprintf("%s[%d]", field, i)
		if port.Protocol != nil && !validProtocol(*port.Protocol) {
			p = append(p, fmt.Sprintf("%s.protocol %q is not a protocol; use TCP, UDP or SCTP", f, *port.Protocol))
		}
		switch {
		case port.Port == nil:
			if port.EndPort != nil {
				p = append(p, fmt.Sprintf("%s.endPort needs a numeric %s.port", f, f))
			}
		case port.Port.Type == intstr.String:
			if msgs := validation.IsValidPortName(port.Port.StrVal); len(msgs) > 0 {
				p = append(p, fmt.Sprintf("%s.port %q is neither a number nor a port name: %s", f, port.Port.StrVal, strings.Join(msgs, "; ")))
			}
			if port.EndPort != nil {
				p = append(p, fmt.Sprintf("%s.endPort needs a numeric %s.port, not the name %q", f, f, port.Port.StrVal))
			}
		default:
			if msgs := validation.IsValidPortNum(int(port.Port.IntVal)); len(msgs) > 0 {
				p = append(p, fmt.Sprintf("%s.port %d is invalid: %s", f, port.Port.IntVal, strings.Join(msgs, "; ")))
			}
			if port.EndPort == nil {
				continue
			}
			if msgs := validation.IsValidPortNum(int(*port.EndPort)); len(msgs) > 0 {
				p = append(p, fmt.Sprintf("%s.endPort %d is invalid: %s", f, *port.EndPort, strings.Join(msgs, "; ")))
			} else if *port.EndPort < port.Port.IntVal {
				p = append(p, fmt.Sprintf("%s.endPort %d is below %s.port %d", f, *port.EndPort, f, port.Port.IntVal))
			}
		}
	}
	return p
}
