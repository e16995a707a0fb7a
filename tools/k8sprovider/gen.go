//go:build ignore

// gen writes schema-embed.json and terraform-mapping-embed.json for main.go
// from the provider module's cmd/pulumi-resource-kubernetes sources, with the
// schema's version set (like the upstream generate.go, without its imports).
// Usage: go run gen.go <module dir> <version>
package main

import (
	"bytes"
	"encoding/json"
	"log"
	"os"
	"path/filepath"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: go run gen.go <provider module dir> <version>")
	}
	src := filepath.Join(os.Args[1], "cmd", "pulumi-resource-kubernetes")
	version := os.Args[2]

	raw, err := os.ReadFile(filepath.Join(src, "schema.json"))
	if err != nil {
		log.Fatal(err)
	}
	var schema map[string]json.RawMessage
	if err := json.Unmarshal(raw, &schema); err != nil {
		log.Fatalf("schema.json: %v", err)
	}
	v, _ := json.Marshal(version)
	schema["version"] = v
	out, err := json.Marshal(schema)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("schema-embed.json", out, 0o644); err != nil {
		log.Fatal(err)
	}

	raw, err = os.ReadFile(filepath.Join(src, "terraform-mapping.json"))
	if err != nil {
		log.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		log.Fatalf("terraform-mapping.json: %v", err)
	}
	if err := os.WriteFile("terraform-mapping-embed.json", compact.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
