package kops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	// Env is set on top of what kops inherits (inheritedEnv) and its
	// private HOME; Command.Env adds to or overrides it per call.
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
// process dies; with an allow-listed environment and a private HOME,
// removed when it returns, failed or timed out alike.
func (r *ExecRunner) Run(ctx context.Context, c Command) ([]byte, error) {
	bin := r.Binary
	if bin == "" {
		bin = "kops"
	}
	home, removeHome, err := privateHome()
	if err != nil {
		return nil, &CommandError{Args: c.Args, ExitCode: -1, Err: err}
	}
	defer removeHome()
	cmd := childproc.Cmd{Path: bin, Args: c.Args, Env: r.env(home, c.Env), StderrTail: r.StderrTail}
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

// inheritedEnv is the one table of what kops takes from this process's
// environment; every other variable stays out of it (see droppedEnv). A name
// ending in "_" is a prefix.
var inheritedEnv = []struct{ name, why string }{
	{"AWS_", "credentials, region, profile, config files, endpoints, CA bundle: the AWS SDK kops uses"},
	{"KOPS_", "kops's own settings: KOPS_STATE_STORE, KOPS_FEATURE_FLAGS, KOPS_BASE_URL (but KOPS_CLUSTER_NAME)"},
	{"S3_", "a state store on an S3-compatible service: S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID (kops util/pkg/vfs)"},
	{"PATH", "the kubeconfig's exec plugin, `kops helpers kubectl-auth`, is found on it by validate and rolling-update"},
	{"HTTPS_PROXY", "Go's proxy settings (net/http ProxyFromEnvironment), either case"},
	{"https_proxy", "as HTTPS_PROXY"},
	{"HTTP_PROXY", "as HTTPS_PROXY"},
	{"http_proxy", "as HTTPS_PROXY"},
	{"NO_PROXY", "as HTTPS_PROXY"},
	{"no_proxy", "as HTTPS_PROXY"},
	{"SSL_CERT_FILE", "Go's trusted roots (crypto/x509), for a TLS-inspecting proxy"},
	{"SSL_CERT_DIR", "as SSL_CERT_FILE"},
}

// harnessEnv names one more variable kops inherits in a test build of the
// plugin only (`go build -ldflags "-X <this package>.harnessEnv=NAME"`, as
// e2e/pulumitest builds it): the end-to-end harness's marker, by which it
// finds and kills every process a test started. Empty in a release build.
var harnessEnv string

// droppedEnv are variables the table would let through but kops must not
// see: the program names the cluster with --name, and kops refuses a
// positional cluster name when KOPS_CLUSTER_NAME is set as well
// (cmd/kops/root.go ProcessArgs).
var droppedEnv = map[string]bool{"KOPS_CLUSTER_NAME": true}

// inherits reports whether kops gets variable k of this process's environment.
func inherits(k string) bool {
	if droppedEnv[k] {
		return false
	}
	if harnessEnv != "" && k == harnessEnv {
		return true
	}
	for _, e := range inheritedEnv {
		if k == e.name || (strings.HasSuffix(e.name, "_") && strings.HasPrefix(k, e.name)) {
			return true
		}
	}
	return false
}

// env is kops's whole environment: the variables of this process's that
// inheritedEnv lets through, HOME and TMPDIR in home, then the runner's Env,
// then the call's (both as the program sets them, not filtered).
func (r *ExecRunner) env(home string, call map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); inherits(k) {
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+home, "TMPDIR="+filepath.Join(home, "tmp"))
	for _, m := range []map[string]string{r.Env, call} {
		for k, v := range m {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// privateHome makes a fresh HOME for one kops call (0700, with a tmp/ for
// TMPDIR): what kops caches there, the certificate and key of `kops helpers
// kubectl-auth` under .kube/cache/kops-authentication/ among it, goes with
// it when remove is called. The user's ~/.aws is linked in, so shared
// config, credentials, profiles and the SSO token cache keep working; kops's
// own ~/.kops.yaml is not read (the program passes every setting itself).
func privateHome() (home string, remove func(), err error) {
	home, err = os.MkdirTemp("", "kopscalico-kops-home-")
	if err != nil {
		return "", nil, fmt.Errorf("kops's private HOME: %w", err)
	}
	remove = func() { _ = os.RemoveAll(home) } // removes the .aws link, never what it points at
	if err := os.Mkdir(filepath.Join(home, "tmp"), 0o700); err != nil {
		remove()
		return "", nil, fmt.Errorf("kops's private HOME: %w", err)
	}
	if user, err := os.UserHomeDir(); err == nil {
		if aws := filepath.Join(user, ".aws"); isDir(aws) {
			if err := os.Symlink(aws, filepath.Join(home, ".aws")); err != nil {
				remove()
				return "", nil, fmt.Errorf("kops's private HOME: link %s: %w", aws, err)
			}
		}
	}
	return home, remove, nil
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}
