package kops

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"
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
	YAML    []byte   // the changed InstanceGroup documents only, for `kops replace -f -`
	Changes []string // one line per change; empty: nothing to replace
}

// Changed reports whether some instance group needs a `kops replace`.
func (c IGConversion) Changed() bool { return len(c.Changes) > 0 }

func isControlPlaneRole(role string) bool {
	return role == "Master" || role == "ControlPlane" || role == "APIServer"
}

// ReconcileInstanceGroups sets the worker count and the instance types of
// the desired cluster on the instance groups `kops get instancegroups -o
// yaml` printed. The node count is spread over the Node groups the way `kops
// create cluster` spreads it over zones, but only when their total differs,
// so an operator's uneven split is kept. The control-plane count cannot be
// changed this way (etcd membership): a difference is an error.
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
		return IGConversion{}, fmt.Errorf("kops cluster %s runs %d control-plane nodes and kopscalico:controlPlaneCount is %d: "+
			"changing the control-plane count means changing etcd membership, which this program does not do; set kopscalico:controlPlaneCount to %d, or follow the kops docs (operations/etcd_administration) by hand",
			d.Name, cpTotal, d.ControlPlaneCount, cpTotal)
	}
	if len(nodes) == 0 {
		return IGConversion{}, fmt.Errorf("kops cluster %s has no Node instance group to run kopscalico:nodeCount=%d workers", d.Name, d.NodeCount)
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
	var docs [][]byte
	for _, g := range all {
		if !changed[g] {
			continue
		}
		b, err := yaml.Marshal(g.obj)
		if err != nil {
			return IGConversion{}, fmt.Errorf("render instance group %s: %w", g.name, err)
		}
		docs = append(docs, b)
	}
	conv.YAML = JoinDocuments(docs)
	return conv, nil
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
