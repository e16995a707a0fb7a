package kops

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Streams a logged line comes from.
const (
	Stdout = "stdout"
	Stderr = "stderr"
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
	ExitCode int           // -1 when the process did not exit by itself
	Stderr   string        // the end of stderr
	Timeout  time.Duration // non-zero when the call ran out of time
	Err      error
}

func (e *CommandError) Error() string {
	var b strings.Builder
	b.WriteString("kops " + strings.Join(e.Args, " "))
	switch {
	case e.Timeout > 0:
		fmt.Fprintf(&b, ": timed out after %s (raise the kops timeouts in config if this step legitimately takes longer)", e.Timeout)
	case e.ExitCode >= 0:
		fmt.Fprintf(&b, ": exit code %d", e.ExitCode)
	default:
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		b.WriteString("; stderr:\n" + s)
	}
	return b.String()
}

func (e *CommandError) Unwrap() error { return e.Err }

// Run implements Runner.
func (r *ExecRunner) Run(ctx context.Context, c Command) ([]byte, error) {
	args := c.Args
	bin := r.Binary
	if bin == "" {
		bin = "kops"
	}
	var timeout time.Duration
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	} else if r.Timeout > 0 {
		timeout = r.Timeout
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}

	cmd := exec.Command(bin, args...)
	cmd.Env = baseEnv()
	for k, v := range r.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	for k, v := range c.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	// Own process group, so a timeout ends kops and anything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	stdoutPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, &CommandError{Args: args, ExitCode: -1, Err: fmt.Errorf("start %s: %w", bin, err)}
	}

	var stdout, stderr bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(2)
	go r.copyLines(&wg, stdoutPipe, &stdout, Stdout, c.QuietStdout)
	go r.copyLines(&wg, stderrPipe, &stderr, Stderr, false)

	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
		case <-done:
		}
	}()
	wg.Wait() // pipes drain before Wait closes them
	waitErr := cmd.Wait()
	close(done)

	if waitErr == nil && ctx.Err() == nil {
		return stdout.Bytes(), nil
	}
	max := r.StderrTail
	if max <= 0 {
		max = 2048
	}
	ce := &CommandError{Args: args, ExitCode: -1, Stderr: tail(stderr.String(), max), Err: waitErr}
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) && ee.Exited() {
		ce.ExitCode = ee.ExitCode()
	}
	if ctx.Err() != nil {
		ce.Err = ctx.Err()
		ce.ExitCode = -1
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			ce.Timeout = timeout.Round(time.Millisecond)
		}
	}
	return stdout.Bytes(), ce
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

func (r *ExecRunner) copyLines(wg *sync.WaitGroup, from io.Reader, to *bytes.Buffer, stream string, quiet bool) {
	defer wg.Done()
	br := bufio.NewReaderSize(from, 64*1024)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			to.WriteString(line)
			if r.Log != nil && !quiet {
				r.Log(stream, strings.TrimRight(line, "\r\n"))
			}
		}
		if err != nil {
			return
		}
	}
}
