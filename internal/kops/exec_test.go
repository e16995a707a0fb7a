package kops_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/internal/childproc/childproctest"
	"github.com/kopscalico/kopscalico/internal/kops"
)

func TestExecRunnerStreamsAndReturnsStdout(t *testing.T) {
	var l childproctest.Lines
	r := &kops.ExecRunner{Binary: "/bin/sh", Log: l.Add, Env: map[string]string{"A": "base"}}
	t.Setenv("KOPS_CLUSTER_NAME", "inherited")
	out, err := r.Run(context.Background(), kops.Command{
		Args:  []string{"-c", `echo "$A $KOPS_STATE_STORE ${KOPS_CLUSTER_NAME:-unset}"; echo progress >&2; cat`},
		Env:   map[string]string{"KOPS_STATE_STORE": "file:///s"},
		Stdin: []byte("from-stdin\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != "base file:///s unset\nfrom-stdin\n" {
		t.Errorf("stdout = %q", out)
	}
	want := map[string]bool{"stdout: base file:///s unset": true, "stderr: progress": true, "stdout: from-stdin": true}
	for _, g := range l.All() {
		delete(want, g)
	}
	if len(want) != 0 {
		t.Errorf("lines not logged: %v (logged %v)", want, l.All())
	}
}

func TestExecRunnerQuietStdout(t *testing.T) {
	var l childproctest.Lines
	r := &kops.ExecRunner{Binary: "/bin/sh", Log: l.Add}
	out, err := r.Run(context.Background(), kops.Command{Args: []string{"-c", "echo data; echo note >&2"}, QuietStdout: true})
	if err != nil || string(out) != "data\n" {
		t.Fatalf("out %q err %v", out, err)
	}
	if got := l.All(); len(got) != 1 || got[0] != "stderr: note" {
		t.Errorf("logged %v; want stderr only", got)
	}
}

func TestExecRunnerFailureCarriesCommandExitCodeAndStderrTail(t *testing.T) {
	r := &kops.ExecRunner{Binary: "/bin/sh", StderrTail: 64}
	_, err := r.Run(context.Background(), kops.Command{Args: []string{"-c", `i=0; while [ $i -lt 50 ]; do echo "noise line $i" >&2; i=$((i+1)); done; echo 'Error: cluster not found "x"' >&2; exit 3`}})
	var ce *kops.CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *kops.CommandError", err)
	}
	if ce.ExitCode != 3 || !strings.HasSuffix(ce.Stderr, `Error: cluster not found "x"`) || len(ce.Stderr) > 70 {
		t.Errorf("CommandError = %+v", ce)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "kops -c") || !strings.Contains(msg, "exit code 3") || strings.Contains(msg, "noise line 1\n") {
		t.Errorf("message = %q", msg)
	}
}

func TestExecRunnerTimeoutKillsProcessGroup(t *testing.T) {
	r := &kops.ExecRunner{Binary: "/bin/sh", Timeout: 300 * time.Millisecond}
	start := time.Now()
	// The grandchild keeps stdout open: without a group kill Run would hang.
	_, err := r.Run(context.Background(), kops.Command{Args: []string{"-c", "sleep 30 & sleep 30"}})
	if time.Since(start) > 10*time.Second {
		t.Fatalf("Run returned after %s", time.Since(start))
	}
	var ce *kops.CommandError
	if !errors.As(err, &ce) || ce.Timeout == 0 || !strings.Contains(err.Error(), "timed out after 300ms (raise the kops timeouts in config") {
		t.Fatalf("err = %v; want a timeout kops.CommandError", err)
	}
}

func TestExecRunnerMissingBinary(t *testing.T) {
	r := &kops.ExecRunner{Binary: "/nonexistent/kops"}
	_, err := r.Run(context.Background(), kops.Command{Args: []string{"version"}})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/kops") {
		t.Errorf("err = %v", err)
	}
}

func TestExecRunnerTimeoutOnlyBoundsCallsWithoutDeadline(t *testing.T) {
	// The manager gives slow steps (validate, rolling-update) a deadline of
	// their own, longer than the runner's per-command Timeout.
	r := &kops.ExecRunner{Binary: "/bin/sh", Timeout: 50 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := r.Run(ctx, kops.Command{Args: []string{"-c", "sleep 0.3; echo done"}})
	if err != nil || string(out) != "done\n" {
		t.Fatalf("out %q, err %v: the context's deadline, not Timeout, bounds this call", out, err)
	}
}

// envOf runs r with a shell that prints its environment and then script.
func envOf(t *testing.T, r *kops.ExecRunner, script string) (map[string]string, error) {
	t.Helper()
	out, err := r.Run(context.Background(), kops.Command{Args: []string{"-c", "env -0; " + script}})
	env := map[string]string{}
	for _, kv := range strings.Split(string(out), "\x00") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env, err
}

func TestExecRunnerEnvironmentIsAllowListed(t *testing.T) {
	user := t.TempDir()
	t.Setenv("HOME", user)
	kept := map[string]string{
		"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t", "AWS_SESSION_TOKEN": "tok", "AWS_PROFILE": "dev",
		"AWS_REGION": "eu-west-1", "AWS_CONFIG_FILE": "/etc/aws/config", "AWS_SHARED_CREDENTIALS_FILE": "/etc/aws/credentials",
		"KOPS_STATE_STORE": "s3://inherited", "KOPS_FEATURE_FLAGS": "+Foo", "S3_ENDPOINT": "https://minio.example",
		"HTTPS_PROXY": "http://proxy:3128", "https_proxy": "http://proxy:3128", "HTTP_PROXY": "http://proxy:3128",
		"http_proxy": "http://proxy:3128", "NO_PROXY": "localhost", "no_proxy": "localhost",
		"SSL_CERT_FILE": "/etc/ca.pem", "SSL_CERT_DIR": "/etc/ca",
	}
	dropped := map[string]string{
		"PULUMI_CONFIG_PASSPHRASE": "passphrase", "PULUMI_ACCESS_TOKEN": "pul-token", "GITHUB_TOKEN": "ghp_token",
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc", "KOPS_CLUSTER_NAME": "named-twice", "KUBECONFIG": "/home/me/.kube/config",
		"XDG_CACHE_HOME": "/home/me/.cache", "SSH_AUTH_SOCK": "/run/agent", "GOFLAGS": "-mod=mod",
		// The harness's marker reaches kops only from a test build (TestExecRunnerHarnessEnv).
		"KOPSCALICO_E2E_MARKER": "e2e-1234",
	}
	for k, v := range kept {
		t.Setenv(k, v)
	}
	for k, v := range dropped {
		t.Setenv(k, v)
	}
	env, err := envOf(t, &kops.ExecRunner{Binary: "/bin/sh"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range kept {
		if env[k] != v {
			t.Errorf("kops sees %s=%q, want %q (inherited)", k, env[k], v)
		}
	}
	for k := range dropped {
		if v, ok := env[k]; ok {
			t.Errorf("kops sees %s=%q; it must not inherit it", k, v)
		}
	}
	if env["PATH"] != os.Getenv("PATH") {
		t.Errorf("PATH = %q, want this process's", env["PATH"])
	}
	// Every row of the table is held here: a row added is a row tested.
	kept["PATH"] = ""
	for _, name := range kops.InheritedEnvNames() {
		covered := false
		for k := range kept {
			covered = covered || k == name || (strings.HasSuffix(name, "_") && strings.HasPrefix(k, name))
		}
		if !covered {
			t.Errorf("inheritedEnv row %q has no variable in this test", name)
		}
	}
}

func TestExecRunnerExplicitEnvWins(t *testing.T) {
	t.Setenv("KOPS_STATE_STORE", "s3://inherited")
	r := &kops.ExecRunner{Binary: "/bin/sh", Env: map[string]string{"HOME": "/explicit/home", "A": "runner"}}
	out, err := r.Run(context.Background(), kops.Command{Args: []string{"-c", `echo "$HOME $A $KOPS_STATE_STORE"`}, Env: map[string]string{"KOPS_STATE_STORE": "file:///call"}})
	if err != nil || string(out) != "/explicit/home runner file:///call\n" {
		t.Fatalf("out %q err %v: the runner's and the call's Env override what kops inherits", out, err)
	}
}

// TestExecRunnerPrivateHome: each call gets a fresh 0700 HOME under this
// process's TMPDIR, TMPDIR inside it, the user's ~/.aws linked in; it is
// removed after the call, whether kops succeeded, failed or timed out.
func TestExecRunnerPrivateHome(t *testing.T) {
	user, tmp := t.TempDir(), t.TempDir()
	t.Setenv("HOME", user)
	t.Setenv("TMPDIR", tmp)
	if err := os.MkdirAll(filepath.Join(user, ".aws", "sso", "cache"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(user, ".aws", "config"), []byte("[profile dev]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// What `kops helpers kubectl-auth` does (pkg/commands/helpers/kubectl_auth.go):
	// a certificate and key cached under $HOME/.kube/cache/kops-authentication.
	const cache = `mkdir -p "$HOME/.kube/cache/kops-authentication" && echo KEY > "$HOME/.kube/cache/kops-authentication/c_1" && echo t > "$TMPDIR/scratch" && stat -c %a "$HOME" >&2 && cat "$HOME/.aws/config" >&2`
	for _, tc := range []struct {
		name, tail string
		timeout    time.Duration
		fails      bool
	}{
		{"success", "", 0, false},
		{"failure", "; exit 3", 0, true},
		{"timeout", "; sleep 30", 500 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var l childproctest.Lines
			env, err := envOf(t, &kops.ExecRunner{Binary: "/bin/sh", Timeout: tc.timeout, Log: l.Add}, cache+tc.tail)
			if (err != nil) != tc.fails {
				t.Fatalf("err = %v, want failure %v", err, tc.fails)
			}
			home := env["HOME"]
			if filepath.Dir(home) != tmp || home == user {
				t.Fatalf("HOME = %q, want a directory of its own in TMPDIR %s", home, tmp)
			}
			if env["TMPDIR"] != filepath.Join(home, "tmp") {
				t.Errorf("TMPDIR = %q, want inside HOME", env["TMPDIR"])
			}
			logged := strings.Join(l.All(), "\n")
			if !strings.Contains(logged, "stderr: 700") || !strings.Contains(logged, "stderr: [profile dev]") {
				t.Errorf("want HOME mode 700 and the user's ~/.aws/config readable in it; logged:\n%s", logged)
			}
			if _, err := os.Stat(home); !os.IsNotExist(err) {
				t.Errorf("private HOME %s still there after the call (%v)", home, err)
			}
			if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
				t.Errorf("TMPDIR holds %v after the call", entries)
			}
			if _, err := os.Stat(filepath.Join(user, ".aws", "sso", "cache")); err != nil {
				t.Errorf("the user's ~/.aws was touched: %v", err)
			}
			if _, err := os.Stat(filepath.Join(user, ".kube")); !os.IsNotExist(err) {
				t.Errorf("the user's HOME got a .kube (%v)", err)
			}
		})
	}
}

// A test build names the harness's marker (-ldflags -X); kops then inherits
// it, and nothing else more.
func TestExecRunnerHarnessEnv(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("KOPSCALICO_E2E_MARKER", "e2e-1234")
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "passphrase")
	defer kops.SetHarnessEnv("KOPSCALICO_E2E_MARKER")()
	env, err := envOf(t, &kops.ExecRunner{Binary: "/bin/sh"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if env["KOPSCALICO_E2E_MARKER"] != "e2e-1234" {
		t.Errorf("a test build's kops does not get the marker: %v", env)
	}
	if _, leaked := env["PULUMI_CONFIG_PASSPHRASE"]; leaked {
		t.Errorf("the passphrase reached kops: %v", env)
	}
}
