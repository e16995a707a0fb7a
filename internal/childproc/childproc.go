// Package childproc runs external commands as supervised children: each in a
// process group of its own, stopped with its whole group when its context
// ends, sent a signal by the kernel when this process dies, its output
// streamed line by line. Linux only (process groups, Pdeathsig).
package childproc

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Streams a line comes from.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Defaults of the zero Cmd fields.
const (
	DefaultGrace      = 5 * time.Second
	DefaultStderrTail = 2048
)

// Cmd is one child process to run.
type Cmd struct {
	Path string   // a path, or a name looked up on PATH
	Args []string // without Path
	// Env is the child's whole environment: nil gives it none. Environ
	// starts one from this process's environment.
	Env   []string
	Dir   string    // "": this process's working directory
	Stdin io.Reader // nil: no input
	// Lines receives each line of stdout and stderr as it is printed, without
	// its line end; calls are serialised. nil: output is not streamed.
	Lines func(stream, line string)
	// Timeout bounds the run on top of the context's deadline; 0: none.
	Timeout time.Duration
	// StopSignal goes to the process group when the context ends; 0: SIGTERM.
	StopSignal syscall.Signal
	// Grace is the time the group has after StopSignal before SIGKILL, and
	// the time output pipes may stay open after the child exits; 0: DefaultGrace.
	Grace time.Duration
	// Interrupt, once closed, sends the group one SIGINT (what a terminal's
	// Ctrl-C sends) and lets the child wind down in its own time.
	Interrupt <-chan struct{}
	// ParentDeathSignal is what the kernel sends the child when this process
	// dies; 0: SIGTERM.
	ParentDeathSignal syscall.Signal
	// StderrTail is how much of the end of stderr an *Error carries; 0:
	// DefaultStderrTail.
	StderrTail int
}

// Environ is this process's environment with add ("KEY=value") on top; a
// later entry for a key wins.
func Environ(add ...string) []string {
	return append(os.Environ(), add...)
}

// Error is a child that did not start, exited non-zero, or was stopped.
type Error struct {
	Path     string
	Args     []string
	ExitCode int    // the child's exit status; -1 when a signal ended it or it never ran
	Stderr   string // the end of stderr
	// StartFailed says the child never ran; Err says why.
	StartFailed bool
	// Stopped says the context ended before the child did; Err is the
	// context's error. TimedOut says it ended by its deadline (or Timeout),
	// and Timeout is the time the child had.
	Stopped  bool
	TimedOut bool
	Timeout  time.Duration
	Err      error // the start error, the exit status, or the context's error
	// Hint, when set, says after the reason what to do about it.
	Hint string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(CommandLine(e.Path, e.Args))
	switch {
	case e.StartFailed:
		fmt.Fprintf(&b, ": did not start: %v", e.Err)
	case e.TimedOut:
		fmt.Fprintf(&b, ": timed out after %s", e.Timeout)
	case e.Stopped:
		fmt.Fprintf(&b, ": stopped: %v", e.Err)
	case e.ExitCode >= 0:
		fmt.Fprintf(&b, ": exit code %d", e.ExitCode)
	default:
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Hint != "" {
		fmt.Fprintf(&b, " (%s)", e.Hint)
	}
	if s := strings.TrimSpace(e.Stderr); s != "" {
		b.WriteString("; stderr:\n" + s)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// CommandLine is path and args as one line, arguments with spaces or quotes
// quoted.
func CommandLine(path string, args []string) string {
	parts := []string{path}
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n\"'\\$") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// Process is a started child.
type Process struct {
	c        Cmd
	pid      int
	limit    time.Duration // the time the child had when Start returned; 0: unbounded
	done     chan struct{}
	stdout   *bytes.Buffer // nil unless captured
	stderr   *tailBuffer
	waitErr  error
	exitCode int   // as in Error
	ctxErr   error // the context's error when the child ended
}

// Run starts c, waits for it and returns its stdout.
func Run(ctx context.Context, c Cmd) ([]byte, error) {
	p, err := start(ctx, c, true)
	if err != nil {
		return nil, err
	}
	err = p.Wait()
	return p.stdout.Bytes(), err
}

// Start starts c and returns without waiting: a long-lived child whose
// output goes only to c.Lines. The child is stopped when ctx ends.
func Start(ctx context.Context, c Cmd) (*Process, error) {
	return start(ctx, c, false)
}

// Pid is the child's process id, which is also its process group id.
func (p *Process) Pid() int { return p.pid }

// Done is closed when the child has exited and anything left in its group
// has been killed.
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for the child and returns nil when it exited with status 0,
// else an *Error.
func (p *Process) Wait() error {
	<-p.done
	if p.waitErr == nil || (p.ctxErr == nil && errors.Is(p.waitErr, exec.ErrWaitDelay)) {
		// ErrWaitDelay: the child succeeded, but something it left in its
		// group held the output open; that has been killed.
		return nil
	}
	e := &Error{Path: p.c.Path, Args: p.c.Args, ExitCode: p.exitCode, Stderr: p.stderr.String(), Err: p.waitErr}
	if p.ctxErr != nil {
		e.Stopped, e.Err = true, p.ctxErr
		if errors.Is(p.ctxErr, context.DeadlineExceeded) {
			e.TimedOut, e.Timeout = true, p.limit.Round(time.Millisecond)
		}
	}
	return e
}

func start(ctx context.Context, c Cmd, captureStdout bool) (*Process, error) {
	var cancel context.CancelFunc
	if c.Timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	p := &Process{c: c, done: make(chan struct{}), stderr: newTailBuffer(cmp.Or(c.StderrTail, DefaultStderrTail))}
	if dl, ok := ctx.Deadline(); ok {
		p.limit = time.Until(dl)
	}

	cmd := exec.CommandContext(ctx, c.Path, c.Args...)
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = []string{} // nil would inherit this process's environment
	}
	cmd.Dir = c.Dir
	cmd.Stdin = c.Stdin
	lines := &lineSink{emit: c.Lines}
	stdoutW := lines.writer(Stdout, nil)
	if captureStdout {
		p.stdout = &bytes.Buffer{}
		stdoutW = lines.writer(Stdout, p.stdout)
	}
	stderrW := lines.writer(Stderr, p.stderr)
	cmd.Stdout, cmd.Stderr = stdoutW, stderrW
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,
		Pdeathsig: cmp.Or(c.ParentDeathSignal, syscall.SIGTERM),
	}
	stop := cmp.Or(c.StopSignal, syscall.SIGTERM)
	cmd.Cancel = func() error { return signalGroup(cmd.Process.Pid, stop) }
	cmd.WaitDelay = cmp.Or(c.Grace, DefaultGrace)

	started := make(chan error, 1)
	go func() {
		// The kernel sends Pdeathsig when the thread that forked the child
		// exits, not the process: this goroutine keeps that thread to itself
		// until the child is reaped, so no other goroutine can end it.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
		p.ctxErr = ctx.Err()
		p.exitCode = -1
		if cmd.ProcessState != nil {
			p.exitCode = cmd.ProcessState.ExitCode()
		}
		// Whatever the child left in its group goes with it.
		_ = signalGroup(cmd.Process.Pid, syscall.SIGKILL)
		stdoutW.flush()
		stderrW.flush()
		cancel()
		close(p.done)
	}()
	if err := <-started; err != nil {
		cancel()
		return nil, &Error{Path: c.Path, Args: c.Args, ExitCode: -1, StartFailed: true, Err: err}
	}
	p.pid = cmd.Process.Pid
	if c.Interrupt != nil {
		go func() {
			select {
			case <-c.Interrupt:
				_ = signalGroup(p.pid, syscall.SIGINT)
			case <-p.done:
			}
		}()
	}
	return p, nil
}

// signalGroup sends sig to the process group pgid; a group that is gone is
// os.ErrProcessDone (so Wait reports the child's own exit status).
func signalGroup(pgid int, sig syscall.Signal) error {
	err := syscall.Kill(-pgid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// lineSink serialises the line callback of both streams.
type lineSink struct {
	mu   sync.Mutex
	emit func(stream, line string)
}

func (s *lineSink) writer(stream string, keep io.Writer) *lineWriter {
	return &lineWriter{sink: s, stream: stream, keep: keep}
}
