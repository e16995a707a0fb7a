package e2e_test

import (
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

// rollOptions are the roll's config keys the roll-plan scenarios set.
var rollOptions = pulumitest.Config{
	"kopscalico:rollingUpdateDrainTimeout":  pulumitest.Plain("20m"),
	"kopscalico:rollingUpdateValidateCount": pulumitest.Plain("3"),
}

// rolls are the `rolling-update cluster --yes` calls, without the command.
func rolls(calls []kopsdouble.Call) []string {
	var out []string
	for _, c := range calls {
		if strings.HasPrefix(c.String(), "rolling-update cluster --name "+kopsClusterName+" --yes") {
			out = append(out, strings.TrimPrefix(c.String(), "rolling-update cluster --name "+kopsClusterName+" --yes "))
		}
	}
	return out
}

// TestKopsRollPlanInThePreview: a change of one declared group's machine
// type beside another group's resize shows, at preview (no kops run), the
// one group kops will roll and why; up then rolls exactly that group, with
// the roll's options and an admin credential sized to the roll (kops 1.36).
func TestKopsRollPlanInThePreview(t *testing.T) {
	s := newKopsScenario(t, "1.36", rollOptions)
	s.stack.SetConfig(pulumitest.Config{"kopscalico:instanceGroups": pulumitest.Plain(declaredGroups(3))})
	s.step("up: create with three declared groups", func() { s.stack.Up() })
	s.converged()

	changed := strings.Replace(strings.Replace(declaredGroups(3), `"machineType":"m6i.large"`, `"machineType":"m6i.xlarge"`, 1),
		`"name":"nodes-eu-west-1b","machineType":"t3.medium","minSize":1,"maxSize":1`, `"name":"nodes-eu-west-1b","machineType":"t3.medium","minSize":1,"maxSize":3`, 1)
	s.stack.SetConfig(pulumitest.Config{"kopscalico:instanceGroups": pulumitest.Plain(changed)})
	var preview string
	calls := s.step("preview: spot m6i.large -> m6i.xlarge, nodes-eu-west-1b 1..3", func() { preview = s.stack.Preview().StdOut })
	if len(calls) != 0 {
		t.Errorf("the preview ran kops: %v", kopsdouble.Commands(calls))
	}
	t.Logf("preview:\n%s", preview)
	for _, want := range []string{
		"kops cluster " + kopsClusterName + ": the update rolls 1 instance group(s), in kops's order (kops rolling-update cluster --instance-group spot --drain-timeout 20m0s --validate-count 3 --admin=1h5m0s):",
		"spot (Node): machineType m6i.large -> m6i.xlarge",
	} {
		if !strings.Contains(preview, want) {
			t.Errorf("the preview does not show %q", want)
		}
	}
	if strings.Contains(preview, "nodes-eu-west-1b (Node)") || strings.Contains(preview, "mints for one hour") {
		t.Error("the preview plans a roll of the resized group, or warns of kops 1.31's credential on 1.36")
	}

	calls = s.step("up: the planned roll", func() { s.stack.Up() })
	if got := rolls(calls); len(got) != 1 || got[0] != "--instance-group spot --drain-timeout 20m0s --validate-count 3 --admin=1h5m0s" {
		t.Errorf("rolls %q; want exactly the spot group with the roll's options", got)
	}
	s.converged()
	calls = s.step("up again", func() { s.stack.Up() })
	if m := kopsdouble.Mutating(calls); len(m) != 0 {
		t.Errorf("up after the roll mutated: %q", kopsdouble.Commands(m))
	}
}

// TestKopsRollOnKops131IsWarned: on kops 1.31, whose rolling-update mints a
// one-hour credential and takes no --admin, the preview and up warn that a
// long roll may outlive it, and up rolls without --admin.
func TestKopsRollOnKops131IsWarned(t *testing.T) {
	s := newKopsScenario(t, "1.31", rollOptions)
	s.step("up: create on kops 1.31", func() { s.stack.Up() })
	s.stack.SetConfig(pulumitest.Config{"kopscalico:nodeSize": pulumitest.Plain("m6i.large")})
	const warning = "kops 1.31's rolling-update reaches the cluster with an admin credential it mints for one hour"
	var preview string
	s.step("preview: node size t3.medium -> m6i.large", func() { preview = s.stack.Preview().StdOut })
	t.Logf("preview:\n%s", preview)
	for _, want := range []string{
		"(kops rolling-update cluster --instance-group nodes-eu-west-1a,nodes-eu-west-1b --drain-timeout 20m0s --validate-count 3):",
		"nodes-eu-west-1a (Node): machineType t3.medium -> m6i.large",
		warning,
	} {
		if !strings.Contains(preview, want) {
			t.Errorf("the preview does not show %q", want)
		}
	}
	var out string
	calls := s.step("up: roll on kops 1.31", func() { out = s.stack.Up().StdOut })
	if got := rolls(calls); len(got) != 1 || got[0] != "--instance-group nodes-eu-west-1a,nodes-eu-west-1b --drain-timeout 20m0s --validate-count 3" {
		t.Errorf("rolls %q; want the node groups without --admin", got)
	}
	if !strings.Contains(out, warning) {
		t.Errorf("up did not warn of the one-hour credential:\n%s", out)
	}
	s.converged()
}
