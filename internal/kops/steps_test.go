package kops_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
)

// The one table of timeout defaults: the config keys' defaults fill a
// Manager's zero fields, and set fields are kept.
func TestTimeoutDefaults(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, want kops.Timeouts
	}{
		{kops.Timeouts{}, kops.Timeouts{Command: 10 * time.Minute, Validate: 15 * time.Minute, RollingUpdate: 60 * time.Minute}},
		{kops.Timeouts{Command: time.Minute}, kops.Timeouts{Command: time.Minute, Validate: 15 * time.Minute, RollingUpdate: 60 * time.Minute}},
		{kops.Timeouts{Validate: 5 * time.Minute, RollingUpdate: -time.Second}, kops.Timeouts{Command: 10 * time.Minute, Validate: 5 * time.Minute, RollingUpdate: 60 * time.Minute}},
	} {
		if got := c.in.WithDefaults(); got != c.want {
			t.Errorf("%+v.WithDefaults() = %+v, want %+v", c.in, got, c.want)
		}
	}
	table := kops.Timeouts{Command: config.DefaultKopsTimeout, Validate: config.DefaultValidateTimeout, RollingUpdate: config.DefaultRollingUpdateTimeout}
	if got := (kops.Timeouts{}).WithDefaults(); got != table {
		t.Errorf("defaults %+v, config's table %+v", got, table)
	}
}

// The steps table: each step's kops command and the timeout it gets.
func TestStepsTable(t *testing.T) {
	t.Parallel()
	to := kops.Timeouts{Command: time.Minute, Validate: 10 * time.Minute, RollingUpdate: time.Hour}
	const cmd, validate, roll = time.Minute, 11 * time.Minute, time.Hour
	rows := []struct {
		step    kops.Step
		command string
		timeout time.Duration
		quiet   bool
	}{
		{kops.StepVersion, "version", cmd, false},
		{kops.StepGetCluster, "get cluster", cmd, true},
		{kops.StepCreateCluster, "create cluster", cmd, false},
		{kops.StepReadSpec, "get cluster", cmd, true},
		{kops.StepWriteSpec, "replace", cmd, false},
		{kops.StepReadInstanceGroups, "get instancegroups", cmd, true},
		{kops.StepCreateInstanceGroups, "replace --force", cmd, false},
		{kops.StepResizeInstanceGroups, "replace", cmd, false},
		{kops.StepPlanUpdate, "update cluster", cmd, false},
		{kops.StepReconcile, "reconcile cluster", roll, false},
		{kops.StepUpdateControlPlane, "update cluster", cmd, false},
		{kops.StepRollControlPlane, "rolling-update cluster", roll, false},
		{kops.StepUpdate, "update cluster", cmd, false},
		{kops.StepDeleteInstanceGroups, "delete instancegroup", roll, false},
		{kops.StepExportKubeconfig, "export kubecfg", cmd, false},
		{kops.StepPlanRoll, "rolling-update cluster", cmd, false},
		{kops.StepRoll, "rolling-update cluster", roll, false},
		{kops.StepValidate, "validate cluster", validate, false},
		{kops.StepListClusters, "get clusters", cmd, true},
		{kops.StepDelete, "delete cluster", roll, false},
	}
	if len(rows) != kops.StepCount {
		t.Errorf("the table has %d steps, this test %d", kops.StepCount, len(rows))
	}
	for _, r := range rows {
		command, timeout, quiet, ok := kops.StepRow(r.step, to)
		if !ok || command != r.command || timeout != r.timeout || quiet != r.quiet {
			t.Errorf("step %s: %q, %s, quiet %v (in table: %v); want %q, %s, quiet %v", r.step, command, timeout, quiet, ok, r.command, r.timeout, r.quiet)
		}
	}
	create, reconcile := kops.Lifecycles()
	if want := []kops.Step{kops.StepCreateCluster, kops.StepReadSpec, kops.StepWriteSpec,
		kops.StepReadInstanceGroups, kops.StepCreateInstanceGroups, kops.StepResizeInstanceGroups, kops.StepUpdate, kops.StepExportKubeconfig, kops.StepValidate}; !reflect.DeepEqual(create, want) {
		t.Errorf("create lifecycle %v, want %v", create, want)
	}
	if want := []kops.Step{kops.StepReadInstanceGroups, kops.StepWriteSpec, kops.StepCreateInstanceGroups, kops.StepResizeInstanceGroups,
		kops.StepPlanUpdate, kops.StepReconcile, kops.StepUpdateControlPlane, kops.StepRollControlPlane, kops.StepUpdate, kops.StepDeleteInstanceGroups, kops.StepExportKubeconfig, kops.StepPlanRoll, kops.StepRoll, kops.StepValidate}; !reflect.DeepEqual(reconcile, want) {
		t.Errorf("reconcile lifecycle %v, want %v", reconcile, want)
	}
}

// convertAndRoll scripts a kubenet cluster the Manager converts, resizes,
// applies and rolls: every step of the reconcile lifecycle runs a command.
func convertAndRoll(t *testing.T) *kopstest.Runner {
	return &kopstest.Runner{T: t, Kubeconfig: "kubeconfig", Answers: map[string]kopstest.Answer{
		"version": kopstest.OK("Client version: 1.28.4 (git-v1.28.4)\n"),
		"get cluster --name demo.example.com -o yaml":          kopstest.OK(string(kopstest.Fixture(t, "kubenet-1.28.yaml"))),
		"get instancegroups":                                   kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
		"replace":                                              kopstest.OK(""),
		"update cluster --name demo.example.com --yes":         kopstest.OK(""),
		"export kubecfg":                                       kopstest.OK(""),
		"rolling-update cluster --name demo.example.com":       kopstest.OK(string(kopstest.Fixture(t, "rolling-update-needed.txt"))),
		"rolling-update cluster --name demo.example.com --yes": kopstest.OK(""),
		"validate cluster":                                     kopstest.OK(""),
	}}
}

// Each command runs under its step's timeout, and the log names the step.
func TestStepsRunUnderTheirTimeoutsAndLogTheirNames(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.28")
	d.NodeCount = 4
	k := convertAndRoll(t)
	m := newManager(t, k)
	var logged []string
	m.Logf = func(format string, args ...any) { logged = append(logged, fmt.Sprintf(format, args...)) }
	start := time.Now()
	if _, err := m.Ensure(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"rolling-update cluster --name demo.example.com --yes": time.Hour, "validate cluster": 11 * time.Minute}
	for _, c := range k.Calls() {
		bound := time.Minute
		for prefix, b := range want {
			if strings.HasPrefix(c.Args, prefix) {
				bound = b
			}
		}
		if left := c.Deadline.Sub(start); left < bound || left > bound+time.Minute/2 {
			t.Errorf("kops %s ran with %s left, want %s", c.Args, left.Round(time.Second), bound)
		}
	}
	var runs []string
	for _, l := range logged {
		if step, cmd, ok := strings.Cut(l, ": $ kops "); ok {
			runs = append(runs, step+" "+strings.Join(strings.Fields(cmd)[:1], ""))
		}
	}
	wantRuns := []string{"version version", "get-cluster get", "read-instance-groups get", "write-spec replace", "resize-instance-groups replace",
		"update update", "export-kubeconfig export", "plan-roll rolling-update", "roll rolling-update", "validate validate"}
	if !reflect.DeepEqual(runs, wantRuns) {
		t.Errorf("logged steps:\n got %q\nwant %q\nlog:\n%s", runs, wantRuns, strings.Join(logged, "\n"))
	}
}

// A failure names the step it stopped at, and keeps kops's error.
func TestStepErrorsNameTheStep(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.28")
	d.NodeCount = 4
	for _, c := range []struct {
		command string
		step    kops.Step
		doing   string
	}{
		{"replace -f -", kops.StepWriteSpec, "writing the spec of cluster demo.example.com"},
		{"get instancegroups", kops.StepReadInstanceGroups, "reading the instance groups of cluster demo.example.com"},
		{"update cluster --name demo.example.com --yes", kops.StepUpdate, "applying cluster demo.example.com"},
		{"export kubecfg", kops.StepExportKubeconfig, "exporting the kubeconfig of cluster demo.example.com"},
		{"rolling-update cluster --name demo.example.com --yes", kops.StepRoll, "rolling cluster demo.example.com"},
		{"validate cluster", kops.StepValidate, "validating cluster demo.example.com"},
	} {
		k := convertAndRoll(t)
		k.Set(c.command, kopstest.Fail(1, "Error: injected"))
		_, err := newManager(t, k).Ensure(context.Background(), d)
		var se *kops.StepError
		var ce *kops.CommandError
		if !errors.As(err, &se) || se.Step != c.step || !errors.As(err, &ce) ||
			!strings.HasPrefix(err.Error(), c.doing+": step "+string(c.step)+": ") || !strings.Contains(err.Error(), "injected") {
			t.Errorf("kops %s failing: err = %v, want step %s", c.command, err, c.step)
		}
	}
	// A step's own refusal names it too.
	k := convertAndRoll(t)
	d.ControlPlaneCount = 3
	_, err := newManager(t, k).Ensure(context.Background(), d)
	var se *kops.StepError
	if !errors.As(err, &se) || se.Step != kops.StepReadInstanceGroups || !strings.Contains(err.Error(), "kopscalico:controlPlaneCount") {
		t.Errorf("control-plane count change: err = %v", err)
	}
}

// Every step's failure names what it was doing without fmt's complaints.
func TestStepErrorsWordTheirStep(t *testing.T) {
	d := kops.Desired{Name: "c.example.com", StateStore: "s3://store"}
	for _, s := range kops.AllSteps() {
		err := kops.StepErrorOf(s, d, errors.New("boom"))
		if msg := err.Error(); strings.Contains(msg, "%!") || !strings.Contains(msg, string(s)) {
			t.Errorf("step %s fails as %q", s, msg)
		}
	}
}
