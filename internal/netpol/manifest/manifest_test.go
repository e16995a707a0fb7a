package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string]string{
		"ns.yaml": `# comment-only documents and empty ones are skipped
---
apiVersion: v1
kind: Namespace
metadata:
  name: x
  labels: {team: a}
---
---
apiVersion: v1
kind: Service
metadata: {name: ignored}
spec: {ports: [{port: 80}]}
`,
		"nested/apps.yml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: x}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{name: http, containerPort: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: "y", labels: {app: client}}
spec: {containers: [{name: c, image: busybox}]}
status: {podIP: 100.96.9.9}
`,
		"nested/list.yaml": `apiVersion: v1
kind: List
items:
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: deny, namespace: x}
  spec: {podSelector: {}}
`,
		"README.md":         "not yaml, ignored",
		".hidden/bad.yaml":  "kind: [",
		"_skipped/bad.yaml": "kind: [",
		"testdata/bad.yaml": "kind: [",
		"nested/notes.txt":  "ignored",
		"nested/empty.yaml": "",
	})
	o, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Namespaces) != 1 || len(o.Deployments) != 1 || len(o.Pods) != 1 || len(o.Policies) != 1 {
		t.Fatalf("loaded %d namespaces, %d deployments, %d pods, %d policies; want 1 each",
			len(o.Namespaces), len(o.Deployments), len(o.Pods), len(o.Policies))
	}
	c := o.Cluster()
	if len(c.Pods) != 2 {
		t.Fatalf("cluster pods: %+v", c.Pods)
	}
	byName := map[string]string{}
	for _, p := range c.Pods {
		byName[p.Ref().String()] = p.IP
	}
	if ip, ok := byName["x/web"]; !ok || ip != "" {
		t.Errorf("deployment pod: %v", byName)
	}
	if byName["y/client"] != "100.96.9.9" {
		t.Errorf("pod IP: %v", byName)
	}
	if o.Policies[0].Namespace != "x" || o.Namespaces[0].Labels["team"] != "a" {
		t.Errorf("decoded %+v %+v", o.Policies[0].ObjectMeta, o.Namespaces[0].ObjectMeta)
	}

	// A single file can be given too.
	o, err = Load(filepath.Join(dir, "nested", "list.yaml"))
	if err != nil || len(o.Policies) != 1 {
		t.Errorf("Load(file) = %+v, %v", o, err)
	}
}

func TestLoadErrorsNameTheFileAndDocument(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string
	}{
		{"unknown field", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podselector: {}}\n",
			[]string{"bad.yaml: document 1", "NetworkPolicy p", "podselector"}},
		{"repeated field", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\nmetadata: {name: b}\n",
			[]string{"bad.yaml: document 1"}},
		{"second document", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: 3}\n",
			[]string{"bad.yaml: document 2", "Pod p"}},
		{"wrong apiVersion", "apiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\n",
			[]string{"bad.yaml: document 1", "NetworkPolicy x/p", `use "networking.k8s.io/v1"`}},
		{"no kind", "apiVersion: v1\nmetadata: {name: p}\n", []string{"bad.yaml: document 1", "kind is missing"}},
		{"not a mapping", "- a\n- b\n", []string{"bad.yaml: document 1", "not a Kubernetes object"}},
		// YAML 1.1 reads an unquoted y as true, as kubectl does: quote it.
		{"unquoted y", "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: y}\n",
			[]string{"bad.yaml: document 1", "Pod p"}},
		{"broken yaml", "kind: [\n", []string{"bad.yaml: document 1"}},
		{"bad list item", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: a, nme: b}\n",
			[]string{"bad.yaml: document 1", "items[0]", "nme"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, map[string]string{"bad.yaml": tc.body})
			_, err := Load(dir)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing path: %v", err)
	}
}
