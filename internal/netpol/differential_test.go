package netpol

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The differential test compares this package with an independent
// evaluator, cyclonus's matcher (github.com/mattfenwick/cyclonus/pkg/matcher),
// on randomly generated clusters and policies (seeded, so every run sees the
// same inputs).
//
// Every disagreement must fall into a class justified against the
// Kubernetes API documentation; anything else fails the test. The classes:
//
//  1. self: a pod connecting to itself. We always allow it: a connection to
//     the pod's own IP never leaves its network namespace, so Calico (which
//     enforces on the host side of the pod's interface) never sees it.
//     Upstream's e2e suite ignores loopback for this reason
//     (kubernetes/kubernetes#95879). Cyclonus applies the policies to it.
//
//  2. selector quirks: cyclonus's label-selector matching differs from
//     k8s.io/apimachinery/pkg/labels, which defines the API semantics
//     (https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#set-based-requirement):
//     - `NotIn` matches objects that lack the key ("environment notin
//     (frontend)" selects resources without an environment label too);
//     cyclonus requires the key to be present.
//     - matchLabels {k: ""} requires label k with the empty value (label
//     values may be empty); cyclonus compares labels[k] == "", which a
//     missing key also satisfies.
//     A disagreement is put in this class only when a counterfactual
//     confirms it: rewrite the scenario so that no selector ever looks up a
//     missing key (every key any selector mentions is set, on every pod and
//     namespace that lacks it, to a sentinel value no selector mentions;
//     Exists becomes NotIn [sentinel], DoesNotExist becomes In [sentinel]).
//     Under Kubernetes semantics the rewrite changes nothing — the test checks
//     that our verdicts are identical before and after — and cyclonus must
//     then agree with us on the case.
//
// Nothing else is tolerated.

const (
	diffScenarios = 400
	sentinel      = "absent-sentinel"
)

var diffPorts = []PortProto{{80, tcp}, {81, tcp}, {80, udp}, {81, sctp}, {8080, tcp}}

func TestDifferentialAgainstCyclonus(t *testing.T) {
	t.Parallel()
	classes := map[string]int{}
	total, agree := 0, 0
	for seed := uint64(1); seed <= diffScenarios; seed++ {
		sc := generateScenario(rand.New(rand.NewPCG(seed, 0x6e6574706f6c)))
		ours := evalOurs(t, sc)
		theirs := evalCyclonus(t, sc)
		var rewritten *scenario
		var oursRewritten, theirsRewritten map[string]bool
		for _, k := range sortedKeys(ours) {
			total++
			if ours[k] == theirs[k] {
				agree++
				continue
			}
			c := caseOf(k)
			if c.From == c.To {
				if !ours[k] {
					t.Errorf("seed %d: %s: we deny a pod reaching itself", seed, k)
				}
				classes["self"]++
				continue
			}
			if rewritten == nil {
				rw := rewriteMissingKeys(sc)
				rewritten = &rw
				oursRewritten = evalOurs(t, rw)
				theirsRewritten = evalCyclonus(t, rw)
				for _, k2 := range sortedKeys(ours) {
					if ours[k2] != oursRewritten[k2] {
						t.Fatalf("seed %d: %s: the missing-key rewrite changed our verdict (%v -> %v); the rewrite is meant to preserve Kubernetes semantics", seed, k2, ours[k2], oursRewritten[k2])
					}
				}
			}
			if theirsRewritten[k] == ours[k] {
				classes["selector quirk ("+sc.selectorFeatures()+")"]++
				continue
			}
			t.Errorf("seed %d: unexplained disagreement on %s: ours=%v cyclonus=%v\n%s", seed, k, ours[k], theirs[k], sc.describe())
		}
	}
	t.Logf("%d scenarios, %d cases, %d agree; disagreements by class:", diffScenarios, total, agree)
	for _, c := range slices.Sorted(maps.Keys(classes)) {
		t.Logf("  %-40s %d", c, classes[c])
	}
	if total < 50000 || agree < total*9/10 {
		t.Fatalf("too few cases (%d) or agreements (%d): the generator no longer exercises the evaluators", total, agree)
	}
}

type scenario struct {
	namespaces []corev1.Namespace
	pods       []Pod
	policies   []networkingv1.NetworkPolicy
}

func evalOurs(t *testing.T, sc scenario) map[string]bool {
	t.Helper()
	e, err := NewEvaluator(Cluster{Namespaces: sc.namespaces, Pods: sc.pods, Policies: sc.policies})
	if err != nil {
		t.Fatalf("generated an invalid scenario: %v\n%s", err, sc.describe())
	}
	m, err := e.Matrix(diffPorts)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]bool, len(m.Cases))
	for _, c := range m.Cases {
		out[c.Key()] = c.Allowed
		// The single-case path must agree with the matrix.
		f, _ := ParsePodRef(c.From)
		to, _ := ParsePodRef(c.To)
		if got, err := e.Allowed(f, to, PortProto{int32(c.Port), corev1.Protocol(c.Protocol)}); err != nil || got != c.Allowed {
			t.Fatalf("%s: Matrix says %v, Allowed says %v (%v)", c.Key(), c.Allowed, got, err)
		}
	}
	return out
}

// evalCyclonus asks cyclonus about every case. Cyclonus panics on an empty
// policyTypes, so the API default is applied first: Ingress, plus Egress when
// there are egress rules.
func evalCyclonus(t *testing.T, sc scenario) map[string]bool {
	t.Helper()
	var ptrs []*networkingv1.NetworkPolicy
	for _, p := range sc.policies {
		p := *p.DeepCopy()
		if len(p.Spec.PolicyTypes) == 0 {
			p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
			if len(p.Spec.Egress) > 0 {
				p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
			}
		}
		ptrs = append(ptrs, &p)
	}
	policy := matcher.BuildNetworkPolicies(false, ptrs)
	nsLabels := map[string]map[string]string{}
	for _, ns := range sc.namespaces {
		l := maps.Clone(ns.Labels)
		l[corev1.LabelMetadataName] = ns.Name
		nsLabels[ns.Name] = l
	}
	peerOf := func(p Pod) *matcher.TrafficPeer {
		return &matcher.TrafficPeer{
			IP:       p.IP,
			Internal: &matcher.InternalPeer{PodLabels: p.Labels, NamespaceLabels: nsLabels[p.Namespace], Namespace: p.Namespace},
		}
	}
	out := map[string]bool{}
	for _, src := range sc.pods {
		for _, dst := range sc.pods {
			for _, pp := range diffPorts {
				tr := &matcher.Traffic{
					Source:           peerOf(src),
					Destination:      peerOf(dst),
					ResolvedPort:     int(pp.Port),
					ResolvedPortName: portName(dst, pp),
					Protocol:         pp.Protocol,
				}
				c := Case{From: src.Ref().String(), To: dst.Ref().String(), Port: int(pp.Port), Protocol: string(pp.Protocol)}
				out[c.Key()] = policy.IsTrafficAllowed(tr).IsAllowed()
			}
		}
	}
	return out
}

// portName is the name of the destination's container port serving pp, which
// is what cyclonus matches named ports against.
func portName(p Pod, pp PortProto) string {
	for _, cp := range p.Ports {
		if cp.ContainerPort == pp.Port && protocolOrTCP(cp.Protocol) == pp.Protocol {
			return cp.Name
		}
	}
	return ""
}

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

func caseOf(key string) Case {
	var c Case
	parts := strings.Fields(key) // from -> to port/proto
	c.From, c.To = parts[0], parts[2]
	fmt.Sscanf(strings.Replace(parts[3], "/", " ", 1), "%d %s", &c.Port, &c.Protocol)
	return c
}

// --- generator ---

var (
	genNamespaces = []string{"x", "y", "z"}
	genKeys       = []string{"pod", "app", "env", "tier"}
	genValues     = map[string][]string{
		"pod":  {"a", "b", "c"},
		"app":  {"web", "db"},
		"env":  {"prod", "dev"},
		"tier": {"front", ""}, // label values may be empty
	}
	// Container ports a pod may have: the same name can mean different
	// numbers on different pods ("web"), so named ports must resolve on the
	// destination.
	genContainerPorts = [][]corev1.ContainerPort{
		{{Name: "serve-80-tcp", ContainerPort: 80, Protocol: tcp}},
		{{Name: "serve-81-tcp", ContainerPort: 81, Protocol: tcp}},
		{{Name: "serve-80-udp", ContainerPort: 80, Protocol: udp}},
		{{Name: "serve-81-sctp", ContainerPort: 81, Protocol: sctp}},
		{{Name: "web", ContainerPort: 8080, Protocol: tcp}},
		{{Name: "web", ContainerPort: 81, Protocol: tcp}},
	}
	genNamedPorts = []string{"serve-80-tcp", "serve-81-tcp", "serve-80-udp", "serve-81-sctp", "web", "missing"}
	genCIDRs      = []string{"100.96.0.0/11", "100.96.1.0/24", "100.96.2.0/24", "100.96.1.2/32", "10.0.0.0/8", "0.0.0.0/0"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func generateScenario(r *rand.Rand) scenario {
	var sc scenario
	for _, ns := range genNamespaces {
		l := map[string]string{"ns": ns}
		if r.IntN(2) == 0 {
			l["env"] = pick(r, genValues["env"])
		}
		if r.IntN(3) == 0 {
			l["tier"] = pick(r, genValues["tier"])
		}
		sc.namespaces = append(sc.namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: l}})
	}
	for ni, ns := range genNamespaces {
		n := 1 + r.IntN(3)
		for i := 0; i < n; i++ {
			name := genValues["pod"][i]
			l := map[string]string{"pod": name}
			for _, k := range []string{"app", "env", "tier"} {
				if r.IntN(2) == 0 {
					l[k] = pick(r, genValues[k])
				}
			}
			var ports []corev1.ContainerPort
			used := map[string]bool{}
			for _, cp := range genContainerPorts {
				key := fmt.Sprintf("%d/%s", cp[0].ContainerPort, cp[0].Protocol)
				if r.IntN(2) == 0 && !used[key] && !used[cp[0].Name] {
					used[key], used[cp[0].Name] = true, true
					ports = append(ports, cp[0])
				}
			}
			sc.pods = append(sc.pods, Pod{
				Namespace: ns, Name: name, Labels: l, Ports: ports,
				IP: fmt.Sprintf("100.96.%d.%d", ni+1, i+1),
			})
		}
	}
	np := 1 + r.IntN(4)
	for i := 0; i < np; i++ {
		sc.policies = append(sc.policies, generatePolicy(r, fmt.Sprintf("p%d", i)))
	}
	return sc
}

func generatePolicy(r *rand.Rand, name string) networkingv1.NetworkPolicy {
	p := networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: pick(r, genNamespaces), Name: name}}
	if s := generateSelector(r, false); s != nil {
		p.Spec.PodSelector = *s
	}
	for i, n := 0, r.IntN(3); i < n; i++ {
		p.Spec.Ingress = append(p.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{Ports: generatePorts(r), From: generatePeers(r)})
	}
	for i, n := 0, r.IntN(3); i < n; i++ {
		p.Spec.Egress = append(p.Spec.Egress, networkingv1.NetworkPolicyEgressRule{Ports: generatePorts(r), To: generatePeers(r)})
	}
	switch r.IntN(4) {
	case 0: // absent: the API default applies
	case 1:
		p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	case 2:
		p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	case 3:
		p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	}
	return p
}

// generateSelector returns nil (absent), an empty selector, or one with
// matchLabels and/or matchExpressions. forNamespace uses namespace keys.
func generateSelector(r *rand.Rand, forNamespace bool) *metav1.LabelSelector {
	keys := genKeys
	if forNamespace {
		keys = []string{corev1.LabelMetadataName, "env", "tier", "ns"}
	}
	values := func(k string) []string {
		if k == corev1.LabelMetadataName || k == "ns" {
			return genNamespaces
		}
		return genValues[k]
	}
	switch r.IntN(5) {
	case 0:
		return nil
	case 1:
		return &metav1.LabelSelector{}
	}
	s := &metav1.LabelSelector{}
	for i, n := 0, r.IntN(2); i <= n; i++ {
		k := pick(r, keys)
		if r.IntN(2) == 0 {
			if s.MatchLabels == nil {
				s.MatchLabels = map[string]string{}
			}
			s.MatchLabels[k] = pick(r, values(k))
			continue
		}
		req := metav1.LabelSelectorRequirement{Key: k}
		switch r.IntN(4) {
		case 0:
			req.Operator = metav1.LabelSelectorOpIn
		case 1:
			req.Operator = metav1.LabelSelectorOpNotIn
		case 2:
			req.Operator = metav1.LabelSelectorOpExists
		case 3:
			req.Operator = metav1.LabelSelectorOpDoesNotExist
		}
		if req.Operator == metav1.LabelSelectorOpIn || req.Operator == metav1.LabelSelectorOpNotIn {
			req.Values = []string{pick(r, values(k))}
			if r.IntN(2) == 0 {
				req.Values = append(req.Values, pick(r, values(k)))
			}
		}
		s.MatchExpressions = append(s.MatchExpressions, req)
	}
	return s
}

func generatePeers(r *rand.Rand) []networkingv1.NetworkPolicyPeer {
	var out []networkingv1.NetworkPolicyPeer
	for i, n := 0, r.IntN(3); i < n; i++ {
		if r.IntN(5) == 0 {
			b := &networkingv1.IPBlock{CIDR: pick(r, genCIDRs[:3])}
			if r.IntN(2) == 0 {
				switch b.CIDR {
				case "100.96.0.0/11":
					b.Except = []string{pick(r, []string{"100.96.1.0/24", "100.96.2.2/32"})}
				case "100.96.1.0/24":
					b.Except = []string{"100.96.1.2/32"}
				}
			}
			if r.IntN(4) == 0 {
				b = &networkingv1.IPBlock{CIDR: pick(r, genCIDRs[3:])}
			}
			out = append(out, networkingv1.NetworkPolicyPeer{IPBlock: b})
			continue
		}
		p := networkingv1.NetworkPolicyPeer{PodSelector: generateSelector(r, false), NamespaceSelector: generateSelector(r, true)}
		if p.PodSelector == nil && p.NamespaceSelector == nil {
			p.PodSelector = &metav1.LabelSelector{}
		}
		out = append(out, p)
	}
	return out
}

func generatePorts(r *rand.Rand) []networkingv1.NetworkPolicyPort {
	var out []networkingv1.NetworkPolicyPort
	for i, n := 0, r.IntN(3); i < n; i++ {
		var p networkingv1.NetworkPolicyPort
		if r.IntN(3) > 0 {
			proto := pick(r, []corev1.Protocol{tcp, udp, sctp})
			p.Protocol = &proto
		}
		switch r.IntN(4) {
		case 0: // protocol only
		case 1:
			v := intstr.FromInt32(pick(r, []int32{80, 81, 8080}))
			p.Port = &v
		case 2:
			v := intstr.FromInt32(pick(r, []int32{79, 80, 81}))
			end := v.IntVal + pick(r, []int32{0, 1, 8000})
			p.Port, p.EndPort = &v, &end
		case 3:
			v := intstr.FromString(pick(r, genNamedPorts))
			p.Port = &v
		}
		out = append(out, p)
	}
	return out
}

// --- the counterfactual rewrite ---

// rewriteMissingKeys returns an equivalent scenario (under Kubernetes
// semantics) in which no selector ever looks up a key an object lacks: every
// key that any selector mentions is set to the sentinel on each pod and
// namespace missing it, Exists k becomes k NotIn [sentinel] and DoesNotExist
// k becomes k In [sentinel]. matchLabels and In/NotIn never mention the
// sentinel, so their results are unchanged.
func rewriteMissingKeys(sc scenario) scenario {
	podKeys, nsKeys := map[string]bool{}, map[string]bool{}
	collect := func(s *metav1.LabelSelector, into map[string]bool) {
		if s == nil {
			return
		}
		for k := range s.MatchLabels {
			into[k] = true
		}
		for _, e := range s.MatchExpressions {
			into[e.Key] = true
		}
	}
	forEachSelector(sc.policies, func(s *metav1.LabelSelector, namespace bool) {
		if namespace {
			collect(s, nsKeys)
		} else {
			collect(s, podKeys)
		}
	})
	out := scenario{}
	for _, ns := range sc.namespaces {
		ns := *ns.DeepCopy()
		ns.Labels[corev1.LabelMetadataName] = ns.Name
		fill(ns.Labels, nsKeys)
		out.namespaces = append(out.namespaces, ns)
	}
	for _, p := range sc.pods {
		p.Labels = maps.Clone(p.Labels)
		fill(p.Labels, podKeys)
		out.pods = append(out.pods, p)
	}
	for _, p := range sc.policies {
		out.policies = append(out.policies, *p.DeepCopy())
	}
	forEachSelector(out.policies, func(s *metav1.LabelSelector, _ bool) {
		if s == nil {
			return
		}
		for i, e := range s.MatchExpressions {
			switch e.Operator {
			case metav1.LabelSelectorOpExists:
				s.MatchExpressions[i] = metav1.LabelSelectorRequirement{Key: e.Key, Operator: metav1.LabelSelectorOpNotIn, Values: []string{sentinel}}
			case metav1.LabelSelectorOpDoesNotExist:
				s.MatchExpressions[i] = metav1.LabelSelectorRequirement{Key: e.Key, Operator: metav1.LabelSelectorOpIn, Values: []string{sentinel}}
			}
		}
	})
	return out
}

func fill(l map[string]string, keys map[string]bool) {
	for k := range keys {
		if _, ok := l[k]; !ok {
			l[k] = sentinel
		}
	}
}

// forEachSelector visits every label selector of the policies (in place);
// namespace tells namespace selectors from pod selectors.
func forEachSelector(ps []networkingv1.NetworkPolicy, f func(s *metav1.LabelSelector, namespace bool)) {
	peers := func(list []networkingv1.NetworkPolicyPeer) {
		for i := range list {
			f(list[i].PodSelector, false)
			f(list[i].NamespaceSelector, true)
		}
	}
	for i := range ps {
		f(&ps[i].Spec.PodSelector, false)
		for j := range ps[i].Spec.Ingress {
			peers(ps[i].Spec.Ingress[j].From)
		}
		for j := range ps[i].Spec.Egress {
			peers(ps[i].Spec.Egress[j].To)
		}
	}
}

// selectorFeatures names which of cyclonus's selector quirks the scenario can
// trigger, for the class counts.
func (sc scenario) selectorFeatures() string {
	notIn, empty := false, false
	forEachSelector(slices.Clone(sc.policies), func(s *metav1.LabelSelector, _ bool) {
		if s == nil {
			return
		}
		for _, v := range s.MatchLabels {
			empty = empty || v == ""
		}
		for _, e := range s.MatchExpressions {
			notIn = notIn || e.Operator == metav1.LabelSelectorOpNotIn
		}
	})
	var f []string
	if notIn {
		f = append(f, "NotIn on a missing key")
	}
	if empty {
		f = append(f, "matchLabels empty value")
	}
	return strings.Join(f, " / ")
}

func (sc scenario) describe() string {
	var b strings.Builder
	for _, ns := range sc.namespaces {
		fmt.Fprintf(&b, "namespace %s %v\n", ns.Name, ns.Labels)
	}
	for _, p := range sc.pods {
		fmt.Fprintf(&b, "pod %s %s %v %v\n", p.Ref(), p.IP, p.Labels, p.Ports)
	}
	for _, p := range sc.policies {
		fmt.Fprintf(&b, "policy %s/%s %s\n", p.Namespace, p.Name, p.Spec.String())
	}
	return b.String()
}
