package reachability

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/netpol"
	"github.com/kopscalico/kopscalico/internal/policies"
)

// shippedFiles returns the shipped policies as files for tree.
func shippedFiles(t *testing.T) map[string]string {
	t.Helper()
	dir := filepath.Join("..", "..", "policies", "ns-1")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files["ns-1/"+e.Name()] = string(b)
	}
	return files
}

// crossCheck decides every case over the union of both models' pods with
// each tree's own evaluator, one Allowed call per case, and compares the
// changed cases with Compare's.
func crossCheck(t *testing.T, base, head Model, cmp Comparison) {
	t.Helper()
	pods := unionPods(base.Cluster.Pods, head.Cluster.Pods)
	eval := func(m Model) *netpol.Evaluator {
		c := m.Cluster
		c.Pods = pods
		ev, err := netpol.NewEvaluator(c)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	before, after := eval(base), eval(head)
	want := map[string]string{}
	for _, from := range before.Pods() {
		for _, to := range before.Pods() {
			for _, port := range cmp.Ports {
				b, err := before.Allowed(from.Ref(), to.Ref(), port)
				if err != nil {
					t.Fatal(err)
				}
				a, err := after.Allowed(from.Ref(), to.Ref(), port)
				if err != nil {
					t.Fatal(err)
				}
				if a != b {
					want[netpol.Case{From: from.Ref().String(), To: to.Ref().String(), Port: int(port.Port), Protocol: string(port.Protocol)}.Key()] = word(b) + " -> " + word(a)
				}
			}
		}
	}
	got := map[string]string{}
	for _, c := range cmp.Changes {
		got[netpol.Case{From: c.From, To: c.To, Port: c.Port, Protocol: c.Protocol}.Key()] = c.Before + " -> " + c.After
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: Compare says %q, Allowed on each tree says %q", k, got[k], w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: Compare reports %q, Allowed on each tree sees no change", k, g)
		}
	}
}

func word(allowed bool) string {
	if allowed {
		return netpol.Allow
	}
	return netpol.Deny
}

func compare(t *testing.T, base, head *policies.Set, workloads []netpol.Pod) (Model, Model, Comparison) {
	t.Helper()
	b, h := Build(base, workloads), Build(head, workloads)
	cmp, err := Compare(b, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b, h, cmp
}

// Removing allow.yaml closes exactly what it opened: app=busybox to
// app=http-echo, on every port (its rule names none), and nothing else.
func TestCompareRemovedPolicy(t *testing.T) {
	t.Parallel()
	files := shippedFiles(t)
	base := tree(t, files)
	delete(files, "ns-1/allow.yaml")
	head := tree(t, files)
	for _, workloads := range [][]netpol.Pod{DemoPods("ns-1"), nil} {
		b, h, cmp := compare(t, base, head, workloads)
		crossCheck(t, b, h, cmp)
		if len(cmp.Changes) != len(cmp.Ports) || cmp.Closed() != len(cmp.Ports) || cmp.Opened() != 0 {
			t.Fatalf("changes %+v, want one closed per port %v", cmp.Changes, cmp.Ports)
		}
		for _, c := range cmp.Changes {
			if !strings.HasSuffix(c.From, "busybox]") && c.From != "ns-1/busybox" || !strings.Contains(c.To, "http-echo") {
				t.Errorf("%s -> %s changed; allow.yaml only let busybox reach http-echo", c.From, c.To)
			}
			if c.DecidedBy != "ingress: default deny by ns-1/deny-all-by-default" {
				t.Errorf("decided by %q", c.DecidedBy)
			}
		}
	}
}

// A policy added in a namespace no workload runs in shows on its synthetic
// pods: both sides are evaluated over the head's pods too.
func TestCompareAddedPolicyInEmptyNamespace(t *testing.T) {
	t.Parallel()
	files := shippedFiles(t)
	files["team-a/namespace.yaml"] = teamA
	base := tree(t, files)
	files["team-a/web.yaml"] = webPolicy
	head := tree(t, files)
	b, h, cmp := compare(t, base, head, DemoPods("ns-1"))
	crossCheck(t, b, h, cmp)
	if cmp.Opened() != 0 || cmp.Closed() == 0 {
		t.Errorf("an ingress policy only closes: opened %d, closed %d", cmp.Opened(), cmp.Closed())
	}
	for _, c := range cmp.Changes {
		if c.To != "team-a/[app=web]" {
			t.Errorf("%s -> %s changed; the policy isolates team-a/[app=web] only", c.From, c.To)
		}
		if c.From == "team-a/[app=api]" && c.Port == 8080 {
			t.Errorf("api -> web 8080 is allowed by the policy, reported %+v", c)
		}
		if !strings.Contains(c.DecidedBy, "default deny by team-a/web") {
			t.Errorf("decided by %q", c.DecidedBy)
		}
	}
}

// A namespace owned on one side only is created or deleted: its
// connections are absent on the other side, neither opened nor closed.
func TestCompareDeletedNamespace(t *testing.T) {
	t.Parallel()
	files := shippedFiles(t)
	files["team-a/namespace.yaml"] = teamA
	files["team-a/web.yaml"] = webPolicy
	base := tree(t, files)
	delete(files, "team-a/namespace.yaml")
	delete(files, "team-a/web.yaml")
	head := tree(t, files)
	_, _, cmp := compare(t, base, head, nil)
	if len(cmp.Changes) == 0 || cmp.Opened()+cmp.Closed() != 0 {
		t.Fatalf("opened %d, closed %d of %d changes, want only absent ones", cmp.Opened(), cmp.Closed(), len(cmp.Changes))
	}
	for _, c := range cmp.Changes {
		if c.After != netpol.Absent || (!strings.HasPrefix(c.From, "team-a/") && !strings.HasPrefix(c.To, "team-a/")) {
			t.Errorf("%+v: want only team-a's connections, gone", c)
		}
		if c.DecidedBy != "namespace team-a is deleted with its pods" {
			t.Errorf("decided by %q", c.DecidedBy)
		}
	}
	_, _, back := compare(t, head, base, nil)
	if len(back.Changes) != len(cmp.Changes) || back.Changes[0].Before != netpol.Absent {
		t.Errorf("the reverse change creates team-a: %d changes, first %+v", len(back.Changes), back.Changes[0])
	}
}

func TestCompareSameTree(t *testing.T) {
	t.Parallel()
	set := shipped(t)
	_, _, cmp := compare(t, set, set, DemoPods("ns-1"))
	if len(cmp.Changes) != 0 || cmp.Cases != 5*5*4 {
		t.Errorf("%d changes over %d cases, want none over 100", len(cmp.Changes), cmp.Cases)
	}
}
