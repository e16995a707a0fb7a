package netpol

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Evaluator answers reachability questions for one Cluster. Build it with
// NewEvaluator; it is immutable and safe for concurrent use.
//
// NewEvaluator does the expensive work once: it parses every selector and
// CIDR, computes the set of pods each policy selects and each rule's peers
// (as bitsets over pods), and for every pod the policies isolating it per
// direction. A single verdict then costs a few bit tests per applicable rule,
// and a full matrix a few word-wide ORs per pod.
type Evaluator struct {
	pods     []Pod // sorted by namespace, then name
	addrs    []netip.Addr
	names    []string // "namespace/name", parallel to pods
	index    map[PodRef]int
	policies []string // "namespace/name"
	rules    []rule
	// tierRules are the rules of the AdminNetworkPolicies and the
	// BaselineAdminNetworkPolicy.
	tierRules []tierRule
	ingress   []direction // per pod
	egress    []direction // per pod
	allPods   bitset
}

// direction is what applies to one pod in one direction, in the order it
// applies: admin rules, then NetworkPolicies, then baseline rules.
type direction struct {
	admin      []int // tierRules indices, highest precedence first
	isolatedBy []int // policy indices, ascending
	rules      []int // rule indices of the isolating policies
	baseline   []int // tierRules indices, in order
}

type rule struct {
	policy int
	peers  bitset      // pods the rule's from/to matches
	ports  []portMatch // empty: every port and protocol
	named  bool        // some port is named: the match depends on the destination pod
}

// portMatch is one NetworkPolicyPort or AdminNetworkPolicyPort, defaults
// applied.
type portMatch struct {
	protocol corev1.Protocol // empty: any (an admin rule's named port)
	anyPort  bool            // no port: every port of the protocol
	from, to int32           // numeric port, or range with endPort
	name     string          // named port, resolved on the destination pod
}

// NewEvaluator validates (ValidateNamespace, ValidatePolicy,
// ValidateAdminPolicy, ValidateBaselinePolicy) and compiles the cluster.
// Errors name the object and the field, e.g.
// `NetworkPolicy ns-1/allow: spec.ingress[0].from[1].ipBlock.cidr "10.0.0/8" is not a CIDR ...`.
func NewEvaluator(c Cluster) (*Evaluator, error) {
	if err := validateCluster(c); err != nil {
		return nil, err
	}
	e := &Evaluator{}
	if err := e.addPods(c.Pods, c.Outside); err != nil {
		return nil, err
	}
	nsLabels, err := namespaceLabels(c)
	if err != nil {
		return nil, err
	}
	podsByNS := map[string][]int{}
	for i, p := range e.pods {
		podsByNS[p.Namespace] = append(podsByNS[p.Namespace], i)
	}
	nsNames := slices.Sorted(maps.Keys(nsLabels))

	e.ingress = make([]direction, len(e.pods))
	e.egress = make([]direction, len(e.pods))
	e.allPods = newBitset(len(e.pods))
	e.allPods.setAll(len(e.pods))

	policies := slices.Clone(c.Policies)
	sort.SliceStable(policies, func(a, b int) bool {
		na, nb := namespaceOrDefault(policies[a].Namespace), namespaceOrDefault(policies[b].Namespace)
		if na != nb {
			return na < nb
		}
		return policies[a].Name < policies[b].Name
	})
	seen := map[string]bool{}
	for _, np := range policies {
		ns := namespaceOrDefault(np.Namespace)
		ref := ns + "/" + np.Name
		if seen[ref] {
			return nil, fmt.Errorf("NetworkPolicy %s: defined twice", ref)
		}
		seen[ref] = true
		c := compiler{e: e, ref: ref, ns: ns, nsLabels: nsLabels, nsNames: nsNames, podsByNS: podsByNS}
		if err := c.compile(np); err != nil {
			return nil, fmt.Errorf("NetworkPolicy %s: %w", ref, err)
		}
	}
	admin := compiler{e: e, nsLabels: nsLabels, nsNames: nsNames, podsByNS: podsByNS}
	if err := admin.compileAdmin(c.AdminPolicies, c.Baseline); err != nil {
		return nil, err
	}
	return e, nil
}

// validateCluster refuses invalid Namespaces, NetworkPolicies and admin
// policies, every problem of an object at once.
func validateCluster(c Cluster) error {
	for i := range c.Namespaces {
		if p := ValidateNamespace(&c.Namespaces[i]); len(p) > 0 {
			return fmt.Errorf("Namespace %s: %s", c.Namespaces[i].Name, strings.Join(p, "; "))
		}
	}
	for i := range c.Policies {
		np := &c.Policies[i]
		if p := ValidatePolicy(np); len(p) > 0 {
			return fmt.Errorf("NetworkPolicy %s/%s: %s", namespaceOrDefault(np.Namespace), np.Name, strings.Join(p, "; "))
		}
	}
	for i := range c.AdminPolicies {
		if p := ValidateAdminPolicy(&c.AdminPolicies[i]); len(p) > 0 {
			return fmt.Errorf("AdminNetworkPolicy %s: %s", c.AdminPolicies[i].Name, strings.Join(p, "; "))
		}
	}
	if c.Baseline != nil {
		if p := ValidateBaselinePolicy(c.Baseline); len(p) > 0 {
			return fmt.Errorf("BaselineAdminNetworkPolicy %s: %s", c.Baseline.Name, strings.Join(p, "; "))
		}
	}
	return nil
}

// addPods takes the pods, and the outside addresses as endpoints in
// OutsideNamespace, sorted by namespace then name.
func (e *Evaluator) addPods(in []Pod, outside []netip.Addr) error {
	e.pods = make([]Pod, 0, len(in)+len(outside))
	for _, p := range in {
		p.Namespace = namespaceOrDefault(p.Namespace)
		p.Ports = slices.Clone(p.Ports)
		for j := range p.Ports {
			p.Ports[j].Protocol = protocolOrTCP(p.Ports[j].Protocol)
		}
		e.pods = append(e.pods, p)
	}
	for _, a := range outside {
		e.pods = append(e.pods, Pod{Namespace: OutsideNamespace, Name: a.String(), IP: a.String()})
	}
	sort.SliceStable(e.pods, func(a, b int) bool { return podLess(e.pods[a], e.pods[b]) })
	e.index = make(map[PodRef]int, len(e.pods))
	e.names = make([]string, len(e.pods))
	for i, p := range e.pods {
		if p.Name == "" {
			return fmt.Errorf("pod in namespace %s: name is empty", p.Namespace)
		}
		if _, dup := e.index[p.Ref()]; dup {
			return fmt.Errorf("pod %s: defined twice (a Pod and a Deployment of the same name?)", p.Ref())
		}
		e.index[p.Ref()] = i
		e.names[i] = p.Ref().String()
	}
	addrs, err := assignSyntheticIPs(e.pods)
	if err != nil {
		return err
	}
	e.addrs = addrs
	for i := range e.pods {
		e.pods[i].IP = addrs[i].String()
	}
	return nil
}

// namespaceLabels returns every namespace's labels, with
// kubernetes.io/metadata.name set as the API server sets it, and namespaces
// that pods or policies use but the cluster does not list.
func namespaceLabels(c Cluster) (map[string]labels.Set, error) {
	out := map[string]labels.Set{}
	for _, ns := range c.Namespaces {
		if _, dup := out[ns.Name]; dup {
			return nil, fmt.Errorf("Namespace %s: defined twice", ns.Name)
		}
		l := labels.Set(maps.Clone(ns.Labels))
		if l == nil {
			l = labels.Set{}
		}
		l[corev1.LabelMetadataName] = ns.Name
		out[ns.Name] = l
	}
	implicit := func(name string) {
		name = namespaceOrDefault(name)
		if _, ok := out[name]; !ok {
			out[name] = labels.Set{corev1.LabelMetadataName: name}
		}
	}
	for _, p := range c.Pods {
		implicit(p.Namespace)
	}
	for _, p := range c.Policies {
		implicit(p.Namespace)
	}
	return out, nil
}

// compiler turns one NetworkPolicy into rules and isolation entries.
type compiler struct {
	e        *Evaluator
	ref      string
	ns       string
	nsLabels map[string]labels.Set
	nsNames  []string
	podsByNS map[string][]int
}

func (c *compiler) compile(np networkingv1.NetworkPolicy) error {
	e := c.e
	subject, err := selector(&np.Spec.PodSelector, "spec.podSelector")
	if err != nil {
		return err
	}
	ingress, egress := effectiveTypes(np.Spec)
	pi := len(e.policies)
	e.policies = append(e.policies, c.ref)

	var inRules, outRules []int
	for i, r := range np.Spec.Ingress {
		idx, err := c.rule(pi, r.Ports, r.From, fmt.Sprintf("spec.ingress[%d]", i), "from")
		if err != nil {
			return err
		}
		inRules = append(inRules, idx)
	}
	for i, r := range np.Spec.Egress {
		idx, err := c.rule(pi, r.Ports, r.To, fmt.Sprintf("spec.egress[%d]", i), "to")
		if err != nil {
			return err
		}
		outRules = append(outRules, idx)
	}
	for _, i := range c.podsByNS[c.ns] {
		if !subject.Matches(labels.Set(e.pods[i].Labels)) {
			continue
		}
		// Rules of a direction the policy does not isolate are ignored, as
		// the API documents for policyTypes.
		if ingress {
			e.ingress[i].isolatedBy = append(e.ingress[i].isolatedBy, pi)
			e.ingress[i].rules = append(e.ingress[i].rules, inRules...)
		}
		if egress {
			e.egress[i].isolatedBy = append(e.egress[i].isolatedBy, pi)
			e.egress[i].rules = append(e.egress[i].rules, outRules...)
		}
	}
	return nil
}

// effectiveTypes applies the policyTypes default: Ingress, plus Egress when
// the policy has egress rules.
func effectiveTypes(spec networkingv1.NetworkPolicySpec) (ingress, egress bool) {
	if len(spec.PolicyTypes) == 0 {
		return true, len(spec.Egress) > 0
	}
	for _, t := range spec.PolicyTypes {
		ingress = ingress || t == networkingv1.PolicyTypeIngress
		egress = egress || t == networkingv1.PolicyTypeEgress
	}
	return ingress, egress
}

func (c *compiler) rule(policy int, ports []networkingv1.NetworkPolicyPort, peers []networkingv1.NetworkPolicyPeer, path, peersField string) (int, error) {
	e := c.e
	r := rule{policy: policy}
	for _, p := range ports {
		m := compilePort(p)
		r.named = r.named || m.name != ""
		r.ports = append(r.ports, m)
	}
	if len(peers) == 0 {
		r.peers = e.allPods
	} else {
		r.peers = newBitset(len(e.pods))
		for i, peer := range peers {
			if err := c.addPeer(r.peers, peer, fmt.Sprintf("%s.%s[%d]", path, peersField, i)); err != nil {
				return 0, err
			}
		}
	}
	e.rules = append(e.rules, r)
	return len(e.rules) - 1, nil
}

func (c *compiler) addPeer(set bitset, peer networkingv1.NetworkPolicyPeer, path string) error {
	e := c.e
	if peer.IPBlock != nil {
		block, err := compileIPBlock(*peer.IPBlock, path+".ipBlock")
		if err != nil {
			return err
		}
		for i, a := range e.addrs {
			if block.contains(a) {
				set.set(i)
			}
		}
		return nil
	}
	namespaces := []string{c.ns} // absent namespaceSelector: the policy's namespace
	if peer.NamespaceSelector != nil {
		sel, err := selector(peer.NamespaceSelector, path+".namespaceSelector")
		if err != nil {
			return err
		}
		namespaces = namespaces[:0]
		for _, ns := range c.nsNames {
			if sel.Matches(c.nsLabels[ns]) {
				namespaces = append(namespaces, ns)
			}
		}
	}
	podSel := labels.Everything() // absent podSelector: every pod
	if peer.PodSelector != nil {
		sel, err := selector(peer.PodSelector, path+".podSelector")
		if err != nil {
			return err
		}
		podSel = sel
	}
	for _, ns := range namespaces {
		for _, i := range c.podsByNS[ns] {
			if podSel.Empty() || podSel.Matches(labels.Set(e.pods[i].Labels)) {
				set.set(i)
			}
		}
	}
	return nil
}

func selector(s *metav1.LabelSelector, path string) (labels.Selector, error) {
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sel, nil
}

type ipBlock struct {
	cidr   netip.Prefix
	except []netip.Prefix
}

func (b ipBlock) contains(a netip.Addr) bool {
	if !b.cidr.Contains(a) {
		return false
	}
	for _, x := range b.except {
		if x.Contains(a) {
			return false
		}
	}
	return true
}

// compileIPBlock parses a validated ipBlock.
func compileIPBlock(b networkingv1.IPBlock, path string) (ipBlock, error) {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil {
		return ipBlock{}, fmt.Errorf("%s.cidr: %w", path, err)
	}
	out := ipBlock{cidr: cidr.Masked()}
	for i, s := range b.Except {
		x, err := netip.ParsePrefix(s)
		if err != nil {
			return ipBlock{}, fmt.Errorf("%s.except[%d]: %w", path, i, err)
		}
		out.except = append(out.except, x.Masked())
	}
	return out, nil
}

// compilePort applies the defaults to a validated port: TCP, every port of
// the protocol when none is given, a single port when endPort is absent.
func compilePort(p networkingv1.NetworkPolicyPort) portMatch {
	m := portMatch{protocol: corev1.ProtocolTCP}
	if p.Protocol != nil {
		m.protocol = *p.Protocol
	}
	switch {
	case p.Port == nil:
		m.anyPort = true
	case p.Port.Type == intstr.String:
		m.name = p.Port.StrVal
	default:
		m.from, m.to = p.Port.IntVal, p.Port.IntVal
		if p.EndPort != nil {
			m.to = *p.EndPort
		}
	}
	return m
}

// allowsPort reports whether the rule's ports admit pp to the destination pod.
func (r *rule) allowsPort(dst *Pod, pp PortProto) bool {
	if len(r.ports) == 0 {
		return true
	}
	for _, m := range r.ports {
		if m.protocol != "" && m.protocol != pp.Protocol {
			continue
		}
		switch {
		case m.anyPort:
			return true
		case m.name != "":
			for _, cp := range dst.Ports {
				if cp.Name == m.name && cp.Protocol == pp.Protocol && cp.ContainerPort == pp.Port {
					return true
				}
			}
		case m.from <= pp.Port && pp.Port <= m.to:
			return true
		}
	}
	return false
}

// Pods returns the pods, sorted by namespace then name, with their IPs
// (synthetic ones included).
func (e *Evaluator) Pods() []Pod { return slices.Clone(e.pods) }

// ContainerPorts returns every distinct container port of the pods, sorted:
// the ports a matrix probes by default.
func (e *Evaluator) ContainerPorts() []PortProto {
	var out []PortProto
	for _, p := range e.pods {
		for _, cp := range p.Ports {
			out = append(out, PortProto{Port: cp.ContainerPort, Protocol: cp.Protocol})
		}
	}
	return NormalisePorts(out)
}

// Decision is the verdict on one connection and the policies behind it.
type Decision struct {
	Allowed bool
	// Self is set when source and destination are the same pod: always
	// allowed, whatever the policies say.
	Self    bool
	Egress  DirectionDecision // the source's egress
	Ingress DirectionDecision // the destination's ingress
}

// DirectionDecision is one side of a connection, decided by the first of:
// an AdminNetworkPolicy rule that allows or denies it, the NetworkPolicies
// isolating the pod, a BaselineAdminNetworkPolicy rule; else it is allowed.
type DirectionDecision struct {
	Allowed bool
	// Admin is the first AdminNetworkPolicy rule that matches: its Allow or
	// Deny decides, its Pass hands the connection on to the NetworkPolicies.
	Admin *AdminRule
	// IsolatedBy lists the policies ("namespace/name") that select the pod
	// for this direction, when no admin rule decides; empty means the pod is
	// not isolated.
	IsolatedBy []string
	// AllowedBy lists the isolating policies with a rule that allows the
	// connection.
	AllowedBy []string
	// Baseline is the BaselineAdminNetworkPolicy rule that decides when
	// neither an admin rule nor a NetworkPolicy does.
	Baseline *AdminRule
}

// reason says what decided this side, or "" when nothing applies.
func (s DirectionDecision) reason() string {
	switch {
	case s.Admin != nil && s.Admin.Action == ActionAllow:
		return "allowed by " + s.Admin.String()
	case s.Admin != nil && s.Admin.Action == ActionDeny:
		return "denied by " + s.Admin.String()
	}
	var why string
	switch {
	case len(s.IsolatedBy) > 0 && s.Allowed:
		why = "allowed by " + strings.Join(s.AllowedBy, ", ")
	case len(s.IsolatedBy) > 0:
		why = "default deny by " + strings.Join(s.IsolatedBy, ", ")
	case s.Baseline != nil:
		why = "baseline " + strings.ToLower(s.Baseline.Action) + " (" + s.Baseline.Rule() + ")"
	case s.Admin != nil:
		why = "allowed: no NetworkPolicy or baseline rule applies"
	}
	if s.Admin != nil {
		return "passed by " + s.Admin.String() + ", then " + why
	}
	return why
}

// Reason says in words which policies decide the connection: on each side
// that something decides, the admin rule, NetworkPolicies or baseline rule,
// e.g. "ingress: default deny by ns-1/deny-all" or "egress: denied by admin
// policy deny-kube-system, rule 0 (priority 10)". A denied connection names
// only the sides that deny it.
func (d Decision) Reason() string {
	if d.Self {
		return "a pod always reaches itself"
	}
	var parts []string
	for _, side := range []struct {
		name string
		d    DirectionDecision
	}{{"egress", d.Egress}, {"ingress", d.Ingress}} {
		if why := side.d.reason(); why != "" && side.d.Allowed == d.Allowed {
			parts = append(parts, side.name+": "+why)
		}
	}
	if len(parts) == 0 {
		return "no policy selects either end"
	}
	return strings.Join(parts, "; ")
}

// Decide decides one connection and says which policies decided it.
func (e *Evaluator) Decide(from, to PodRef, port PortProto) (Decision, error) {
	src, ok := e.index[withDefaultNS(from)]
	if !ok {
		return Decision{}, fmt.Errorf("unknown pod %s", from)
	}
	dst, ok := e.index[withDefaultNS(to)]
	if !ok {
		return Decision{}, fmt.Errorf("unknown pod %s", to)
	}
	port.Protocol = protocolOrTCP(port.Protocol)
	if !validProtocol(port.Protocol) {
		return Decision{}, fmt.Errorf("port %s: protocol must be TCP, UDP or SCTP", port)
	}
	d := Decision{
		Egress:  e.explain(e.egress[src], dst, dst, port),
		Ingress: e.explain(e.ingress[dst], src, dst, port),
		Self:    src == dst,
	}
	d.Allowed = d.Self || (d.Egress.Allowed && d.Ingress.Allowed)
	return d, nil
}

// Allowed decides one connection.
func (e *Evaluator) Allowed(from, to PodRef, port PortProto) (bool, error) {
	d, err := e.Decide(from, to, port)
	return d.Allowed, err
}

// explain evaluates one direction: d applies to the pod being isolated, peer
// is the other end, dst the destination (where named ports resolve).
func (e *Evaluator) explain(d direction, peer, dst int, port PortProto) DirectionDecision {
	var v DirectionDecision
	if r := e.firstAdminMatch(d.admin, peer, dst, port); r != nil {
		ref := r.ref
		v.Admin = &ref
		if r.action != ActionPass {
			v.Allowed = r.action == ActionAllow
			return v
		}
	}
	for _, p := range d.isolatedBy {
		v.IsolatedBy = append(v.IsolatedBy, e.policies[p])
	}
	if len(d.isolatedBy) == 0 {
		v.Allowed = true
		if r := e.firstAdminMatch(d.baseline, peer, dst, port); r != nil {
			ref := r.ref
			v.Baseline = &ref
			v.Allowed = r.action == ActionAllow
		}
		return v
	}
	last := -1
	for _, ri := range d.rules {
		r := &e.rules[ri]
		if r.policy == last || !r.peers.has(peer) || !r.allowsPort(&e.pods[dst], port) {
			continue
		}
		v.AllowedBy = append(v.AllowedBy, e.policies[r.policy])
		last = r.policy
	}
	v.Allowed = len(v.AllowedBy) > 0
	return v
}

func withDefaultNS(r PodRef) PodRef {
	r.Namespace = namespaceOrDefault(r.Namespace)
	return r
}

// NormalisePorts defaults protocols to TCP, sorts by port then protocol and
// drops duplicates.
func NormalisePorts(ports []PortProto) []PortProto {
	out := make([]PortProto, 0, len(ports))
	for _, p := range ports {
		p.Protocol = protocolOrTCP(p.Protocol)
		out = append(out, p)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Port != out[b].Port {
			return out[a].Port < out[b].Port
		}
		return out[a].Protocol < out[b].Protocol
	})
	return slices.Compact(out)
}
