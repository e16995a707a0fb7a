package policies

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"

	yamlv3 "go.yaml.in/yaml/v3"
)

// Budgets of one policy file: hand-written policies take a few kilobytes
// each, and the loader holds each file and its objects in memory.
const (
	maxFileSize      = 1 << 20
	maxDocuments     = 1000 // each costs the YAML parsers some 20 KB
	maxProblemsShown = 100  // lines of problems listed per file
)

// readFile reads the file name of fsys (path in messages, e its entry), of at
// most maxFileSize bytes: its size is checked before reading, and the reading
// stops past the limit, so that a file growing meanwhile is cut short too.
func readFile(fsys fs.FS, name, path string, e fs.DirEntry) ([]byte, error) {
	tooLarge := fmt.Errorf("%q: over 1 MiB, more than a policy file may hold; split it into smaller files", path)
	if info, err := e.Info(); err == nil && info.Size() > maxFileSize {
		return nil, tooLarge
	}
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w; make the file readable", path, pathErrorCause(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("read %q: %w; make the file readable", path, pathErrorCause(err))
	case len(data) > maxFileSize:
		return nil, tooLarge
	}
	return data, nil
}

// checkNodes parses doc into YAML nodes, which leaves aliases unexpanded, and
// refuses any anchor or alias (expanded, a few kilobytes of aliases make
// gigabytes of objects) and repeated keys, before any decoding.
func checkNodes(doc []byte) error {
	const fix = "anchors and aliases are not accepted (a few kilobytes of aliases can expand to gigabytes); write the values out in full"
	dec := yamlv3.NewDecoder(bytes.NewReader(doc))
	for {
		var root yamlv3.Node
		if err := dec.Decode(&root); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("not YAML: %w", oneLine(err))
		}
		for stack := []*yamlv3.Node{&root}; len(stack) > 0; {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch {
			case n.Kind == yamlv3.AliasNode:
				return fmt.Errorf("line %d: YAML alias *%s: %s", n.Line, n.Value, fix)
			case n.Anchor != "":
				return fmt.Errorf("line %d: YAML anchor &%s: %s", n.Line, n.Anchor, fix)
			case n.Kind == yamlv3.MappingNode:
				if k := repeatedKey(n); k != nil {
					return fmt.Errorf("line %d: key %q is repeated; keep one", k.Line, k.Value)
				}
			}
			for i := len(n.Content) - 1; i >= 0; i-- { // the first in the file first
				stack = append(stack, n.Content[i])
			}
		}
	}
}

// repeatedKey returns the second of two equal scalar keys of a mapping, or nil.
func repeatedKey(mapping *yamlv3.Node) *yamlv3.Node {
	seen := make(map[string]bool, len(mapping.Content)/2)
	for i := 0; i < len(mapping.Content); i += 2 {
		k := mapping.Content[i]
		if k.Kind != yamlv3.ScalarNode {
			continue
		}
		if seen[k.Value] {
			return k
		}
		seen[k.Value] = true
	}
	return nil
}
