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
// yaml` printed. A zone of the cluster that no Node group covers (its group
// was deleted behind the program's back) gets one again, `nodes-<zone>` as
// kops names it, cloned from another Node group. The node count is spread
// over the Node groups the way `kops create cluster` spreads it over zones,
// but only when their total differs, so an operator's uneven split is kept.
// The control-plane count cannot be changed this way (etcd membership): a
// difference is an error.
func ReconcileInstanceGroups(in []byte, d Desired) (IGConversion, error) {
	type ig struct {
		obj  map[string]any
		spec map[string]any
		name string
		role string
		raw  []byte
	}
	var all []*ig
	for _, doc := range SplitDocuments(in) {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return IGConversion{}, fmt.Errorf("parse kops instance groups: %w", err)
		}
		if kind, _ := obj["kind"].(string); kind != "InstanceGroup" {
			continue
		}
		meta, _ := obj["metadata"].(map[string]any)
		spec, _ := obj["spec"].(map[string]any)
		if spec == nil {
			spec = map[string]any{}
			obj["spec"] = spec
		}
		name, _ := meta["name"].(string)
		role, _ := spec["role"].(string)
		all = append(all, &ig{obj: obj, spec: spec, name: name, role: role, raw: doc})
	}
	if len(all) == 0 {
		return IGConversion{}, fmt.Errorf("kops cluster %s has no instance groups", d.Name)
	}
	var conv IGConversion
	changed := map[*ig]bool{}
	var nodes []*ig
	cpTotal := 0
	for _, g := range all {
		switch {
		case isControlPlaneRole(g.role):
			cpTotal += intOf(g.spec["minSize"])
			if d.ControlPlaneSize != "" && g.spec["machineType"] != d.ControlPlaneSize {
				conv.Changes = append(conv.Changes, fmt.Sprintf("instancegroup %s: machineType %v -> %s", g.name, g.spec["machineType"], d.ControlPlaneSize))
				g.spec["machineType"] = d.ControlPlaneSize
				changed[g] = true
			}
		case g.role == "Node":
			nodes = append(nodes, g)
			if d.NodeSize != "" && g.spec["machineType"] != d.NodeSize {
				conv.Changes = append(conv.Changes, fmt.Sprintf("instancegroup %s: machineType %v -> %s", g.name, g.spec["machineType"], d.NodeSize))
				g.spec["machineType"] = d.NodeSize
				changed[g] = true
			}
		}
	}
	if cpTotal != d.ControlPlaneCount {
		return IGConversion{}, fmt.Errorf("kops cluster %[1]s runs %[2]d control-plane nodes and %[3]s is %[4]d: "+
			"changing the control-plane count means changing etcd membership, which this program does not do; set %[3]s to %[2]d, or follow the kops docs (operations/etcd_administration) by hand",
			d.Name, cpTotal, config.FullKey(config.KeyControlPlaneCount), d.ControlPlaneCount)
	}
	if len(nodes) == 0 {
		return IGConversion{}, fmt.Errorf("kops cluster %s has no Node instance group to run %s=%d workers; create one with `kops create instancegroup`", d.Name, config.FullKey(config.KeyNodeCount), d.NodeCount)
	}
	covered := map[string]bool{}
	for _, g := range nodes {
		for _, z := range toStrings(g.spec["subnets"]) {
			covered[z] = true
		}
	}
	restored := map[*ig]bool{}
	for _, zone := range d.Zones {
		if covered[zone] {
			continue
		}
		obj, err := cloneInstanceGroup(nodes[0].obj, "nodes-"+zone, zone)
		if err != nil {
			return IGConversion{}, err
		}
		g := &ig{obj: obj, spec: obj["spec"].(map[string]any), name: "nodes-" + zone, role: "Node"}
		nodes = append(nodes, g)
		all = append(all, g)
		restored[g] = true
		conv.Changes = append(conv.Changes, fmt.Sprintf("instancegroup %s: restored for zone %s (from %s)", g.name, zone, nodes[0].name))
	}
	total, balanced := 0, true
	for _, g := range nodes {
		min, max := intOf(g.spec["minSize"]), intOf(g.spec["maxSize"])
		total += min
		if min != max {
			balanced = false
		}
	}
	if total != d.NodeCount || !balanced {
		per, rem := d.NodeCount/len(nodes), d.NodeCount%len(nodes)
		for i, g := range nodes {
			n := per
			if i < rem {
				n++
			}
			if intOf(g.spec["minSize"]) != n || intOf(g.spec["maxSize"]) != n {
				conv.Changes = append(conv.Changes, fmt.Sprintf("instancegroup %s: size %d..%d -> %d", g.name, intOf(g.spec["minSize"]), intOf(g.spec["maxSize"]), n))
				g.spec["minSize"] = n
				g.spec["maxSize"] = n
				changed[g] = true
			}
		}
	}
	var replaced, created [][]byte
	for _, g := range all {
		if !changed[g] && !restored[g] {
			continue
		}
		b, err := yaml.Marshal(g.obj)
		if err != nil {
			return IGConversion{}, fmt.Errorf("render instance group %s: %w", g.name, err)
		}
		if restored[g] {
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
