package reachability

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// MaxBoxes bounds the work of one label partition: the pieces (boxes) the
// selectors cut a label space into. Past it the model stops with an error
// naming where, instead of running out of memory.
const MaxBoxes = 200_000

// labelSpace is the set of label sets, seen through the keys some selectors
// name. Per key, the atoms are: 0 the key absent, 1..n the values the
// selectors name, n+1 any other value. A box picks atoms per key; a class is
// a union of disjoint boxes that every selector treats alike.
type labelSpace struct {
	keys   []string
	values [][]string // per key, sorted
	index  map[string]int
}

// box is a set of label sets: per key, a bitset of the atoms allowed.
type box []mask

type mask []uint64

func newMask(n int) mask { return make(mask, (n+63)/64) }

func (m mask) set(i int)      { m[i/64] |= 1 << (uint(i) % 64) }
func (m mask) has(i int) bool { return m[i/64]&(1<<(uint(i)%64)) != 0 }

func (m mask) empty() bool {
	for _, w := range m {
		if w != 0 {
			return false
		}
	}
	return true
}

func (m mask) and(o mask) mask {
	out := make(mask, len(m))
	for i := range m {
		out[i] = m[i] & o[i]
	}
	return out
}

func (m mask) andNot(o mask) mask {
	out := make(mask, len(m))
	for i := range m {
		out[i] = m[i] &^ o[i]
	}
	return out
}

func (m mask) first() int {
	for i, w := range m {
		for b := 0; b < 64; b++ {
			if w&(1<<uint(b)) != 0 {
				return i*64 + b
			}
		}
	}
	return -1
}

// newLabelSpace collects the keys and values the selectors name, and the
// values of extra for keys already named.
func newLabelSpace(sels []labels.Selector, extra map[string][]string) *labelSpace {
	vals := map[string]map[string]bool{}
	for _, s := range sels {
		reqs, _ := s.Requirements()
		for _, r := range reqs {
			if vals[r.Key()] == nil {
				vals[r.Key()] = map[string]bool{}
			}
			for v := range r.Values() {
				vals[r.Key()][v] = true
			}
		}
	}
	for k, vs := range extra {
		if vals[k] == nil {
			vals[k] = map[string]bool{}
		}
		for _, v := range vs {
			vals[k][v] = true
		}
	}
	ls := &labelSpace{index: map[string]int{}}
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		ls.index[k] = len(ls.keys)
		ls.keys = append(ls.keys, k)
		ls.values = append(ls.values, slices.Sorted(maps.Keys(vals[k])))
	}
	return ls
}

func (ls *labelSpace) atoms(k int) int { return len(ls.values[k]) + 2 }

// full is the box of every label set.
func (ls *labelSpace) full() box {
	b := make(box, len(ls.keys))
	for k := range ls.keys {
		m := newMask(ls.atoms(k))
		for a := 0; a < ls.atoms(k); a++ {
			m.set(a)
		}
		b[k] = m
	}
	return b
}

// atomOf returns the atom of value v (present) for key k.
func (ls *labelSpace) atomOf(k int, v string) int {
	if i, ok := slices.BinarySearch(ls.values[k], v); ok {
		return i + 1
	}
	return len(ls.values[k]) + 1
}

// constraint turns a selector into the atoms it admits per key; nil for a
// key it does not constrain. ok is false when nothing matches it.
func (ls *labelSpace) constraint(s labels.Selector) (c map[int]mask, ok bool) {
	reqs, _ := s.Requirements()
	c = map[int]mask{}
	for _, r := range reqs {
		k := ls.index[r.Key()]
		n := ls.atoms(k)
		m := newMask(n)
		switch r.Operator() {
		case selection.In, selection.Equals, selection.DoubleEquals:
			for v := range r.Values() {
				m.set(ls.atomOf(k, v))
			}
		case selection.NotIn, selection.NotEquals:
			for a := 0; a < n; a++ {
				m.set(a)
			}
			for v := range r.Values() {
				m[ls.atomOf(k, v)/64] &^= 1 << (uint(ls.atomOf(k, v)) % 64)
			}
		case selection.Exists:
			for a := 1; a < n; a++ {
				m.set(a)
			}
		case selection.DoesNotExist:
			m.set(0)
		default:
			// Gt and Lt never come from a LabelSelector.
			panic("reachability: selector operator " + string(r.Operator()))
		}
		if prev, seen := c[k]; seen {
			m = m.and(prev)
		}
		if m.empty() {
			return nil, false
		}
		c[k] = m
	}
	return c, true
}

// split cuts b by the constraint c: the part inside c (nil when empty) and
// the part outside it, as disjoint boxes.
func split(b box, c map[int]mask, keys []int) (in box, out []box) {
	in = slices.Clone(b)
	for _, k := range keys {
		in[k] = b[k].and(c[k])
		if in[k].empty() {
			return nil, []box{b}
		}
	}
	prefix := slices.Clone(b)
	for _, k := range keys {
		if rest := b[k].andNot(c[k]); !rest.empty() {
			o := slices.Clone(prefix)
			o[k] = rest
			out = append(out, o)
		}
		prefix[k] = in[k]
	}
	return in, out
}

// partition refines the box start into classes that every selector of sels
// treats alike, each a union of disjoint boxes. where names the space in
// the error when the boxes pass MaxBoxes.
func (ls *labelSpace) partition(start box, sels []labels.Selector, where string) ([][]box, error) {
	classes := [][]box{{start}}
	total := 1
	for _, s := range sels {
		c, ok := ls.constraint(s)
		if !ok || len(c) == 0 {
			continue // matches nothing, or everything: no cut
		}
		keys := slices.Sorted(maps.Keys(c))
		var next [][]box
		for _, cl := range classes {
			var in, out []box
			for _, b := range cl {
				i, o := split(b, c, keys)
				if i != nil {
					in = append(in, i)
				}
				out = append(out, o...)
			}
			total += len(in) + len(out) - len(cl)
			if total > MaxBoxes {
				return nil, fmt.Errorf("%s: the selectors cut the label sets into more than %d pieces; use fewer distinct matchExpressions keys and values", where, MaxBoxes)
			}
			switch {
			case len(in) == 0:
				next = append(next, out)
			case len(out) == 0:
				next = append(next, in)
			default:
				next = append(next, in, out)
			}
		}
		classes = next
	}
	return classes, nil
}

// member returns one label set of b: per key its first atom, an "other"
// value made up so that it is none of the named values.
func (ls *labelSpace) member(b box) map[string]string {
	out := map[string]string{}
	for k, m := range b {
		a := m.first()
		switch {
		case a == 0:
		case a <= len(ls.values[k]):
			out[ls.keys[k]] = ls.values[k][a-1]
		default:
			out[ls.keys[k]] = ls.otherValue(k)
		}
	}
	return out
}

// otherValue is a value of key k that no selector names.
func (ls *labelSpace) otherValue(k int) string {
	v := "other"
	for i := 2; ; i++ {
		if _, named := slices.BinarySearch(ls.values[k], v); !named {
			return v
		}
		v = "other-" + strconv.Itoa(i)
	}
}

// describe renders the label sets of b for a reader, key by key: k=v,
// k∈{a,b}, k=* (a value no selector names), !k (no such label), k∉{a,b}
// (none of these, or no such label); unconstrained keys are left out. more
// marks a class of several boxes, of which b is the first.
func (ls *labelSpace) describe(b box, skip string, more bool) string {
	var parts []string
	for k, m := range b {
		if ls.keys[k] != skip {
			if d := ls.describeKey(k, m); d != "" {
				parts = append(parts, d)
			}
		}
	}
	if more {
		parts = append(parts, "…")
	}
	return strings.Join(parts, ",")
}

func (ls *labelSpace) describeKey(k int, m mask) string {
	key, n := ls.keys[k], len(ls.values[k])
	absent, other := m.has(0), m.has(n+1)
	var in, out []string
	for i, v := range ls.values[k] {
		if m.has(i + 1) {
			in = append(in, v)
		} else {
			out = append(out, v)
		}
	}
	set := func(vs []string) string {
		if len(vs) == 1 {
			return vs[0]
		}
		return "{" + strings.Join(vs, ",") + "}"
	}
	switch {
	case absent && other && len(out) == 0:
		return ""
	case absent && other:
		return key + "∉" + set(out)
	case !absent && !other && len(in) == 1:
		return key + "=" + in[0]
	case !absent && !other:
		return key + "∈" + set(in)
	case !absent && len(out) == 0:
		return key
	case !absent && len(in) == 0:
		return key + "=*"
	case !absent:
		return key + "=*∉" + set(out)
	case len(in) == 0:
		return "!" + key
	default:
		return key + "∈" + set(in) + " or none"
	}
}

// selectorOf compiles a validated LabelSelector.
func selectorOf(s *metav1.LabelSelector) labels.Selector {
	if s == nil {
		return labels.Everything()
	}
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return labels.Nothing() // refused by the loader's validation before this point
	}
	return sel
}
