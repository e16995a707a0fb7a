package e2e_test

// The cluster's lease through the real engine and plugin, with the kops
// double: a second stack's up on a cluster whose first stack is mid-roll is
// refused, naming the run that holds the lease, and changes nothing; a
// failed run releases its lease; a killed run's stale lease is reported
// with the command that breaks it, which works as printed.

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/internal/lease"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

// leaseFile is the cluster's lease in the double's file:// store.
func (s *kopsScenario) leaseFile() string {
	return filepath.Join(s.store.Dir, lease.Dir, kopsClusterName+".json")
}

// leaseHolder reads the lease; ok is false when there is none.
func (s *kopsScenario) leaseHolder() (h lease.Holder, ok bool) {
	b, err := os.ReadFile(s.leaseFile())
	if errors.Is(err, os.ErrNotExist) {
		return h, false
	}
	if err != nil {
		s.t.Fatal(err)
	}
	if err := json.Unmarshal(b, &h); err != nil {
		s.t.Fatalf("lease %s: %v", s.leaseFile(), err)
	}
	return h, true
}

func TestKopsLeaseRefusesASecondRunAndReportsAStaleOne(t *testing.T) {
	s := newKopsScenario(t, "1.34", nil)
	s.stack.Up()
	if _, held := s.leaseHolder(); held {
		t.Fatal("the lease outlived the up that took it")
	}

	// The first stack's update rolls its nodes, slowly.
	s.stack.SetConfig(pulumitest.Config{"kopscalico:nodeSize": pulumitest.Plain("m6i.large")})
	s.store.SetRollingUpdateDelay(t, 20*time.Second)
	done := make(chan error, 1)
	go func() { _, err := s.stack.TryUp(); done <- err }()
	var holder lease.Holder
	for deadline := time.Now().Add(3 * time.Minute); ; {
		if h, ok := s.leaseHolder(); ok && h.Step == "roll" {
			holder = h
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the first up ended before its roll held the lease: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no lease at step roll within 3 minutes")
		}
	}
	t.Logf("lease while rolling: %+v", holder)
	if holder.Stack != stackMark("kops") || holder.Operation != "update" || holder.PID == 0 || holder.Host == "" {
		t.Errorf("the lease says %+v; want the first stack's update, with its host and pid", holder)
	}

	// A second stack's up on the same cluster name, meanwhile.
	second := pulumitest.New(t, kopsClusterProgram, s.cfg, kopsStackOptions("second"))
	s.store.ResetCalls(t)
	_, err := second.TryUp()
	secondCalls := s.store.Calls(t)
	if err == nil {
		t.Fatal("the second stack's up went ahead while the first rolled")
	}
	for _, want := range []string{
		"kops cluster " + kopsClusterName + " in " + s.store.URL() + " is being changed by another run",
		"lease " + holder.ID + " held by stack " + stackMark("kops") + " (host " + holder.Host,
		"for update, at step roll", "nothing is changed", "kopscalico break-lease --state " + s.store.URL() + " --name " + kopsClusterName + " " + holder.ID,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the second up's refusal does not say %q:\n%v", want, err)
		}
	}
	t.Logf("the second up's refusal: %s", diagnosticLine(err, "is being changed by another run"))
	if n := countCalls(secondCalls, "create cluster"); n != 0 {
		t.Errorf("the refused stack ran kops create cluster (%d)", n)
	}
	if err := <-done; err != nil {
		t.Fatalf("the first stack's up: %v", err)
	}
	s.converged()
	if got := s.liveMark(); got != stackMark("kops") {
		t.Errorf("the mark is %q after the race, want %q", got, stackMark("kops"))
	}
	if _, held := s.leaseHolder(); held {
		t.Error("the first up left its lease")
	}
	s.store.SetRollingUpdateDelay(t, 0)

	// A failed run releases its lease too.
	s.stack.SetConfig(pulumitest.Config{"kopscalico:nodeSize": pulumitest.Plain("m6i.xlarge")})
	s.store.InjectFailures(t, kopsdouble.Failure{Command: "validate cluster", Exit: 1, Stderr: "Error: validation failed: injected", Times: 1})
	if _, err := s.stack.TryUp(); err == nil {
		t.Fatal("the up with validate failing succeeded")
	}
	if h, held := s.leaseHolder(); held {
		t.Errorf("the failed up left its lease: %+v", h)
	}

	// A killed run's lease: written as the plugin writes it, expired.
	killed, err := lease.Acquire(context.Background(), lease.FileStore{Dir: s.store.Dir}, lease.Request{
		Cluster: kopsClusterName, StateStore: s.store.URL(), Stack: stackMark("kops"), Operation: "update", TTL: 15 * time.Minute,
		Now: func() time.Time { return time.Now().Add(-time.Hour) },
	})
	if err != nil {
		t.Fatal(err)
	}
	calls := s.step("up over a stale lease", func() { _, err = s.stack.TryUp() })
	if err == nil {
		t.Fatal("the up over a stale lease went ahead")
	}
	for _, want := range []string{"has a stale lease: lease " + killed.Holder().ID, "expired at", "stopped without releasing it", "nothing is changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the stale report does not say %q:\n%v", want, err)
		}
	}
	t.Logf("the stale report: %s", diagnosticLine(err, "has a stale lease"))
	if m := kopsdouble.Mutating(calls); len(m) != 0 {
		t.Errorf("the refused up mutated: %v", kopsdouble.Commands(m))
	}
	// The printed command breaks it, as printed.
	breakCmd := regexp.MustCompile("`(kopscalico break-lease [^`]+)`").FindStringSubmatch(err.Error())
	if breakCmd == nil {
		t.Fatalf("no break command in:\n%v", err)
	}
	args := strings.Fields(breakCmd[1])[1:]
	out, runErr := exec.Command(pulumitest.KopscalicoBinary(t), args...).CombinedOutput()
	t.Logf("$ %s\n%s", breakCmd[1], out)
	if runErr != nil || !strings.Contains(string(out), "lease "+killed.Holder().ID+" of kops cluster "+kopsClusterName+" is broken") {
		t.Fatalf("%s: %v\n%s", breakCmd[1], runErr, out)
	}
	s.step("up after the break", func() { s.stack.Up() })
	s.converged()
	if _, held := s.leaseHolder(); held {
		t.Error("the up after the break left its lease")
	}
	s.step("destroy", func() { s.stack.Destroy() })
	if s.store.Exists(kopsClusterName) {
		t.Error("destroy left the cluster")
	}
	if _, held := s.leaseHolder(); held {
		t.Error("destroy left its lease")
	}
}

// diagnosticLine is the line of an engine error that holds what.
func diagnosticLine(err error, what string) string {
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.Contains(line, what) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
