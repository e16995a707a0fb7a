package reachability

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/kopscalico/kopscalico/internal/netpol"
)

// Change is a connection whose verdict differs between the base and the
// head tree, and what decides it in the head.
type Change struct {
	netpol.Change
	// DecidedBy names the policies that decide the connection in the head:
	// netpol.Decision.Reason, or why the connection is absent.
	DecidedBy string `json:"decidedBy"`
}

// Opened reports a connection denied in the base and allowed in the head;
// Closed the reverse. A connection of a namespace created or deleted is
// neither.
func (c Change) Opened() bool { return c.Before == netpol.Deny && c.After == netpol.Allow }
func (c Change) Closed() bool { return c.Before == netpol.Allow && c.After == netpol.Deny }

// Comparison is the result of Compare.
type Comparison struct {
	Changes []Change
	// Pods are the endpoints both trees are evaluated over, Ports the ports
	// probed, Cases the number of connections compared.
	Pods  []string
	Ports []netpol.PortProto
	Cases int
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

// Compare evaluates both models over the same endpoints, the union of the
// pods each one holds, on the given ports (nil: the union of both models'
// ports), and returns the connections whose verdict differs. So a removed
// policy shows the connections it allowed as closed, even when its pods
// exist only in the base's model. A namespace the program owns on one side
// only is created or deleted by the change: its pods exist on that side
// only, and their connections are "absent" on the other.
func Compare(base, head Model, ports []netpol.PortProto) (Comparison, error) {
	pods := unionPods(base.Cluster.Pods, head.Cluster.Pods)
	if ports == nil {
		ports = append(slices.Clone(base.Ports), head.Ports...)
	}
	ports = netpol.NormalisePorts(ports)
	_, before, err := sideMatrix(base, pods, ports, head.Owned)
	if err != nil {
		return Comparison{}, fmt.Errorf("base: %w", err)
	}
	ev, after, err := sideMatrix(head, pods, ports, base.Owned)
	if err != nil {
		return Comparison{}, fmt.Errorf("head: %w", err)
	}
	cmp := Comparison{Ports: ports}
	for _, p := range ev.Pods() {
		cmp.Pods = append(cmp.Pods, p.Ref().String())
	}
	cmp.Cases = len(cmp.Pods) * len(cmp.Pods) * len(ports)
	for _, c := range netpol.Diff(before, after) {
		ch := Change{Change: c}
		if c.After == netpol.Absent {
			ch.DecidedBy = "namespace " + deletedNamespace(c, base, head) + " is deleted with its pods"
		} else {
			from, _ := netpol.ParsePodRef(c.From)
			to, _ := netpol.ParsePodRef(c.To)
			d, err := ev.Decide(from, to, netpol.PortProto{Port: int32(c.Port), Protocol: corev1.Protocol(c.Protocol)})
			if err != nil {
				return Comparison{}, err
			}
			ch.DecidedBy = d.Reason()
		}
		cmp.Changes = append(cmp.Changes, ch)
	}
	return cmp, nil
}

// unionPods returns the pods of a, then those of b not in a (by reference).
func unionPods(a, b []netpol.Pod) []netpol.Pod {
	out := slices.Clone(a)
	seen := map[netpol.PodRef]bool{}
	for _, p := range a {
		seen[p.Ref()] = true
	}
	for _, p := range b {
		if !seen[p.Ref()] {
			seen[p.Ref()] = true
			out = append(out, p)
		}
	}
	return out
}

// sideMatrix evaluates the namespaces and policies of m over pods, and drops
// the connections of pods whose namespace exists only on the other side:
// owned there and not in m, so created or deleted by the change.
func sideMatrix(m Model, pods []netpol.Pod, ports []netpol.PortProto, otherOwned []string) (*netpol.Evaluator, netpol.Matrix, error) {
	c := m.Cluster
	c.Pods = pods
	ev, err := netpol.NewEvaluator(c)
	if err != nil {
		return nil, netpol.Matrix{}, err
	}
	mx, err := ev.Matrix(ports)
	if err != nil {
		return nil, netpol.Matrix{}, err
	}
	absent := map[string]bool{}
	for _, ns := range otherOwned {
		absent[ns] = !slices.Contains(m.Owned, ns)
	}
	kept := mx.Cases[:0]
	for _, c := range mx.Cases {
		if !absent[namespaceOf(c.From)] && !absent[namespaceOf(c.To)] {
			kept = append(kept, c)
		}
	}
	mx.Cases = kept
	return ev, mx, nil
}

func namespaceOf(ref string) string {
	ns, _, _ := strings.Cut(ref, "/")
	return ns
}

// deletedNamespace names the namespace of an end of c that the base owns
// and the head does not.
func deletedNamespace(c netpol.Change, base, head Model) string {
	ns := namespaceOf(c.From)
	if to := namespaceOf(c.To); slices.Contains(base.Owned, to) && !slices.Contains(head.Owned, to) {
		ns = to
	}
	return ns
}
