package infra

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

// TestNamespacesKeyAndFoldersMustAgree: a namespace listed in
// kopscalico:namespaces without its folder, or a folder owning one that is not
// listed, is refused before anything is registered, naming the key and the
// fix; with both edits the namespace is no longer registered (so up deletes
// it).
func TestNamespacesKeyAndFoldersMustAgree(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		edit   func(t *testing.T, dir string)
		listed string
		want   []string // fragments of the error; none: accepted
	}{
		{
			name:   "folder removed",
			edit:   func(t *testing.T, dir string) { testfs.Remove(t, filepath.Join(dir, DemoNamespace)) },
			listed: DemoNamespace,
			want:   []string{"kopscalico:namespaces", "lists ns-1, but", "has no ns-1/ folder holding its Namespace", "remove ns-1 from kopscalico:namespaces to delete the namespace and everything in it"},
		},
		{
			name: "folder renamed with its objects",
			edit: func(t *testing.T, dir string) {
				testfs.Remove(t, filepath.Join(dir, DemoNamespace))
				writeNamespace(t, dir, "ns-one")
			},
			listed: DemoNamespace,
			want:   []string{"lists ns-1, but", "does not list ns-one", "add ns-one to kopscalico:namespaces to create"},
		},
		{
			name:   "namespace.yaml removed",
			edit:   func(t *testing.T, dir string) { testfs.Remove(t, filepath.Join(dir, DemoNamespace, "namespace.yaml")) },
			listed: DemoNamespace,
			want:   []string{"lists ns-1, but", "holds no Namespace object named ns-1"},
		},
		{
			name:   "new folder not listed",
			edit:   func(t *testing.T, dir string) { writeNamespace(t, dir, "team-a") },
			listed: DemoNamespace,
			want:   []string{"does not list team-a", "add team-a to kopscalico:namespaces to create"},
		},
		{
			name:   "new folder listed",
			edit:   func(t *testing.T, dir string) { writeNamespace(t, dir, "team-a") },
			listed: "ns-1,team-a",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyPolicies(t)
			tc.edit(t, dir)
			cfg := devConfig()
			cfg[config.KeyPoliciesDir] = dir
			cfg[config.KeyNamespaces] = tc.listed
			rec, _, err := runProgram(t, cfg, true)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if n, want := len(rec.byType(tokNamespace)), len(strings.Split(tc.listed, ",")); n != want {
					t.Errorf("%d Namespaces registered, want %d", n, want)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if keys := config.Keys(err); !slices.Contains(keys, config.KeyNamespaces) {
				t.Errorf("error names keys %v, want %s", keys, config.KeyNamespaces)
			}
			if n := len(rec.resources); n != 0 {
				t.Errorf("%d resources registered before the refusal", n)
			}
		})
	}
}

// TestNamespaceDeletedOnlyWithBothEdits: the folder removed and the key
// emptied (demo off, as the demo lives in ns-1), the program registers no
// Namespace, which is how `up` deletes it.
func TestNamespaceDeletedOnlyWithBothEdits(t *testing.T) {
	t.Parallel()
	dir := copyPolicies(t)
	cfg := devConfig()
	cfg[config.KeyPoliciesDir] = dir
	cfg[config.KeyDemoWorkloads] = "false"
	cfg[config.KeyProbes] = "false"
	rec, _, err := runProgram(t, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.byType(tokNamespace)); n != 1 {
		t.Fatalf("%d Namespaces registered with ns-1 owned, want 1", n)
	}

	testfs.Remove(t, filepath.Join(dir, DemoNamespace))
	if _, _, err := runProgram(t, cfg, true); err == nil || !slices.Contains(config.Keys(err), config.KeyNamespaces) {
		t.Fatalf("folder removed, ns-1 still listed: err = %v, want a refusal naming %s", err, config.KeyNamespaces)
	}
	cfg[config.KeyNamespaces] = ""
	rec, _, err = runProgram(t, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.byType(tokNamespace)); n != 0 {
		t.Errorf("%d Namespaces registered after both edits, want 0", n)
	}
}

// writeNamespace adds a folder owning namespace ns.
func writeNamespace(t *testing.T, dir, ns string) {
	t.Helper()
	testfs.Write(t, filepath.Join(dir, ns, "namespace.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+ns+"\n")
}
