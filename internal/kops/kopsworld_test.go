package kops_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
	"github.com/kopscalico/kopscalico/internal/testing/fakeaws"
	"github.com/kopscalico/kopscalico/internal/testing/realkops"
)

// kopsWorld is one kops binary (real kops or the double) in an offline
// world of its own: a file:// state store, AWS on loopback, its own HOME.
// Commands run through the program's kops.ExecRunner, so a failure is the
// *kops.CommandError the kops.Manager's matching sees.
type kopsWorld struct {
	t *testing.T
	*realkops.Env
}

func realKops(t *testing.T) kopsWorld   { return kopsWorld{t, realkops.Real(t)} }
func doubleKops(t *testing.T) kopsWorld { return kopsWorld{t, realkops.Double(t)} }

// clusterName is the cluster of every contract and differential test: a
// gossip name, created with --dns none, so Route53 and DNS stay out of it.
const clusterName = "calico.k8s.local"

// kopsRun is one finished command.
type kopsRun struct {
	args   string
	stdout string
	err    error // *kops.CommandError, nil on success
	exit   int
	stderr string // the end of stderr the program keeps; "" on success
}

// classifiedAs checks the program's matching on a failed command: whether
// the cluster is missing from the store, whatever else stderr holds (kops
// logs warnings such as "CA private key was not found" on the way).
func (r kopsRun) classifiedAs(t *testing.T, notFound bool) {
	t.Helper()
	if got := kops.IsNotFound(r.err, clusterName); got != notFound {
		t.Errorf("isNotFound(kops %s) = %v, want %v; stderr:\n%s", r.args, got, notFound, r.stderr)
	}
}

func (w kopsWorld) run(stdin []byte, args ...string) kopsRun {
	w.t.Helper()
	runner := &kops.ExecRunner{Binary: w.Bin, Env: w.Vars(), Timeout: 2 * time.Minute, StderrTail: 4096}
	start := time.Now()
	out, err := runner.Run(context.Background(), kops.Command{Args: args, Stdin: stdin})
	r := kopsRun{args: strings.Join(args, " "), stdout: string(out), err: err}
	var ce *kops.CommandError
	if errors.As(err, &ce) {
		r.exit, r.stderr = ce.ExitCode, ce.Stderr
		if ce.ExitCode < 0 {
			w.t.Fatalf("%s %s did not finish: %v", w.Label, r.args, err)
		}
	} else if err != nil {
		w.t.Fatalf("%s %s: %v", w.Label, r.args, err)
	}
	w.t.Logf("%s: kops %s: exit %d in %s", w.Label, r.args, r.exit, time.Since(start).Round(time.Millisecond))
	return r
}

func (w kopsWorld) must(stdin []byte, args ...string) kopsRun {
	w.t.Helper()
	r := w.run(stdin, args...)
	if r.exit != 0 {
		w.t.Fatalf("%s: kops %s: exit %d\nstdout:\n%s\nstderr:\n%s", w.Label, r.args, r.exit, r.stdout, r.stderr)
	}
	return r
}

// desired is the program's desired cluster for this world's store: two
// zones, SSH closed, the API open to one documentation range.
func (w kopsWorld) desired(encapsulation config.Encapsulation) kops.Desired {
	return kops.Desired{
		Name: clusterName, StateStore: w.StoreURL(), Region: "us-east-1", Zones: []string{"us-east-1a", "us-east-1b"},
		ControlPlaneCount: 1, NodeCount: 2, ControlPlaneSize: "t3.medium", NodeSize: "t3.medium",
		AdminAccess: config.MustParseAccessList("203.0.113.0/24"), Encapsulation: encapsulation, AWSSrcDstCheck: config.SrcDstDisable,
		KopsVersion: kopsrelease.MustParse("1.36"),
	}
}

// create runs `kops create cluster` with the program's arguments for d,
// with networking in place of calico when it is not "".
func (w kopsWorld) create(d kops.Desired, networking string) kopsRun {
	w.t.Helper()
	args := kops.CreateClusterArgs(d)
	for i := range args {
		if networking != "" && args[i] == "--networking" {
			args[i+1] = networking
		}
	}
	return w.run(nil, args...)
}

// runningGroups are the groups of cluster name as kops would run them after
// a change to nodes-us-east-1a's launch template that has not rolled: its
// instance started from the previous version, the others are current.
func runningGroups(name string) []fakeaws.AutoScalingGroup {
	group := func(ig string, controlPlane bool, instanceVersion int) fakeaws.AutoScalingGroup {
		return fakeaws.AutoScalingGroup{Cluster: name, InstanceGroup: ig, ControlPlane: controlPlane, Min: 1, Max: 1, Desired: 1,
			TemplateVersion: 2, Instances: []fakeaws.Instance{{ID: "i-" + strings.ReplaceAll(ig, "-", ""), TemplateVersion: instanceVersion}}}
	}
	return []fakeaws.AutoScalingGroup{group("control-plane-us-east-1a", true, 2), group("nodes-us-east-1a", false, 1), group("nodes-us-east-1b", false, 2)}
}
