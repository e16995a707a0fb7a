package reachability

import (
	"fmt"
	"slices"
	"strings"
)

// Verdict words of a Change.
const (
	Allow  = "allow"
	Deny   = "deny"
	Absent = "absent" // the endpoint's namespace does not exist on that side
)

// MaxChanges bounds the rows a comparison keeps; past it the rest are only
// counted (Comparison.Unlisted).
const MaxChanges = 100_000

// Change is a set of connections between two endpoint classes, on some
// ports, whose verdict differs between the base and the head tree, and what
// decides it in the head.
type Change struct {
	// from and to are the endpoints' indices in Comparison.Endpoints.
	from, to  int
	From      string `json:"from"`
	To        string `json:"to"`
	Ports     string `json:"ports"`
	Before    string `json:"before"`
	After     string `json:"after"`
	DecidedBy string `json:"decidedBy"`
}

// Opened reports connections denied in the base and allowed in the head;
// Closed the reverse. A connection of a namespace created or deleted is
// neither.
func (c Change) Opened() bool { return c.Before == Deny && c.After == Allow }
func (c Change) Closed() bool { return c.Before == Allow && c.After == Deny }

// Comparison is the result of Compare.
type Comparison struct {
	Changes []Change
	// Unlisted counts the changes past MaxChanges.
	Unlisted int
	// Endpoints, Ports and Addresses are the classes both trees are
	// evaluated over: endpoint names, port classes and outside address
	// classes.
	Endpoints []string
	Ports     []string
	Addresses int
	// namespaceOf gives each endpoint's namespace class (-1 outside), and
	// namespaces each class's name and pod endpoints.
	namespaceOf []int
	namespaces  []nsClass
}

// Opened and Closed count the changes of each kind.
func (c Comparison) Opened() int { return count(c.Changes, Change.Opened) }
func (c Comparison) Closed() int { return count(c.Changes, Change.Closed) }

func count(changes []Change, f func(Change) bool) int {
	n := 0
	for _, c := range changes {
		if f(c) {
			n++
		}
	}
	return n
}

// Compare evaluates both trees over the classes of both and returns the
// connections whose verdict differs. Only the endpoints whose rules differ
// between the trees are visited, with every other endpoint: the cost grows
// with the change, not with the square of the tree.
func Compare(base, head Model) (Comparison, error) {
	pb, ph := policiesOf(base), policiesOf(head)
	sp, err := newSpace([]Model{base, head}, [][]policy{pb, ph})
	if err != nil {
		return Comparison{}, err
	}
	sb := compile(sp, 0, pb, base, []Model{head})
	sh := compile(sp, 1, ph, head, []Model{base})
	cmp := Comparison{Endpoints: sp.Endpoints(), Ports: sp.PortClasses(), namespaces: sp.namespaces}
	for _, e := range sp.endpoints {
		if e.ns < 0 {
			cmp.Addresses++
		}
		cmp.namespaceOf = append(cmp.namespaceOf, e.ns)
	}
	n := len(sp.endpoints)
	changed := [2][]bool{make([]bool, n), make([]bool, n)}
	for dir := range changed {
		for e := 0; e < n; e++ {
			changed[dir][e] = sb.absent[e] != sh.absent[e] || sb.key(sb.dirs[dir][e]) != sh.key(sh.dirs[dir][e])
		}
	}
	d := differ{sp: sp, base: sb, head: sh, cmp: &cmp}
	var dsts []int // destinations whose ingress changed
	for dst := 0; dst < n; dst++ {
		if changed[ingress][dst] {
			dsts = append(dsts, dst)
		}
	}
	for src := 0; src < n; src++ {
		if changed[egress][src] {
			for dst := 0; dst < n; dst++ {
				d.pair(src, dst)
			}
			continue
		}
		for _, dst := range dsts {
			d.pair(src, dst)
		}
	}
	slices.SortStableFunc(cmp.Changes, func(a, b Change) int {
		return strings.Compare(a.From+"\x00"+a.To, b.From+"\x00"+b.To)
	})
	return cmp, nil
}

type differ struct {
	sp         *Space
	base, head *side
	cmp        *Comparison
}

// pair records the changes between src and dst, one per verdict change and
// deciding reason.
func (d *differ) pair(src, dst int) {
	gone := d.head.absent[src] || d.head.absent[dst]
	born := d.base.absent[src] || d.base.absent[dst]
	switch {
	case gone && born:
	case born:
		d.record(src, dst, Absent, Allow, d.head.allowed(src, dst), d.head)
	case gone:
		d.record(src, dst, Allow, Absent, d.base.allowed(src, dst), d.base)
	default:
		before, after := d.base.allowed(src, dst), d.head.allowed(src, dst)
		d.record(src, dst, Deny, Allow, after.andNot(before), d.head)
		d.record(src, dst, Allow, Deny, before.andNot(after), d.head)
	}
}

// record adds the port classes ports of src to dst as changes, grouped by
// the reason side s gives for each.
func (d *differ) record(src, dst int, before, after string, ports mask, s *side) {
	if ports.empty() {
		return
	}
	var reasons []string
	byReason := map[string][]int{}
	for p := 0; p < len(d.sp.ports.classes); p++ {
		if !ports.has(p) {
			continue
		}
		r := s.reason(src, dst, p)
		if after == Absent {
			r = "the namespace is deleted with its pods"
		}
		if _, ok := byReason[r]; !ok {
			reasons = append(reasons, r)
		}
		byReason[r] = append(byReason[r], p)
	}
	for _, r := range reasons {
		if len(d.cmp.Changes) >= MaxChanges {
			d.cmp.Unlisted++
			continue
		}
		var spans []span[portPoint]
		for _, p := range byReason[r] {
			spans = append(spans, d.sp.ports.classes[p]...)
		}
		d.cmp.Changes = append(d.cmp.Changes, Change{
			from: src, to: dst,
			From: d.sp.endpoints[src].name, To: d.sp.endpoints[dst].name,
			Ports: describePorts(merged(spans)), Before: before, After: after, DecidedBy: r,
		})
	}
}

// reason says which policies decide the connection from src to dst on port
// class p: on each side, the deciding admin or baseline rule, the
// NetworkPolicies that allow it, or those whose default deny stops it.
func (s *side) reason(src, dst, p int) string {
	if src == dst && s.sp.endpoints[src].known {
		return "a pod always reaches itself"
	}
	eg, egOK := s.explain(egress, src, dst, dst, p)
	in, inOK := s.explain(ingress, dst, src, dst, p)
	var parts []string
	for _, side := range []struct {
		name, text string
		ok         bool
	}{{"egress", eg, egOK}, {"ingress", in, inOK}} {
		// Allowed: what allows it on each side; denied: what denies it.
		if side.text != "" && (egOK && inOK || !side.ok) {
			parts = append(parts, side.name+": "+side.text)
		}
	}
	if len(parts) == 0 {
		return "no policy selects either end"
	}
	return strings.Join(parts, "; ")
}

// explain is decide for one port class, in words: what decides, and
// whether it allows. An empty text means nothing applies (allowed).
func (s *side) explain(dir, self, peer, dst, p int) (string, bool) {
	d := &s.dirs[dir][self]
	var passed *rule
	if r := s.first(d.admin, peer, dst, p); r != nil {
		switch r.action {
		case actAllow:
			return "allowed by " + r.ref.String(), true
		case actDeny:
			return "denied by " + r.ref.String(), false
		}
		passed = r
	}
	why, ok := s.belowAdmin(d, peer, dst, p)
	switch {
	case passed != nil && why == "":
		return "passed by " + passed.ref.String() + ", then allowed: no NetworkPolicy or baseline rule applies", true
	case passed != nil:
		return "passed by " + passed.ref.String() + ", then " + why, ok
	}
	return why, ok
}

// belowAdmin explains the NetworkPolicy and baseline tiers for one port
// class, in netpol's words; "" when neither applies (allowed).
func (s *side) belowAdmin(d *direction, peer, dst, p int) (string, bool) {
	if len(d.isolated) > 0 {
		var by []string
		for _, ri := range d.np {
			r := &s.rules[ri]
			if !s.matches(r, peer, dst, p) {
				continue
			}
			if name := s.policies[r.policy].name; !slices.Contains(by, name) {
				by = append(by, name)
			}
		}
		if len(by) > 0 {
			return "allowed by " + strings.Join(by, ", "), true
		}
		var iso []string
		for _, pi := range d.isolated {
			if name := s.policies[pi].name; !slices.Contains(iso, name) {
				iso = append(iso, name)
			}
		}
		return "default deny by " + strings.Join(iso, ", "), false
	}
	if r := s.first(d.baseline, peer, dst, p); r != nil {
		return "baseline " + strings.ToLower(r.ref.Action) + " (" + r.ref.Rule() + ")", r.action == actAllow
	}
	return "", true
}

// Group is the changes of a rectangle: every endpoint of From to every
// endpoint of To changes alike, on the same ports, for the same reason.
type Group struct {
	From, To  []string // namespace/* stands for every pod class of a namespace
	Ports     string
	Before    string
	After     string
	DecidedBy string
}

// Grouped merges the changes into rectangles: first the sources of each
// destination, then the destinations of each set of sources, with the pod
// classes of a whole namespace written ns/*. The order follows the changes.
func (c Comparison) Grouped() []Group {
	type verdict struct{ ports, before, after, reason string }
	v := func(ch Change) verdict { return verdict{ch.Ports, ch.Before, ch.After, ch.DecidedBy} }
	type bySrc struct {
		to   int
		v    verdict
		from []int
	}
	var first []bySrc
	index := map[string]int{}
	for _, ch := range c.Changes {
		k := fmt.Sprint(ch.to, v(ch))
		i, ok := index[k]
		if !ok {
			i = len(first)
			index[k] = i
			first = append(first, bySrc{to: ch.to, v: v(ch)})
		}
		first[i].from = append(first[i].from, ch.from)
	}
	var out []Group
	index = map[string]int{}
	for _, g := range first {
		from := c.collapse(g.from)
		k := fmt.Sprint(from, g.v)
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, Group{From: from, Ports: g.v.ports, Before: g.v.before, After: g.v.after, DecidedBy: g.v.reason})
		}
		out[i].To = append(out[i].To, c.Endpoints[g.to])
	}
	byName := make(map[string]int, len(c.Endpoints))
	for i, name := range c.Endpoints {
		byName[name] = i
	}
	for i := range out {
		to := make([]int, len(out[i].To))
		for j, name := range out[i].To {
			to[j] = byName[name]
		}
		out[i].To = c.collapse(to)
	}
	return out
}

// collapse names endpoints, writing ns/* for a namespace class whose every
// pod class is there.
func (c Comparison) collapse(endpoints []int) []string {
	have := map[int]bool{}
	perNS := map[int]int{}
	for _, e := range endpoints {
		if !have[e] {
			have[e] = true
			perNS[c.namespaceOf[e]]++
		}
	}
	var out []string
	done := map[int]bool{}
	for _, e := range endpoints {
		ns := c.namespaceOf[e]
		switch {
		case ns >= 0 && perNS[ns] == len(c.namespaces[ns].members) && len(c.namespaces[ns].members) > 1:
			if !done[ns] {
				done[ns] = true
				out = append(out, c.namespaces[ns].display+"/*")
			}
		case have[e]:
			have[e] = false
			out = append(out, c.Endpoints[e])
		}
	}
	return out
}

// first returns the first of rules matching peer on port class p toward
// dst, or nil.
func (s *side) first(rules []int, peer, dst, p int) *rule {
	for _, ri := range rules {
		if r := &s.rules[ri]; s.matches(r, peer, dst, p) {
			return r
		}
	}
	return nil
}

func (s *side) matches(r *rule, peer, dst, p int) bool {
	if !s.sets[r.peers].has(peer) {
		return false
	}
	m := s.portsFor(r, dst)
	return m == nil || m.has(p)
}
