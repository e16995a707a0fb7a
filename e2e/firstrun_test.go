package e2e_test

// The first run as a user makes it: the built cmd/kopscalico (so main's
// stdin question, exit status and Ctrl-C handling are what runs) on a project
// directory, with the real engine, the kops double and AWS on loopback.

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/internal/testing/fakeaws"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

const upQuestion = "Do you want to perform this update? [y/N]"

// firstRunProject is a project of the whole program, owning the shipped
// policies' namespace, whose kops is the double (by path, and on PATH for
// the kubeconfig's exec) and whose AWS is fakeaws.
func firstRunProject(t *testing.T, store *kopsdouble.Store, cfg pulumitest.Config) (*pulumitest.Project, *fakeaws.Server) {
	t.Helper()
	cfg["kopscalico:namespaces"] = pulumitest.Plain("ns-1")
	aws := fakeaws.Start(t)
	env := aws.Env()
	env["PATH"] = filepath.Dir(store.Bin) + string(os.PathListSeparator) + "/usr/bin:/bin"
	return pulumitest.NewProject(t, "dev", cfg, env), aws
}

func mustExit(t *testing.T, what string, r pulumitest.Run, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, r.Code, code, r.Stdout, r.Stderr)
	}
}

// TestUpAsksAndAppliesNothingUnconfirmed: `kopscalico up` without --yes and
// with stdin closed checks kops and AWS, prints the preview and the
// question, and stops with exit status 1: no resource in the state, no kops
// command but `kops version`. A config edit made while the question waits
// is refused by the engine's plan when the answer is yes. The example's
// placeholders stop preview and up alike.
func TestUpAsksAndAppliesNothingUnconfirmed(t *testing.T) {
	store := kopsdouble.NewStore(t, "1.34.2")
	p, aws := firstRunProject(t, store, kopsConfig(t, store, "1.34"))

	r := p.Run("", "up")
	mustExit(t, "up, stdin closed", r, 1)
	for _, want := range []string{"Previewing update", "kopscalico:index:Cluster", "create", upQuestion} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if !strings.Contains(r.Stderr, "not confirmed: nothing was applied") {
		t.Errorf("stderr does not say nothing was applied:\n%s", r.Stderr)
	}
	if types := p.ResourceTypes(); len(types) != 0 {
		t.Errorf("resources in the state after an unconfirmed up: %v", types)
	}
	calls := kopsdouble.Commands(store.Calls(t))
	if len(calls) != 1 || !strings.HasPrefix(calls[0], "kops version") {
		t.Errorf("kops calls %v, want the preflight's `kops version` only", calls)
	}
	var awsCalls []string
	for _, c := range aws.Calls() {
		awsCalls = append(awsCalls, c.String())
	}
	if !slices.Contains(awsCalls, "sts:GetCallerIdentity") || !slices.Contains(awsCalls, "ec2:DescribeAvailabilityZones") || len(aws.Refused()) > 0 {
		t.Errorf("AWS calls of the preflight: %v (refused: %v)", awsCalls, aws.Refused())
	}

	// Yes to a preview that no longer holds: the node count changed while
	// the question waited. The plan refuses the create the preview did not show.
	store.ResetCalls(t)
	run := p.Start("up")
	run.WaitForOutput(upQuestion, 5*time.Minute)
	p.SetConfig(pulumitest.Config{"kopscalico:nodeCount": pulumitest.Plain("3")})
	if _, err := run.Stdin.Write([]byte("y\n")); err != nil {
		t.Fatal(err)
	}
	r = run.Wait(pulumitest.DefaultOpTimeout)
	mustExit(t, "up, config changed after the preview", r, 1)
	for _, want := range []string{"violates plan: properties changed: ++nodeCount[{2}!={3}]", "run up again to see the new preview"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("the refusal lacks %q:\n%s", want, r.Stderr)
		}
	}
	if m := kopsdouble.Mutating(store.Calls(t)); len(m) != 0 || store.Exists(kopsClusterName) {
		t.Errorf("kops changed something outside the plan: %v", kopsdouble.Commands(m))
	}
	if a := applied(p.ResourceTypes()); len(a) > 0 {
		t.Errorf("resources applied beyond the plan: %v", a)
	}

	p.SetConfig(pulumitest.Config{"kopscalico:clusterName": pulumitest.Plain("calico.REPLACE_ME_WITH_YOUR_ROUTE53_ZONE")})
	for _, op := range []string{"preview", "up"} {
		r := p.Run("y\n", op)
		mustExit(t, op+" with a placeholder", r, 1)
		if want := `kopscalico:clusterName = "calico.REPLACE_ME_WITH_YOUR_ROUTE53_ZONE": replace the example's placeholder with`; !strings.Contains(r.Stdout+r.Stderr, want) {
			t.Errorf("%s: no %q in\n%s\n%s", op, want, r.Stdout, r.Stderr)
		}
	}
	if m := kopsdouble.Mutating(store.Calls(t)); len(m) != 0 || len(applied(p.ResourceTypes())) > 0 {
		t.Errorf("something was applied: kops %v, state %v", kopsdouble.Commands(m), p.ResourceTypes())
	}
}

// applied leaves out of a state's resource types the stack and the
// providers, which the engine records as soon as an update starts.
func applied(types []string) []string {
	var out []string
	for _, typ := range types {
		if typ != "pulumi:pulumi:Stack" && !strings.HasPrefix(typ, "pulumi:providers:") {
			out = append(out, typ)
		}
	}
	return out
}

// TestCtrlCMidRoll: Ctrl-C once while the plugin's `kops rolling-update
// --yes` runs: kopscalico passes the engine one SIGINT, the engine cancels,
// the plugin stops kops, the run ends with nothing left running and nothing
// left pending, and the next up finishes the roll. The first up is confirmed
// on stdin and applied under its preview's plan; destroy asks as well.
func TestCtrlCMidRoll(t *testing.T) {
	cp := controlplane.Start(t)
	store := kopsdouble.NewStore(t, "1.34.2")
	store.SetKubeconfig(t, cp.KubeconfigBytes())
	cfg := kopsConfig(t, store, "1.34")
	policies := filepath.Join(t.TempDir(), "policies")
	if err := os.CopyFS(policies, os.DirFS(cfg["kopscalico:policiesDir"].Value)); err != nil {
		t.Fatal(err)
	}
	cfg["kopscalico:policiesDir"] = pulumitest.Plain(policies)
	p, _ := firstRunProject(t, store, cfg)
	sc := &kopsScenario{t: t, store: store}

	mustExit(t, "up, confirmed", p.Run("yes\n", "up"), 0)
	sc.converged()

	p.SetConfig(pulumitest.Config{"kopscalico:nodeSize": pulumitest.Plain("m6i.large")})
	store.SetRollingUpdateDelay(t, 10*time.Minute)
	run := p.Start("up", "--yes")
	roll := waitForMarked(t, p.Marker, run.Done(), func(c string) bool {
		return strings.HasPrefix(c, store.Bin+" rolling-update") && strings.Contains(c, "--yes")
	})
	t.Logf("rolling: %s", roll)
	run.Interrupt()
	r := run.Wait(3 * time.Minute)
	mustExit(t, "up interrupted once", r, 1)
	if !strings.Contains(r.Stderr, "interrupted: cancelling") || strings.Contains(r.Stderr, "interrupted again") {
		t.Errorf("not the graceful cancel of one Ctrl-C:\n%s", r.Stderr)
	}
	if left := markedAfter(t, p.Marker, 20*time.Second); len(left) > 0 {
		t.Errorf("processes outlived the interrupted run: %v", left)
	}
	if !sc.needsRoll() {
		t.Error("the roll finished: the interrupt came too late to show anything")
	}
	if r := p.Run("", "repair"); r.Code != 0 || !strings.Contains(r.Stdout, "nothing to repair") {
		t.Errorf("the cancelled run left pending operations:\n%s\n%s", r.Stdout, r.Stderr)
	}

	store.SetRollingUpdateDelay(t, 0)
	mustExit(t, "up after the interrupt", p.Run("y\n", "up"), 0)
	sc.converged()

	r = p.Run("", "destroy")
	mustExit(t, "destroy, stdin closed", r, 1)
	if !strings.Contains(r.Stdout, "Do you want to perform this destroy? [y/N]") || !store.Exists(kopsClusterName) {
		t.Errorf("an unconfirmed destroy: asked %v, cluster kept %v", strings.Contains(r.Stdout, "destroy?"), store.Exists(kopsClusterName))
	}
	mustExit(t, "destroy, confirmed", p.Run("y\n", "destroy"), 0)
	if store.Exists(kopsClusterName) {
		t.Error("the cluster outlived a confirmed destroy")
	}
}

// waitForMarked waits for a process carrying marker whose command line
// matches, and returns that command line.
func waitForMarked(t *testing.T, marker string, done <-chan struct{}, match func(cmdline string) bool) string {
	t.Helper()
	deadline := time.After(5 * time.Minute)
	for {
		procs, err := controlplane.MarkedProcesses(marker)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range procs {
			if match(p.Cmdline) {
				return p.Cmdline
			}
		}
		select {
		case <-done:
			t.Fatal("the run ended before the process started")
		case <-deadline:
			t.Fatal("no such process after 5 minutes")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// markedAfter waits up to timeout for the processes carrying marker to go
// and returns those left.
func markedAfter(t *testing.T, marker string, timeout time.Duration) []controlplane.Process {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left, err := controlplane.MarkedProcesses(marker)
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(200 * time.Millisecond)
	}
}
