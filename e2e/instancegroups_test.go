package e2e_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

// declaredGroups is kopscalico:instanceGroups as the stack file holds it
// (JSON text, as Pulumi hands a structured value to the program): kops's
// two nodes-<zone> groups and a spot group of the given size.
func declaredGroups(spotMax int) string {
	return fmt.Sprintf(`[{"name":"nodes-eu-west-1a","machineType":"t3.medium","minSize":1,"maxSize":1,"zones":["eu-west-1a"]},
{"name":"nodes-eu-west-1b","machineType":"t3.medium","minSize":1,"maxSize":1,"zones":["eu-west-1b"]}%s]`,
		map[bool]string{true: fmt.Sprintf(`,{"name":"spot","machineType":"m6i.large","minSize":1,"maxSize":%d,"maxPrice":"0.05","taints":["spot=true:PreferNoSchedule"]}`, spotMax)}[spotMax > 0])
}

// TestKopsInstanceGroups: an adopted cluster's undeclared GPU group (made by
// hand: autoscaled, tainted, with user data the program never sets) is left
// byte for byte as it was, through adoption, the shorthand and the list;
// a declared group is added, resized and, once allowed, removed, each by
// the one kops command it needs.
func TestKopsInstanceGroups(t *testing.T) {
	s := newKopsScenario(t, "1.34", pulumitest.Config{"kopscalico:adoptExistingCluster": pulumitest.Plain("true")})
	s.store.SeedCluster(t, kopsClusterName, "--zones", "eu-west-1a,eu-west-1b", "--networking", "kubenet", "--node-count", "2")
	if o, e, code := s.store.RunStdin(t, nil, []byte(strings.ReplaceAll(string(kopstest.Fixture(t, "instancegroup-gpu.yaml")), "demo.example.com", kopsClusterName)), "replace", "--force", "-f", "-"); code != 0 {
		t.Fatalf("seed the GPU group: %s%s", o, e)
	}
	if o, e, code := s.store.Run(t, nil, "update", "cluster", kopsClusterName, "--yes", "--create-kube-config=false"); code != 0 {
		t.Fatalf("seed: update: %s%s", o, e)
	}
	gpuFile := filepath.Join(s.store.Dir, kopsClusterName, "instancegroup", "gpu")
	gpuBytes, err := os.ReadFile(gpuFile)
	if err != nil {
		t.Fatal(err)
	}
	gpuUnchanged := func(when string) {
		t.Helper()
		if b, err := os.ReadFile(gpuFile); err != nil || string(b) != string(gpuBytes) {
			t.Errorf("%s: the undeclared GPU group changed (%v):\n%s\nwas:\n%s", when, err, b, gpuBytes)
		}
	}
	groupFile := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(s.store.Dir, kopsClusterName, "instancegroup", name))
		return string(b)
	}
	mutating := func(calls []kopsdouble.Call) []string { return kopsdouble.Commands(kopsdouble.Mutating(calls)) }

	calls := s.step("up: adopt, shorthand nodeCount 2", func() { s.stack.Up() })
	gpuUnchanged("adoption")
	for _, c := range mutating(calls) {
		if strings.Contains(c, "gpu") {
			t.Errorf("adoption ran %s", c)
		}
	}
	if got := fmt.Sprint(s.stack.Outputs()["undeclaredInstanceGroups"].Value); got != "[gpu]" {
		t.Errorf("undeclaredInstanceGroups = %s, want [gpu]", got)
	}

	s.stack.SetConfig(pulumitest.Config{"kopscalico:instanceGroups": pulumitest.Plain(declaredGroups(3))})
	calls = s.step("up: declare the groups, add spot 1..3", func() { s.stack.Up() })
	if m := mutating(calls); countCalls(kopsdouble.Mutating(calls), "replace --force -f -") != 1 || countCalls(kopsdouble.Mutating(calls), "delete") != 0 {
		t.Errorf("adding a group ran %q; want one replace --force", m)
	}
	if g := groupFile("spot"); !strings.Contains(g, "maxSize: 3") || !strings.Contains(g, "maxPrice: \"0.05\"") {
		t.Errorf("spot group:\n%s", g)
	}
	gpuUnchanged("declaring groups")

	s.stack.SetConfig(pulumitest.Config{"kopscalico:instanceGroups": pulumitest.Plain(declaredGroups(5))})
	calls = s.step("up: resize spot to 1..5", func() { s.stack.Up() })
	if m := kopsdouble.Mutating(calls); len(m) != 2 || m[0].String() != "replace -f -" || !strings.HasPrefix(m[1].String(), "update cluster --name "+kopsClusterName+" --yes") {
		t.Errorf("resizing ran %q; want replace and update --yes", kopsdouble.Commands(m))
	}
	if g := groupFile("spot"); !strings.Contains(g, "maxSize: 5") || !strings.Contains(g, "minSize: 1") {
		t.Errorf("resized spot group:\n%s", g)
	}

	s.stack.SetConfig(pulumitest.Config{"kopscalico:instanceGroups": pulumitest.Plain(declaredGroups(0))})
	calls = s.step("up: spot dropped, removal not allowed", func() { _, err = s.stack.TryUp() })
	if err == nil || !strings.Contains(err.Error(), "kopscalico:allowInstanceGroupRemoval") {
		t.Errorf("err = %v; want a refusal naming kopscalico:allowInstanceGroupRemoval", err)
	}
	if m := mutating(calls); len(m) != 0 {
		t.Errorf("a refused removal ran %q", m)
	}

	s.stack.SetConfig(pulumitest.Config{"kopscalico:allowInstanceGroupRemoval": pulumitest.Plain("spot")})
	calls = s.step("up: spot removed", func() { s.stack.Up() })
	if m := mutating(calls); countCalls(kopsdouble.Mutating(calls), "delete instancegroup spot --name "+kopsClusterName+" --yes") != 1 {
		t.Errorf("removal ran %q; want delete instancegroup spot --yes", m)
	}
	if groupFile("spot") != "" {
		t.Error("the spot group is still in the store")
	}
	calls = s.step("up again", func() { s.stack.Up() })
	if m := mutating(calls); len(m) != 0 {
		t.Errorf("up after the removal mutated: %q", m)
	}
	gpuUnchanged("the end")
}
