package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/lease"
	"github.com/kopscalico/kopscalico/internal/lease/s3lease"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// goneProcess is the pid of a process that ran and ended.
func goneProcess(t *testing.T) int {
	t.Helper()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	return gone.Process.Pid
}

// TestRepairLeases: repair breaks a cluster's lease only when its run was
// killed on this host (its pid gone), and only with --yes; a live run's or
// another host's lease is left, with its holder and the break-lease command.
func TestRepairLeases(t *testing.T) {
	t.Parallel()
	const host = "builder"
	dead, alive := goneProcess(t), 1
	for _, c := range []struct {
		name        string
		holder      *lease.Holder // nil: no lease
		yes         bool
		broken      bool
		say, notSay []string
	}{
		{name: "killed here, --yes", holder: &lease.Holder{Host: host, PID: dead}, yes: true, broken: true,
			say: []string{"a killed run's", "no longer runs on this host", "broken"}},
		{name: "killed here, without --yes", holder: &lease.Holder{Host: host, PID: dead},
			say: []string{"a killed run's", "repair --yes breaks it"}, notSay: []string{"broken"}},
		{name: "live here", holder: &lease.Holder{Host: host, PID: alive}, yes: true,
			say: []string{"repair leaves it", "kopscalico break-lease --state "}, notSay: []string{"broken"}},
		{name: "another host, stale", holder: &lease.Holder{Host: "laptop", PID: dead, Expires: time.Now().Add(-time.Hour)}, yes: true,
			say: []string{"repair leaves it", "host laptop", "kopscalico break-lease --state "}, notSay: []string{"broken"}},
		{name: "no lease", yes: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			url := "file://" + t.TempDir()
			ctx := context.Background()
			store, err := s3lease.Open(ctx, url, "")
			if err != nil {
				t.Fatal(err)
			}
			if c.holder != nil {
				h := *c.holder
				h.ID, h.Stack, h.Operation, h.Step = "0123abcd", "organization/kopscalico/dev", "update", "rolling-update"
				if h.Expires.IsZero() {
					h.Expires = time.Now().Add(time.Hour)
				}
				b, _ := json.Marshal(h)
				if _, err := store.Create(ctx, lease.Key("k.example.com"), b); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			lr := leaseRepair{open: s3lease.Open, killed: killedHere(host, running), stack: "dev"}
			if err := lr.repairLeases(ctx, []clusterRef{{name: "k.example.com", stateStore: url}}, c.yes, &out); err != nil {
				t.Fatal(err)
			}
			_, err = lease.Read(ctx, store, "k.example.com")
			if gone := errors.Is(err, lease.ErrNotFound); gone != (c.broken || c.holder == nil) {
				t.Errorf("lease gone %v (%v), want broken %v", gone, err, c.broken)
			}
			if c.holder == nil && out.Len() > 0 {
				t.Errorf("said with no lease: %s", out.String())
			}
			for _, w := range c.say {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range c.notSay {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
			if c.holder != nil && !strings.Contains(out.String(), "0123abcd") {
				t.Errorf("output does not name the lease:\n%s", out.String())
			}
		})
	}
}

// TestRepairLeasesReportsAnUnreadableStore: a store it cannot open is said,
// and repair goes on.
func TestRepairLeasesReportsAnUnreadableStore(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	lr := leaseRepair{open: s3lease.Open, killed: killedHere("builder", running), stack: "dev"}
	if err := lr.repairLeases(context.Background(), []clusterRef{{name: "k.example.com", stateStore: "gs://bucket"}}, true, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "could not read the lease of kops cluster k.example.com") {
		t.Errorf("output: %s", out.String())
	}
}

func TestKilledHere(t *testing.T) {
	t.Parallel()
	dead := goneProcess(t)
	killed := killedHere("builder", running)
	for _, c := range []struct {
		host string
		pid  int
		want bool
	}{{"builder", dead, true}, {"builder", 1, false}, {"laptop", dead, false}, {"builder", 0, false}} {
		if got := killed(c.host, c.pid); got != c.want {
			t.Errorf("killed(%s, %d) = %v, want %v", c.host, c.pid, got, c.want)
		}
	}
	if killedHere("", running)("", dead) {
		t.Error("a host that cannot name itself took a run for its own")
	}
}

// TestStackClusters: the clusters of the recorded resources, of the pending
// creates, and of the configuration, each once.
func TestStackClusters(t *testing.T) {
	t.Parallel()
	inputs := func(name, store string) resource.PropertyMap {
		return resource.NewPropertyMapFromMap(map[string]any{"clusterName": name, "stateStore": store, "region": "eu-west-1"})
	}
	var dep apitype.DeploymentV3
	dep.Resources = []apitype.ResourceV3{
		{Type: pluginapi.ClusterType, Inputs: inputs("a.example.com", "s3://store").Mappable()},
		{Type: "aws:s3/bucketV2:BucketV2", Inputs: inputs("x.example.com", "s3://store").Mappable()},
	}
	op := apitype.OperationV2{Type: apitype.OperationTypeCreating}
	op.Resource = apitype.ResourceV3{Type: pluginapi.ClusterType, Inputs: inputs("b.example.com", "s3://store").Mappable()}
	dep.PendingOperations = []apitype.OperationV2{op}
	cfg := &config.Config{}
	cfg.Cluster.Manage, cfg.Cluster.Name, cfg.Cluster.Region, cfg.StateStore.ExistingURL = true, "a.example.com", "eu-west-1", "s3://store"
	got := stackClusters(dep, cfg)
	want := []clusterRef{{"a.example.com", "s3://store", "eu-west-1"}, {"b.example.com", "s3://store", "eu-west-1"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %v, want %v", got, want)
	}
	cfg.Cluster.Name, cfg.StateStore.ExistingURL, cfg.StateStore.Bucket = "c.example.com", "", "kops-state-c"
	if got := stackClusters(apitype.DeploymentV3{}, cfg); len(got) != 1 || got[0] != (clusterRef{"c.example.com", "s3://kops-state-c", "eu-west-1"}) {
		t.Errorf("from the config alone: %v", got)
	}
	cfg.Cluster.Manage = false
	if got := stackClusters(apitype.DeploymentV3{}, cfg); len(got) != 0 {
		t.Errorf("an unmanaged cluster: %v", got)
	}
}
