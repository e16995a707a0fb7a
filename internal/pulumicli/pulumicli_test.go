package pulumicli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/internal/pulumicli/pulumiclitest"
)

func TestMain(m *testing.M) {
	pulumiclitest.RunIfFake()
	os.Exit(m.Run())
}

// fake makes this test binary the fake CLI for the rest of the test.
func fake(t *testing.T, block bool, exitCode int) {
	for _, kv := range pulumiclitest.Env(block, exitCode) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

func TestNewReadsTheVersion(t *testing.T) {
	fake(t, false, 0)
	c, err := New(context.Background(), os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Version().String(); got != "3.274.1" {
		t.Errorf("version = %s", got)
	}
}

func TestNewRefusesWhatIsNoVersion(t *testing.T) {
	fake(t, false, 0)
	t.Setenv(pulumiclitest.EnvVersion, "dev build")
	if _, err := New(context.Background(), os.Args[0]); err == nil || !strings.Contains(err.Error(), `printed "dev build\n", not a version`) {
		t.Errorf("err = %v", err)
	}
}

func TestNewNamesAMissingCLIAndTheFix(t *testing.T) {
	_, err := New(context.Background(), "/nonexistent/pulumi")
	if err == nil || !strings.Contains(err.Error(), "no pulumi CLI at /nonexistent/pulumi") || !strings.Contains(err.Error(), "make up") {
		t.Errorf("err = %v", err)
	}
}

// syncBuffer is a writer the test reads while the CLI writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunIsTheSDKsCommandInItsOwnGroup(t *testing.T) {
	fake(t, false, 3)
	c, err := New(context.Background(), os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	var progress, errProgress syncBuffer
	stdout, stderr, code, err := c.Run(context.Background(), t.TempDir(), strings.NewReader("piped\n"),
		[]io.Writer{&progress}, []io.Writer{&errProgress}, []string{"EXTRA=1"}, "up", "--yes")
	if code != 3 || err == nil {
		t.Fatalf("code %d, err %v; want the CLI's exit code 3", code, err)
	}
	wantOut := []string{
		"args: --non-interactive up --yes",
		"PULUMI_AUTOMATION_API=true",
		"stdin: piped",
	}
	for _, w := range wantOut {
		if !strings.Contains(stdout, w+"\n") {
			t.Errorf("stdout lacks %q:\n%s", w, stdout)
		}
	}
	if !strings.Contains(stdout, "PATH="+filepath.Dir(os.Args[0])+string(os.PathListSeparator)) {
		t.Errorf("the CLI's directory is not first on PATH:\n%s", stdout)
	}
	if stderr != "fake pulumi: a line on stderr\n" {
		t.Errorf("stderr = %q", stderr)
	}
	if progress.String() != stdout || errProgress.String() != stderr {
		t.Errorf("progress streams %q / %q differ from the output", progress.String(), errProgress.String())
	}
}

func TestRunReportsUnknownExitCodeWhenTheCLINeverRan(t *testing.T) {
	_, _, code, err := Command{Path: "/nonexistent/pulumi"}.Run(context.Background(), t.TempDir(), nil, nil, nil, nil, "up")
	if code != unknownExitCode || err == nil {
		t.Errorf("code %d, err %v", code, err)
	}
}

// lineWaiter is a progress stream a test can wait on.
type lineWaiter struct {
	syncBuffer
}

func (l *lineWaiter) waitFor(t *testing.T, line string, done <-chan struct{}) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(l.String(), line+"\n") {
		select {
		case <-done:
			t.Fatalf("the CLI ended before printing %q:\n%s", line, l.String())
		case <-deadline:
			t.Fatalf("no %q in:\n%s", line, l.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestInterruptIsOneSIGINTAndTheContextTheSecond(t *testing.T) {
	fake(t, true, 0)
	interrupt := make(chan struct{})
	c, err := New(context.Background(), os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	c.Interrupt = interrupt
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var progress lineWaiter
	done := make(chan struct{})
	var code int
	go func() {
		defer close(done)
		_, _, code, err = c.Run(ctx, t.TempDir(), nil, []io.Writer{&progress}, nil, nil, "up")
	}()
	progress.waitFor(t, pulumiclitest.Ready, done)
	close(interrupt)
	progress.waitFor(t, pulumiclitest.Cancelling, done)
	cancel()
	<-done
	if code != 255 || !errors.Is(err, context.Canceled) {
		t.Errorf("code %d, err %v; want the engine's own exit after terminating", code, err)
	}
	var signals []string
	for _, l := range strings.Split(progress.String(), "\n") {
		if strings.HasPrefix(l, "signal ") {
			signals = append(signals, l)
		}
	}
	if want := []string{"signal 1: interrupt", "signal 2: interrupt"}; !slices.Equal(signals, want) {
		t.Errorf("the CLI got %q, want %q", signals, want)
	}
}

func TestNonInteractiveLooksOnlyBeforeDoubleDash(t *testing.T) {
	for _, tt := range []struct{ in, want []string }{
		{[]string{"up"}, []string{"--non-interactive", "up"}},
		{[]string{"--non-interactive", "up"}, []string{"--non-interactive", "up"}},
		{[]string{"run", "--", "--non-interactive"}, []string{"--non-interactive", "run", "--", "--non-interactive"}},
	} {
		if got := nonInteractive(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}
