// Package calico renders the tutorial's Calico upgrade manifest for a
// cluster, loads a Calico manifest given in config, and decides whether
// either applies to a cluster (it must not on modern kops, which owns Calico).
package calico

import (
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

// LoadManifest reads a multi-document YAML file of Kubernetes objects (the
// config's calicoManifestPath) into the map form deployObject takes. Errors
// name the file and the document (1-based).
func LoadManifest(path string) ([]map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("calico manifest: %w", err)
	}
	objs, err := ParseManifest(path, data)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 {
		return nil, fmt.Errorf("calico manifest %s: no Kubernetes objects in the file", path)
	}
	return objs, nil
}

// ParseManifest splits multi-document YAML and decodes each document; name
// is used in errors, which give the document's number (counting documents
// that hold something) and its first line. A kind: List is expanded into its
// items.
func ParseManifest(name string, data []byte) ([]map[string]any, error) {
	var out []map[string]any
	doc := 0
	for _, d := range splitDocuments(string(data)) {
		if isBlank(d.text) {
			continue
		}
		doc++
		where := fmt.Sprintf("%s: document %d (line %d)", name, doc, d.line)
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(d.text), &obj); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if obj == nil {
			continue
		}
		objs := []map[string]any{obj}
		list := false
		if kind, _ := obj["kind"].(string); strings.HasSuffix(kind, "List") && obj["items"] != nil {
			list = true
			var err error
			if objs, err = listItems(obj); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		}
		for i, o := range objs {
			if err := checkObject(o); err != nil {
				if list {
					return nil, fmt.Errorf("%s, item %d: %w", where, i+1, err)
				}
				return nil, fmt.Errorf("%s: %w", where, err)
			}
		}
		out = append(out, objs...)
	}
	return out, nil
}

type document struct {
	text string
	line int // 1-based line of the document's first line
}

// splitDocuments splits YAML at document separators: lines that are "---",
// optionally followed by a space and more ("--- # comment"). "..." ends a
// document too.
func splitDocuments(s string) []document {
	var docs []document
	var cur strings.Builder
	start := 1
	lines := strings.SplitAfter(s, "\n")
	for i, line := range lines {
		t := strings.TrimRight(line, "\r\n")
		if t == "---" || strings.HasPrefix(t, "--- ") || t == "..." {
			docs = append(docs, document{cur.String(), start})
			cur.Reset()
			start = i + 2
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, document{cur.String(), start})
}

func isBlank(doc string) bool {
	for _, line := range strings.Split(doc, "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") {
			return false
		}
	}
	return true
}

func listItems(list map[string]any) ([]map[string]any, error) {
	items, ok := list["items"].([]any)
	if !ok {
		return nil, fmt.Errorf("%s: items is not a list", list["kind"])
	}
	out := make([]map[string]any, 0, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: item %d is not an object", list["kind"], i+1)
		}
		out = append(out, m)
	}
	return out, nil
}

// checkObject makes sure an object can be registered: it needs apiVersion,
// kind and metadata.name.
func checkObject(obj map[string]any) error {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if apiVersion == "" || kind == "" {
		return fmt.Errorf("not a Kubernetes object: apiVersion and kind are required (got apiVersion=%q kind=%q)", apiVersion, kind)
	}
	meta, _ := obj["metadata"].(map[string]any)
	if name, _ := meta["name"].(string); name == "" {
		return fmt.Errorf("%s %s has no metadata.name (generateName is not supported: the object needs a stable identity)", apiVersion, kind)
	}
	return nil
}
