package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/internal/childproc"
	"github.com/kopscalico/kopscalico/internal/childproc/childproctest"
	"github.com/kopscalico/kopscalico/internal/pulumicli/pulumiclitest"
)

// envHelper makes the test binary run a helper instead of the tests.
const envHelper = "KOPSCALICO_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(envHelper) == "interrupts" {
		os.Unsetenv(envHelper) // the CLI it starts is the fake, not this helper
		interruptsHelper()
	}
	pulumiclitest.RunIfFake()
	os.Exit(m.Run())
}

// interruptsHelper is kopscalico's signal handling around one blocking
// `pulumi up` of the fake CLI (this binary again).
func interruptsHelper() {
	ctx, interrupt, stop := interrupts(context.Background(), os.Stderr)
	defer stop()
	cli, err := pulumiCLI(ctx, os.Args[0], interrupt)
	if err != nil {
		fmt.Println("helper:", err)
		os.Exit(1)
	}
	_, _, code, err := cli.Run(ctx, ".", nil, []io.Writer{os.Stdout}, nil, nil, "up")
	fmt.Printf("helper: the CLI exited %d: %v\n", code, err)
	os.Exit(3)
}

// TestCtrlCTwice plays a terminal: the helper runs in a process group of its
// own, as a shell's foreground job does, and Ctrl-C is SIGINT to that whole
// group. The first must reach the CLI as exactly one SIGINT (the engine's
// graceful cancel; a second would make it terminate), the second stops it.
func TestCtrlCTwice(t *testing.T) {
	var out childproctest.Lines
	helper, err := childproc.Start(context.Background(), childproc.Cmd{
		Path:  os.Args[0],
		Env:   childproc.Environ(append(pulumiclitest.Env(true, 0), envHelper+"=interrupts")...),
		Lines: out.Add,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-helper.Pid(), syscall.SIGKILL)
		<-helper.Done()
	}()
	ctrlC := func() {
		if err := syscall.Kill(-helper.Pid(), syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
	}

	out.WaitFor(t, "stdout: "+pulumiclitest.Ready, helper.Done())
	ctrlC()
	out.WaitFor(t, "stderr: "+firstInterruptNotice, helper.Done())
	out.WaitFor(t, "stdout: "+pulumiclitest.Cancelling, helper.Done())
	// A CLI in the terminal's group would get a second SIGINT about now.
	time.Sleep(300 * time.Millisecond)
	if n := out.Count("stdout: signal "); n != 1 {
		t.Fatalf("the CLI got %d signals from one Ctrl-C, want 1:\n%s", n, &out)
	}

	ctrlC()
	select {
	case <-helper.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("the second Ctrl-C did not stop the helper:\n%s", &out)
	}
	for _, want := range []string{
		"stderr: " + secondInterruptNotice,
		"stdout: signal 2: interrupt",
		"stdout: " + pulumiclitest.Terminating,
		"stdout: helper: the CLI exited 255",
	} {
		if out.Count(want) != 1 {
			t.Errorf("no %q in:\n%s", want, &out)
		}
	}
	if n := out.Count("stdout: signal "); n != 2 {
		t.Errorf("the CLI got %d signals from two Ctrl-C, want 2:\n%s", n, &out)
	}
}

func TestPulumiCLIRefusesAnOldOne(t *testing.T) {
	for _, kv := range pulumiclitest.Env(false, 0) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv(pulumiclitest.EnvVersion, "v3.100.0")
	_, err := pulumiCLI(context.Background(), os.Args[0], nil)
	if err == nil || !strings.Contains(err.Error(), "is 3.100.0, older than 3.274.0") {
		t.Errorf("err = %v", err)
	}
}
