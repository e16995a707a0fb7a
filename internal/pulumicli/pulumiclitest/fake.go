// Package pulumiclitest is a fake pulumi CLI for tests of what starts and
// signals the CLI: a test binary becomes the fake when its environment says
// so (see Command), by calling RunIfFake first thing in TestMain.
package pulumiclitest

import (
	"bufio"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// Environment of the fake.
const (
	EnvFake    = "PULUMICLITEST_FAKE"    // set: this process is the fake
	EnvVersion = "PULUMICLITEST_VERSION" // what `version` prints; "": v3.274.1
	EnvExit    = "PULUMICLITEST_EXIT"    // exit code of any other command; "": 0
	// EnvBlock set: any other command blocks and answers signals as the
	// engine's cancellation scope does (pkg/backend/cancellation_scope.go):
	// the first SIGINT or SIGTERM cancels, the second terminates.
	EnvBlock = "PULUMICLITEST_BLOCK"
)

// Lines the fake prints on stdout while blocking.
const (
	Ready       = "fake pulumi: ready"
	Cancelling  = "^C received; cancelling. If you would like to terminate immediately, press ^C again."
	Terminating = "^C received; terminating"
)

// Env is the environment entries that make a test binary the fake.
func Env(block bool, exitCode int) []string {
	env := []string{EnvFake + "=1", EnvExit + "=" + strconv.Itoa(exitCode)}
	if block {
		env = append(env, EnvBlock+"=1")
	}
	return env
}

// RunIfFake runs the fake and exits when EnvFake is set; else it returns.
func RunIfFake() {
	if os.Getenv(EnvFake) == "" {
		return
	}
	args := os.Args[1:]
	if len(args) > 0 && args[len(args)-1] == "version" {
		v := os.Getenv(EnvVersion)
		if v == "" {
			v = "v3.274.1"
		}
		fmt.Println(v)
		os.Exit(0)
	}
	// What the caller can check: the arguments, the environment it was
	// given, and stdin.
	fmt.Println("args: " + strings.Join(args, " "))
	fmt.Println("PULUMI_AUTOMATION_API=" + os.Getenv("PULUMI_AUTOMATION_API"))
	fmt.Println("PATH=" + os.Getenv("PATH"))
	fmt.Fprintln(os.Stderr, "fake pulumi: a line on stderr")
	if os.Getenv(EnvBlock) != "" {
		block()
	}
	if in, err := os.Stdin.Stat(); err == nil && in.Mode()&os.ModeCharDevice == 0 {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			fmt.Println("stdin: " + sc.Text())
		}
	}
	code, _ := strconv.Atoi(os.Getenv(EnvExit))
	os.Exit(code)
}

func block() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	fmt.Println(Ready)
	n := 0
	for s := range sigs {
		n++
		fmt.Printf("signal %d: %v\n", n, s)
		if n == 1 {
			fmt.Println(Cancelling)
			continue
		}
		fmt.Println(Terminating)
		os.Exit(255)
	}
}
