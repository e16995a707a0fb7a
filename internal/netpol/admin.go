package netpol

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
)

// The actions of admin rules. A BaselineAdminNetworkPolicy rule is Allow or
// Deny; Pass is an AdminNetworkPolicy's only.
const (
	ActionAllow = string(anpv1alpha1.AdminNetworkPolicyRuleActionAllow)
	ActionDeny  = string(anpv1alpha1.AdminNetworkPolicyRuleActionDeny)
	ActionPass  = string(anpv1alpha1.AdminNetworkPolicyRuleActionPass)
)

// AdminRule names a rule of an AdminNetworkPolicy, or of the
// BaselineAdminNetworkPolicy when Baseline is set.
type AdminRule struct {
	Policy   string // the policy's name
	Baseline bool
	Priority int32  // the AdminNetworkPolicy's; 0 for the baseline
	Index    int    // the rule's position in spec.ingress or spec.egress
	Name     string // the rule's name, often empty
	Action   string // ActionAllow, ActionDeny or ActionPass
}

// String names the rule as Reason does: `admin policy deny-kube-system, rule
// 0 (priority 10)`, `baseline rule 1 "deny-internet"`.
func (r AdminRule) String() string {
	if r.Baseline {
		return "baseline " + r.rule()
	}
	return fmt.Sprintf("admin policy %s, %s (priority %d)", r.Policy, r.rule(), r.Priority)
}

// rule is `rule 1`, or `rule 1 "name"` when the rule has a name.
func (r AdminRule) rule() string {
	if r.Name != "" {
		return "rule " + strconv.Itoa(r.Index) + " " + strconv.Quote(r.Name)
	}
	return "rule " + strconv.Itoa(r.Index)
}

// adminRule is one compiled rule of an AdminNetworkPolicy or of the
// BaselineAdminNetworkPolicy: its peers and ports as for a NetworkPolicy rule.
type adminRule struct {
	rule
	action string
	ref    AdminRule
}

// adminRuleSpec is the shape every admin rule type shares.
type adminRuleSpec struct {
	name   string
	action string
	peers  []adminPeer
	ports  *[]anpv1alpha1.AdminNetworkPolicyPort
}

// adminPeer is the union of the admin peer types; unsupported names a field
// the model cannot evaluate (nodes, domainNames).
type adminPeer struct {
	namespaces  *metav1.LabelSelector
	pods        *anpv1alpha1.NamespacedPod
	networks    []anpv1alpha1.CIDR
	unsupported string
}

// compileAdmin compiles the AdminNetworkPolicies, highest precedence first
// (lower priority number, then name, so that equal priorities are
// deterministic), then the BaselineAdminNetworkPolicy.
func (c *compiler) compileAdmin(anps []anpv1alpha1.AdminNetworkPolicy, banp *anpv1alpha1.BaselineAdminNetworkPolicy) error {
	anps = slices.Clone(anps)
	slices.SortStableFunc(anps, func(a, b anpv1alpha1.AdminNetworkPolicy) int {
		return cmp.Or(cmp.Compare(a.Spec.Priority, b.Spec.Priority), strings.Compare(a.Name, b.Name))
	})
	seen := map[string]bool{}
	for _, p := range anps {
		if seen[p.Name] {
			return fmt.Errorf("AdminNetworkPolicy %s: defined twice", p.Name)
		}
		seen[p.Name] = true
		var in, out []adminRuleSpec
		for _, r := range p.Spec.Ingress {
			in = append(in, adminRuleSpec{r.Name, string(r.Action), ingressPeers(r.From), r.Ports})
		}
		for _, r := range p.Spec.Egress {
			out = append(out, adminRuleSpec{r.Name, string(r.Action), egressPeers(r.To), r.Ports})
		}
		ref := AdminRule{Policy: p.Name, Priority: p.Spec.Priority}
		if err := c.adminPolicy(ref, p.Spec.Subject, in, out); err != nil {
			return fmt.Errorf("AdminNetworkPolicy %s: %w", p.Name, err)
		}
	}
	if banp == nil {
		return nil
	}
	var in, out []adminRuleSpec
	for _, r := range banp.Spec.Ingress {
		in = append(in, adminRuleSpec{r.Name, string(r.Action), ingressPeers(r.From), r.Ports})
	}
	for _, r := range banp.Spec.Egress {
		var peers []adminPeer
		for _, p := range r.To {
			peers = append(peers, adminPeer{namespaces: p.Namespaces, pods: p.Pods, networks: p.Networks, unsupported: nodesField(p.Nodes)})
		}
		out = append(out, adminRuleSpec{r.Name, string(r.Action), peers, r.Ports})
	}
	ref := AdminRule{Policy: banp.Name, Baseline: true}
	if err := c.adminPolicy(ref, banp.Spec.Subject, in, out); err != nil {
		return fmt.Errorf("BaselineAdminNetworkPolicy %s: %w", banp.Name, err)
	}
	return nil
}

func ingressPeers(from []anpv1alpha1.AdminNetworkPolicyIngressPeer) []adminPeer {
	var out []adminPeer
	for _, p := range from {
		out = append(out, adminPeer{namespaces: p.Namespaces, pods: p.Pods})
	}
	return out
}

func egressPeers(to []anpv1alpha1.AdminNetworkPolicyEgressPeer) []adminPeer {
	var out []adminPeer
	for _, p := range to {
		unsupported := nodesField(p.Nodes)
		if len(p.DomainNames) > 0 {
			unsupported = "domainNames"
		}
		out = append(out, adminPeer{namespaces: p.Namespaces, pods: p.Pods, networks: p.Networks, unsupported: unsupported})
	}
	return out
}

func nodesField(s *metav1.LabelSelector) string {
	if s != nil {
		return "nodes"
	}
	return ""
}

// adminPolicy compiles one policy's rules and appends them, in order, to the
// admin or baseline rules of every pod its subject selects.
func (c *compiler) adminPolicy(ref AdminRule, subject anpv1alpha1.AdminNetworkPolicySubject, in, out []adminRuleSpec) error {
	e := c.e
	pods, err := c.adminSubject(subject)
	if err != nil {
		return err
	}
	inRules, err := c.adminRules(ref, in, "spec.ingress", "from")
	if err != nil {
		return err
	}
	outRules, err := c.adminRules(ref, out, "spec.egress", "to")
	if err != nil {
		return err
	}
	for i := range e.pods {
		if !pods.has(i) {
			continue
		}
		if ref.Baseline {
			e.ingress[i].baseline = append(e.ingress[i].baseline, inRules...)
			e.egress[i].baseline = append(e.egress[i].baseline, outRules...)
		} else {
			e.ingress[i].admin = append(e.ingress[i].admin, inRules...)
			e.egress[i].admin = append(e.egress[i].admin, outRules...)
		}
	}
	return nil
}

// adminSubject returns the pods a subject selects: every pod of the selected
// namespaces, or the selected pods of the selected namespaces.
func (c *compiler) adminSubject(s anpv1alpha1.AdminNetworkPolicySubject) (bitset, error) {
	switch {
	case s.Namespaces != nil && s.Pods == nil:
		return c.podsIn(s.Namespaces, nil, "spec.subject.namespaces")
	case s.Pods != nil && s.Namespaces == nil:
		return c.podsIn(&s.Pods.NamespaceSelector, &s.Pods.PodSelector, "spec.subject.pods.")
	}
	return nil, fmt.Errorf("spec.subject: set exactly one of namespaces and pods")
}

func (c *compiler) adminRules(ref AdminRule, specs []adminRuleSpec, path, peersField string) ([]int, error) {
	e := c.e
	var out []int
	for i, s := range specs {
		rulePath := fmt.Sprintf("%s[%d]", path, i)
		if s.action != ActionAllow && s.action != ActionDeny && (s.action != ActionPass || ref.Baseline) {
			return nil, fmt.Errorf("%s.action %q: want Allow or Deny, or Pass in an AdminNetworkPolicy", rulePath, s.action)
		}
		r := adminRule{action: s.action, ref: ref}
		r.ref.Index, r.ref.Name, r.ref.Action = i, s.name, s.action
		if s.ports != nil {
			for j, p := range *s.ports {
				m, err := compileAdminPort(p, fmt.Sprintf("%s.ports[%d]", rulePath, j))
				if err != nil {
					return nil, err
				}
				r.named = r.named || m.name != ""
				r.ports = append(r.ports, m)
			}
		}
		r.peers = newBitset(len(e.pods))
		for j, p := range s.peers {
			set, err := c.adminPeer(p, fmt.Sprintf("%s.%s[%d]", rulePath, peersField, j))
			if err != nil {
				return nil, err
			}
			r.peers.or(set)
		}
		e.adminRules = append(e.adminRules, r)
		out = append(out, len(e.adminRules)-1)
	}
	return out, nil
}

// adminPeer returns the pods (and outside addresses, for networks) one peer
// matches.
func (c *compiler) adminPeer(p adminPeer, path string) (bitset, error) {
	if p.unsupported != "" {
		return nil, fmt.Errorf("%s.%s: not supported: the model has no nodes or DNS names; use networks", path, p.unsupported)
	}
	switch {
	case p.namespaces != nil && p.pods == nil && p.networks == nil:
		return c.podsIn(p.namespaces, nil, path+".namespaces")
	case p.pods != nil && p.namespaces == nil && p.networks == nil:
		return c.podsIn(&p.pods.NamespaceSelector, &p.pods.PodSelector, path+".pods.")
	case p.networks != nil && p.namespaces == nil && p.pods == nil:
		set := newBitset(len(c.e.pods))
		for i, s := range p.networks {
			cidr, err := netip.ParsePrefix(string(s))
			if err != nil {
				return nil, fmt.Errorf("%s.networks[%d]: %w", path, i, err)
			}
			for a, addr := range c.e.addrs {
				if cidr.Masked().Contains(addr) {
					set.set(a)
				}
			}
		}
		return set, nil
	}
	return nil, fmt.Errorf("%s: set exactly one of namespaces, pods and networks", path)
}

// podsIn returns the pods of the namespaces nsSel selects that podSel (nil:
// every pod) selects; outside addresses are in no namespace. path is the
// namespaces field, or the prefix of the pods' two selectors.
func (c *compiler) podsIn(nsSel, podSel *metav1.LabelSelector, path string) (bitset, error) {
	set := newBitset(len(c.e.pods))
	nsPath, ps := path, labels.Everything()
	if podSel != nil {
		nsPath = path + "namespaceSelector"
		var err error
		if ps, err = selector(podSel, path+"podSelector"); err != nil {
			return nil, err
		}
	}
	nss, err := selector(nsSel, nsPath)
	if err != nil {
		return nil, err
	}
	for _, ns := range c.nsNames {
		if !nss.Matches(c.nsLabels[ns]) {
			continue
		}
		for _, i := range c.podsByNS[ns] {
			if ps.Matches(labels.Set(c.e.pods[i].Labels)) {
				set.set(i)
			}
		}
	}
	return set, nil
}

// compileAdminPort turns one port of an admin rule into a portMatch: a
// number or an inclusive range (protocol defaulting to TCP), or a named
// port, which matches the destination pod's container port of that name
// whatever its protocol.
func compileAdminPort(p anpv1alpha1.AdminNetworkPolicyPort, path string) (portMatch, error) {
	switch {
	case p.PortNumber != nil && p.PortRange == nil && p.NamedPort == nil:
		n := p.PortNumber
		return portMatch{protocol: protocolOrTCP(n.Protocol), from: n.Port, to: n.Port}, nil
	case p.PortRange != nil && p.PortNumber == nil && p.NamedPort == nil:
		r := p.PortRange
		return portMatch{protocol: protocolOrTCP(r.Protocol), from: r.Start, to: r.End}, nil
	case p.NamedPort != nil && p.PortNumber == nil && p.PortRange == nil:
		return portMatch{name: *p.NamedPort}, nil
	}
	return portMatch{}, fmt.Errorf("%s: set exactly one of portNumber, portRange and namedPort", path)
}

// firstAdminMatch returns the first of the rules (indices into
// e.adminRules) that matches the connection to peer, or nil.
func (e *Evaluator) firstAdminMatch(rules []int, peer, dst int, port PortProto) *adminRule {
	for _, ri := range rules {
		r := &e.adminRules[ri]
		if r.peers.has(peer) && r.allowsPort(&e.pods[dst], port) {
			return r
		}
	}
	return nil
}
