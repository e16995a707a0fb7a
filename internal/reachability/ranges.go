package reachability

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// point is a place on a line cut into ranges: a port or an address.
type point[T any] interface {
	Compare(T) int
	Prev() T
	Next() T
	IsValid() bool
}

// span is the inclusive range [lo, hi].
type span[T any] struct{ lo, hi T }

// line is a space of points (ports of every protocol, or addresses of both
// families) cut at every edge of some sets into classes: each class the
// points that every set treats alike, as sorted spans.
type line[T point[T]] struct {
	starts  []T   // the first point of every atom, sorted
	ends    []T   // the last point of every atom
	classOf []int // atom -> class
	classes [][]span[T]
	// sets[i] is the classes inside set i (each class is in or out whole).
	sets []mask
}

// cut builds the line over universe (disjoint spans) from sets of spans
// (each inside the universe). Every set is a union of the classes.
func cut[T point[T]](universe []span[T], sets [][]span[T]) *line[T] {
	var starts []T
	for _, u := range universe {
		starts = append(starts, u.lo)
	}
	for _, s := range sets {
		for _, sp := range s {
			starts = append(starts, sp.lo)
			if n := sp.hi.Next(); n.IsValid() && inside(universe, n) {
				starts = append(starts, n)
			}
		}
	}
	slices.SortFunc(starts, func(a, b T) int { return a.Compare(b) })
	starts = slices.CompactFunc(starts, func(a, b T) bool { return a.Compare(b) == 0 })
	l := &line[T]{starts: starts, ends: make([]T, len(starts))}
	for i := range starts {
		l.ends[i] = universeEnd(universe, starts[i])
		if i+1 < len(starts) && inside([]span[T]{{starts[i], l.ends[i]}}, starts[i+1]) {
			l.ends[i] = starts[i+1].Prev()
		}
	}
	// Which sets hold each atom; atoms held by the same sets form a class.
	sig := make([]mask, len(starts))
	for a := range sig {
		sig[a] = newMask(len(sets))
	}
	for si, s := range sets {
		for _, sp := range s {
			for a := l.atom(sp.lo); a < len(starts) && l.starts[a].Compare(sp.hi) <= 0; a++ {
				sig[a].set(si)
			}
		}
	}
	byKey := map[string]int{}
	l.classOf = make([]int, len(starts))
	for a := range starts {
		key := maskKey(sig[a])
		c, ok := byKey[key]
		if !ok {
			c = len(l.classes)
			byKey[key] = c
			l.classes = append(l.classes, nil)
		}
		l.classOf[a] = c
		l.classes[c] = appendSpan(l.classes[c], span[T]{starts[a], l.ends[a]})
	}
	l.sets = make([]mask, len(sets))
	for si := range sets {
		l.sets[si] = newMask(len(l.classes))
		for a := range starts {
			if sig[a].has(si) {
				l.sets[si].set(l.classOf[a])
			}
		}
	}
	return l
}

// atom returns the index of the atom holding p.
func (l *line[T]) atom(p T) int {
	i, found := slices.BinarySearchFunc(l.starts, p, func(a, b T) int { return a.Compare(b) })
	if !found {
		i--
	}
	return i
}

// class returns the class holding p, or -1 outside the line.
func (l *line[T]) class(p T) int {
	a := l.atom(p)
	if a < 0 || l.ends[a].Compare(p) < 0 {
		return -1
	}
	return l.classOf[a]
}

func inside[T point[T]](spans []span[T], p T) bool {
	for _, s := range spans {
		if s.lo.Compare(p) <= 0 && p.Compare(s.hi) <= 0 {
			return true
		}
	}
	return false
}

func universeEnd[T point[T]](universe []span[T], p T) T {
	for _, s := range universe {
		if s.lo.Compare(p) <= 0 && p.Compare(s.hi) <= 0 {
			return s.hi
		}
	}
	return p
}

// appendSpan adds s after the spans, merging it with the last when adjacent.
func appendSpan[T point[T]](spans []span[T], s span[T]) []span[T] {
	if n := len(spans); n > 0 {
		if next := spans[n-1].hi.Next(); next.IsValid() && next.Compare(s.lo) == 0 {
			spans[n-1].hi = s.hi
			return spans
		}
	}
	return append(spans, s)
}

func maskKey(m mask) string {
	var b strings.Builder
	for _, w := range m {
		fmt.Fprintf(&b, "%x,", w)
	}
	return b.String()
}

// merged sorts spans and merges those that overlap or touch.
func merged[T point[T]](spans []span[T]) []span[T] {
	s := slices.Clone(spans)
	slices.SortFunc(s, func(a, b span[T]) int { return a.lo.Compare(b.lo) })
	var out []span[T]
	for _, sp := range s {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if next := last.hi.Next(); sp.lo.Compare(last.hi) <= 0 || (next.IsValid() && next.Compare(sp.lo) == 0) {
				if sp.hi.Compare(last.hi) > 0 {
					last.hi = sp.hi
				}
				continue
			}
		}
		out = append(out, sp)
	}
	return out
}

// Ports: one line for TCP, UDP and SCTP, port p of protocol i at
// i*65535 + p - 1, so that no point falls between two protocols.

// portPoint is a port of a protocol on the ports line.
type portPoint uint32

const portsPerProtocol = 65535

// protocols are the protocols a NetworkPolicy names, in line order.
var protocols = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}

func portOf(proto corev1.Protocol, port int32) portPoint {
	return portPoint(slices.Index(protocols, proto)*portsPerProtocol + int(port) - 1)
}

func (p portPoint) Compare(o portPoint) int {
	switch {
	case p < o:
		return -1
	case p > o:
		return 1
	}
	return 0
}
func (p portPoint) Prev() portPoint { return p - 1 }
func (p portPoint) Next() portPoint { return p + 1 }
func (p portPoint) IsValid() bool   { return int(p) < len(protocols)*portsPerProtocol }

func (p portPoint) protocol() corev1.Protocol { return protocols[int(p)/portsPerProtocol] }
func (p portPoint) number() int32             { return int32(int(p)%portsPerProtocol + 1) }

// portSpan is the ports from to to of proto.
func portSpan(proto corev1.Protocol, from, to int32) span[portPoint] {
	return span[portPoint]{portOf(proto, from), portOf(proto, to)}
}

// everyPort of proto, or of every protocol for "".
func everyPort(proto corev1.Protocol) []span[portPoint] {
	if proto != "" {
		return []span[portPoint]{portSpan(proto, 1, portsPerProtocol)}
	}
	return []span[portPoint]{{0, portPoint(len(protocols)*portsPerProtocol - 1)}}
}

// describePorts renders ports per protocol, protocols apart with "; ":
// "53/UDP", "80, 8000-8999/TCP", "TCP but 22, 80", "every TCP port",
// "every port".
func describePorts(spans []span[portPoint]) string {
	if len(spans) == 1 && spans[0] == everyPort("")[0] {
		return "every port"
	}
	var parts []string
	for _, proto := range protocols {
		all := everyPort(proto)[0]
		var in []span[portPoint]
		for _, s := range spans {
			lo, hi := max(s.lo, all.lo), min(s.hi, all.hi)
			if lo <= hi {
				in = append(in, span[portPoint]{lo, hi})
			}
		}
		if len(in) == 0 {
			continue
		}
		count := 0
		for _, s := range in {
			count += int(s.hi-s.lo) + 1
		}
		switch {
		case count == portsPerProtocol:
			parts = append(parts, "every "+string(proto)+" port")
		case count > portsPerProtocol/2:
			parts = append(parts, string(proto)+" but "+portList(complement(in, all)))
		default:
			parts = append(parts, portList(in)+"/"+string(proto))
		}
	}
	return strings.Join(parts, "; ")
}

func portList(spans []span[portPoint]) string {
	var out []string
	for _, s := range spans {
		if s.lo == s.hi {
			out = append(out, fmt.Sprint(s.lo.number()))
		} else {
			out = append(out, fmt.Sprintf("%d-%d", s.lo.number(), s.hi.number()))
		}
	}
	return strings.Join(out, ", ")
}

// complement returns the points of all that spans (sorted, inside all) miss.
func complement[T point[T]](spans []span[T], all span[T]) []span[T] {
	var out []span[T]
	lo := all.lo
	for _, s := range spans {
		if lo.Compare(s.lo) < 0 {
			out = append(out, span[T]{lo, s.lo.Prev()})
		}
		lo = s.hi.Next()
		if !lo.IsValid() || lo.Compare(all.hi) > 0 {
			return out
		}
	}
	return append(out, span[T]{lo, all.hi})
}

// Addresses: netip.Addr is already a point; IPv4 and IPv6 are two spans of
// the universe.

var addressUniverse = []span[netip.Addr]{
	{netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255")},
	{netip.IPv6Unspecified(), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")},
}

// prefixSpan is the addresses of p.
func prefixSpan(p netip.Prefix) span[netip.Addr] {
	p = p.Masked()
	lo := p.Addr()
	hi := lo.AsSlice()
	bits := p.Bits()
	for i := range hi {
		for b := 0; b < 8; b++ {
			if i*8+b >= bits {
				hi[i] |= 0x80 >> b
			}
		}
	}
	h, _ := netip.AddrFromSlice(hi)
	return span[netip.Addr]{lo, h}
}

// describeAddrs renders address spans, as prefixes where they are one, at
// most limit of them with a count of the rest.
func describeAddrs(spans []span[netip.Addr], limit int) string {
	var out []string
	for i, s := range spans {
		if i == limit {
			out = append(out, fmt.Sprintf("(+%d more)", len(spans)-limit))
			break
		}
		out = append(out, describeAddrSpan(s))
	}
	return strings.Join(out, ", ")
}

func describeAddrSpan(s span[netip.Addr]) string {
	for bits := 0; bits <= s.lo.BitLen(); bits++ {
		p := netip.PrefixFrom(s.lo, bits)
		if ps := prefixSpan(p); p.Masked().Addr() == s.lo && ps.hi == s.hi {
			return p.String()
		}
	}
	return s.lo.String() + "-" + s.hi.String()
}
