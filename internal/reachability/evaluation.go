package reachability

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kopscalico/kopscalico/internal/netpol"
)

// Evaluation is one tree over its own classes.
type Evaluation struct {
	sp *Space
	s  *side
}

// Evaluate builds the classes of m and applies its policies to them.
func Evaluate(m Model) (*Evaluation, error) {
	ps := policiesOf(m)
	sp, err := newSpace([]Model{m}, [][]policy{ps})
	if err != nil {
		return nil, err
	}
	return &Evaluation{sp: sp, s: compile(sp, 0, ps, m, nil)}, nil
}

// Endpoints returns the names of the endpoints.
func (ev *Evaluation) Endpoints() []string { return ev.sp.Endpoints() }

// Allowed decides a connection between two endpoints, by name, on a port.
func (ev *Evaluation) Allowed(from, to string, port netpol.PortProto) (bool, error) {
	d, err := ev.Decide(from, to, port)
	return d.Allowed, err
}

// Decision is a verdict and what decides it.
type Decision struct {
	Allowed bool
	Reason  string
}

// Decide decides a connection between two endpoints, by name, on a port.
func (ev *Evaluation) Decide(from, to string, port netpol.PortProto) (Decision, error) {
	src, ok := ev.sp.byName[from]
	if !ok {
		return Decision{}, fmt.Errorf("unknown endpoint %q", from)
	}
	dst, ok := ev.sp.byName[to]
	if !ok {
		return Decision{}, fmt.Errorf("unknown endpoint %q", to)
	}
	proto := protocolOrTCP(port.Protocol)
	if !slices.Contains(protocols, proto) || port.Port < 1 || port.Port > portsPerProtocol {
		return Decision{}, fmt.Errorf("port %s: want 1-65535 and TCP, UDP or SCTP", port)
	}
	p := ev.sp.ports.class(portOf(proto, port.Port))
	return Decision{Allowed: ev.s.allowed(src, dst).has(p), Reason: ev.s.reason(src, dst, p)}, nil
}

// Expect returns the verdicts between known pods ("namespace/name") of the
// model, in the shape the probe plan takes.
func Expect(m Model) (func(from, to string, port int, proto string) (bool, error), error) {
	ev, err := Evaluate(m)
	if err != nil {
		return nil, err
	}
	return func(from, to string, port int, proto string) (bool, error) {
		return ev.Allowed(from, to, netpol.PortProto{Port: int32(port), Protocol: corev1.Protocol(proto)})
	}, nil
}

// Row is the ports on which one endpoint reaches another.
type Row struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Allowed string `json:"allowed"` // "" when nothing is
}

// MaxRows bounds Rows: the square of the endpoints.
const MaxRows = 1_000_000

// Rows returns, for every ordered pair of endpoints, the ports allowed.
func (ev *Evaluation) Rows() ([]Row, error) {
	n := len(ev.sp.endpoints)
	if n*n > MaxRows {
		return nil, fmt.Errorf("%d endpoint classes make %d pairs, over the %d a matrix lists; compare two trees with `reachability diff` instead", n, n*n, MaxRows)
	}
	rows := make([]Row, 0, n*n)
	for s := 0; s < n; s++ {
		for d := 0; d < n; d++ {
			rows = append(rows, Row{From: ev.sp.endpoints[s].name, To: ev.sp.endpoints[d].name, Allowed: ev.describe(ev.s.allowed(s, d))})
		}
	}
	return rows, nil
}

func (ev *Evaluation) describe(m mask) string {
	var spans []span[portPoint]
	for p, c := range ev.sp.ports.classes {
		if m.has(p) {
			spans = append(spans, c...)
		}
	}
	return describePorts(merged(spans))
}

// Summary is a tree's reachability in a bounded form, for a stack output:
// counts, a digest of what decides every endpoint's connections, and one
// digest per namespace class, so a preview shows which namespaces a change
// touches.
type Summary struct {
	Endpoints  int               `json:"endpoints"`
	Ports      int               `json:"portClasses"`
	Addresses  int               `json:"addressClasses"`
	Policies   int               `json:"policies"`
	Digest     string            `json:"digest"`
	Namespaces map[string]string `json:"namespaces"`
}

// Summary digests the evaluation. Peer sets and ports enter by the names of
// their members, so a namespace's digest moves only when what decides its
// pods' connections does.
func (ev *Evaluation) Summary() Summary {
	sp, s := ev.sp, ev.s
	sum := Summary{Endpoints: len(sp.endpoints), Ports: len(sp.ports.classes), Policies: len(s.policies), Namespaces: map[string]string{}}
	names := make([]uint64, len(sp.endpoints))
	for i, e := range sp.endpoints {
		h := sha256.Sum256([]byte(e.name))
		names[i] = binary.BigEndian.Uint64(h[:8])
		if e.ns < 0 {
			sum.Addresses++
		}
	}
	peerHash := make([]uint64, len(s.sets))
	for i, set := range s.sets {
		for e := range sp.endpoints {
			if set.has(e) {
				peerHash[i] += names[e]
			}
		}
	}
	// Each rule's text once: rules are shared by every endpoint they apply to.
	ruleText := make([]string, len(s.rules))
	for ri, r := range s.rules {
		ruleText[ri] = fmt.Sprintf("%d %x %s %v;", r.action, peerHash[r.peers], ev.portsText(r.ports), r.named)
	}
	endpointDigest := func(e int) string {
		h := sha256.New()
		fmt.Fprintf(h, "%s\n", sp.endpoints[e].name)
		for dir := range s.dirs {
			d := s.dirs[dir][e]
			for _, tier := range [][]int{d.admin, d.np, d.baseline} {
				for _, ri := range tier {
					io.WriteString(h, ruleText[ri])
				}
				h.Write([]byte{'|'})
			}
			fmt.Fprintf(h, "%v\n", len(d.isolated) > 0)
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	all := sha256.New()
	for _, c := range sp.namespaces {
		h := sha256.New()
		var digests []string
		for _, e := range c.members {
			digests = append(digests, endpointDigest(e))
		}
		slices.Sort(digests)
		for _, d := range digests {
			h.Write([]byte(d))
		}
		sum.Namespaces[c.display] = short(h)
	}
	for _, ns := range slices.Sorted(maps.Keys(sum.Namespaces)) {
		fmt.Fprintf(all, "%s=%s\n", ns, sum.Namespaces[ns])
	}
	sum.Digest = short(all)
	return sum
}

func (ev *Evaluation) portsText(m mask) string {
	if m == nil {
		return "*"
	}
	return strings.ReplaceAll(ev.describe(m), " ", "")
}

func short(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil))[:16] }
