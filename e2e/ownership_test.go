package e2e_test

// The owner mark through the real engine and plugin, with the kops double:
// a create whose answer was lost is taken back by the same stack; an import
// marks the cluster, and another stack's import, refresh and destroy are
// refused until it names the first stack to take the cluster over.

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"

	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

// stackMark is the owner mark of a stack of the cluster program in a file
// backend (no organization: the SDK's default one).
func stackMark(stack string) string { return kops.StackMark("organization", "kopscalico", stack) }

// liveMark is the owner annotation in the double's state store.
func (s *kopsScenario) liveMark() string {
	s.t.Helper()
	annotations, _ := s.store.ClusterSpec(s.t, kopsClusterName)["metadata"].(map[string]any)["annotations"].(map[string]any)
	mark, _ := annotations[kops.OwnerAnnotation].(string)
	return mark
}

// editState rewrites the stack's state (its deployment as JSON) with edit.
func editState(t *testing.T, s *pulumitest.Stack, edit func(dep map[string]any)) {
	t.Helper()
	ctx := context.Background()
	state, err := s.Stack.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var dep map[string]any
	if err := json.Unmarshal(state.Deployment, &dep); err != nil {
		t.Fatal(err)
	}
	edit(dep)
	if state.Deployment, err = json.Marshal(dep); err != nil {
		t.Fatal(err)
	}
	if err := s.Stack.Import(ctx, state); err != nil {
		t.Fatal(err)
	}
}

// dropCluster takes the Cluster out of the stack's state, as `pulumi state
// delete` does; pending: as a run killed while creating it leaves the state,
// its create pending.
func dropCluster(t *testing.T, s *pulumitest.Stack, pending bool) {
	t.Helper()
	editState(t, s, func(dep map[string]any) {
		var kept []any
		for _, r := range dep["resources"].([]any) {
			if r.(map[string]any)["type"] != pluginapi.ClusterType {
				kept = append(kept, r)
			} else if pending {
				dep["pending_operations"] = []any{map[string]any{"resource": r, "type": "creating"}}
			}
		}
		if len(kept) == len(dep["resources"].([]any)) {
			t.Fatal("no Cluster in the state to drop")
		}
		dep["resources"] = kept
	})
}

// A create whose answer never reached the engine (the run killed after kops
// made and marked the cluster): after the repair (refresh, pending creates
// dropped), a plain up takes the cluster back instead of refusing it.
func TestKopsLostCreateIsTakenBack(t *testing.T) {
	s := newKopsScenario(t, "1.34", nil)
	s.stack.Up()
	if got := s.liveMark(); got != stackMark("kops") {
		t.Fatalf("live mark %q, want the stack's %q", got, stackMark("kops"))
	}
	dropCluster(t, s.stack, true)
	s.step("repair: refresh, pending creates dropped", func() { s.stack.Refresh(optrefresh.ClearPendingCreates()) })
	if stateHolds(t, s.stack, pluginapi.ClusterType) {
		t.Fatal("the Cluster is still in the state; the test proves nothing")
	}
	calls := s.step("plain up after the lost create", func() { s.stack.Up() })
	if n := countCalls(calls, "create cluster"); n != 0 {
		t.Errorf("created the cluster again (%d)", n)
	}
	s.converged()
	if !stateHolds(t, s.stack, pluginapi.ClusterType) {
		t.Error("the cluster is not back in the state")
	}
	calls = s.step("destroy", func() { s.stack.Destroy() })
	if n := countCalls(calls, "delete cluster --name "+kopsClusterName+" --yes"); n != 1 || s.store.Exists(kopsClusterName) {
		t.Errorf("%d deletes, cluster left %v", n, s.store.Exists(kopsClusterName))
	}
}

// An import marks the cluster as the importing stack's; a second stack's
// import is refused, naming the key that takes it over; with that key it
// takes the cluster over, and the first stack's refresh and destroy are then
// refused (nothing deleted) with the fix, which lets its destroy finish.
func TestKopsImportMarksAndTakeOver(t *testing.T) {
	s := newKopsScenario(t, "1.34", nil)
	// A Calico cross-subnet cluster as the config wants, unmarked and in no
	// stack's state (made by hand).
	s.stack.Up()
	dropCluster(t, s.stack, false)
	spec := s.store.ClusterSpec(t, kopsClusterName)
	delete(spec["metadata"].(map[string]any), "annotations")
	s.store.WriteClusterSpec(t, kopsClusterName, spec)

	first := pulumitest.New(t, kopsClusterProgram, s.cfg, kopsStackOptions("first"))
	var err error
	calls := s.step("up of a new stack over the existing cluster", func() { _, err = first.TryUp() })
	if err == nil || !strings.Contains(err.Error(), "kopscalico:importExistingCluster") {
		t.Fatalf("err = %v; want a refusal that says how to import", err)
	}
	if m := kopsdouble.Mutating(calls); len(m) != 0 {
		t.Errorf("a refused up mutated: %v", kopsdouble.Commands(m))
	}
	importing := pulumitest.Config{"kopscalico:importExistingCluster": pulumitest.Plain("true")}
	first.SetConfig(importing)
	calls = s.step("preview of the import", func() { first.Preview() })
	if m := kopsdouble.Mutating(calls); len(m) != 0 || s.liveMark() != "" {
		t.Errorf("the preview of an import wrote: %v, mark %q", kopsdouble.Commands(m), s.liveMark())
	}
	s.step("import by name", func() { first.Up() })
	if got := s.liveMark(); got != stackMark("first") {
		t.Fatalf("after the import the mark is %q, want %q", got, stackMark("first"))
	}
	first.Preview(optpreview.ExpectNoChanges())

	second := pulumitest.New(t, kopsClusterProgram, s.cfg, kopsStackOptions("second"))
	second.SetConfig(importing)
	calls = s.step("a second stack's import", func() { _, err = second.TryUp() })
	if err == nil || !strings.Contains(err.Error(), "kopscalico:takeOverClusterFrom="+stackMark("first")) {
		t.Fatalf("second import: err = %v; want a refusal naming the takeover key", err)
	}
	if m := kopsdouble.Mutating(calls); len(m) != 0 || s.liveMark() != stackMark("first") {
		t.Errorf("the refused import wrote: %v, mark %q", kopsdouble.Commands(m), s.liveMark())
	}

	second.SetConfig(pulumitest.Config{"kopscalico:takeOverClusterFrom": pulumitest.Plain(stackMark("first"))})
	s.step("the second stack takes it over", func() { second.Up() })
	if got := s.liveMark(); got != stackMark("second") {
		t.Fatalf("after the takeover the mark is %q", got)
	}

	if _, err = first.Stack.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "belongs to stack "+stackMark("second")) {
		t.Errorf("the first stack's refresh: err = %v", err)
	}
	calls = s.step("the first stack's destroy", func() { _, err = first.TryDestroy() })
	if err == nil || !strings.Contains(err.Error(), "pulumi state delete") {
		t.Errorf("the first stack's destroy: err = %v; want the refusal with the fix", err)
	}
	if m := kopsdouble.Mutating(calls); len(m) != 0 || !s.store.Exists(kopsClusterName) {
		t.Fatalf("the refused destroy ran %v; cluster there: %v", kopsdouble.Commands(m), s.store.Exists(kopsClusterName))
	}

	// The fix the refusal names lets the first stack's destroy finish
	// without deleting; the owner's destroy deletes the cluster.
	dropCluster(t, first, false)
	calls = s.step("the first stack's destroy after the fix", func() { first.Destroy() })
	if m := kopsdouble.Mutating(calls); len(m) != 0 || !s.store.Exists(kopsClusterName) {
		t.Errorf("ran %v; cluster there: %v", kopsdouble.Commands(m), s.store.Exists(kopsClusterName))
	}
	calls = s.step("the owner's destroy", func() { second.Destroy() })
	if n := countCalls(calls, "delete cluster --name "+kopsClusterName+" --yes"); n != 1 || s.store.Exists(kopsClusterName) {
		t.Errorf("%d deletes, cluster left %v", n, s.store.Exists(kopsClusterName))
	}
}

// setRecordedOwner rewrites the Cluster's recorded owner, as an older plugin
// recorded its random mark.
func setRecordedOwner(t *testing.T, s *pulumitest.Stack, owner string) {
	t.Helper()
	editState(t, s, func(dep map[string]any) {
		for _, r := range dep["resources"].([]any) {
			if res := r.(map[string]any); res["type"] == pluginapi.ClusterType {
				res["outputs"].(map[string]any)["owner"] = owner
			}
		}
	})
}

// A stack recorded with the random mark of an older version: the first up
// rewrites it to the stack's, only when the live mark is the recorded one.
func TestKopsRandomMarkMigrates(t *testing.T) {
	const random, other = "3f9c2a61d0b4e785", "0d1e2f3a4b5c6d7e"
	s := newKopsScenario(t, "1.34", nil)
	s.stack.Up()
	setMark := func(mark string) {
		spec := s.store.ClusterSpec(t, kopsClusterName)
		spec["metadata"].(map[string]any)["annotations"] = map[string]any{kops.OwnerAnnotation: mark}
		s.store.WriteClusterSpec(t, kopsClusterName, spec)
	}
	setRecordedOwner(t, s.stack, random)

	setMark(other)
	var err error
	calls := s.step("up, the live mark not the recorded one", func() { _, err = s.stack.TryUp() })
	if err == nil || !strings.Contains(err.Error(), "belongs to stack "+other) {
		t.Errorf("err = %v; want the foreign mark refused", err)
	}
	if m := kopsdouble.Mutating(calls); len(m) != 0 || s.liveMark() != other {
		t.Errorf("ran %v; mark %q", kopsdouble.Commands(m), s.liveMark())
	}

	setMark(random)
	if res := s.stack.Preview(); res.ChangeSummary["update"] != 1 {
		t.Errorf("preview: %v; want the Cluster updated", res.ChangeSummary)
	}
	s.step("up migrates the mark", func() { s.stack.Up() })
	if got := s.liveMark(); got != stackMark("kops") {
		t.Errorf("live mark %q, want %q", got, stackMark("kops"))
	}
	s.stack.Preview(optpreview.ExpectNoChanges())
	s.converged()
}

// A create stopped between `kops create cluster` and `kops replace`, its
// answer lost (a killed run): the cluster carries this stack's mark from
// kops's first write of it, so after the repair a plain up takes it back,
// without adoptExistingCluster and without a second create.
func TestKopsCreateStoppedBeforeReplaceIsTakenBack(t *testing.T) {
	s := newKopsScenario(t, "1.34", nil)
	s.store.InjectFailures(t, kopsdouble.Failure{Command: "replace", Exit: 1, Stderr: "Error: injected: the run stops here", Times: 1})
	calls := s.step("up stopped after create cluster", func() {
		if _, err := s.stack.TryUp(); err == nil {
			t.Fatal("the up with replace failing succeeded")
		}
	})
	if n := countCalls(calls, "create cluster"); n != 1 {
		t.Fatalf("%d creates, want 1", n)
	}
	if got := s.liveMark(); got != stackMark("kops") {
		t.Fatalf("after create cluster alone the mark is %q, want %q", got, stackMark("kops"))
	}
	dropCluster(t, s.stack, true)
	s.step("repair: refresh, pending creates dropped", func() { s.stack.Refresh(optrefresh.ClearPendingCreates()) })
	calls = s.step("plain up", func() { s.stack.Up() })
	if n := countCalls(calls, "create cluster"); n != 0 {
		t.Errorf("created the cluster again (%d)", n)
	}
	s.converged()
	s.step("destroy", func() { s.stack.Destroy() })
	if s.store.Exists(kopsClusterName) {
		t.Error("destroy left the cluster")
	}
}
