package childproc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/internal/childproc/childproctest"
)

// The test binary doubles as the children of these tests: with envHelper
// set it runs that helper instead of the tests.
const envHelper = "CHILDPROC_TEST_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(envHelper) {
	case "":
		os.Exit(m.Run())
	case "sleep":
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "count-sigint":
		countSIGINT()
	case "parent":
		startSleeperAndBlock()
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", envHelper, os.Getenv(envHelper))
		os.Exit(2)
	}
}

// countSIGINT prints "SIGINT n" for every SIGINT and exits 0 on SIGTERM.
func countSIGINT() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	fmt.Println("ready")
	n := 0
	for s := range sigs {
		if s == syscall.SIGTERM {
			os.Exit(0)
		}
		n++
		fmt.Printf("SIGINT %d\n", n)
	}
}

// startSleeperAndBlock starts a sleeping child, prints its pid, and blocks
// until it is killed.
func startSleeperAndBlock() {
	p, err := Start(context.Background(), helper("sleep"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("child %d\n", p.Pid())
	time.Sleep(time.Hour)
}

func helper(mode string) Cmd {
	return Cmd{Path: os.Args[0], Env: Environ(envHelper + "=" + mode)}
}

func sh(script string) Cmd {
	return Cmd{Path: "/bin/sh", Args: []string{"-c", script}, Env: []string{"PATH=" + os.Getenv("PATH")}}
}

// alive says whether pid is a running process (not gone, not a zombie).
func alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] != 'Z' && stat[i+2] != 'X'
}

// waitGone waits until pid is no longer a running process.
func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("%s (pid %d) still running", what, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPrintedPidGone waits until the process whose pid is stdout is gone.
func waitPrintedPidGone(t *testing.T, stdout []byte, what string) {
	t.Helper()
	pid, err := strconv.Atoi(strings.TrimSpace(string(stdout)))
	if err != nil {
		t.Fatalf("stdout %q is no pid: %v", stdout, err)
	}
	waitGone(t, pid, what)
}

func TestRunStreamsLinesAndReturnsStdout(t *testing.T) {
	var l childproctest.Lines
	c := sh(`echo "$A ${HOME:-no-home} $(pwd)"; echo progress >&2; cat; printf 'no line end'`)
	c.Env = append(c.Env, "A=given")
	c.Dir = t.TempDir()
	c.Stdin = strings.NewReader("from stdin\n")
	c.Lines = l.Add
	out, err := Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	want := "given no-home " + c.Dir + "\nfrom stdin\nno line end"
	if string(out) != want {
		t.Errorf("stdout = %q, want %q (only the given environment, in Dir)", out, want)
	}
	wantLines := map[string]bool{
		"stdout: given no-home " + c.Dir: true, "stderr: progress": true,
		"stdout: from stdin": true, "stdout: no line end": true,
	}
	for _, g := range l.All() {
		if !wantLines[g] {
			t.Errorf("unexpected line %q", g)
		}
		delete(wantLines, g)
	}
	if len(wantLines) > 0 {
		t.Errorf("lines not streamed: %v", wantLines)
	}
}

func TestRunCapturesStdoutWithoutStreaming(t *testing.T) {
	out, err := Run(context.Background(), sh("echo data; echo note >&2"))
	if err != nil || string(out) != "data\n" {
		t.Fatalf("out %q, err %v", out, err)
	}
}

func TestLongLineArrivesInPieces(t *testing.T) {
	var l childproctest.Lines
	c := sh(fmt.Sprintf("head -c %d /dev/zero | tr '\\0' x", maxLine+10))
	c.Lines = l.Add
	if _, err := Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	got := l.All()
	if len(got) != 2 || len(got[0]) != len("stdout: ")+maxLine || got[1] != "stdout: xxxxxxxxxx" {
		t.Errorf("got %d lines of lengths %v", len(got), lengths(got))
	}
}

func lengths(ss []string) []int {
	var n []int
	for _, s := range ss {
		n = append(n, len(s))
	}
	return n
}

func TestFailureCarriesCommandExitCodeAndStderrTail(t *testing.T) {
	c := sh(`i=0; while [ $i -lt 50 ]; do echo "noise line $i" >&2; i=$((i+1)); done; echo 'Error: the cause' >&2; exit 3`)
	c.StderrTail = 64
	_, err := Run(context.Background(), c)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error", err)
	}
	if e.ExitCode != 3 || e.TimedOut || e.StartFailed {
		t.Errorf("error = %+v, want exit code 3", e)
	}
	if !strings.HasPrefix(e.Stderr, "…") || !strings.HasSuffix(e.Stderr, "Error: the cause") || strings.Contains(e.Stderr, "noise line 1\n") || len(e.Stderr) > 64+len("…") {
		t.Errorf("stderr tail = %q", e.Stderr)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "/bin/sh -c ") || !strings.Contains(msg, "exit code 3") || !strings.Contains(msg, "Error: the cause") {
		t.Errorf("message = %q", msg)
	}
}

func TestStderrTailKeepsWholeShortStderr(t *testing.T) {
	_, err := Run(context.Background(), sh("echo one >&2; echo two >&2; exit 1"))
	var e *Error
	if !errors.As(err, &e) || e.Stderr != "one\ntwo" {
		t.Fatalf("err = %#v", err)
	}
}

func TestTimeoutStopsTheWholeGroup(t *testing.T) {
	// The background sleep keeps stdout open: without a group stop Run
	// would wait for it.
	c := sh("sleep 30 & echo $!; sleep 30")
	c.Timeout = 300 * time.Millisecond
	c.Grace = time.Minute // SIGTERM alone must do it
	start := time.Now()
	out, err := Run(context.Background(), c)
	if took := time.Since(start); took > 20*time.Second {
		t.Fatalf("Run returned after %s", took)
	}
	var e *Error
	if !errors.As(err, &e) || !e.Stopped || !e.TimedOut || e.Timeout != 300*time.Millisecond || e.ExitCode != -1 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %#v, want a timeout after 300ms", err)
	}
	if !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Errorf("message = %q", err)
	}
	waitPrintedPidGone(t, out, "grandchild")
}

func TestStopEndsWithSIGKILLAfterGrace(t *testing.T) {
	// Both ignore SIGTERM (an ignored signal stays ignored across exec).
	c := sh(`trap "" TERM; sleep 30 & echo $!; sleep 30`)
	c.Timeout = 200 * time.Millisecond
	c.Grace = 300 * time.Millisecond
	start := time.Now()
	out, err := Run(context.Background(), c)
	took := time.Since(start)
	var e *Error
	if !errors.As(err, &e) || !e.TimedOut {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if took < 500*time.Millisecond || took > 20*time.Second {
		t.Errorf("Run returned after %s, want the timeout plus the grace", took)
	}
	waitPrintedPidGone(t, out, "grandchild that ignored SIGTERM")
}

func TestCancelIsNotATimeout(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := sh("echo started; sleep 30")
	c.Lines = func(_, line string) {
		if line == "started" {
			cancel()
		}
	}
	_, err := Run(ctx, c)
	var e *Error
	if !errors.As(err, &e) || !e.Stopped || e.TimedOut || !errors.Is(err, context.Canceled) || e.ExitCode != -1 {
		t.Fatalf("err = %#v, want canceled", err)
	}
	if !strings.HasSuffix(err.Error(), "stopped: context canceled") {
		t.Errorf("message = %q", err)
	}
}

func TestLeftoversAreKilledWhenTheChildSucceeds(t *testing.T) {
	// The background sleep inherits stdout and outlives its parent.
	c := sh("sleep 30 & echo $!")
	c.Grace = 200 * time.Millisecond
	out, err := Run(context.Background(), c)
	if err != nil {
		t.Fatalf("err = %v: the child itself succeeded", err)
	}
	waitPrintedPidGone(t, out, "leftover grandchild")
}

func TestMissingBinary(t *testing.T) {
	for _, tt := range []struct {
		path string
		is   error
	}{
		{"/nonexistent/tool", fs.ErrNotExist},
		{"no-such-tool-on-path", exec.ErrNotFound},
	} {
		_, err := Run(context.Background(), Cmd{Path: tt.path, Args: []string{"version"}, Env: Environ()})
		var e *Error
		if !errors.As(err, &e) || !e.StartFailed || e.ExitCode != -1 || !errors.Is(err, tt.is) {
			t.Errorf("%s: err = %#v, want a start failure wrapping %v", tt.path, err, tt.is)
			continue
		}
		if !strings.Contains(err.Error(), tt.path+" version: did not start") {
			t.Errorf("%s: message = %q", tt.path, err)
		}
	}
}

func TestInterruptSendsOneSIGINTAndLetsTheChildRun(t *testing.T) {
	var l childproctest.Lines
	c := helper("count-sigint")
	c.Lines = l.Add
	interrupt := make(chan struct{})
	c.Interrupt = interrupt
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p, err := Start(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	l.WaitFor(t, "stdout: ready", p.Done())
	close(interrupt)
	l.WaitFor(t, "stdout: SIGINT 1", p.Done())
	select {
	case <-p.Done():
		t.Fatal("the child ended on the interrupt")
	default:
	}
	cancel() // SIGTERM: the helper exits 0
	var e *Error
	if err := p.Wait(); !errors.As(err, &e) || !e.Stopped || e.ExitCode != 0 {
		t.Errorf("wait = %#v, want stopped with the helper's own exit code 0", err)
	}
	if got := l.All(); len(got) != 2 {
		t.Errorf("lines = %q, want ready and one SIGINT", got)
	}
}

func TestChildDiesWithItsParent(t *testing.T) {
	var l childproctest.Lines
	parentCmd := helper("parent")
	parentCmd.Lines = l.Add
	parent, err := Start(context.Background(), parentCmd)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	if _, err := fmt.Sscanf(l.WaitFor(t, "stdout: child ", parent.Done()), "stdout: child %d", &child); err != nil {
		t.Fatalf("parent printed %q", l.All())
	}
	if !alive(child) {
		t.Fatalf("child %d not running before its parent dies", child)
	}
	if err := syscall.Kill(parent.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := parent.Wait(); err == nil {
		t.Error("SIGKILLed parent reported success")
	}
	waitGone(t, child, "child of the killed parent")
}

// TestChildOutlivesTheStartingThread: the kernel sends Pdeathsig when the
// thread that forked the child exits, not the process. A caller whose
// goroutine is locked to its thread and returns right after Start ends that
// thread; the child must not take this for its parent's death.
func TestChildOutlivesTheStartingThread(t *testing.T) {
	var l childproctest.Lines
	c := helper("sleep")
	c.Lines = l.Add
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var p *Process
	var err error
	started := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with this goroutine
		defer close(started)
		p, err = Start(ctx, c)
	}()
	<-started
	if err != nil {
		t.Fatal(err)
	}
	// A Pdeathsig would arrive as the thread exits; give the exit time.
	select {
	case <-p.Done():
		t.Fatalf("the child died with the thread that started it: %v", p.Wait())
	case <-time.After(time.Second):
	}
	if got := l.All(); len(got) != 1 || got[0] != "stdout: ready" {
		t.Errorf("child printed %q, want ready", got)
	}
	cancel()
	_ = p.Wait()
}

func TestEnvironAddsToThisProcesssEnvironment(t *testing.T) {
	t.Setenv("CHILDPROC_INHERITED", "yes")
	out, err := Run(context.Background(), Cmd{Path: "/bin/sh", Args: []string{"-c", `echo "$CHILDPROC_INHERITED $CHILDPROC_ADDED"`}, Env: Environ("CHILDPROC_ADDED=too", "CHILDPROC_INHERITED=overridden")})
	if err != nil || string(out) != "overridden too\n" {
		t.Fatalf("out %q, err %v", out, err)
	}
}

func TestCommandLineQuotesWhatTheShellWould(t *testing.T) {
	got := CommandLine("kops", []string{"get", "cluster", "--name", "a b", ""})
	if want := `kops get cluster --name "a b" ""`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
