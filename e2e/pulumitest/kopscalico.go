package pulumitest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
)

var kopscalicoBuild goBuild

// KopscalicoBinary builds cmd/kopscalico once per test process and returns
// its path.
func KopscalicoBinary(t testing.TB) string {
	t.Helper()
	return kopscalicoBuild.path(t, "github.com/kopscalico/kopscalico/cmd/kopscalico", "kopscalico")
}

// Project is a checkout run with the built cmd/kopscalico: the repository's
// Pulumi.yaml, the built plugin in ./bin, a stack file, a backend and
// PULUMI_HOME of its own; its processes carry Marker and die with the test.
type Project struct {
	Dir    string // the project directory (--dir)
	Stack  string
	Marker string

	t       testing.TB
	bin     string
	backend string
	env     []string
}

// NewProject makes the project with cfg (plain values only) in
// Pulumi.<stack>.yaml. env is added to the environment of every run: PATH
// in it goes after the CLI's own folder.
func NewProject(t testing.TB, stack string, cfg Config, env map[string]string) *Project {
	t.Helper()
	tools := controlplane.RequireTools(t, Tools...)
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := &Project{
		Dir: filepath.Join(dir, "project"), Stack: stack, Marker: filepath.Base(dir) + "-" + randomHex(4),
		t: t, bin: KopscalicoBinary(t), backend: filepath.Join(dir, "backend"),
	}
	t.Cleanup(func() {
		if left, err := controlplane.KillMarked(p.Marker, 5*time.Second); err != nil || len(left) > 0 {
			t.Logf("pulumitest: killed processes a kopscalico run left: %v (%v)", left, err)
		}
	})
	for _, d := range []string{p.Dir, p.backend, filepath.Join(dir, "home"), filepath.Join(dir, "userhome"), filepath.Join(dir, "cli")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := installPlugins(filepath.Join(dir, "home"), tools); err != nil {
		t.Fatal(err)
	}
	// The CLI in a folder of its own: .tools/bin also holds a real kops.
	if err := os.Symlink(tools["pulumi"], filepath.Join(dir, "cli", "pulumi")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(ProviderPluginDir(t), filepath.Join(p.Dir, "bin")); err != nil {
		t.Fatal(err)
	}
	yamlFile, err := os.ReadFile(filepath.Join(root, "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.Dir, "Pulumi.yaml"), yamlFile, 0o600); err != nil {
		t.Fatal(err)
	}

	vars := cliEnv(filepath.Join(dir, "home"), p.backend, p.Marker)
	for k, v := range env {
		vars[k] = v
	}
	vars["PATH"] = filepath.Join(dir, "cli") + string(os.PathListSeparator) + cmp.Or(env["PATH"], "/usr/bin:/bin")
	p.env = os.Environ()
	for k, v := range vars {
		p.env = append(p.env, k+"="+v)
	}
	p.SetConfig(cfg)
	return p
}

// SetConfig sets (adds or replaces) plain config values in
// Pulumi.<stack>.yaml, keeping what else the file holds (the secrets
// provider's salt).
func (p *Project) SetConfig(cfg Config) {
	p.t.Helper()
	path := filepath.Join(p.Dir, "Pulumi."+p.Stack+".yaml")
	file := map[string]any{}
	if b, err := os.ReadFile(path); err == nil {
		if err := yaml.Unmarshal(b, &file); err != nil {
			p.t.Fatal(err)
		}
	}
	values, _ := file["config"].(map[string]any)
	if values == nil {
		values = map[string]any{}
	}
	for k, v := range cfg {
		if v.Secret {
			p.t.Fatalf("pulumitest: %s: Project takes plain values only", k)
		}
		values[k] = v.Value
	}
	file["config"] = values
	b, err := yaml.Marshal(file)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		p.t.Fatal(err)
	}
}

// Run is one finished run of cmd/kopscalico.
type Run struct {
	Code           int
	Stdout, Stderr string
}

// Running is a run of cmd/kopscalico in a process group of its own, as a
// shell runs a foreground job: Ctrl-C is SIGINT to the group.
type Running struct {
	Cmd   *exec.Cmd
	Stdin io.WriteCloser

	t        testing.TB
	out, err lockedBuffer
	done     chan struct{}
	waitErr  error
}

// Start starts `kopscalico --dir <project> --stack <stack> args...`.
func (p *Project) Start(args ...string) *Running {
	p.t.Helper()
	cmd := exec.Command(p.bin, append([]string{"--dir", p.Dir, "--stack", p.Stack}, args...)...)
	cmd.Env = p.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	r := &Running{Cmd: cmd, t: p.t, done: make(chan struct{})}
	r.out.log = func(line string) { p.t.Logf("kopscalico %s | %s", args[0], line) }
	r.err.log = func(line string) { p.t.Logf("kopscalico %s ! %s", args[0], line) }
	cmd.Stdout, cmd.Stderr = &r.out, &r.err
	stdin, err := cmd.StdinPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	r.Stdin = stdin
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	go func() {
		r.waitErr = cmd.Wait()
		close(r.done)
	}()
	p.t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	})
	return r
}

// Run runs kopscalico with stdin (then closed) and waits for it.
func (p *Project) Run(stdin string, args ...string) Run {
	p.t.Helper()
	r := p.Start(args...)
	if _, err := io.WriteString(r.Stdin, stdin); err != nil {
		p.t.Fatal(err)
	}
	_ = r.Stdin.Close()
	return r.Wait(DefaultOpTimeout)
}

// Done closes when the run has ended.
func (r *Running) Done() <-chan struct{} { return r.done }

// Interrupt sends SIGINT to the run's process group, as Ctrl-C does.
func (r *Running) Interrupt() {
	r.t.Helper()
	if err := syscall.Kill(-r.Cmd.Process.Pid, syscall.SIGINT); err != nil {
		r.t.Fatal(err)
	}
}

// WaitForOutput waits until stdout holds s (a prompt needs no newline).
func (r *Running) WaitForOutput(s string, timeout time.Duration) {
	r.t.Helper()
	deadline := time.After(timeout)
	for !strings.Contains(r.out.String(), s) {
		select {
		case <-r.done:
			if strings.Contains(r.out.String(), s) {
				return
			}
			r.t.Fatalf("kopscalico ended without printing %q:\n%s\n%s", s, r.out.String(), r.err.String())
		case <-deadline:
			r.t.Fatalf("kopscalico printed no %q in %s", s, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Wait waits for the run to end; past timeout it kills the run's group and
// fails the test.
func (r *Running) Wait(timeout time.Duration) Run {
	r.t.Helper()
	select {
	case <-r.done:
	case <-time.After(timeout):
		_ = syscall.Kill(-r.Cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
		r.t.Fatalf("kopscalico did not end in %s", timeout)
	}
	code := 0
	var exit *exec.ExitError
	switch {
	case r.waitErr == nil:
	case errors.As(r.waitErr, &exit):
		code = exit.ExitCode()
	default:
		r.t.Fatal(r.waitErr)
	}
	r.out.flush()
	r.err.flush()
	return Run{Code: code, Stdout: r.out.String(), Stderr: r.err.String()}
}

// ResourceTypes is the type of each resource in the stack's state, read
// from the file backend (none before the stack's first update).
func (p *Project) ResourceTypes() []string {
	p.t.Helper()
	var types []string
	for _, r := range p.State().Resources {
		types = append(types, r.Type)
	}
	return types
}

// State is a stack's latest checkpoint as the file backend holds it.
type State struct {
	Resources         []StateResource `json:"resources"`
	PendingOperations []struct {
		Type     string        `json:"type"`
		Resource StateResource `json:"resource"`
	} `json:"pending_operations"`
}

// StateResource is one resource of a State (secret outputs stay encrypted).
type StateResource struct {
	URN     string         `json:"urn"`
	Type    string         `json:"type"`
	Outputs map[string]any `json:"outputs"`
}

// State reads the stack's state from the file backend (empty before the
// stack's first update).
func (p *Project) State() State {
	p.t.Helper()
	var file struct {
		Checkpoint struct {
			Latest State `json:"latest"`
		} `json:"checkpoint"`
	}
	b, err := os.ReadFile(filepath.Join(p.backend, ".pulumi", "stacks", "kopscalico", p.Stack+".json"))
	if os.IsNotExist(err) {
		return State{}
	}
	if err != nil {
		p.t.Fatal(err)
	}
	if err := json.Unmarshal(b, &file); err != nil {
		p.t.Fatal(err)
	}
	return file.Checkpoint.Latest
}

// lockedBuffer keeps what a child writes and logs it line by line.
type lockedBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	line []byte
	log  func(string)
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	b.line = append(b.line, p...)
	for {
		i := bytes.IndexByte(b.line, '\n')
		if i < 0 {
			break
		}
		b.log(string(b.line[:i]))
		b.line = b.line[i+1:]
	}
	return len(p), nil
}

func (b *lockedBuffer) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.line) > 0 {
		b.log(string(b.line))
		b.line = nil
	}
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
