package kops_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/internal/childproc/childproctest"
	"github.com/kopscalico/kopscalico/internal/kops"
)

func TestExecRunnerStreamsAndReturnsStdout(t *testing.T) {
	var l childproctest.Lines
	r := &kops.ExecRunner{Binary: "/bin/sh", Log: l.Add, Env: map[string]string{"A": "base"}}
	t.Setenv("KOPS_CLUSTER_NAME", "inherited")
	out, err := r.Run(context.Background(), kops.Command{
		Args:  []string{"-c", `echo "$A $KOPS_STATE_STORE ${KOPS_CLUSTER_NAME:-unset}"; echo progress >&2; cat`},
		Env:   map[string]string{"KOPS_STATE_STORE": "file:///s"},
		Stdin: []byte("from-stdin\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "base file:///s unset\nfrom-stdin\n" {
		t.Errorf("stdout = %q", out)
	}
	want := map[string]bool{"stdout: base file:///s unset": true, "stderr: progress": true, "stdout: from-stdin": true}
	for _, g := range l.All() {
		delete(want, g)
	}
	if len(want) != 0 {
		t.Errorf("lines not logged: %v (logged %v)", want, l.All())
	}
}

func TestExecRunnerQuietStdout(t *testing.T) {
	var l childproctest.Lines
	r := &kops.ExecRunner{Binary: "/bin/sh", Log: l.Add}
	out, err := r.Run(context.Background(), kops.Command{Args: []string{"-c", "echo data; echo note >&2"}, QuietStdout: true})
	if err != nil || string(out) != "data\n" {
		t.Fatalf("out %q err %v", out, err)
	}
	if got := l.All(); len(got) != 1 || got[0] != "stderr: note" {
		t.Errorf("logged %v; want stderr only", got)
	}
}

func TestExecRunnerFailureCarriesCommandExitCodeAndStderrTail(t *testing.T) {
	r := &kops.ExecRunner{Binary: "/bin/sh", StderrTail: 64}
	_, err := r.Run(context.Background(), kops.Command{Args: []string{"-c", `i=0; while [ $i -lt 50 ]; do echo "noise line $i" >&2; i=$((i+1)); done; echo 'Error: cluster not found "x"' >&2; exit 3`}})
	var ce *kops.CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *kops.CommandError", err)
	}
	if ce.ExitCode != 3 || !strings.HasSuffix(ce.Stderr, `Error: cluster not found "x"`) || len(ce.Stderr) > 70 {
		t.Errorf("CommandError = %+v", ce)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "kops -c") || !strings.Contains(msg, "exit code 3") || strings.Contains(msg, "noise line 1\n") {
		t.Errorf("message = %q", msg)
	}
}

func TestExecRunnerTimeoutKillsProcessGroup(t *testing.T) {
	r := &kops.ExecRunner{Binary: "/bin/sh", Timeout: 300 * time.Millisecond}
	start := time.Now()
	// The grandchild keeps stdout open: without a group kill Run would hang.
	_, err := r.Run(context.Background(), kops.Command{Args: []string{"-c", "sleep 30 & sleep 30"}})
	if time.Since(start) > 10*time.Second {
		t.Fatalf("Run returned after %s", time.Since(start))
	}
	var ce *kops.CommandError
	if !errors.As(err, &ce) || ce.Timeout == 0 || !strings.Contains(err.Error(), "timed out after 300ms (raise the kops timeouts in config") {
		t.Fatalf("err = %v; want a timeout kops.CommandError", err)
	}
}

func TestExecRunnerMissingBinary(t *testing.T) {
	r := &kops.ExecRunner{Binary: "/nonexistent/kops"}
	_, err := r.Run(context.Background(), kops.Command{Args: []string{"version"}})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/kops") {
		t.Errorf("err = %v", err)
	}
}

func TestExecRunnerTimeoutOnlyBoundsCallsWithoutDeadline(t *testing.T) {
	// The manager gives slow steps (validate, rolling-update) a deadline of
	// their own, longer than the runner's per-command Timeout.
	r := &kops.ExecRunner{Binary: "/bin/sh", Timeout: 50 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := r.Run(ctx, kops.Command{Args: []string{"-c", "sleep 0.3; echo done"}})
	if err != nil || string(out) != "done\n" {
		t.Fatalf("out %q, err %v: the context's deadline, not Timeout, bounds this call", out, err)
	}
}
