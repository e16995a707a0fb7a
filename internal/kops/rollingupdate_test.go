package kops_test

import (
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
)

const rollCloudOnly = "NAME\t\t\tSTATUS\t\tNEEDUPDATE\tREADY\tMIN\tTARGET\tMAX\n" +
	"nodes-eu-west-1a\tNeedsUpdate\t1\t\t0\t1\t1\t1\n"

func TestParseRollingUpdate(t *testing.T) {
	t.Parallel()
	p, err := kops.ParseRollingUpdate(string(kopstest.Fixture(t, "rolling-update-needed.txt")))
	if err != nil {
		t.Fatal(err)
	}
	if !p.NeedsRoll() || len(p.Groups) != 3 {
		t.Fatalf("plan %+v", p)
	}
	if g := p.Groups[1]; g.Name != "nodes-eu-west-1a" || g.NeedUpdate != 2 || g.Ready != 0 || g.Target != 2 || g.Nodes != 2 {
		t.Errorf("row = %+v", g)
	}
	if got := strings.Join(p.Pending(), ", "); got != "control-plane-eu-west-1a (1 of 1), nodes-eu-west-1a (2 of 2)" {
		t.Errorf("Pending = %q", got)
	}

	p, err = kops.ParseRollingUpdate(string(kopstest.Fixture(t, "rolling-update-not-needed.txt")))
	if err != nil || p.NeedsRoll() || len(p.Groups) != 2 {
		t.Errorf("plan %+v, err %v; want 2 ready groups", p, err)
	}
	p, err = kops.ParseRollingUpdate(rollCloudOnly)
	if err != nil || !p.NeedsRoll() || p.Groups[0].Nodes != -1 {
		t.Errorf("--cloudonly table: plan %+v, err %v", p, err)
	}
}

func TestParseRollingUpdateRefusesUnknownOutput(t *testing.T) {
	t.Parallel()
	for _, out := range []string{"", "Error: unable to reach the kubernetes API\n", "NAME\tSTATUS\tNEEDUPDATE\tREADY\tMIN\tTARGET\tMAX\nnodes\tReady\tzero\t1\t1\t1\t1\n"} {
		if p, err := kops.ParseRollingUpdate(out); err == nil {
			t.Errorf("ParseRollingUpdate(%q) = %+v, want an error", out, p)
		}
	}
}

func TestUpdatePending(t *testing.T) {
	t.Parallel()
	for out, want := range map[string]bool{
		"Will modify resources:\n  LaunchTemplate/nodes\n\nMust specify --yes to apply changes\n": true,
		"\nNo changes need to be applied\n": false,
	} {
		got, err := kops.UpdatePending(out)
		if err != nil || got != want {
			t.Errorf("UpdatePending(%q) = %v, %v", out, got, err)
		}
	}
	if _, err := kops.UpdatePending("something else"); err == nil {
		t.Error("unknown output accepted")
	}
}
