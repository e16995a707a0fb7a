package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/internal/childproc"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

func readDeployment(t *testing.T, path string) apitype.UntypedDeployment {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d apitype.UntypedDeployment
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPendingOperationsOfAKilledRun(t *testing.T) {
	ops, err := pendingOperations(readDeployment(t, "testdata/killed-run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, op := range ops {
		got = append(got, string(op.Type)+" "+string(op.Resource.URN))
	}
	want := []string{
		"creating urn:pulumi:dev::kopscalico::aws:s3/bucketV2:BucketV2::state-store",
		"updating urn:pulumi:dev::kopscalico::pulumi:pulumi:Stack::kopscalico-dev",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}

	text := describePending("dev", ops)
	for _, w := range append(want, "stack dev has 2 operation(s)", "pulumi import") {
		if !strings.Contains(text, w) {
			t.Errorf("description lacks %q:\n%s", w, text)
		}
	}
	if strings.Contains(describePending("dev", ops[1:]), "pulumi import") {
		t.Error("advice about pending creates given without one")
	}

	// A kops cluster's pending create is taken back by the next up, not imported.
	cluster := apitype.OperationV2{Type: apitype.OperationTypeCreating}
	cluster.Resource.URN, cluster.Resource.Type = "urn:pulumi:dev::kopscalico::"+pluginapi.ClusterType+"::cluster", pluginapi.ClusterType
	text = describePending("dev", append([]apitype.OperationV2{cluster}, ops[1:]...))
	if !strings.Contains(text, "taken back by the next up") || !strings.Contains(text, "stale lease") || strings.Contains(text, "pulumi import") {
		t.Errorf("advice for a kops cluster's pending create:\n%s", text)
	}
}

func TestPendingOperationsRefusesAnUnknownSchema(t *testing.T) {
	d := readDeployment(t, "testdata/killed-run.json")
	d.Version = 2
	if _, err := pendingOperations(d); err == nil || !strings.Contains(err.Error(), "schema version 2") {
		t.Errorf("err = %v", err)
	}
}

// realCLIStack creates stack dev of project kopscalico in a file backend
// with the pulumi CLI from .tools/bin, which run then uses too. It returns
// the project directory and the stack's state file.
func realCLIStack(t *testing.T) (project, stateFile string) {
	t.Helper()
	cli := controlplane.RequireTools(t, "pulumi")["pulumi"]
	tmp := t.TempDir()
	backend, project := filepath.Join(tmp, "backend"), filepath.Join(tmp, "project")
	for _, d := range []string{backend, project, filepath.Join(tmp, "home")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(project, "Pulumi.yaml"), []byte("name: kopscalico\nruntime: go\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", filepath.Dir(cli)+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("PULUMI_BACKEND_URL", "file://"+backend)
	t.Setenv("PULUMI_HOME", filepath.Join(tmp, "home"))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "test")
	t.Setenv("PULUMI_SKIP_UPDATE_CHECK", "true")
	t.Setenv("PULUMI_DIY_BACKEND_NO_LEGACY_WARNING", "true")
	stackInit := childproc.Cmd{Path: cli, Args: []string{"stack", "init", "dev", "--secrets-provider", "passphrase"}, Env: childproc.Environ(), Dir: project}
	if _, err := childproc.Run(context.Background(), stackInit); err != nil {
		t.Fatal(err)
	}
	return project, filepath.Join(backend, ".pulumi", "stacks", "kopscalico", "dev.json")
}

// runOK runs kopscalico on project and returns its stdout.
func runOK(t *testing.T, project string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, append([]string{"--dir", project}, args...), nil, &out, &errOut); code != 0 {
		t.Fatalf("kopscalico %q: exit %d\n%s%s", args, code, out.String(), errOut.String())
	}
	return out.String()
}

// TestRepairWithTheRealCLI puts the fixture's pending operations into the
// state, as a killed run leaves them, and repairs the stack.
func TestRepairWithTheRealCLI(t *testing.T) {
	project, stateFile := realCLIStack(t)
	injectPending(t, stateFile, readDeployment(t, "testdata/killed-run.json"))
	if out := runOK(t, project, "repair"); !strings.Contains(out, "stack dev has 2 operation(s)") || !strings.Contains(out, "repair --yes") {
		t.Errorf("repair without --yes:\n%s", out)
	}
	if out := runOK(t, project, "repair", "--yes"); !strings.Contains(out, "no pending operations left") {
		t.Errorf("repair --yes:\n%s", out)
	}
	if out := runOK(t, project, "repair"); !strings.Contains(out, "nothing to repair") || !strings.Contains(out, "repair --yes") {
		t.Errorf("repair after repair:\n%s", out)
	}
	// A killed plugin leaves nothing pending: --yes refreshes all the same.
	if out := runOK(t, project, "repair", "--yes"); !strings.Contains(out, "Refreshing (dev)") || !strings.Contains(out, "is refreshed and has no pending operations left") {
		t.Errorf("repair --yes with nothing pending:\n%s", out)
	}
}

// TestCancelUnlocksAStackAKilledRunLocked leaves the lock file a killed run
// leaves in a file backend: the stack refuses updates until cancel.
func TestCancelUnlocksAStackAKilledRunLocked(t *testing.T) {
	project, stateFile := realCLIStack(t)
	lockDir := filepath.Join(filepath.Dir(stateFile), "..", "..", "locks", "organization", "kopscalico", "dev")
	if err := os.MkdirAll(lockDir, 0o700); err != nil {
		t.Fatal(err)
	}
	lock := `{"pid":4242,"username":"someone","hostname":"gone","timestamp":"2025-01-01T10:00:00Z"}`
	if err := os.WriteFile(filepath.Join(lockDir, "1b4e28ba-2fa1-11d2-883f-0016d3cca427.json"), []byte(lock), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, []string{"--dir", project, "refresh"}, nil, &out, &errOut); code != 1 {
		t.Fatalf("refresh of a locked stack: exit %d, want 1\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "kopscalico --stack dev cancel --yes") {
		t.Errorf("the locked stack's error does not name the fix:\n%s", errOut.String())
	}
	if out := runOK(t, project, "cancel", "--yes"); !strings.Contains(out, "is cancelled") {
		t.Errorf("cancel:\n%s", out)
	}
	runOK(t, project, "refresh")
}

func TestKilledRunLocks(t *testing.T) {
	t.Parallel()
	const locked = "error: the stack is currently locked by 2 lock(s). Either wait for the other process(es) to end or delete the lock file with `pulumi cancel`.\n" +
		"  file:///b/.pulumi/locks/organization/kopscalico/dev/1.json: created by root@vm (pid 3498) at 2026-12-07T09:52:37Z\n" +
		"  file:///b/.pulumi/locks/organization/kopscalico/dev/2.json: created by ci@vm (pid 77) at 2026-12-07T09:52:38Z"
	dead := func(int) bool { return false }
	for _, c := range []struct {
		name    string
		msg     string
		host    string
		running func(int) bool
		want    []int
	}{
		{name: "every run gone, this host", msg: locked, host: "vm", running: dead, want: []int{3498, 77}},
		{name: "another host", msg: locked, host: "laptop", running: dead},
		{name: "one run alive", msg: locked, host: "vm", running: func(pid int) bool { return pid == 77 }},
		{name: "no lock named", msg: "error: the stack is currently locked by 1 lock(s).", host: "vm", running: dead},
		{name: "another error", msg: "error: created by root@vm (pid 1) at x", host: "vm", running: dead},
	} {
		pids, ok := killedRunLocks(c.msg, c.host, c.running)
		if ok != (c.want != nil) || !slices.Equal(pids, c.want) {
			t.Errorf("%s: %v %v, want %v", c.name, pids, ok, c.want)
		}
	}
}

// TestRepairCancelsAKilledRunsLock: the lock of a run on this host whose
// process is gone is cancelled by repair --yes; a live run's is not.
func TestRepairCancelsAKilledRunsLock(t *testing.T) {
	project, stateFile := realCLIStack(t)
	injectPending(t, stateFile, readDeployment(t, "testdata/killed-run.json"))
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	lockDir := filepath.Join(filepath.Dir(stateFile), "..", "..", "locks", "organization", "kopscalico", "dev")
	lock := func(pid int) {
		t.Helper()
		if err := os.MkdirAll(lockDir, 0o700); err != nil {
			t.Fatal(err)
		}
		content := fmt.Sprintf(`{"pid":%d,"username":"someone","hostname":%q,"timestamp":"2025-01-01T10:00:00Z"}`, pid, host)
		if err := os.WriteFile(filepath.Join(lockDir, "1b4e28ba-2fa1-11d2-883f-0016d3cca427.json"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	lock(os.Getpid())
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, []string{"--dir", project, "repair", "--yes"}, nil, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "cancel --yes") {
		t.Errorf("repair with a live run's lock: exit %d\n%s%s", code, out.String(), errOut.String())
	}

	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	lock(gone.Process.Pid)
	if out := runOK(t, project, "repair", "--yes"); !strings.Contains(out, "is a killed run's") || !strings.Contains(out, "no pending operations left") {
		t.Errorf("repair with a killed run's lock:\n%s", out)
	}
}

// injectPending gives the state file of a file backend the resources and
// pending operations of d.
func injectPending(t *testing.T, stateFile string, d apitype.UntypedDeployment) {
	t.Helper()
	b, err := os.ReadFile(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	var file, checkpoint, latest, dep map[string]json.RawMessage
	mustUnmarshal(t, b, &file)
	mustUnmarshal(t, file["checkpoint"], &checkpoint)
	mustUnmarshal(t, checkpoint["latest"], &latest)
	mustUnmarshal(t, d.Deployment, &dep)
	latest["resources"], latest["pending_operations"] = dep["resources"], dep["pending_operations"]
	checkpoint["latest"] = mustJSON(t, latest)
	file["checkpoint"] = mustJSON(t, checkpoint)
	if err := os.WriteFile(stateFile, mustJSON(t, file), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
