// Package kopstest is test support for code that runs kops through a
// kops.Runner: a scripted runner that answers by command prefix and records
// every call, and a desired cluster to start from.
package kopstest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

// Answer is a scripted reply to one kops command, given its stdin.
type Answer func(stdin []byte) ([]byte, error)

// OK answers with stdout.
func OK(stdout string) Answer {
	return func([]byte) ([]byte, error) { return []byte(stdout), nil }
}

// Fail answers with a failed command's exit code and stderr.
func Fail(code int, stderr string) Answer {
	return func([]byte) ([]byte, error) { return nil, &kops.CommandError{ExitCode: code, Stderr: stderr} }
}

// Call is one recorded invocation.
type Call struct {
	Args     string // the arguments joined by spaces
	Stdin    string
	Env      map[string]string
	Deadline time.Time // the context's
}

// Runner answers each command with the Answer of the longest matching prefix
// of its arguments; a command with no answer fails the test. Every call must
// carry a deadline (the Manager sets one).
type Runner struct {
	T       testing.TB
	Answers map[string]Answer
	// Kubeconfig, when set, is what `kops export kubecfg` writes to its
	// --kubeconfig path, as kops does, before its answer.
	Kubeconfig string

	mu    sync.Mutex
	calls []Call
}

var _ kops.Runner = (*Runner)(nil)

// Run implements kops.Runner.
func (r *Runner) Run(ctx context.Context, c kops.Command) ([]byte, error) {
	joined := strings.Join(c.Args, " ")
	deadline, _ := ctx.Deadline()
	r.mu.Lock()
	r.calls = append(r.calls, Call{Args: joined, Stdin: string(c.Stdin), Env: c.Env, Deadline: deadline})
	best := ""
	for prefix := range r.Answers {
		if strings.HasPrefix(joined, prefix) && len(prefix) > len(best) {
			best = prefix
		}
	}
	answer := r.Answers[best]
	r.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		r.T.Errorf("kops %s ran without a deadline", joined)
	}
	if best == "" {
		r.T.Errorf("unexpected command: kops %s", joined)
		return nil, &kops.CommandError{Args: c.Args, ExitCode: 2, Stderr: "kopstest: unexpected command"}
	}
	if r.Kubeconfig != "" && strings.HasPrefix(joined, "export kubecfg") {
		for i, a := range c.Args {
			if a == "--kubeconfig" && i+1 < len(c.Args) {
				if err := os.WriteFile(c.Args[i+1], []byte(r.Kubeconfig), 0o600); err != nil {
					return nil, err
				}
			}
		}
	}
	return answer(c.Stdin)
}

// Set replaces the answer for a prefix.
func (r *Runner) Set(prefix string, a Answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Answers[prefix] = a
}

// Calls are the recorded calls, oldest first.
func (r *Runner) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Commands are the recorded calls' arguments.
func (r *Runner) Commands() []string {
	var out []string
	for _, c := range r.Calls() {
		out = append(out, c.Args)
	}
	return out
}

// Desired is a valid desired cluster on kops version (e.g. "1.34"), in the
// shape of the fixtures: demo.example.com in eu-west-1a and eu-west-1b.
func Desired(version string) kops.Desired {
	return kops.Desired{
		Name:              "demo.example.com",
		StateStore:        "s3://demo-kops-state",
		Region:            "eu-west-1",
		Zones:             []string{"eu-west-1a", "eu-west-1b"},
		ControlPlaneCount: 1,
		NodeCount:         2,
		ControlPlaneSize:  "t3.medium",
		NodeSize:          "t3.medium",
		AdminAccess:       config.MustParseAccessList("203.0.113.0/24"),
		Encapsulation:     config.EncapIPIP,
		AWSSrcDstCheck:    config.SrcDstDisable,
		KopsVersion:       kopsrelease.MustParse(version),
	}
}

// Fixture reads a kops-printed file from internal/kops/testdata.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
