package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/netpol"
	"github.com/kopscalico/kopscalico/internal/reachability"
	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

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

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/reachability -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test ./cmd/reachability -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// cutLimit is below the 1,526 bytes of the whole base -> head report
// (diff.md), so the table is cut.
const cutLimit = "1300"

func TestGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		golden string
		args   []string
	}{
		{"matrix.json", []string{"-o", "json", "testdata/base"}},
		{"matrix.txt", []string{"testdata/base"}},
		{"ports.json", []string{"testdata/base", "--ports", "81/udp,80", "-o", "json"}},
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
			golden(t, tc.golden, out)
		})
	}
}

func decodeMatrix(t *testing.T, out string) map[string]bool {
	t.Helper()
	var m netpol.Matrix
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range m.Cases {
		got[c.Key()] = c.Allowed
	}
	return got
}

// The JSON matrix is checked against the fixture's semantics, not only
// against the golden file.
func TestMatrixJSON(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "-o", "json", "testdata/base")
	got := decodeMatrix(t, out)
	// Endpoints: x/[no labels], x/[pod=a], x/[pod=b], y/[no labels], the
	// DNS, the outside address; ports 53/TCP, 53/UDP, 80/TCP, 443/TCP.
	if len(got) != 6*6*4 {
		t.Fatalf("%d cases, want 144", len(got))
	}
	want := map[string]bool{
		"y/[no labels] -> x/[pod=a] 80/TCP":                  true,  // namespace y on 80
		"y/[no labels] -> x/[pod=a] 443/TCP":                 false, // only 80
		"x/[pod=b] -> x/[pod=a] 80/TCP":                      false, // default deny in x
		"[outside]/203.0.113.10 -> x/[pod=b] 443/TCP":        true,  // 0.0.0.0/0 except the cluster
		"x/[no labels] -> x/[pod=b] 443/TCP":                 false, // a pod address, excepted
		"[outside]/203.0.113.10 -> x/[pod=b] 53/UDP":         false, // the ipBlock rule is TCP only
		"x/[pod=a] -> y/[no labels] 53/UDP":                  true,  // y is not isolated
		"x/[pod=a] -> kube-system/[k8s-app=kube-dns] 53/UDP": true,
		"x/[pod=a] -> x/[pod=a] 80/TCP":                      true, // a pod reaches itself
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s: allowed=%v (present %v), want %v", k, g, ok, w)
		}
	}
	// Synthetic addresses are stable: a second run prints the same.
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
		got[netpol.Case{From: c.From, To: c.To, Port: c.Port, Protocol: c.Protocol}.Key()] = c
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
		"y/[pod=c] -> y/[no labels] 80/TCP":                  "allow -> deny: egress: default deny by y/c-egress-to-blue-only",
		"y/[pod=c] -> kube-system/[k8s-app=kube-dns] 53/UDP": "allow -> deny: egress: default deny by y/c-egress-to-blue-only",
	} {
		c, ok := got[k]
		if g := c.Before + " -> " + c.After + ": " + c.DecidedBy; !ok || g != w {
			t.Errorf("%s: %q, want %q", k, g, w)
		}
	}
	if c, ok := got["y/[pod=c] -> x/[pod=a] 80/TCP"]; ok {
		t.Errorf("y/[pod=c] -> x/[pod=a] 80/TCP reported (%+v) though team blue is still allowed", c)
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
	if len(out) > 1300 || len(uncut) <= 1300 {
		t.Fatalf("cut %d bytes, uncut %d: want the cut within 1300 and the uncut beyond", len(out), len(uncut))
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
	note := fmt.Sprintf("> The table is cut after %d of its 4 rows to fit in a comment; the whole report is in `reachability-diff.md`, kept as the workflow run's artifact.", len(rows))
	if len(rows) == 0 || len(rows) == 4 || !strings.Contains(out, note) {
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
	matrix := func(dir string) map[string]bool {
		out := mustRun(t, "-o", "json", "--demo", "ns-1", dir)
		return decodeMatrix(t, out)
	}
	before, after := matrix(base), matrix(head)
	if v, ok := after["team-a/[app=api] -> team-a/[app=web] 8080/TCP"]; !ok || !v {
		t.Errorf("head: api -> web 8080/TCP = %v (present %v), want allowed", v, ok)
	}
	if v, ok := after["team-a/[no labels] -> team-a/[app=web] 8080/TCP"]; !ok || v {
		t.Errorf("head: [no labels] -> web 8080/TCP = %v (present %v), want denied", v, ok)
	}
	if _, ok := before["team-a/[app=api] -> team-a/[app=web] 8080/TCP"]; ok {
		t.Error("base has the head's synthetic pods: the matrix does not follow the policies")
	}

	out := mustRun(t, "diff", "-o", "markdown", "--demo", "ns-1", base, head)
	for _, w := range []string{
		"### Reachability: 0 connections opened, ",
		"| `team-a/[no labels]` | `team-a/[app=web]` | 53/TCP, 53/UDP, 443/TCP, 5678/TCP, 8080/TCP | allow → **deny** | ingress: default deny by team-a/web-from-api |",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("markdown lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "`team-a/[app=api]` | `team-a/[app=web]` | 53/TCP, 53/UDP, 443/TCP, 5678/TCP, 8080/TCP |") {
		t.Errorf("api -> web 8080/TCP reported closed though the policy allows it:\n%s", out)
	}
}

func TestDemoWorkloads(t *testing.T) {
	t.Parallel()
	out := mustRun(t, "-o", "json", "--demo", "demo", "testdata/demo")
	got := decodeMatrix(t, out)
	// The demo's container port: http-echo listens on 5678 (busybox has none).
	for k, w := range map[string]bool{
		"demo/busybox -> demo/http-echo 5678/TCP":   true,
		"demo/http-echo -> demo/busybox 5678/TCP":   false,
		"demo/[no labels] -> demo/busybox 5678/TCP": false,
		"demo/busybox -> demo/busybox 5678/TCP":     true,
	} {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s: %v (present %v), want %v", k, g, ok, w)
		}
	}
	for k := range got {
		if strings.Contains(k, "[app=busybox]") {
			t.Errorf("%s: the demo pod already has the selected labels; no synthetic pod is due", k)
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
		{"malformed file", []string{"testdata/malformed"}, 1, []string{"testdata/malformed/x/policy.yaml (document 2)", `unknown field "spec.podselector"`}},
		{"invalid policy", []string{"testdata/invalid"}, 1, []string{"testdata/invalid/x/policy.yaml", `spec.egress[0].to[0].ipBlock.except[0] "192.168.0.0/16" must be a strict subset`}},
		{"malformed base", []string{"diff", "testdata/malformed", "testdata/base"}, 1, []string{"testdata/malformed/x/policy.yaml"}},
		{"renamed folder, as the program refuses it", []string{renamed}, 1, []string{"_x: folder name \"_x\" is not a namespace name"}},
		{"upper-case extension, as the program refuses it", []string{upper}, 1, []string{"policies.YAML: the extension must be .yaml or .yml"}},
		{"missing dir", []string{"testdata/nope"}, 1, []string{"testdata/nope"}},
		{"unwritable --full", []string{"diff", "--full", filepath.Join(t.TempDir(), "no", "such", "dir"), "testdata/base", "testdata/head"}, 1, []string{"--full"}},
		{"no dir", []string{"-o", "json"}, 2, []string{"want one policies folder"}},
		{"two dirs", []string{"testdata/base", "testdata/head"}, 2, []string{"want one policies folder"}},
		{"diff of one dir", []string{"diff", "testdata/base"}, 2, []string{"BASE and HEAD"}},
		{"old --diff flag", []string{"--diff", "testdata/base", "testdata/head"}, 2, []string{"reachability diff OLD DIR"}},
		{"markdown matrix", []string{"-o", "markdown", "testdata/base"}, 2, []string{"table or json"}},
		{"bad format", []string{"diff", "-o", "xml", "testdata/base", "testdata/head"}, 2, []string{"table or json or markdown"}},
		{"tiny limit", []string{"diff", "--limit", "10", "testdata/base", "testdata/head"}, 2, []string{"--limit"}},
		{"bad ports", []string{"--ports", "80/ICMP", "testdata/base"}, 2, []string{"--ports"}},
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

// When even the list of endpoints does not fit, the details drop it, and
// the comment stays within the limit.
func TestMarkdownCutDropsTheEndpointList(t *testing.T) {
	t.Parallel()
	cmp := reachability.Comparison{Ports: []netpol.PortProto{{Port: 80, Protocol: "TCP"}}}
	for i := 0; i < 100; i++ {
		cmp.Pods = append(cmp.Pods, fmt.Sprintf("team-%03d/[app=a-rather-long-application-name]", i))
	}
	cmp.Cases = len(cmp.Pods) * len(cmp.Pods)
	cmp.Changes = []reachability.Change{{Change: netpol.Change{From: cmp.Pods[0], To: cmp.Pods[1], Port: 80, Protocol: "TCP", Before: "allow", After: "deny"}, DecidedBy: "ingress: default deny by team-001/deny"}}
	var b bytes.Buffer
	if err := writeMarkdown(&b, cmp, 2000, ""); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if len(out) > 2000 || strings.Contains(out, "- endpoints:") || !strings.Contains(out, "The list of endpoints is left out to fit in a comment") {
		t.Errorf("%d bytes, want at most 2000 without the endpoint list, one row kept:\n%s", len(out), out)
	}
}
