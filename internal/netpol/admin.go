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
		return "baseline " + r.Rule()
	}
	return fmt.Sprintf("admin policy %s, %s (priority %d)", r.Policy, r.Rule(), r.Priority)
}

// Rule is `rule 1`, or `rule 1 "name"` when the rule has a name.
func (r AdminRule) Rule() string {
	if r.Name != "" {
		return "rule " + strconv.Itoa(r.Index) + " " + strconv.Quote(r.Name)
	}
	return "rule " + strconv.Itoa(r.Index)
}

// tierRule is one compiled rule of an AdminNetworkPolicy or of the
// BaselineAdminNetworkPolicy: its peers and ports as for a NetworkPolicy rule.
type tierRule struct {
	rule
	action string
	ref    AdminRule
}

// adminRulesOf returns an AdminNetworkPolicy's rules in the shape
// validate_admin.go checks (adminRule).
func adminRulesOf(p *anpv1alpha1.AdminNetworkPolicy) (ingress, egress []adminRule) {
	for _, r := range p.Spec.Ingress {
		ingress = append(ingress, adminRule{r.Name, string(r.Action), ingressPeers(r.From), r.Ports})
	}
	for _, r := range p.Spec.Egress {
		var peers []adminPeer
		for _, e := range r.To {
			peers = append(peers, adminPeer{e.Namespaces, e.Pods, e.Nodes, e.Networks, e.DomainNames})
		}
		egress = append(egress, adminRule{r.Name, string(r.Action), peers, r.Ports})
	}
	return ingress, egress
}

// baselineRulesOf is adminRulesOf for the BaselineAdminNetworkPolicy.
func baselineRulesOf(b *anpv1alpha1.BaselineAdminNetworkPolicy) (ingress, egress []adminRule) {
	for _, r := range b.Spec.Ingress {
		ingress = append(ingress, adminRule{r.Name, string(r.Action), ingressPeers(r.From), r.Ports})
	}
	for _, r := range b.Spec.Egress {
		var peers []adminPeer
		for _, e := range r.To {
			peers = append(peers, adminPeer{namespaces: e.Namespaces, pods: e.Pods, nodes: e.Nodes, networks: e.Networks})
		}
		egress = append(egress, adminRule{r.Name, string(r.Action), peers, r.Ports})
	}
	return ingress, egress
}

// compileAdmin compiles validated AdminNetworkPolicies, highest precedence
// first (lower priority number, then name, so that equal priorities are
// deterministic), then the BaselineAdminNetworkPolicy.
func (c *compiler) compileAdmin(anps []anpv1alpha1.AdminNetworkPolicy, banp *anpv1alpha1.BaselineAdminNetworkPolicy) error {
	anps = slices.Clone(anps)
	slices.SortStableFunc(anps, func(a, b anpv1alpha1.AdminNetworkPolicy) int {
		return cmp.Or(cmp.Compare(a.Spec.Priority, b.Spec.Priority), strings.Compare(a.Name, b.Name))
	})
	seen := map[string]bool{}
	for i := range anps {
		p := &anps[i]
		if seen[p.Name] {
			return fmt.Errorf("AdminNetworkPolicy %s: defined twice", p.Name)
		}
		seen[p.Name] = true
		in, out := adminRulesOf(p)
		if err := c.adminPolicy(AdminRule{Policy: p.Name, Priority: p.Spec.Priority}, p.Spec.Subject, in, out); err != nil {
			return fmt.Errorf("AdminNetworkPolicy %s: %w", p.Name, err)
		}
	}
	if banp == nil {
		return nil
	}
	in, out := baselineRulesOf(banp)
	if err := c.adminPolicy(AdminRule{Policy: banp.Name, Baseline: true}, banp.Spec.Subject, in, out); err != nil {
		return fmt.Errorf("BaselineAdminNetworkPolicy %s: %w", banp.Name, err)
	}
	return nil
}

// adminPolicy compiles one policy's rules and appends them, in order, to the
// admin or baseline rules of every pod its subject selects.
func (c *compiler) adminPolicy(ref AdminRule, subject anpv1alpha1.AdminNetworkPolicySubject, in, out []adminRule) error {
	e := c.e
	pods := newBitset(len(e.pods))
	if err := c.addPods(pods, subject.Namespaces, subject.Pods, "spec.subject"); err != nil {
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

// adminRules compiles the rules of one direction (path spec.ingress, their
// peers in peersField) and returns their indices in e.tierRules.
func (c *compiler) adminRules(ref AdminRule, specs []adminRule, path, peersField string) ([]int, error) {
	e := c.e
	var out []int
	for i, s := range specs {
		rulePath := fmt.Sprintf("%s[%d]", path, i)
		r := tierRule{action: s.action, ref: ref}
		r.ref.Index, r.ref.Name, r.ref.Action = i, s.name, s.action
		if s.ports != nil {
			for _, p := range *s.ports {
				m := compileAdminPort(p)
				r.named = r.named || m.name != ""
				r.ports = append(r.ports, m)
			}
		}
		r.peers = newBitset(len(e.pods))
		for j, p := range s.peers {
			if err := c.adminPeer(r.peers, p, fmt.Sprintf("%s.%s[%d]", rulePath, peersField, j)); err != nil {
				return nil, err
			}
		}
		e.tierRules = append(e.tierRules, r)
		out = append(out, len(e.tierRules)-1)
	}
	return out, nil
}

// adminPeer adds to set the pods (and outside addresses, for networks) a
// validated peer matches.
func (c *compiler) adminPeer(set bitset, p adminPeer, path string) error {
	if p.namespaces != nil || p.pods != nil {
		return c.addPods(set, p.namespaces, p.pods, path)
	}
	for i, s := range p.networks {
		cidr, err := netip.ParsePrefix(string(s))
		if err != nil {
			return fmt.Errorf("%s.networks[%d]: %w", path, i, err)
		}
		for a, addr := range c.e.addrs {
			if cidr.Contains(addr) {
				set.set(a)
			}
		}
	}
	return nil
}

// addPods adds to set the pods a subject or peer (at path) selects: those of
// the namespaces its namespaces selector picks, or those its pods field picks.
// Outside addresses are in no namespace.
func (c *compiler) addPods(set bitset, namespaces *metav1.LabelSelector, pods *anpv1alpha1.NamespacedPod, path string) error {
	nss, ps := labels.Selector(nil), labels.Everything()
	var err error
	if pods == nil {
		nss, err = selector(namespaces, path+".namespaces")
	} else if nss, err = selector(&pods.NamespaceSelector, path+".pods.namespaceSelector"); err == nil {
		ps, err = selector(&pods.PodSelector, path+".pods.podSelector")
	}
	if err != nil {
		return err
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
	return nil
}

// compileAdminPort turns one validated port of an admin rule into a
// portMatch: a number or an inclusive range (protocol defaulting to TCP), or
// a named port, which matches the destination pod's container port of that
// name whatever its protocol.
func compileAdminPort(p anpv1alpha1.AdminNetworkPolicyPort) portMatch {
	switch {
	case p.PortNumber != nil:
		return portMatch{protocol: protocolOrTCP(p.PortNumber.Protocol), from: p.PortNumber.Port, to: p.PortNumber.Port}
	case p.PortRange != nil:
		return portMatch{protocol: protocolOrTCP(p.PortRange.Protocol), from: p.PortRange.Start, to: p.PortRange.End}
	}
	return portMatch{name: *p.NamedPort}
}

// firstAdminMatch returns the first of the rules (indices into
// e.tierRules) that matches the connection to peer, or nil.
func (e *Evaluator) firstAdminMatch(rules []int, peer, dst int, port PortProto) *tierRule {
	for _, ri := range rules {
		r := &e.tierRules[ri]
		if r.peers.has(peer) && r.allowsPort(&e.pods[dst], port) {
			return r
		}
	}
	return nil
}
