package kops

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
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
	Create  []byte   // InstanceGroups to create, for `kops replace --force -f -`
	Delete  []string // groups to delete (`kops delete instancegroup`)
	Changes []string // one line per change; empty: nothing to write
	names   []string // of the created groups
}

// Changed reports whether some instance group needs writing.
func (c IGConversion) Changed() bool { return len(c.Changes) > 0 }

// CreatedNames names the instance groups in Create.
func (c IGConversion) CreatedNames() []string { return c.names }

func isControlPlaneRole(role string) bool {
	return role == "Master" || role == "ControlPlane" || role == "APIServer"
}

// DeclaredAnnotation marks an instance group written from
// kopscalico:instanceGroups: only a marked group is ever deleted, and only
// when allowInstanceGroupRemoval names it.
const DeclaredAnnotation = "kopscalico.io/declared-by"

// ReconcileInstanceGroups sets the desired cluster on the instance groups
// `kops get instancegroups -o yaml` printed, section by section
// (groupSections). The Node groups it drives are either the shorthand's
// (nodeCount and nodeSize over the groups `kops create cluster` names:
// nodes, nodes-<zone>; a zone without one gets it again, cloned) or,
// when d.InstanceGroups is set, exactly the declared ones. Any other group
// is never rewritten. The control-plane count cannot be changed this way
// (etcd membership): a difference is an error.
func ReconcileInstanceGroups(in []byte, d Desired) (IGConversion, error) {
	r, err := parseInstanceGroups(in, d)
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

// UndeclaredInstanceGroups names the groups the desired cluster leaves as
// they are: neither control plane nor driven by the shorthand or the list.
func UndeclaredInstanceGroups(in []byte, d Desired) ([]string, error) {
	if len(SplitDocuments(in)) == 0 {
		return nil, nil
	}
	r, err := parseInstanceGroups(in, d)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range r.all {
		if !isControlPlaneRole(g.role) && !r.drives(g) {
			out = append(out, g.name)
		}
	}
	return out, nil
}

// groupSections are the rewrites of the instance groups, in order.
var groupSections = []func(*igRewrite, Desired) error{
	(*igRewrite).controlPlaneSize,
	(*igRewrite).controlPlaneCount,
	(*igRewrite).shorthand,
	(*igRewrite).declared,
	(*igRewrite).removals,
}

// instanceGroup is one InstanceGroup object, held as parsed YAML so every
// field the program does not set is kept.
type instanceGroup struct {
	obj, spec  map[string]any
	name, role string
	changed    bool // an existing group to replace
	created    bool // a group to create
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

// declaredMark is the group's DeclaredAnnotation, "" for none.
func (g *instanceGroup) declaredMark() string {
	meta, _ := g.obj["metadata"].(map[string]any)
	annotations, _ := meta["annotations"].(map[string]any)
	v, _ := annotations[DeclaredAnnotation].(string)
	return v
}

// igRewrite is a cluster's instance groups being rewritten: each section
// sets fields of the groups and says what it changed.
type igRewrite struct {
	all           []*instanceGroup // in the order kops printed them, created ones last
	nodes         []*instanceGroup // the Node groups the shorthand drives (nil with the list)
	other         []*instanceGroup // the other Node groups
	list          bool             // the desired cluster declares its groups
	declaredNames map[string]bool
	zones         []string
	deletes       []string
	changes       []string
}

// parseInstanceGroups reads the InstanceGroup documents of a stream.
func parseInstanceGroups(in []byte, d Desired) (*igRewrite, error) {
	r := &igRewrite{list: d.InstanceGroups != nil, declaredNames: map[string]bool{}}
	for _, g := range d.InstanceGroups {
		r.declaredNames[g.Name] = true
	}
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
		return nil, fmt.Errorf("kops cluster %s has no instance groups", d.Name)
	}
	return r, nil
}

func (r *igRewrite) add(g *instanceGroup) {
	r.all = append(r.all, g)
	switch {
	case g.role != "Node":
	case !r.list && IsShorthandGroup(g.name, toStrings(g.spec["subnets"])):
		r.nodes = append(r.nodes, g)
	default:
		r.other = append(r.other, g)
	}
}

// drives reports whether the desired cluster sets g's fields: a group of
// the shorthand, or one the list declares.
func (r *igRewrite) drives(g *instanceGroup) bool {
	return slices.Contains(r.nodes, g) || r.declaredNames[g.name]
}

// IsShorthandGroup reports whether a Node group is one `kops create
// cluster` makes, which nodeCount and nodeSize drive: nodes (before kops
// 1.8), or nodes-<zone> in that zone's subnet.
func IsShorthandGroup(name string, subnets []string) bool {
	return name == "nodes" || len(subnets) == 1 && name == "nodes-"+subnets[0]
}

func (r *igRewrite) changef(format string, args ...any) {
	r.changes = append(r.changes, fmt.Sprintf(format, args...))
}

// setMachineType sets a group's machine type.
func (r *igRewrite) setMachineType(g *instanceGroup, want string) {
	if want != "" && g.spec["machineType"] != want {
		r.changef("instancegroup %s: machineType %v -> %s", g.name, g.spec["machineType"], want)
		g.spec["machineType"] = want
		g.changed = true
	}
}

// controlPlaneSize sets controlPlaneSize on the control-plane groups.
func (r *igRewrite) controlPlaneSize(d Desired) error {
	for _, g := range r.all {
		if isControlPlaneRole(g.role) {
			r.setMachineType(g, d.ControlPlaneSize)
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

// shorthand, without the list: nodeSize and nodeCount on the groups `kops
// create cluster` made, the group of a zone left without one created again
// from another.
func (r *igRewrite) shorthand(d Desired) error {
	if r.list {
		return nil
	}
	if len(r.nodes) == 0 {
		if len(r.other) > 0 {
			return fmt.Errorf("kops cluster %s has Node groups (%s) but none `kops create cluster` names (nodes, nodes-<zone>), so %s does not say which to size: declare the groups to drive in %s; the others are left as they are",
				d.Name, strings.Join(names(r.other), ", "), config.FullKey(config.KeyNodeCount), config.FullKey(config.KeyInstanceGroups))
		}
		return fmt.Errorf("kops cluster %s has no Node instance group to run %s=%d workers; create one with `kops create instancegroup`", d.Name, config.FullKey(config.KeyNodeCount), d.NodeCount)
	}
	for _, g := range r.nodes {
		r.setMachineType(g, nodeMachineType(d))
	}
	if err := r.restoreZones(d); err != nil {
		return err
	}
	for i, n := range nodeSizes(r.nodes, d) {
		r.setSize(r.nodes[i], n, n)
	}
	return nil
}

func (r *igRewrite) setSize(g *instanceGroup, min, max int) {
	if was, wasMax := intOf(g.spec["minSize"]), intOf(g.spec["maxSize"]); was != min || wasMax != max {
		r.changef("instancegroup %s: size %d..%d -> %s", g.name, was, wasMax, sizeRange(min, max))
		g.spec["minSize"] = min
		g.spec["maxSize"] = max
		g.changed = true
	}
}

func sizeRange(min, max int) string {
	if min == max {
		return fmt.Sprint(min)
	}
	return fmt.Sprintf("%d..%d", min, max)
}

func names(gs []*instanceGroup) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.name
	}
	return out
}

// restoreZones creates again, from the first shorthand group, the group of
// each zone no shorthand group covers.
func (r *igRewrite) restoreZones(d Desired) error {
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
		g.created = true
		r.add(g)
		r.changef("instancegroup %s: restored for zone %s (from %s)", g.name, zone, from.name)
	}
	return nil
}

// The Node groups as the desired cluster asks for them: nodeMachineType and
// nodeSizes are the one place they are derived from the shorthand (nodeSize
// and nodeCount over the groups `kops create cluster` made).

// nodeMachineType is the machine type of every shorthand group; "" keeps
// each group's own.
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
// created ones for `kops replace --force`, the ones to delete.
func (r *igRewrite) render() (IGConversion, error) {
	conv := IGConversion{Changes: r.changes, Delete: r.deletes}
	var replaced, created [][]byte
	for _, g := range r.all {
		if !g.changed && !g.created {
			continue
		}
		b, err := yaml.Marshal(g.obj)
		if err != nil {
			return IGConversion{}, fmt.Errorf("render instance group %s: %w", g.name, err)
		}
		if g.created {
			created = append(created, b)
			conv.names = append(conv.names, g.name)
		} else {
			replaced = append(replaced, b)
		}
	}
	conv.YAML = JoinDocuments(replaced)
	conv.Create = JoinDocuments(created)
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
