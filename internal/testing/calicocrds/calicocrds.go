// Package calicocrds gives tests the CustomResourceDefinitions kops installs
// with Calico: those of the Calico manifest template of the kops module
// tools/kops pins (its go.mod holds the version), from the module cache,
// downloaded through the Go module proxy on first use.
package calicocrds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
)

// TemplatePath is the Calico manifest template in the kops module.
const TemplatePath = "upup/models/cloudup/resources/addons/networking.projectcalico.org/k8s-1.25.yaml.template"

var (
	once    sync.Once
	crds    []*unstructured.Unstructured
	loadErr error
)

// All returns every CustomResourceDefinition of the template, in its order.
// The objects are shared: copy one before changing it.
func All(t testing.TB) []*unstructured.Unstructured {
	t.Helper()
	once.Do(func() { crds, loadErr = load() })
	if loadErr != nil {
		t.Fatal(loadErr)
	}
	return crds
}

// Find returns the CustomResourceDefinition named name
// (adminnetworkpolicies.policy.networking.k8s.io).
func Find(t testing.TB, name string) *unstructured.Unstructured {
	t.Helper()
	for _, c := range All(t) {
		if c.GetName() == name {
			return c
		}
	}
	t.Fatalf("%s does not install the CRD %s", TemplatePath, name)
	return nil
}

// Schema returns the openAPIV3Schema of version (v1alpha1) of crd.
func Schema(t testing.TB, crd *unstructured.Unstructured, version string) map[string]any {
	t.Helper()
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		v, _ := v.(map[string]any)
		if v["name"] != version {
			continue
		}
		if schema, ok, _ := unstructured.NestedMap(v, "schema", "openAPIV3Schema"); ok {
			return schema
		}
	}
	t.Fatalf("the CRD %s has no openAPIV3Schema for version %s", crd.GetName(), version)
	return nil
}

// load reads the template of the pinned kops module and decodes its CRDs.
func load() ([]*unstructured.Unstructured, error) {
	dir, err := kopsModuleDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, TemplatePath)
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for i, doc := range strings.Split(string(text), "\n---\n") {
		if !strings.Contains(doc, "\nkind: CustomResourceDefinition\n") {
			continue
		}
		if strings.Contains(doc, "{{") {
			return nil, fmt.Errorf("%s: document %d, a CRD, holds template actions; render it before decoding", path, i+1)
		}
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, fmt.Errorf("%s: document %d: %v", path, i+1, err)
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no CustomResourceDefinition", path)
	}
	return out, nil
}

// kopsModuleDir is the directory of the kops module at the version
// tools/kops/go.mod requires, downloaded when not cached.
func kopsModuleDir() (string, error) {
	root, err := controlplane.RepoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("go", "mod", "download", "-json", "k8s.io/kops")
	cmd.Dir = filepath.Join(root, "tools", "kops")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var mod struct{ Version, Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || runErr != nil || mod.Error != "" || mod.Dir == "" {
		return "", fmt.Errorf("locating the kops module tools/kops pins (go mod download -json k8s.io/kops in %s): %v %s %s", cmd.Dir, runErr, mod.Error, stderr.String())
	}
	return mod.Dir, nil
}
