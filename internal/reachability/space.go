package reachability

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kopscalico/kopscalico/internal/netpol"
)

// MaxEndpoints bounds the classes of a space: past it the model stops with
// an error instead of growing without end.
const MaxEndpoints = 50_000

// Space is the classes of one or more trees (a diff's base and head share
// one): its endpoints, port classes and address classes.
type Space struct {
	endpoints []endpoint
	byName    map[string]int
	// namespaces are the namespace classes, each with its pod endpoints.
	namespaces []nsClass
	ports      *line[portPoint]
	addrs      *line[netip.Addr]
	// sets index the port and address sets of the trees' rules.
	portSet map[string]int
	addrSet map[string]int
}

// podCIDRSet is the pod CIDR's index among the address sets: the first.
const podCIDRSet = 0

// nsClass is a declared namespace, or a class of the others.
type nsClass struct {
	name     string // a declared namespace's name, or "" for a class of others
	display  string
	labels   []map[string]string // per side; a class of others has the same on each
	space    *labelSpace         // for a class of others: its boxes, in this space
	boxes    []box
	members  []int // pod endpoints
	declared bool
}

// endpoint is a class of pods of one namespace class, a known pod, or a
// class of outside addresses.
type endpoint struct {
	name      string
	ns        int // namespace class; -1 for outside addresses
	labels    map[string]string
	ports     []corev1.ContainerPort // a known pod's; classes have none known
	known     bool
	addrClass int
	addr      netip.Addr // a member address (a pod's IP, or an outside address)
	// space and boxes are a pod class's label sets (nil for known pods and
	// addresses).
	space *labelSpace
	boxes []box
}

// newSpace partitions what the policies of every model tell apart.
func newSpace(models []Model, sides [][]policy) (*Space, error) {
	sp := &Space{byName: map[string]int{}, portSet: map[string]int{}, addrSet: map[string]int{}}
	podCIDR := models[0].PodCIDR

	// Address and port sets of every rule, and the known pods' ports.
	var addrSets [][]span[netip.Addr]
	addAddr := func(s []span[netip.Addr]) {
		k := fmt.Sprint(s)
		if _, ok := sp.addrSet[k]; !ok {
			sp.addrSet[k] = len(addrSets)
			addrSets = append(addrSets, s)
		}
	}
	addAddr([]span[netip.Addr]{prefixSpan(podCIDR)}) // set podCIDRSet
	var portSets [][]span[portPoint]
	addPorts := func(s []span[portPoint]) {
		k := fmt.Sprint(s)
		if _, ok := sp.portSet[k]; !ok {
			sp.portSet[k] = len(portSets)
			portSets = append(portSets, s)
		}
	}
	for _, ps := range sides {
		for _, p := range ps {
			for _, rs := range p.rules {
				for _, r := range rs {
					for _, a := range r.addrs {
						addAddr(a)
					}
					if !r.allPorts && len(r.ports) > 0 {
						addPorts(r.ports)
					}
				}
			}
		}
	}
	known := knownPods(models)
	for _, p := range known {
		for _, cp := range p.Ports {
			addPorts([]span[portPoint]{portSpan(protocolOrTCP(cp.Protocol), cp.ContainerPort, cp.ContainerPort)})
		}
	}
	sp.addrs = cut(addressUniverse, addrSets)
	sp.ports = cut(everyPort(""), portSets)

	if err := sp.addNamespaces(models, sides); err != nil {
		return nil, err
	}
	if err := sp.addPods(sides, known); err != nil {
		return nil, err
	}
	// Outside: every address class not in the pod CIDR.
	inPods := sp.addrs.sets[podCIDRSet]
	for c, spans := range sp.addrs.classes {
		if inPods.has(c) {
			continue
		}
		sp.add(endpoint{name: netpol.OutsideNamespace + "/" + describeAddrs(spans, 3), ns: -1, addrClass: c, addr: spans[0].lo})
	}
	if len(sp.endpoints) > MaxEndpoints {
		return nil, fmt.Errorf("the policies tell apart %d classes of endpoints, over the %d the model allows; use fewer distinct selectors", len(sp.endpoints), MaxEndpoints)
	}
	return sp, nil
}

func (sp *Space) add(e endpoint) int {
	for base, n := e.name, 2; ; n++ {
		if _, dup := sp.byName[e.name]; !dup {
			break
		}
		e.name = fmt.Sprintf("%s#%d", base, n)
	}
	i := len(sp.endpoints)
	sp.byName[e.name] = i
	sp.endpoints = append(sp.endpoints, e)
	if e.ns >= 0 {
		sp.namespaces[e.ns].members = append(sp.namespaces[e.ns].members, i)
	}
	return i
}

// knownPods are the known pods of every model, by namespace and name.
func knownPods(models []Model) []netpol.Pod {
	seen := map[string]bool{}
	var out []netpol.Pod
	for _, m := range models {
		for _, p := range m.Cluster.Pods {
			if k := p.Namespace + "/" + p.Name; !seen[k] {
				seen[k] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// addNamespaces makes the namespace classes: the declared ones, then the
// classes of all others that the namespace selectors tell apart.
func (sp *Space) addNamespaces(models []Model, sides [][]policy) error {
	perSide := make([]map[string]map[string]string, len(models))
	declared := map[string]bool{}
	for i, m := range models {
		perSide[i] = m.namespaceLabels()
		for ns := range perSide[i] {
			declared[ns] = true
		}
	}
	for _, ns := range slices.Sorted(maps.Keys(declared)) {
		c := nsClass{name: ns, display: ns, declared: true}
		for i := range models {
			l := perSide[i][ns]
			if l == nil {
				l = map[string]string{corev1.LabelMetadataName: ns}
			}
			c.labels = append(c.labels, l)
		}
		sp.namespaces = append(sp.namespaces, c)
	}
	var sels []labels.Selector
	seen := map[string]bool{}
	for _, ps := range sides {
		for _, p := range ps {
			for _, s := range p.selectors() {
				if s.ns != nil && !seen[s.ns.String()] {
					seen[s.ns.String()] = true
					sels = append(sels, s.ns)
				}
			}
		}
	}
	names := slices.Sorted(maps.Keys(declared))
	ls := newLabelSpace(sels, map[string][]string{corev1.LabelMetadataName: names})
	start := ls.full()
	// Any other namespace has a name, and not a declared one.
	k := ls.index[corev1.LabelMetadataName]
	nameAtoms := newMask(ls.atoms(k))
	for a := 1; a < ls.atoms(k); a++ {
		if a > len(ls.values[k]) || !declared[ls.values[k][a-1]] {
			nameAtoms.set(a)
		}
	}
	start[k] = nameAtoms
	classes, err := ls.partition(start, sels, "namespaces other than the declared ones")
	if err != nil {
		return err
	}
	for _, cl := range classes {
		member := ls.member(cl[0])
		display := "[other ns]"
		d := ls.describe(cl[0], corev1.LabelMetadataName, len(cl) > 1)
		if name := cl[0][k].first(); name <= len(ls.values[k]) {
			d = strings.TrimSpace(ls.values[k][name-1] + " " + d)
		}
		if d != "" {
			display = "[ns " + d + "]"
		}
		c := nsClass{display: display, space: ls, boxes: cl}
		for range models {
			c.labels = append(c.labels, member)
		}
		sp.namespaces = append(sp.namespaces, c)
	}
	return nil
}

// selectors are the pod selectors of a policy: its subject and its peers.
func (p policy) selectors() []podSelector {
	out := []podSelector{p.subject}
	for _, rs := range p.rules {
		for _, r := range rs {
			out = append(out, r.pods...)
		}
	}
	return out
}

// reaches reports whether s can select pods of namespace class c on side i.
func (s podSelector) reaches(c nsClass, side int) bool {
	if s.ns == nil {
		return c.declared && c.name == s.namespace
	}
	return s.ns.Matches(labels.Set(c.labels[side]))
}

// addPods makes the pod classes of each namespace class from the selectors
// that reach it, the known pods, and splits them by pod address class when
// some ipBlock covers part of the pod CIDR.
func (sp *Space) addPods(sides [][]policy, known []netpol.Pod) error {
	var all []podSelector
	seen := map[string]bool{}
	for _, ps := range sides {
		for _, p := range ps {
			for _, s := range p.selectors() {
				if k := s.key(); !seen[k] && !s.pod.Empty() {
					seen[k] = true
					all = append(all, s)
				}
			}
		}
	}
	var podAddrs []int
	for c := range sp.addrs.classes {
		if sp.addrs.sets[podCIDRSet].has(c) {
			podAddrs = append(podAddrs, c)
		}
	}
	// Namespaces reached by the same selectors share one partition.
	type partition struct {
		ls      *labelSpace
		classes [][]box
	}
	cache := map[string]partition{}
	for ci := range sp.namespaces {
		c := sp.namespaces[ci]
		var sels []labels.Selector
		var keys []string
		for _, s := range all {
			for side := range c.labels {
				if s.reaches(c, side) {
					sels = append(sels, s.pod)
					keys = append(keys, s.pod.String())
					break
				}
			}
		}
		key := strings.Join(keys, "\x00")
		part, ok := cache[key]
		if !ok {
			part.ls = newLabelSpace(sels, nil)
			classes, err := part.ls.partition(part.ls.full(), sels, "pods of namespace "+c.display)
			if err != nil {
				return err
			}
			part.classes = classes
			cache[key] = part
		}
		for _, cl := range part.classes {
			d := part.ls.describe(cl[0], "", len(cl) > 1)
			if d == "" {
				d = "any pod"
			}
			for _, a := range podAddrs {
				name := c.display + "/[" + d + "]"
				if len(podAddrs) > 1 {
					name += "@" + describeAddrs(sp.addrs.classes[a], 2)
				}
				sp.add(endpoint{name: name, ns: ci, labels: part.ls.member(cl[0]), addrClass: a, addr: sp.addrs.classes[a][0].lo, space: part.ls, boxes: cl})
			}
			if len(sp.endpoints) > MaxEndpoints {
				return fmt.Errorf("the policies tell apart over %d classes of pods; use fewer distinct selectors", MaxEndpoints)
			}
		}
	}
	for _, p := range known {
		ci := slices.IndexFunc(sp.namespaces, func(c nsClass) bool { return c.declared && c.name == p.Namespace })
		addr := sp.addrs.classes[podAddrs[0]][0].lo
		if ip, err := netip.ParseAddr(p.IP); err == nil {
			addr = ip
		}
		sp.add(endpoint{name: p.Namespace + "/" + p.Name, ns: ci, labels: p.Labels, ports: p.Ports, known: true, addrClass: sp.addrs.class(addr), addr: addr})
	}
	return nil
}

// Endpoints returns the names of the endpoints.
func (sp *Space) Endpoints() []string {
	out := make([]string, len(sp.endpoints))
	for i, e := range sp.endpoints {
		out[i] = e.name
	}
	return out
}

// PortClasses returns each port class as text.
func (sp *Space) PortClasses() []string {
	out := make([]string, len(sp.ports.classes))
	for i, c := range sp.ports.classes {
		out[i] = describePorts(c)
	}
	return out
}
