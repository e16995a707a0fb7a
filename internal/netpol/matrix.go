package netpol

import (
	"fmt"
	"slices"
)

// Matrix is the verdict of every ordered pair of pods (a pod to itself
// included) on every probed port. Its JSON form is
// {"cases":[{"from":"ns/pod","to":"ns/pod","port":80,"protocol":"TCP","allowed":true}]}.
type Matrix struct {
	Cases []Case `json:"cases"`
}

// Case is one connection and its verdict.
type Case struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
	Allowed  bool   `json:"allowed"`
}

// Key identifies the connection of a case: "x/a -> y/b 80/TCP".
func (c Case) Key() string {
	return fmt.Sprintf("%s -> %s %d/%s", c.From, c.To, c.Port, c.Protocol)
}

// Matrix computes every case for the given ports (sorted by port then
// protocol, duplicates dropped; an empty protocol means TCP). Cases are
// ordered by source pod, destination pod, then port, pods by namespace then
// name. It is Grid(ports).Matrix().
func (e *Evaluator) Matrix(ports []PortProto) (Matrix, error) {
	t, err := e.Grid(ports)
	if err != nil {
		return Matrix{}, err
	}
	return t.Matrix(), nil
}

// Grid holds the verdicts of a full matrix compactly, one bit per case:
// 2,000,000 cases take 250 kB, against 128 MB as a Matrix.
type Grid struct {
	pods  []string // "namespace/name", sorted by namespace then name
	ports []PortProto
	bits  bitset // index (from*len(pods)+to)*len(ports)+port
}

// Pods returns the pods ("namespace/name") in grid order.
func (t *Grid) Pods() []string { return slices.Clone(t.pods) }

// Ports returns the probed ports in grid order.
func (t *Grid) Ports() []PortProto { return slices.Clone(t.ports) }

// Allowed returns the verdict for the pods and port at the given indices of
// Pods and Ports.
func (t *Grid) Allowed(from, to, port int) bool {
	return t.bits.has((from*len(t.pods)+to)*len(t.ports) + port)
}

// Matrix expands the grid into cases.
func (t *Grid) Matrix() Matrix {
	n, k := len(t.pods), len(t.ports)
	m := Matrix{Cases: make([]Case, n*n*k)}
	i := 0
	for s := 0; s < n; s++ {
		for d := 0; d < n; d++ {
			for _, pp := range t.ports {
				m.Cases[i] = Case{From: t.pods[s], To: t.pods[d], Port: int(pp.Port), Protocol: string(pp.Protocol), Allowed: t.bits.has(i)}
				i++
			}
		}
	}
	return m
}

// Grid decides every case for the given ports (normalised as for Matrix).
func (e *Evaluator) Grid(ports []PortProto) (*Grid, error) {
	ports = NormalisePorts(ports)
	for _, p := range ports {
		if !validProtocol(p.Protocol) || p.Port < 1 || p.Port > 65535 {
			return nil, fmt.Errorf("port %s: want 1-65535 and TCP, UDP or SCTP", p)
		}
	}
	n, k := len(e.pods), len(ports)
	t := &Grid{pods: e.names, ports: ports, bits: newBitset(n * n * k)}
	for p, pp := range ports {
		// The destinations each source may send to (egress) and the sources
		// each destination accepts (ingress); nil means "all".
		egress, ingress := e.directionSets(pp)
		for s := 0; s < n; s++ {
			out := egress[s]
			for d := 0; d < n; d++ {
				in := ingress[d]
				if s == d || ((out == nil || out.has(d)) && (in == nil || in.has(s))) {
					t.bits.set((s*n+d)*k + p)
				}
			}
		}
	}
	return t, nil
}

// directionSets computes, for one port, each pod's allowed egress
// destinations and allowed ingress sources; nil entries mean everything is
// allowed (no policy of any tier applies).
func (e *Evaluator) directionSets(pp PortProto) (egress, ingress []bitset) {
	n := len(e.pods)
	words := len(e.allPods)
	empty := newBitset(n)
	// The destinations whose port matches each rule, for this port.
	portDst := func(r *rule) bitset {
		switch {
		case r.named:
			b := newBitset(n)
			for d := range e.pods {
				if r.allowsPort(&e.pods[d], pp) {
					b.set(d)
				}
			}
			return b
		case r.allowsPort(nil, pp): // no named port: the destination does not matter
			return e.allPods
		}
		return empty
	}
	npDst := make([]bitset, len(e.rules))
	for i := range e.rules {
		npDst[i] = portDst(&e.rules[i])
	}
	adminDst := make([]bitset, len(e.tierRules))
	for i := range e.tierRules {
		adminDst[i] = portDst(&e.tierRules[i].rule)
	}
	egress = make([]bitset, n)
	ingress = make([]bitset, n)
	slab := make(bitset, 2*n*words)
	next := func() bitset {
		b := slab[:words:words]
		slab = slab[words:]
		return b
	}
	t := newTiers(n)
	for p := 0; p < n; p++ {
		if d := e.egress[p]; d.applies() {
			np := t.npAllowed(d)
			for _, ri := range d.rules {
				np.orAnd(e.rules[ri].peers, npDst[ri])
			}
			egress[p] = t.decide(e, d, np, next(), func(r *tierRule, ri int, m bitset) {
				m.and(r.peers, adminDst[ri])
			})
		}
		if d := e.ingress[p]; d.applies() {
			np := t.npAllowed(d)
			for _, ri := range d.rules {
				if npDst[ri].has(p) {
					np.or(e.rules[ri].peers)
				}
			}
			ingress[p] = t.decide(e, d, np, next(), func(r *tierRule, ri int, m bitset) {
				if adminDst[ri].has(p) {
					copy(m, r.peers)
				} else {
					m.clear()
				}
			})
		}
	}
	return egress, ingress
}

// applies reports whether any policy applies to the pod in this direction.
func (d direction) applies() bool {
	return len(d.admin) > 0 || len(d.isolatedBy) > 0 || len(d.baseline) > 0
}

// tiers is the scratch space of decide, reused from pod to pod.
type tiers struct{ np, open, passed, m bitset }

func newTiers(n int) *tiers { return &tiers{newBitset(n), newBitset(n), newBitset(n), newBitset(n)} }

// npAllowed returns the cleared set the NetworkPolicies' allowed other ends
// go into, or nil when none isolates the pod.
func (t *tiers) npAllowed(d direction) bitset {
	if len(d.isolatedBy) == 0 {
		return nil
	}
	t.np.clear()
	return t.np
}

// decide computes, into out, the other ends one pod's direction d allows,
// tier by tier as explain does for one: admin rules, then the
// NetworkPolicies (np, the other ends they allow; nil when none isolates the
// pod), then baseline rules. match sets m to the other ends rule ri matches.
func (t *tiers) decide(e *Evaluator, d direction, np, out bitset, match func(r *tierRule, ri int, m bitset)) bitset {
	out.clear()
	copy(t.open, e.allPods) // not decided yet
	t.passed.clear()
	for _, ri := range d.admin {
		r := &e.tierRules[ri]
		match(r, ri, t.m)
		t.m.and(t.m, t.open)
		switch r.action {
		case ActionAllow:
			out.or(t.m)
		case ActionPass:
			t.passed.or(t.m)
		}
		t.open.andNot(t.m)
	}
	t.open.or(t.passed)
	if np != nil {
		t.open.and(t.open, np)
		out.or(t.open)
		return out
	}
	for _, ri := range d.baseline {
		r := &e.tierRules[ri]
		match(r, ri, t.m)
		t.m.and(t.m, t.open)
		if r.action == ActionAllow {
			out.or(t.m)
		}
		t.open.andNot(t.m)
	}
	out.or(t.open)
	return out
}
