package e2e_test

// The kill matrix: the plugin, and separately the engine, SIGKILLed right
// after each kops command of create, convert, roll and delete, run by the
// built cmd/kopscalico on a project directory with the kops double; then
// `repair --yes`, an `up` that converges and a `destroy` that deletes, with
// nothing orphaned in the double's store or the stack's state and nothing
// left running.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/lease"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
	"github.com/kopscalico/kopscalico/internal/testing/kubeconfigtest"
)

// envKillMatrix set to "full" runs every cell, to "mutating" the cells of
// every command that writes, to "readonly" the others (full in two halves);
// unset, the picked cells of each column.
const envKillMatrix = "KOPSCALICO_KILL_MATRIX"

// kopscalicoPlugin is the plugin's program name, the parent of the kops
// commands the matrix counts.
const kopscalicoPlugin = "pulumi-resource-" + pluginapi.Name

// killTarget is the process the matrix kills.
type killTarget string

const (
	killPlugin killTarget = "plugin" // the kopscalico provider plugin, kops's parent
	killEngine killTarget = "engine" // the pulumi CLI, the plugin's parent
)

var (
	upArgs      = []string{"up", "--yes", "--skip-preflight"}
	destroyArgs = []string{"destroy", "--yes"}
)

// killOp is a column of the matrix: an operation, and how to bring the
// stack and the store to the point just before it.
type killOp struct {
	name    string
	cfg     pulumitest.Config // for the whole column
	prepare func(k *killScenario)
	args    []string
	// picked are the cells run by default: a kops command (its call's
	// prefix) and the process killed after it.
	picked []killPick
}

type killPick struct {
	command string
	target  killTarget
}

// killMatrixOps are the four columns; the picked cells (8 of the full
// matrix's) kill each process once in each column, after a command that
// writes: the new cluster (unmarked), its mark, the applied conversion and its
// roll, the resized group and its update, the delete.
var killMatrixOps = []killOp{
	{
		name: "create", args: upArgs,
		prepare: func(k *killScenario) {},
		picked:  []killPick{{"create cluster", killPlugin}, {"replace -f -", killEngine}},
	},
	{
		name: "convert", args: upArgs,
		cfg: pulumitest.Config{"kopscalico:adoptExistingCluster": pulumitest.Plain("true")},
		prepare: func(k *killScenario) {
			k.store.SeedCluster(k.t, kopsClusterName, "--zones", "eu-west-1a,eu-west-1b", "--networking", "kubenet", "--node-count", "2")
		},
		picked: []killPick{
			{"update cluster --name " + kopsClusterName + " --yes", killEngine},
			{"rolling-update cluster --name " + kopsClusterName + " --yes", killPlugin},
		},
	},
	{
		name: "roll", args: upArgs,
		prepare: func(k *killScenario) {
			k.p.SetConfig(pulumitest.Config{"kopscalico:nodeSize": pulumitest.Plain("t3.medium")})
			k.mustRun("up before the roll", upArgs...)
			k.p.SetConfig(pulumitest.Config{"kopscalico:nodeSize": pulumitest.Plain("m6i.large")})
		},
		picked: []killPick{
			{"replace -f -", killPlugin}, {"update cluster --name " + kopsClusterName + " --yes", killEngine},
		},
	},
	{
		name: "delete", args: destroyArgs,
		prepare: func(k *killScenario) { k.mustRun("up before the destroy", upArgs...) },
		picked:  []killPick{{"delete cluster", killPlugin}, {"delete cluster", killEngine}},
	},
}

// killScenario is one column's project over one double store.
type killScenario struct {
	t     *testing.T
	store *kopsdouble.Store
	p     *pulumitest.Project
	sc    *kopsScenario
}

// killRow is one cell's result, for the matrix's table.
type killRow struct {
	op, command string
	n           int
	target      killTarget
	killedRun   string // how the killed run ended
	repair      string // what repair --yes said
	up          string // how up converged
	destroy     string
	took        time.Duration
}

// TestKillMatrix: for each column, one uninterrupted run lists the plugin's
// kops commands; then for each cell the plugin or the engine is SIGKILLed
// right after the command completes (the double stops there until the test
// has killed its target), and repair --yes, up and destroy put everything
// right.
func TestKillMatrix(t *testing.T) {
	mode := os.Getenv(envKillMatrix)
	var rows []killRow
	start := time.Now()
	for _, op := range killMatrixOps {
		t.Run(op.name, func(t *testing.T) {
			k := newKillScenario(t, op)
			commands := k.calibrate(op)
			for i, command := range commands {
				for _, target := range []killTarget{killPlugin, killEngine} {
					if !op.runs(mode, command, target) {
						continue
					}
					row := k.cell(op, i+1, command, target)
					rows = append(rows, row)
					if t.Failed() {
						return
					}
				}
			}
		})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "kill matrix (%d cells, %s):\n", len(rows), time.Since(start).Round(time.Second))
	b.WriteString("| op | # | kops command | killed | killed run | repair --yes | up | destroy | time |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %d | `%s` | %s | %s | %s | %s | %s | %s |\n", r.op, r.n, r.command, r.target, r.killedRun, r.repair, r.up, r.destroy, r.took)
	}
	t.Log(b.String())
}

// runTemp is the per-call folder the plugin gives kops (its private HOME),
// which differs from run to run: commands compare without it.
var runTemp = regexp.MustCompile(`kopscalico-[0-9]+`)

// runs says whether the matrix in mode (envKillMatrix) has the cell.
func (op killOp) runs(mode, command string, target killTarget) bool {
	switch mode {
	case "full":
		return true
	case "mutating":
		return kopsdouble.Call{Args: []string{command}}.Mutating()
	case "readonly":
		return !kopsdouble.Call{Args: []string{command}}.Mutating()
	}
	for _, p := range op.picked {
		if p.target == target && strings.HasPrefix(command, p.command) {
			return true
		}
	}
	return false
}

func newKillScenario(t *testing.T, op killOp) *killScenario {
	t.Helper()
	store := kopsdouble.NewStore(t, "1.34.2")
	store.SetKubeconfig(t, kubeconfigtest.ClientCert(t, "https://127.0.0.1:1"))
	cfg := kopsConfig(t, store, "1.34")
	cfg["kopscalico:policiesDir"] = pulumitest.Plain(t.TempDir())
	for key, v := range op.cfg {
		cfg[key] = v
	}
	env := map[string]string{"PATH": filepath.Dir(store.Bin) + string(os.PathListSeparator) + "/usr/bin:/bin"}
	p := pulumitest.NewProject(t, "kill", cfg, env)
	return &killScenario{t: t, store: store, p: p, sc: &kopsScenario{t: t, store: store}}
}

// mustRun runs kopscalico and fails the test unless it succeeds.
func (k *killScenario) mustRun(what string, args ...string) pulumitest.Run {
	k.t.Helper()
	r := k.p.Run("", args...)
	mustExit(k.t, what, r, 0)
	return r
}

// calibrate runs the operation once, uninterrupted, and returns the kops
// commands the plugin ran, in order; it leaves the store and state empty.
func (k *killScenario) calibrate(op killOp) []string {
	k.t.Helper()
	op.prepare(k)
	k.store.ResetCalls(k.t)
	k.mustRun(op.name+", uninterrupted", op.args...)
	var commands []string
	for _, c := range k.store.Calls(k.t) {
		if c.Parent == kopscalicoPlugin {
			commands = append(commands, c.String())
		}
	}
	k.t.Logf("%s: the plugin's kops commands:\n  %s", op.name, strings.Join(commands, "\n  "))
	k.finish("calibration")
	return commands
}

// cell kills target right after the plugin's nth kops command of the
// operation, then repairs, converges and destroys.
func (k *killScenario) cell(op killOp, n int, command string, target killTarget) (row killRow) {
	t := k.t
	t.Helper()
	row = killRow{op: op.name, command: command, n: n, target: target}
	start := time.Now()
	defer func() { row.took = time.Since(start).Round(time.Second) }()
	what := fmt.Sprintf("%s #%d (%s), %s killed", op.name, n, command, target)
	op.prepare(k)
	k.store.ResetCalls(t)
	k.store.PauseAfter(t, kopscalicoPlugin, n)
	run := k.p.Start(op.args...)
	paused, ok := k.store.WaitPaused(t, run.Done(), 5*time.Minute)
	if !ok {
		k.store.Disarm(t)
		r := run.Wait(time.Minute)
		t.Fatalf("%s: the run ended (exit %d) without reaching command %d:\n%s", what, r.Code, n, r.Stderr)
	}
	if got := paused.String(); runTemp.ReplaceAllString(got, "") != runTemp.ReplaceAllString(command, "") {
		t.Errorf("%s: command %d is %q this time", what, n, got)
	}
	pid := paused.PPID
	if target == killEngine {
		pid = parentPID(t, paused.PPID)
	}
	if want := map[killTarget]string{killPlugin: kopscalicoPlugin, killEngine: "pulumi"}[target]; programName(pid) != want {
		t.Fatalf("%s: pid %d is %q, not the %s", what, pid, programName(pid), want)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	k.store.Release(t)
	r := run.Wait(3 * time.Minute)
	row.killedRun = fmt.Sprintf("exit %d", r.Code)
	if r.Code == 0 {
		t.Errorf("%s: the killed run succeeded", what)
	}
	if left := k.leftRunning(30 * time.Second); len(left) > 0 {
		row.killedRun += fmt.Sprintf("; left running: %v", left)
		t.Errorf("%s: processes outlived the killed run: %v", what, left)
	}

	r = k.p.Run("", "repair", "--yes")
	row.repair = summary(r)
	if r.Code != 0 {
		t.Errorf("%s: repair --yes: exit %d\n%s\n%s", what, r.Code, r.Stdout, r.Stderr)
	}

	// A create killed after `kops create cluster` left a cluster marked as
	// this stack's (the mark comes with the spec): up takes it back as it is,
	// without kopscalico:adoptExistingCluster.
	k.store.ResetCalls(t)
	r = k.p.Run("", upArgs...)
	if r.Code != 0 {
		t.Fatalf("%s: up after the repair: exit %d\n%s", what, r.Code, r.Stderr)
	}
	tookBack := strings.Contains(r.Stdout, "carries this stack's mark")
	if op.name == "create" && strings.HasPrefix(command, "create cluster") && !tookBack {
		t.Errorf("%s: up did not take back the cluster its mark names:\n%s", what, r.Stdout)
	}
	if tookBack {
		row.up = "took the marked cluster back; "
	}
	row.up += k.converged(what)
	row.destroy = k.finish(what)
	t.Logf("%s: killed run %s; repair: %s; up: %s; destroy: %s (%s)", what, row.killedRun, row.repair, row.up, row.destroy, time.Since(start).Round(time.Second))
	return row
}

// converged checks the double's cluster, the stack's outputs and state,
// and says what up ran.
func (k *killScenario) converged(what string) string {
	t := k.t
	t.Helper()
	k.sc.converged()
	// The cloud runs what the store holds: kops has nothing left to apply.
	if out, stderr, code := k.store.Run(t, nil, "update", "cluster", "--name", kopsClusterName); code != 0 {
		t.Fatalf("%s: kops update cluster (dry run): exit %d: %s", what, code, stderr)
	} else if pending, err := kops.UpdatePending(out); err != nil || pending {
		t.Errorf("%s: changes left unapplied after up (%v):\n%s", what, err, out)
	}
	mark := kops.StackMark("organization", "kopscalico", k.p.Stack)
	annotations, _ := k.store.ClusterSpec(t, kopsClusterName)["metadata"].(map[string]any)["annotations"].(map[string]any)
	if got := annotations[kops.OwnerAnnotation]; got != mark {
		t.Errorf("%s: live owner mark %v, want %s", what, got, mark)
	}
	state := k.p.State()
	if len(state.PendingOperations) > 0 {
		t.Errorf("%s: pending operations after up: %v", what, state.PendingOperations)
	}
	var outputs, cluster map[string]any
	for _, r := range state.Resources {
		switch r.Type {
		case "pulumi:pulumi:Stack":
			outputs = r.Outputs
		case pluginapi.ClusterType:
			cluster = r.Outputs
		}
	}
	if outputs["clusterName"] != kopsClusterName || !strings.Contains(fmt.Sprint(outputs["clusterNetworking"]), "ipipMode: CrossSubnet") {
		t.Errorf("%s: stack outputs clusterName %v, clusterNetworking %v", what, outputs["clusterName"], outputs["clusterNetworking"])
	}
	if cluster["owner"] != mark {
		t.Errorf("%s: recorded owner %v, want %s", what, cluster["owner"], mark)
	}
	calls := k.store.Calls(t)
	return fmt.Sprintf("converged (%d creates, %d mutating kops commands)", countCalls(calls, "create cluster"), len(kopsdouble.Mutating(calls)))
}

// finish destroys the stack and checks nothing is orphaned or running.
func (k *killScenario) finish(what string) string {
	t := k.t
	t.Helper()
	k.store.ResetCalls(t)
	k.mustRun(what+": destroy", destroyArgs...)
	result := fmt.Sprintf("%d delete", countCalls(k.store.Calls(t), "delete cluster --name "+kopsClusterName+" --yes"))
	if entries, err := os.ReadDir(k.store.Dir); err != nil {
		t.Fatal(err)
	} else {
		for _, e := range entries {
			if e.Name() != kopsdouble.ControlDir && e.Name() != lease.Dir {
				t.Errorf("%s: %s left in the state store after destroy", what, e.Name())
			}
		}
	}
	if leases, err := os.ReadDir(filepath.Join(k.store.Dir, lease.Dir)); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	} else if len(leases) > 0 {
		t.Errorf("%s: lease objects left in the state store after destroy: %v", what, leases)
	}
	if state := k.p.State(); len(state.Resources) > 0 || len(state.PendingOperations) > 0 {
		t.Errorf("%s: the state after destroy holds %d resources, %d pending operations", what, len(state.Resources), len(state.PendingOperations))
	}
	if left := k.leftRunning(30 * time.Second); len(left) > 0 {
		t.Errorf("%s: processes left running after destroy: %v", what, left)
		result += fmt.Sprintf("; left running: %v", left)
	}
	return result + ", store empty, state empty"
}

// leftRunning waits up to timeout for the project's processes (the CLI,
// the engine, the plugins) and the double's (by its state store) to end,
// and returns those left.
func (k *killScenario) leftRunning(timeout time.Duration) []controlplane.Process {
	k.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left, err := controlplane.MarkedProcesses(k.p.Marker)
		if err != nil {
			k.t.Fatal(err)
		}
		kops, err := controlplane.ProcessesWithEnv("KOPS_STATE_STORE=" + k.store.URL())
		if err != nil {
			k.t.Fatal(err)
		}
		left = append(left, kops...)
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// summary is what a kopscalico run said in its own lines (not the
// engine's), and its exit status when it failed.
func summary(r pulumitest.Run) string {
	var said []string
	for _, line := range strings.Split(r.Stdout+r.Stderr, "\n") {
		if strings.HasPrefix(line, "kopscalico:") {
			said = append(said, strings.TrimSpace(strings.TrimPrefix(line, "kopscalico:")))
		}
	}
	s := strings.Join(said, " / ")
	if r.Code != 0 {
		s = fmt.Sprintf("exit %d: %s", r.Code, s)
	}
	return s
}

// parentPID is a process's parent, from /proc.
func parentPID(t *testing.T, pid int) int {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// pid (comm) state ppid ...; comm may hold spaces and parentheses.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		t.Fatal(err)
	}
	return ppid
}

// programName is the base name of a process's argv[0].
func programName(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	argv0, _, _ := bytes.Cut(b, []byte{0})
	return filepath.Base(string(argv0))
}
