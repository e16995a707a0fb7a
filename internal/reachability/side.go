package reachability

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/kopscalico/kopscalico/internal/netpol"
)

// side is one tree compiled over a Space: for each endpoint and direction,
// the rules that apply to it in the order they are met.
type side struct {
	sp       *Space
	index    int // which labels of a declared namespace to use
	policies []policy
	rules    []rule
	dirs     [2][]direction // per endpoint
	// absent endpoints do not exist on this side (their namespace is created
	// or deleted by the change).
	absent []bool
	peers  map[string]int // interned peer sets, shared by the rules
	sets   []mask
	buf    []mask // scratch masks of decide
}

type rule struct {
	policy, index int
	ref           netpol.AdminRule
	action        action
	peers         int  // an interned set of endpoints
	ports         mask // port classes; nil: every port
	named         []namedPort
}

// direction is what applies to one endpoint in one direction.
type direction struct {
	admin    []int // rule indices, in order
	isolated []int // NetworkPolicies isolating it (policy indices)
	np       []int
	baseline []int
}

// key renders what decides a direction, so two sides compare exactly.
func (s *side) key(d direction) string {
	var b strings.Builder
	for _, tier := range [][]int{d.admin, d.np, d.baseline} {
		for _, ri := range tier {
			r := s.rules[ri]
			fmt.Fprintf(&b, "%d:%s:%s:%v;", r.action, maskKey(s.sets[r.peers]), maskKey(r.ports), r.named)
		}
		b.WriteByte('|')
	}
	fmt.Fprintf(&b, "%v", len(d.isolated) > 0)
	return b.String()
}

// compile applies the policies of one tree (side index i) to the space.
func compile(sp *Space, i int, ps []policy, m Model, other []Model) *side {
	s := &side{sp: sp, index: i, policies: ps, peers: map[string]int{}}
	n := len(sp.endpoints)
	s.dirs[ingress] = make([]direction, n)
	s.dirs[egress] = make([]direction, n)
	s.absent = make([]bool, n)
	for _, o := range other {
		for _, ns := range o.Owned {
			if slices.Contains(m.Owned, ns) {
				continue
			}
			for _, c := range sp.namespaces {
				if c.declared && c.name == ns {
					for _, e := range c.members {
						s.absent[e] = true
					}
				}
			}
		}
	}
	for pi, p := range ps {
		subjects := s.selected(p.subject)
		for dir := range p.rules {
			var ruleIdx []int
			for _, r := range p.rules[dir] {
				ruleIdx = append(ruleIdx, s.compileRule(pi, r))
			}
			for _, e := range subjects {
				d := &s.dirs[dir][e]
				switch p.tier {
				case tierAdmin:
					d.admin = append(d.admin, ruleIdx...)
				case tierBaseline:
					d.baseline = append(d.baseline, ruleIdx...)
				default:
					if p.isolates[dir] {
						d.isolated = append(d.isolated, pi)
						d.np = append(d.np, ruleIdx...)
					}
				}
			}
		}
	}
	return s
}

// selected returns the pod endpoints sel picks on this side.
func (s *side) selected(sel podSelector) []int {
	var out []int
	for ci, c := range s.sp.namespaces {
		if !sel.reaches(c, s.index) {
			continue
		}
		for _, e := range s.sp.namespaces[ci].members {
			if sel.pod.Matches(labels.Set(s.sp.endpoints[e].labels)) {
				out = append(out, e)
			}
		}
	}
	return out
}

func (s *side) compileRule(pi int, pr policyRule) int {
	sp := s.sp
	r := rule{policy: pi, index: pr.index, ref: pr.ref, action: pr.action, named: pr.named}
	var key strings.Builder
	if pr.allPeers {
		key.WriteString("*")
	}
	for _, p := range pr.pods {
		key.WriteString(p.key() + ";")
	}
	for _, a := range pr.addrs {
		fmt.Fprintf(&key, "%d;", sp.addrSet[fmt.Sprint(a)])
	}
	id, ok := s.peers[key.String()]
	if !ok {
		set := newMask(len(sp.endpoints))
		switch {
		case pr.allPeers:
			for e := range sp.endpoints {
				set.set(e)
			}
		default:
			for _, p := range pr.pods {
				for _, e := range s.selected(p) {
					set.set(e)
				}
			}
			for _, a := range pr.addrs {
				in := sp.addrs.sets[sp.addrSet[fmt.Sprint(a)]]
				for e, ep := range sp.endpoints {
					if in.has(ep.addrClass) {
						set.set(e)
					}
				}
			}
		}
		id = len(s.sets)
		s.sets = append(s.sets, set)
		s.peers[key.String()] = id
	}
	r.peers = id
	if !pr.allPorts {
		r.ports = newMask(len(sp.ports.classes))
		if len(pr.ports) > 0 {
			r.ports = sp.ports.sets[sp.portSet[fmt.Sprint(pr.ports)]]
		}
	}
	s.rules = append(s.rules, r)
	return len(s.rules) - 1
}

// portsFor returns the port classes r admits toward the destination dst.
func (s *side) portsFor(r *rule, dst int) mask {
	if r.ports == nil {
		return nil
	}
	if len(r.named) == 0 {
		return r.ports
	}
	out := s.scratch(2)
	copy(out, r.ports)
	for _, np := range r.named {
		for _, cp := range s.sp.endpoints[dst].ports {
			if cp.Name == np.name && (np.protocol == "" || protocolOrTCP(cp.Protocol) == np.protocol) {
				out.set(s.sp.ports.class(portOf(protocolOrTCP(cp.Protocol), cp.ContainerPort)))
			}
		}
	}
	return out
}

// allowed returns the port classes on which this side allows a connection
// from endpoint src to endpoint dst, in a mask of its own.
func (s *side) allowed(src, dst int) mask {
	n := len(s.sp.ports.classes)
	if src == dst && s.sp.endpoints[src].known {
		return fullMask(n) // a pod always reaches itself
	}
	out := newMask(n)
	s.decide(egress, src, dst, dst, out)
	in := s.scratch(3)
	s.decide(ingress, dst, src, dst, in)
	for i := range out {
		out[i] &= in[i]
	}
	return out
}

// scratch returns the i-th reusable mask of the port classes' size, so the
// verdict of a pair allocates nothing but its result.
func (s *side) scratch(i int) mask {
	for len(s.buf) <= i {
		s.buf = append(s.buf, newMask(len(s.sp.ports.classes)))
	}
	return s.buf[i]
}

// decide evaluates the direction dir of endpoint self toward peer, for the
// destination dst (where named ports resolve), into allow: the port classes
// allowed.
func (s *side) decide(dir, self, peer, dst int, allow mask) {
	d := &s.dirs[dir][self]
	undecided, passed := s.scratch(0), s.scratch(1)
	for i := range undecided {
		undecided[i], passed[i], allow[i] = ^uint64(0), 0, 0
	}
	s.tier(d.admin, peer, dst, undecided, allow, passed)
	for i := range undecided {
		undecided[i] |= passed[i]
	}
	if len(d.isolated) > 0 {
		for _, ri := range d.np {
			r := &s.rules[ri]
			if !s.sets[r.peers].has(peer) {
				continue
			}
			m := s.portsFor(r, dst)
			for i := range allow {
				w := undecided[i]
				if m != nil {
					w &= m[i]
				}
				allow[i] |= w
			}
		}
		s.trim(allow)
		return
	}
	s.tier(d.baseline, peer, dst, undecided, allow, passed)
	for i := range allow {
		allow[i] |= undecided[i]
	}
	s.trim(allow)
}

// tier applies an admin or baseline tier's rules, in order, to the
// undecided ports: the first rule matching a port decides it, Allow into
// allow, Pass into passed, Deny into neither.
func (s *side) tier(rules []int, peer, dst int, undecided, allow, passed mask) {
	for _, ri := range rules {
		r := &s.rules[ri]
		if !s.sets[r.peers].has(peer) {
			continue
		}
		m := s.portsFor(r, dst)
		for i := range undecided {
			w := undecided[i]
			if m != nil {
				w &= m[i]
			}
			switch r.action {
			case actAllow:
				allow[i] |= w
			case actPass:
				passed[i] |= w
			}
			undecided[i] &^= w
		}
	}
}

// trim clears the bits past the last port class.
func (s *side) trim(m mask) {
	if n := len(s.sp.ports.classes); n%64 != 0 {
		m[len(m)-1] &= 1<<(uint(n)%64) - 1
	}
}

func fullMask(n int) mask {
	m := newMask(n)
	for i := 0; i < n; i++ {
		m.set(i)
	}
	return m
}
