package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/netpol"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// The fixture (testdata/before): namespaces x and y; Deployments x/a, x/b,
// y/a and a Pod y/c with IP 10.20.30.40. x denies all ingress, except from
// namespace y to x/a on the named port serve-80-tcp, and from 10.20.30.0/24
// to x/b on any TCP port. testdata/change adds x/b -> x/a on 81/UDP and an
// egress policy for y/c (with no policyTypes, so it isolates y/c's ingress
// too, as the API defaults policyTypes).

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return out.String(), errOut.String(), code
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

func TestGolden(t *testing.T) {
	cases := []struct {
		golden string
		args   []string
	}{
		{"before.json", []string{"-o", "json", "testdata/before"}},
		{"before.txt", []string{"testdata/before"}},
		{"ports.json", []string{"testdata/before", "--ports", "81/udp,80", "-o", "json"}},
		{"diff.json", []string{"-o", "json", "--diff", "testdata/before", "testdata/before", "testdata/change"}},
		{"diff.txt", []string{"--diff", "testdata/before", "testdata/before", "testdata/change"}},
		{"nodiff.txt", []string{"--diff", "testdata/before", "testdata/before"}},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			out, errOut, code := runCmd(t, tc.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, tc.golden, out)
		})
	}
}

// The JSON matrix is checked against the fixture's semantics, not only
// against the golden file.
func TestMatrixJSON(t *testing.T) {
	out, errOut, code := runCmd(t, "-o", "json", "testdata/before")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var m netpol.Matrix
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	// 4 pods, ordered pairs including self, 2 ports (every container port).
	if len(m.Cases) != 4*4*2 {
		t.Fatalf("%d cases, want 32", len(m.Cases))
	}
	got := map[string]bool{}
	for _, c := range m.Cases {
		got[c.Key()] = c.Allowed
	}
	want := map[string]bool{
		"y/a -> x/a 80/TCP": true,  // namespace y, named port serve-80-tcp
		"y/c -> x/a 80/TCP": true,  // same
		"x/b -> x/a 80/TCP": false, // default deny in x
		"y/a -> x/a 81/UDP": false, // the named port is 80/TCP only
		"y/c -> x/b 80/TCP": true,  // 10.20.30.40 is in the ipBlock
		"y/a -> x/b 80/TCP": false, // a synthetic IP outside it
		"y/c -> x/b 81/UDP": false, // the ipBlock rule is TCP only
		"x/a -> y/c 81/UDP": true,  // y is not isolated
		"x/a -> x/a 80/TCP": true,  // a pod reaches itself
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s: allowed=%v (present %v), want %v", k, g, ok, w)
		}
	}
	// Synthetic addresses are stable: a second run prints the same.
	again, _, _ := runCmd(t, "-o", "json", "testdata/before")
	if again != out {
		t.Error("two runs differ")
	}
}

func TestDiffJSON(t *testing.T) {
	out, errOut, code := runCmd(t, "-o", "json", "--diff", "testdata/before", "testdata/before", "testdata/change")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var d struct {
		Changes []netpol.Change `json:"changes"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range d.Changes {
		got[netpol.Case{From: c.From, To: c.To, Port: c.Port, Protocol: c.Protocol}.Key()] = c.Before + " -> " + c.After
	}
	for k, w := range map[string]string{
		"x/b -> x/a 81/UDP": "deny -> allow", // the new ingress rule
		"y/c -> y/a 80/TCP": "allow -> deny", // y/c's egress now only to x
		"x/a -> y/c 80/TCP": "allow -> deny", // ...and its ingress isolated by default
	} {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	if _, ok := got["y/c -> x/a 80/TCP"]; ok {
		t.Error("y/c -> x/a 80/TCP reported though still allowed")
	}
}

func TestErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"malformed file", []string{"testdata/malformed"}, 1, []string{"testdata/malformed/policy.yaml", "document 2", `unknown field "spec.podselector"`}},
		{"invalid policy", []string{"testdata/invalid"}, 1, []string{"testdata/invalid", "NetworkPolicy x/bad-cidr", "spec.egress[0].to[0].ipBlock.except[0]"}},
		{"malformed old side", []string{"--diff", "testdata/malformed", "testdata/before"}, 1, []string{"testdata/malformed/policy.yaml"}},
		{"missing dir", []string{"testdata/nope"}, 1, []string{"testdata/nope"}},
		{"no ports to probe", []string{"testdata/change"}, 1, []string{"--ports"}},
		{"no dir", []string{"-o", "json"}, 2, []string{"no DIR"}},
		{"bad format", []string{"-o", "xml", "testdata/before"}, 2, []string{"table or json"}},
		{"bad ports", []string{"--ports", "80/ICMP", "testdata/before"}, 2, []string{"--ports"}},
		{"unknown flag", []string{"--nope", "testdata/before"}, 2, []string{"usage"}},
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

func TestDemoWorkloads(t *testing.T) {
	out, errOut, code := runCmd(t, "-o", "json", "--demo", "demo", "testdata/demo-policy")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var m netpol.Matrix
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, c := range m.Cases {
		got[c.Key()] = c.Allowed
	}
	// The demo's container ports: http-echo listens on 5678 (busybox has none).
	want := map[string]bool{
		"demo/busybox -> demo/http-echo 5678/TCP":   true,
		"demo/http-echo -> demo/busybox 5678/TCP":   false,
		"demo/busybox -> demo/busybox 5678/TCP":     true,
		"demo/http-echo -> demo/http-echo 5678/TCP": true,
	}
	if len(got) != len(want) {
		t.Errorf("cases %v, want %v", got, want)
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s: %v (present %v), want %v", k, g, ok, w)
		}
	}
	// With --diff, the demo workloads are on both sides: only the policy's
	// effect shows.
	out, errOut, code = runCmd(t, "--demo", "demo", "--diff", "testdata/change", "testdata/demo-policy")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "demo/http-echo") || !strings.Contains(lines[1], "allow") || !strings.HasSuffix(lines[1], "deny") {
		t.Errorf("diff:\n%s\nwant one change: http-echo -> busybox allow -> deny", out)
	}
}
