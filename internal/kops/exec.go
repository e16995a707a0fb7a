package kops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kopscalico/kopscalico/internal/childproc"
)

// Streams a logged line comes from.
const (
	Stdout = childproc.Stdout
	Stderr = childproc.Stderr
)

// ExecRunner runs the kops binary. It is the Runner of real runs and of the
// end-to-end tests (with the kops test double as Binary).
type ExecRunner struct {
	Binary string // path, or a name looked up on PATH; "" means "kops"
	// Env is added to the process environment; Command.Env adds to or
	// overrides it per call.
	Env map[string]string
	// Timeout bounds a call whose context has no deadline; 0: none.
	Timeout time.Duration
	// Log receives every output line as it is printed, stream is Stdout or
	// Stderr. nil: not logged.
	Log func(stream, line string)
	// StderrTail is how much of stderr goes into errors; 0: 2 KiB.
	StderrTail int
}

var _ Runner = (*ExecRunner)(nil)

// CommandError is a failed kops command.
type CommandError struct {
	Args     []string      // without the binary
	ExitCode int           // -1 when a signal ended kops or it never ran
	Stderr   string        // the end of stderr
	Timeout  time.Duration // non-zero when the call ran out of time
	Err      error
}

func (e *CommandError) Error() string {
	pe := childproc.Error{Path: "kops", Args: e.Args, ExitCode: e.ExitCode, Stderr: e.Stderr, Err: e.Err}
	if e.Timeout > 0 {
		pe.TimedOut, pe.Timeout = true, e.Timeout
		pe.Hint = "raise the kops timeouts in config if this step legitimately takes longer"
	}
	return pe.Error()
}

func (e *CommandError) Unwrap() error { return e.Err }

// Run implements Runner on childproc: kops runs in its own process group,
// which gets SIGTERM then SIGKILL when ctx ends, and SIGTERM when this
// process dies.
func (r *ExecRunner) Run(ctx context.Context, c Command) ([]byte, error) {
	bin := r.Binary
	if bin == "" {
		bin = "kops"
	}
	cmd := childproc.Cmd{Path: bin, Args: c.Args, Env: r.env(c.Env), StderrTail: r.StderrTail}
	if _, ok := ctx.Deadline(); !ok {
		cmd.Timeout = r.Timeout
	}
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	if r.Log != nil {
		cmd.Lines = func(stream, line string) {
			if stream != Stdout || !c.QuietStdout {
				r.Log(stream, line)
			}
		}
	}
	out, err := childproc.Run(ctx, cmd)
	var pe *childproc.Error
	if !errors.As(err, &pe) {
		return out, err
	}
	ce := &CommandError{Args: c.Args, ExitCode: pe.ExitCode, Stderr: pe.Stderr, Err: pe.Err}
	if pe.StartFailed {
		ce.Err = fmt.Errorf("start %s: %w", bin, pe.Err)
	}
	if pe.TimedOut {
		ce.Timeout = pe.Timeout
	}
	return out, ce
}

// env is kops's whole environment: this process's (see baseEnv), then the
// runner's, then the call's.
func (r *ExecRunner) env(call map[string]string) []string {
	env := baseEnv()
	for _, m := range []map[string]string{r.Env, call} {
		for k, v := range m {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// baseEnv is the process environment without KOPS_CLUSTER_NAME: the program
// names the cluster with --name, and kops refuses a positional cluster name
// when that variable is set as well (cmd/kops/root.go ProcessArgs).
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KOPS_CLUSTER_NAME=") {
			env = append(env, kv)
		}
	}
	return env
}
