package config

import (
	"slices"
	"strings"
	"testing"
)

// TestCheckOwnedNamespaces: the key and the folders must agree, both ways;
// each mismatch names the key, the namespace and the fix.
func TestCheckOwnedNamespaces(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name           string
		listed         []string
		owned, folders []string
		want           []string // a fragment of each problem, in order; none: accepted
	}{
		{name: "nothing owned, nothing listed", folders: []string{"kube-system"}},
		{name: "key unset", listed: nil, owned: nil},
		{name: "agree", listed: []string{"ns-1", "team-a"}, owned: []string{"ns-1", "team-a"}, folders: []string{"default", "ns-1", "team-a"}},
		{name: "agree in another order", listed: []string{"team-a", "ns-1"}, owned: []string{"ns-1", "team-a"}, folders: []string{"ns-1", "team-a"}},
		{name: "folder removed or renamed", listed: []string{"ns-1"}, want: []string{
			`kopscalico:namespaces = "ns-1": lists ns-1, but pol has no ns-1/ folder holding its Namespace: restore the folder, or remove ns-1 from kopscalico:namespaces to delete the namespace and everything in it`,
		}},
		{name: "Namespace object removed from its folder", listed: []string{"ns-1"}, folders: []string{"ns-1"}, want: []string{
			`lists ns-1, but pol/ns-1 holds no Namespace object named ns-1: restore it (namespace.yaml), or remove ns-1 from kopscalico:namespaces to delete the namespace`,
		}},
		{name: "new folder not listed", listed: []string{"ns-1"}, owned: []string{"ns-1", "team-a"}, folders: []string{"ns-1", "team-a"}, want: []string{
			`kopscalico:namespaces = "ns-1": does not list team-a, but pol/team-a holds its Namespace object: add team-a to kopscalico:namespaces to create (or keep) it, or remove the folder`,
		}},
		{name: "key empty, folder owns", listed: []string{}, owned: []string{"ns-1"}, folders: []string{"ns-1"}, want: []string{
			`kopscalico:namespaces = "": does not list ns-1`,
		}},
		{name: "folder renamed with its objects", listed: []string{"ns-1"}, owned: []string{"ns-one"}, folders: []string{"ns-one"}, want: []string{
			"lists ns-1, but pol has no ns-1/ folder", "does not list ns-one, but pol/ns-one holds its Namespace object",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := Workloads{PoliciesDir: "pol", Namespaces: tc.listed}
			err := w.CheckOwnedNamespaces(tc.owned, tc.folders)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			problems := err.(*Error).Problems
			if len(problems) != len(tc.want) {
				t.Fatalf("%d problems, want %d: %v", len(problems), len(tc.want), err)
			}
			for i, p := range problems {
				if !strings.Contains(p.Error(), tc.want[i]) {
					t.Errorf("problem %d:\n%v\nlacks\n%s", i, p, tc.want[i])
				}
			}
			if keys := Keys(err); len(keys) != len(tc.want) || slices.ContainsFunc(keys, func(k string) bool { return k != KeyNamespaces }) {
				t.Errorf("keys named: %v, want %s for each problem", keys, KeyNamespaces)
			}
			if !strings.Contains(err.Error(), "nothing was created") {
				t.Errorf("error does not say nothing was created: %v", err)
			}
		})
	}
}
