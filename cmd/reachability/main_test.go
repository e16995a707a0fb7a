package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/reachability"
	"github.com/kopscalico/kopscalico/internal/reachability/reachtest"
	"github.com/kopscalico/kopscalico/internal/testing/golden"
	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

// The fixtures are policies folders. testdata/base: namespaces x (team
// blue) and y; x denies all ingress, except from namespace y to pod=a on
// 80/TCP, and from outside 100.64.0.0/10 to pod=b on any TCP port.
// testdata/head adds pod=b -> pod=a on 81/UDP, and an egress policy that
// lets y's pod=c reach only team blue's namespaces.

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// mustRun runs the command, fails the test unless it exits 0, and returns
// its output.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errOut)
	}
	return out
}

func assertGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Assert(t, filepath.Join("testdata", "golden", name), []byte(got))
}

// cutLimit is below the 1,878 bytes of the whole base -> head report
// (diff.md), so the table is cut.
const cutLimit = "1500"

func TestGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		golden string
		args   []string
	}{
		{"matrix.json", []string{"-o", "json", "testdata/base"}},
		{"matrix.txt", []string{"testdata/base"}},
		{"diff.json", []string{"diff", "-o", "json", "testdata/base", "testdata/head"}},
		{"diff.txt", []string{"diff", "testdata/base", "testdata/head"}},
		{"diff.md", []string{"diff", "-o", "markdown", "testdata/base", "testdata/head"}},
		{"diff-cut.md", []string{"diff", "-o", "markdown", "--limit", cutLimit, "testdata/base", "testdata/head"}},
		{"nodiff.txt", []string{"diff", "testdata/base", "testdata/base"}},
		{"nodiff.md", []string{"diff", "-o", "markdown", "testdata/base", "testdata/base"}},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			out := mustRun(t, tc.args...)
			assertGolden(t, tc.golden, out)
		})
	}
}

// decodeMatrix reads -o json rows into "from -> to": allowed ports.
func decodeMatrix(t *testing.T, out string) map[string]string {
	t.Helper()
	var m struct {
		Rows []reachability.Row `json:"rows"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range m.Rows {
		got[r.From+" -> "+r.To] = r.Allowed
	}
	return got
}

// The JSON matrix is checked against the fixture's semantics, not only
// against the golden file.
func TestMatrixJSON(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "-o", "json", "testdata/base")
	got := decodeMatrix(t, out)
	if len(got) != 9*9 {
		t.Fatalf("%d rows, want 81: 9 endpoint classes squared", len(got))
	}
	want := map[string]string{
		"y/[any pod] -> x/[pod=a]": "80/TCP", // namespace y on 80 only
		"x/[pod=b] -> x/[pod=a]":   "",       // default deny in x
		"[outside]/0.0.0.0-100.63.255.255, 100.128.0.0-255.255.255.255 -> x/[pod=b]": "every TCP port", // 0.0.0.0/0 but 100.64.0.0/10
		"[outside]/100.64.0.0/11, ::/0 -> x/[pod=b]":                                 "",               // excepted, and IPv6 is not in 0.0.0.0/0
		"x/[pod∉{a,b}] -> x/[pod=b]":                                                 "",               // a pod address, excepted
		"x/[pod=a] -> y/[any pod]":                                                   "every port",     // y is not isolated
		"x/[pod=a] -> kube-system/kube-dns":                                          "every port",
		"[other ns]/[any pod] -> x/[pod=a]":                                          "",
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s: %q (present %v), want %q", k, g, ok, w)
		}
	}
	again, _, _ := runCmd(t, "-o", "json", "testdata/base")
	if again != out {
		t.Error("two runs differ")
	}
}

func decodeChanges(t *testing.T, out string) map[string]reachability.Change {
	t.Helper()
	var d struct {
		Changes []reachability.Change `json:"changes"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	got := map[string]reachability.Change{}
	for _, c := range d.Changes {
		got[c.From+" -> "+c.To+" "+c.Ports] = c
	}
	return got
}

func TestDiffJSON(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "diff", "-o", "json", "testdata/base", "testdata/head")
	got := decodeChanges(t, out)
	for k, w := range map[string]string{
		"x/[pod=b] -> x/[pod=a] 81/UDP": "deny -> allow: ingress: allowed by x/allow-b-to-a-udp",
		// y/[pod=c] is only selected in head; the base is evaluated over it too.
		"y/[pod=c] -> y/[pod∉c] every port":            "allow -> deny: egress: default deny by y/c-egress-to-blue-only",
		"y/[pod=c] -> kube-system/kube-dns every port": "allow -> deny: egress: default deny by y/c-egress-to-blue-only",
		// Namespaces the tree does not declare: those of another team lose it.
		"y/[pod=c] -> [ns team∉blue]/[any pod] every port": "allow -> deny: egress: default deny by y/c-egress-to-blue-only",
	} {
		c, ok := got[k]
		if g := c.Before + " -> " + c.After + ": " + c.DecidedBy; !ok || g != w {
			t.Errorf("%s: %q, want %q", k, g, w)
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "y/[pod=c] -> x/") || strings.HasPrefix(k, "y/[pod=c] -> [ns team=blue]") {
			t.Errorf("%s reported though team blue is still allowed", k)
		}
	}
}

// Past the limit the table is cut at a row, under the limit, with a note
// naming the file --full wrote, which holds the uncut report.
func TestMarkdownCutOff(t *testing.T) {
	t.Parallel()
	full := filepath.Join(t.TempDir(), "reachability-diff.md")
	out := mustRun(t, "diff", "-o", "markdown", "--limit", cutLimit, "--full", full, "testdata/base", "testdata/head")
	uncut, _, _ := runCmd(t, "diff", "-o", "markdown", "testdata/base", "testdata/head")
	written, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	if string(written) != uncut {
		t.Errorf("--full wrote\n%s\nwant the uncut report\n%s", written, uncut)
	}
	if len(out) > 1500 || len(uncut) <= 1500 {
		t.Fatalf("cut %d bytes, uncut %d: want the cut within 1500 and the uncut beyond", len(out), len(uncut))
	}
	if !strings.HasPrefix(out, commentMarker+"\n") {
		t.Errorf("first line is not the marker:\n%s", out)
	}
	var rows []string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| `") {
			rows = append(rows, line)
			if !strings.Contains(uncut, line+"\n") {
				t.Errorf("row %q is not in the uncut table", line)
			}
		}
	}
	note := fmt.Sprintf("> The table is cut after %d of its 2 rows to fit in a comment; the whole report is in `reachability-diff.md`, kept as the workflow run's artifact.", len(rows))
	if len(rows) == 0 || len(rows) == 2 || !strings.Contains(out, note) {
		t.Errorf("%d rows shown; want some, not all, and the note %q:\n%s", len(rows), note, out)
	}
	// Without --full, the note says how to get the whole table.
	out, _, _ = runCmd(t, "diff", "-o", "markdown", "--limit", cutLimit, "testdata/base", "testdata/head")
	if !strings.Contains(out, "run `reachability diff --full FILE` for the whole report") {
		t.Errorf("note without --full:\n%s", out)
	}
}

// A policy added in a namespace where no demo pod runs changes the matrix
// and shows in the markdown diff, on the synthetic pods of its label sets.
func TestPolicyInNamespaceWithoutPods(t *testing.T) {
	t.Parallel()
	base, head := t.TempDir(), t.TempDir()
	for _, dir := range []string{base, head} {
		testfs.Copy(t, filepath.Join("..", "..", "policies", "ns-1"), filepath.Join(dir, "ns-1"))
		testfs.Write(t, filepath.Join(dir, "team-a", "namespace.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n")
	}
	testfs.Write(t, filepath.Join(head, "team-a", "web.yaml"), `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-api, namespace: team-a}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 8080}]
`)
	after := decodeMatrix(t, mustRun(t, "-o", "json", "--demo", "ns-1", head))
	if v := after["team-a/[app=api] -> team-a/[app=web]"]; v != "8080/TCP" {
		t.Errorf("head: api -> web = %q, want 8080/TCP", v)
	}
	if v := after["team-a/[app∉{api,web}] -> team-a/[app=web]"]; v != "" {
		t.Errorf("head: other pods -> web = %q, want nothing", v)
	}

	out := mustRun(t, "diff", "-o", "markdown", "--demo", "ns-1", base, head)
	for _, w := range []string{
		"### Reachability: 0 opened, ",
		"| `[other ns]/[any pod]`, `[outside]/0.0.0.0-100.95.255.255, 100.128.0.0-255.255.255.255, ::/0`, `kube-system/*`, `team-a/[app=web]`, `team-a/[app∉{api,web}]` | `team-a/[app=web]` | every port | allow → **deny** | ingress: default deny by team-a/web-from-api |",
		"| `team-a/[app=api]` | `team-a/[app=web]` | TCP but 8080; every UDP port; every SCTP port | allow → **deny** | ingress: default deny by team-a/web-from-api |",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("markdown lacks %q:\n%s", w, out)
		}
	}
}

func TestDemoWorkloads(t *testing.T) {
	t.Parallel()
	got := decodeMatrix(t, mustRun(t, "-o", "json", "--demo", "demo", "testdata/demo"))
	for k, w := range map[string]string{
		"demo/busybox -> demo/http-echo":           "every port",
		"demo/http-echo -> demo/busybox":           "",
		"demo/[app∉busybox] -> demo/busybox":       "",
		"demo/busybox -> demo/busybox":             "every port", // a pod reaches itself
		"demo/[app=busybox] -> demo/[app=busybox]": "",           // two pods of a class are not one pod
	} {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s: %q (present %v), want %q", k, g, ok, w)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	renamed := t.TempDir()
	testfs.Copy(t, filepath.Join("testdata", "base", "x"), filepath.Join(renamed, "_x"))
	upper := t.TempDir()
	testfs.Copy(t, filepath.Join("testdata", "base", "x"), filepath.Join(upper, "x"))
	if err := os.Rename(filepath.Join(upper, "x", "policies.yaml"), filepath.Join(upper, "x", "policies.YAML")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"malformed file", []string{"testdata/malformed"}, 1, []string{`"testdata/malformed/x/policy.yaml" (document 2)`, `unknown field "spec.podselector"`}},
		{"invalid policy", []string{"testdata/invalid"}, 1, []string{"testdata/invalid/x/policy.yaml", `spec.egress[0].to[0].ipBlock.except[0] "192.168.0.0/16" must be a strict subset`}},
		{"malformed base", []string{"diff", "testdata/malformed", "testdata/base"}, 1, []string{"testdata/malformed/x/policy.yaml"}},
		{"renamed folder, as the program refuses it", []string{renamed}, 1, []string{`_x": folder name "_x" is not a namespace name`}},
		{"upper-case extension, as the program refuses it", []string{upper}, 1, []string{`policies.YAML": the extension must be .yaml or .yml`}},
		{"missing dir", []string{"testdata/nope"}, 1, []string{"testdata/nope"}},
		{"unwritable --full", []string{"diff", "--full", filepath.Join(t.TempDir(), "no", "such", "dir"), "testdata/base", "testdata/head"}, 1, []string{"--full"}},
		{"no dir", []string{"-o", "json"}, 2, []string{"want one policies folder"}},
		{"two dirs", []string{"testdata/base", "testdata/head"}, 2, []string{"want one policies folder"}},
		{"diff of one dir", []string{"diff", "testdata/base"}, 2, []string{"BASE and HEAD"}},
		{"old --diff flag", []string{"--diff", "testdata/base", "testdata/head"}, 2, []string{"reachability diff OLD DIR"}},
		{"markdown matrix", []string{"-o", "markdown", "testdata/base"}, 2, []string{"table or json"}},
		{"bad format", []string{"diff", "-o", "xml", "testdata/base", "testdata/head"}, 2, []string{"table or json or markdown"}},
		{"tiny limit", []string{"diff", "--limit", "10", "testdata/base", "testdata/head"}, 2, []string{"--limit"}},
		{"ports are all evaluated", []string{"--ports", "80/TCP", "testdata/base"}, 2, []string{"usage"}},
		{"unknown flag", []string{"--nope", "testdata/base"}, 2, []string{"usage"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := runCmd(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tc.code, errOut)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
		})
	}
}

// When even the lists of classes do not fit, the details cut them, and the
// comment stays within the limit.
func TestMarkdownCutsTheListsOfClasses(t *testing.T) {
	t.Parallel()
	base, head := t.TempDir(), t.TempDir()
	files := reachtest.Files(reachtest.Shape{Namespaces: 200, Policies: 400, LabelSets: 20, Seed: 3})
	for name, content := range files {
		testfs.Write(t, filepath.Join(base, name), content)
	}
	for name, content := range reachtest.Edit(files) {
		testfs.Write(t, filepath.Join(head, name), content)
	}
	out := mustRun(t, "diff", "-o", "markdown", "--limit", "3000", base, head)
	if len(out) > 3000 || !strings.Contains(out, "- endpoints: ") || !strings.Contains(out, " more)") || !strings.Contains(out, "| `") {
		t.Errorf("%d bytes, want at most 3000, the lists cut, rows kept:\n%s", len(out), out)
	}
}

// Admin policies in _cluster/ (the shipped tree plus testdata/admin): what
// the baseline and the admin policy close, named by policy and rule.
func TestAdminPoliciesInTheDiff(t *testing.T) {
	t.Parallel()
	head := t.TempDir()
	testfs.Copy(t, filepath.Join("..", "..", "policies"), head)
	testfs.Copy(t, filepath.Join("testdata", "admin", "_cluster"), filepath.Join(head, "_cluster"))
	out := mustRun(t, "diff", "--demo", "ns-1", "-o", "markdown", filepath.Join("..", "..", "policies"), head)
	assertGolden(t, "admin.md", out)
	for _, w := range []string{
		"| `[other ns]/[any pod]` | `kube-system/*` | TCP but 53; UDP but 53; every SCTP port | allow → **deny** | ingress: denied by admin policy protect-kube-system, rule 1 \"others\" (priority 10) |",
		`ingress: baseline deny (rule 0 "isolate-namespaces")`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("lacks %q:\n%s", w, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| `") && strings.Contains(line, "`ns-1/") {
			t.Errorf("%s: ns-1's pods are isolated by its NetworkPolicies, which decide before the baseline", line)
		}
	}
}

// Every list honours the limit: 20,000 ports in one policy used to give a
// 209,749-byte comment.
func TestMarkdownBoundedWithManyPorts(t *testing.T) {
	t.Parallel()
	base, head := t.TempDir(), t.TempDir()
	for _, dir := range []string{base, head} {
		testfs.Write(t, filepath.Join(dir, "a", "namespace.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
	}
	var ports strings.Builder
	for p := 1; p <= 40000; p += 2 {
		fmt.Fprintf(&ports, "    - {port: %d}\n", p)
	}
	testfs.Write(t, filepath.Join(head, "a", "many.yaml"), "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: many, namespace: a}\nspec:\n  podSelector: {}\n  ingress:\n  - ports:\n"+ports.String())
	out := mustRun(t, "diff", "-o", "markdown", "--limit", "20000", base, head)
	if len(out) > 20000 {
		t.Errorf("%d bytes, want at most 20000", len(out))
	}
	if !strings.Contains(out, "closed") {
		t.Errorf("no change reported:\n%.2000s", out)
	}
}
