package kops

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/internal/config"
)

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// SplitDocuments splits a multi-document YAML stream (as `kops get ig -o
// yaml` prints it) into its non-empty documents.
func SplitDocuments(in []byte) [][]byte {
	var docs [][]byte
	for _, d := range docSeparator.Split(string(in), -1) {
		if strings.TrimSpace(d) != "" {
			docs = append(docs, []byte(strings.TrimLeft(d, "\n")))
		}
	}
	return docs
}

// JoinDocuments joins YAML documents the way kops prints them.
func JoinDocuments(docs [][]byte) []byte {
	var b bytes.Buffer
	for i, d := range docs {
		if i > 0 {
			b.WriteString("\n---\n\n")
		}
		b.Write(d)
	}
	return b.Bytes()
}

// IGConversion is the result of reconciling instance groups.
type IGConversion struct {
	YAML    []byte   // the changed existing InstanceGroup documents, for `kops replace -f -`
	Restore []byte   // InstanceGroups to create again, for `kops replace --force -f -`
	Changes []string // one line per change; empty: nothing to write
	names   []string // of the restored groups
}

// Changed reports whether some instance group needs writing.
func (c IGConversion) Changed() bool { return len(c.Changes) > 0 }

// RestoredNames names the instance groups in Restore.
func (c IGConversion) RestoredNames() []string { return c.names }

func isControlPlaneRole(role string) bool {
	return role == "Master" || role == "ControlPlane" || role == "APIServer"
}

// ReconcileInstanceGroups sets the worker count and the instance types of
// the desired cluster on the instance groups `kops get instancegroups -o
// yaml` printed, section by section (groupSections). A zone of the cluster
// that no Node group covers (its group was deleted behind the program's
// back) gets one again, `nodes-<zone>` as kops names it, cloned from another
// Node group. The control-plane count cannot be changed this way (etcd
// membership): a difference is an error.
func ReconcileInstanceGroups(in []byte, d Desired) (IGConversion, error) {
	r, err := parseInstanceGroups(in, d.Name)
	if err != nil {
		return IGConversion{}, err
	}
	for _, section := range groupSections {
		if err := section(r, d); err != nil {
			return IGConversion{}, err
		}
	}
	return r.render()
}

// groupSections are the rewrites of the instance groups, in order.
var groupSections = []func(*igRewrite, Desired) error{
	(*igRewrite).machineTypes,
	(*igRewrite).controlPlaneCount,
	(*igRewrite).restoreZones,
	(*igRewrite).nodeCount,
}

// instanceGroup is one InstanceGroup object, held as parsed YAML so every
// field the program does not set is kept.
type instanceGroup struct {
	obj, spec  map[string]any
	name, role string
	changed    bool // an existing group to replace
	restored   bool // a group to create again
}

func newInstanceGroup(obj map[string]any) *instanceGroup {
	meta, _ := obj["metadata"].(map[string]any)
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		spec = map[string]any{}
		obj["spec"] = spec
	}
	g := &instanceGroup{obj: obj, spec: spec}
	g.name, _ = meta["name"].(string)
	g.role, _ = spec["role"].(string)
	return g
}

// igRewrite is a cluster's instance groups being rewritten: each section
// sets fields of the groups and says what it changed.
type igRewrite struct {
	all     []*instanceGroup // in the order kops printed them, restored ones last
	nodes   []*instanceGroup // the Node groups of all
	changes []string
}

// parseInstanceGroups reads the InstanceGroup documents of a stream.
func parseInstanceGroups(in []byte, cluster string) (*igRewrite, error) {
	r := &igRewrite{}
	for _, doc := range SplitDocuments(in) {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, fmt.Errorf("parse kops instance groups: %w", err)
		}
		if kind, _ := obj["kind"].(string); kind == "InstanceGroup" {
			r.add(newInstanceGroup(obj))
		}
	}
	if len(r.all) == 0 {
		return nil, fmt.Errorf("kops cluster %s has no instance groups", cluster)
	}
	return r, nil
}

func (r *igRewrite) add(g *instanceGroup) {
	r.all = append(r.all, g)
	if g.role == "Node" {
		r.nodes = append(r.nodes, g)
	}
}

func (r *igRewrite) changef(format string, args ...any) {
	r.changes = append(r.changes, fmt.Sprintf(format, args...))
}

// machineTypes sets controlPlaneSize on the control-plane groups and the
// Node groups' machine type on theirs.
func (r *igRewrite) machineTypes(d Desired) error {
	for _, g := range r.all {
		want := ""
		switch {
		case isControlPlaneRole(g.role):
			want = d.ControlPlaneSize
		case g.role == "Node":
			want = nodeMachineType(d)
		}
		if want != "" && g.spec["machineType"] != want {
			r.changef("instancegroup %s: machineType %v -> %s", g.name, g.spec["machineType"], want)
			g.spec["machineType"] = want
			g.changed = true
		}
	}
	return nil
}

// controlPlaneCount refuses a control-plane count other than the groups'.
func (r *igRewrite) controlPlaneCount(d Desired) error {
	total := 0
	for _, g := range r.all {
		if isControlPlaneRole(g.role) {
			total += intOf(g.spec["minSize"])
		}
	}
	if total != d.ControlPlaneCount {
		return fmt.Errorf("kops cluster %[1]s runs %[2]d control-plane nodes and %[3]s is %[4]d: "+
			"changing the control-plane count means changing etcd membership, which this program does not do; set %[3]s to %[2]d, or follow the kops docs (operations/etcd_administration) by hand",
			d.Name, total, config.FullKey(config.KeyControlPlaneCount), d.ControlPlaneCount)
	}
	return nil
}

// restoreZones creates again, from the first Node group, the Node group of
// each zone no Node group covers.
func (r *igRewrite) restoreZones(d Desired) error {
	if len(r.nodes) == 0 {
		return fmt.Errorf("kops cluster %s has no Node instance group to run %s=%d workers; create one with `kops create instancegroup`", d.Name, config.FullKey(config.KeyNodeCount), d.NodeCount)
	}
	covered := map[string]bool{}
	for _, g := range r.nodes {
		for _, z := range toStrings(g.spec["subnets"]) {
			covered[z] = true
		}
	}
	from := r.nodes[0]
	for _, zone := range d.Zones {
		if covered[zone] {
			continue
		}
		obj, err := cloneInstanceGroup(from.obj, "nodes-"+zone, zone)
		if err != nil {
			return err
		}
		g := newInstanceGroup(obj)
		g.restored = true
		r.add(g)
		r.changef("instancegroup %s: restored for zone %s (from %s)", g.name, zone, from.name)
	}
	return nil
}

// nodeCount sets the Node groups' sizes.
func (r *igRewrite) nodeCount(d Desired) error {
	for i, n := range nodeSizes(r.nodes, d) {
		g := r.nodes[i]
		if min, max := intOf(g.spec["minSize"]), intOf(g.spec["maxSize"]); min != n || max != n {
			r.changef("instancegroup %s: size %d..%d -> %d", g.name, min, max, n)
			g.spec["minSize"] = n
			g.spec["maxSize"] = n
			g.changed = true
		}
	}
	return nil
}

// The Node groups as the desired cluster asks for them: nodeMachineType and
// nodeSizes are the one place they are derived from it (nodeSize and
// nodeCount, flattened over every Node group).

// nodeMachineType is the machine type of every Node group; "" keeps each
// group's own.
func nodeMachineType(d Desired) string { return d.NodeSize }

// nodeSizes spreads nodeCount over the Node groups the way `kops create
// cluster` spreads it over zones, but only when their total differs or a
// group's min and max differ, so an operator's uneven split is kept; nil
// keeps every size.
func nodeSizes(nodes []*instanceGroup, d Desired) []int {
	total, balanced := 0, true
	for _, g := range nodes {
		min, max := intOf(g.spec["minSize"]), intOf(g.spec["maxSize"])
		total += min
		balanced = balanced && min == max
	}
	if total == d.NodeCount && balanced {
		return nil
	}
	sizes := make([]int, len(nodes))
	per, rem := d.NodeCount/len(nodes), d.NodeCount%len(nodes)
	for i := range sizes {
		sizes[i] = per
		if i < rem {
			sizes[i]++
		}
	}
	return sizes
}

// render is the conversion: the changed groups for `kops replace`, the
// restored ones for `kops replace --force`.
func (r *igRewrite) render() (IGConversion, error) {
	conv := IGConversion{Changes: r.changes}
	var replaced, created [][]byte
	for _, g := range r.all {
		if !g.changed && !g.restored {
			continue
		}
		b, err := yaml.Marshal(g.obj)
		if err != nil {
			return IGConversion{}, fmt.Errorf("render instance group %s: %w", g.name, err)
		}
		if g.restored {
			created = append(created, b)
			conv.names = append(conv.names, g.name)
		} else {
			replaced = append(replaced, b)
		}
	}
	conv.YAML = JoinDocuments(replaced)
	conv.Restore = JoinDocuments(created)
	return conv, nil
}

// igLabel is the node label kops sets to the instance group's name.
const igLabel = "kops.k8s.io/instancegroup"

// cloneInstanceGroup copies an InstanceGroup under a new name for one zone,
// without the fields the state store assigns.
func cloneInstanceGroup(src map[string]any, name, zone string) (map[string]any, error) {
	b, err := yaml.Marshal(src)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := yaml.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	for _, k := range []string{"creationTimestamp", "generation", "uid", "resourceVersion"} {
		delete(meta, k)
	}
	meta["name"] = name
	spec, _ := obj["spec"].(map[string]any)
	spec["subnets"] = []any{zone}
	// kops labels a group's nodes with the group's name; a copied label
	// would put the new nodes in the old group.
	if labels, ok := spec["nodeLabels"].(map[string]any); ok {
		if _, set := labels[igLabel]; set {
			labels[igLabel] = name
		}
	}
	return obj, nil
}

func intOf(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	}
	return 0
}
