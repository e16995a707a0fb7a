package netpol

import "math/bits"

// bitset is a fixed-size set of pod indices.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) set(i int)      { b[i/64] |= 1 << (uint(i) % 64) }
func (b bitset) has(i int) bool { return b[i/64]&(1<<(uint(i)%64)) != 0 }

// setAll sets the first n bits.
func (b bitset) setAll(n int) {
	for i := range b {
		b[i] = ^uint64(0)
	}
	if r := n % 64; r != 0 {
		b[len(b)-1] = (1 << uint(r)) - 1
	}
}

func (b bitset) clear() {
	for i := range b {
		b[i] = 0
	}
}

// or adds every member of o.
func (b bitset) or(o bitset) {
	for i, w := range o {
		b[i] |= w
	}
}

// orAnd adds every member of both x and y.
func (b bitset) orAnd(x, y bitset) {
	for i := range b {
		b[i] |= x[i] & y[i]
	}
}

// and sets b to the members of both x and y.
func (b bitset) and(x, y bitset) {
	for i := range b {
		b[i] = x[i] & y[i]
	}
}

// andNot removes every member of o.
func (b bitset) andNot(o bitset) {
	for i, w := range o {
		b[i] &^= w
	}
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}
