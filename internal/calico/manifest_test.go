package calico

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

func TestLoadManifest(t *testing.T) {
	t.Parallel()
	p := testfs.Temp(t, "calico.yaml", `# Calico for a networking: cni cluster
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: calico-node
  namespace: kube-system
---
# only a comment
---
apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata: {name: calico-node}
  rules: []
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: calico-node, namespace: kube-system}
---
`)
	objs, err := LoadManifest(p)
	if err != nil {
		t.Fatal(err)
	}
	got := refs(objs)
	if len(got) != 3 || got[0].kind != "ServiceAccount" || got[1].kind != "ClusterRole" || got[2] != (ref{"apps/v1", "DaemonSet", "kube-system", "calico-node"}) {
		t.Errorf("objects = %v", got)
	}
}

func TestLoadManifestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, content, want string }{
		{"bad yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: [\n", "document 2 (line 5)"},
		{"no kind", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\nmetadata: {name: b}\n", "document 2 (line 6): not a Kubernetes object"},
		{"no name", "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: a-}\n", "document 1 (line 1): v1 ConfigMap has no metadata.name"},
		{"list item", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n- kind: ConfigMap\n", "document 1 (line 1), item 2"},
		{"empty", "# nothing\n---\n", "no Kubernetes objects"},
	}
	for _, tt := range tests {
		p := testfs.Temp(t, "calico.yaml", tt.content)
		_, err := LoadManifest(p)
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to name %s and %q", tt.name, err, p, tt.want)
		}
	}
	if _, err := LoadManifest(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestSplitDocuments(t *testing.T) {
	t.Parallel()
	objs, err := ParseManifest("x.yaml", []byte("--- # first\r\napiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: a\r\ndata:\r\n  text: |\r\n    ---\r\n    not a separator\r\n...\r\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 || get(t, objs[0], "data", "text") != "---\nnot a separator\n" || get(t, objs[1], "metadata", "name") != "b" {
		t.Errorf("objects = %v", objs)
	}
}
