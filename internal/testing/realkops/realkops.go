// Package realkops runs a kops binary offline: real kops (.tools/bin/kops,
// built by tools/build.sh) or the kops test double, each against a file://
// state store in a test directory, AWS faked on loopback (fakeaws), its own
// HOME and KUBECONFIG, and nothing of the caller's environment that kops or
// the AWS SDK would read.
package realkops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/internal/testing/fakeaws"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

// Version is the release tools/build.sh builds into .tools/bin/kops.
const Version = "1.36.2"

// ChannelURL is where kops reads its "stable" channel (kops.DefaultChannelBase
// in pkg/apis/kops/channel.go); the fake serves the channel shipped in the
// kops module there.
const ChannelURL = "https://raw.githubusercontent.com/kubernetes/kops/master/channels/stable"

// Binary is the path of real kops; the test is skipped when it is not built
// (a failure under KOPSCALICO_E2E=1).
func Binary(t testing.TB) string {
	t.Helper()
	return controlplane.RequireTools(t, "kops")["kops"]
}

// Env is an offline world for one kops binary.
type Env struct {
	Bin        string
	Label      string            // "kops 1.36.2" or "double", for logs
	Double     *kopsdouble.Store // the double's view of the store; nil for real kops
	AWS        *fakeaws.Server
	Home       string // HOME: ~/.kops and ~/.kube of the machine are never read
	StoreDir   string // the file:// state store
	Kubeconfig string // KUBECONFIG (a file under Home, absent until written)
}

// Real is real kops in a new offline world (skipped when not built), its
// "stable" channel the one shipped in the kops module.
func Real(t testing.TB) *Env {
	t.Helper()
	e := NewEnv(t, "kops "+Version, Binary(t))
	channel, err := stableChannel()
	if err != nil {
		t.Fatal(err)
	}
	e.AWS.ServeWebFile(ChannelURL, channel)
	return e
}

// Double is the kops test double, emulating Version, in a new offline world
// laid out like Real's.
func Double(t testing.TB) *Env {
	t.Helper()
	bin := kopsdouble.Build(t)
	e := NewEnv(t, "double", bin)
	e.Double = &kopsdouble.Store{Dir: e.StoreDir, Bin: bin}
	e.Double.SetVersion(t, Version)
	return e
}

// NewEnv starts the fake AWS and makes an empty state store for the kops
// binary bin.
func NewEnv(t testing.TB, label, bin string) *Env {
	t.Helper()
	e := &Env{Bin: bin, Label: label, AWS: fakeaws.Start(t), Home: t.TempDir(), StoreDir: t.TempDir()}
	e.Kubeconfig = filepath.Join(e.Home, ".kube", "config")
	return e
}

// StoreURL is the KOPS_STATE_STORE value.
func (e *Env) StoreURL() string { return "file://" + e.StoreDir }

// Vars is the environment of a kops call. It also clears every variable of
// the test's own environment that kops, the AWS SDK or Go's HTTP client read
// (AWS_*, KOPS*, proxies, CA files, KUBECONFIG), so it can be laid over
// os.Environ (as the program's ExecRunner does). KOPS_CLUSTER_NAME stays
// cleared: the program names the cluster with --name.
func (e *Env) Vars() map[string]string {
	vars := map[string]string{}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch u := strings.ToUpper(k); {
		case strings.HasPrefix(u, "AWS_"), strings.HasPrefix(u, "KOPS"), strings.HasSuffix(u, "_PROXY"),
			strings.HasPrefix(u, "SSL_CERT_"), u == "KUBECONFIG":
			vars[k] = ""
		}
	}
	for k, v := range e.AWS.Env() {
		vars[k] = v
	}
	vars["HOME"] = e.Home
	vars["KUBECONFIG"] = e.Kubeconfig
	vars["KOPS_STATE_STORE"] = e.StoreURL()
	return vars
}

// Result is one finished command.
type Result struct {
	Args     []string
	Stdout   string
	Stderr   string
	Exit     int
	Duration time.Duration
}

// Run runs one command with Vars as its whole environment (plus PATH);
// stdin may be nil. A command that does not finish in two minutes fails
// the test.
func (e *Env) Run(t testing.TB, stdin []byte, args ...string) Result {
	t.Helper()
	return e.RunEnv(t, nil, stdin, args...)
}

// RunEnv is Run with env laid over Vars.
func (e *Env) RunEnv(t testing.TB, env map[string]string, stdin []byte, args ...string) Result {
	t.Helper()
	vars := e.Vars()
	for k, v := range env {
		vars[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.Bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Duration: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.Exit = ee.ExitCode()
	default:
		t.Fatalf("%s %s: %v\nstderr:\n%s", e.Label, strings.Join(args, " "), err, r.Stderr)
	}
	t.Logf("%s: %s: exit %d in %s", e.Label, strings.Join(args, " "), r.Exit, r.Duration.Round(time.Millisecond))
	return r
}

// MustRun is Run that fails the test unless the command succeeds.
func (e *Env) MustRun(t testing.TB, stdin []byte, args ...string) Result {
	t.Helper()
	r := e.Run(t, stdin, args...)
	if r.Exit != 0 {
		t.Fatalf("%s %s: exit %d\nstdout:\n%s\nstderr:\n%s", e.Label, strings.Join(args, " "), r.Exit, r.Stdout, r.Stderr)
	}
	return r
}

var (
	channelOnce sync.Once
	channelData []byte
	channelErr  error
)

// stableChannel is channels/stable of the kops module tools/kops pins, from
// the module cache (tools/build.sh downloaded it to build kops).
func stableChannel() ([]byte, error) {
	channelOnce.Do(func() {
		root, err := controlplane.RepoRoot()
		if err != nil {
			channelErr = err
			return
		}
		cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/kops")
		cmd.Dir = filepath.Join(root, "tools", "kops")
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		dir, err := cmd.Output()
		if err != nil {
			channelErr = fmt.Errorf("locating the kops module of tools/kops (run `make tools`): %v: %s", err, stderr.String())
			return
		}
		channelData, channelErr = os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "channels", "stable"))
	})
	return channelData, channelErr
}
