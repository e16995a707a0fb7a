package kopsdouble

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Build compiles the double once per test process and returns the path of
// its binary, named kops.
func Build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kopsdouble-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "kops")
		cmd := exec.Command("go", "build", "-o", buildPath, "github.com/kopscalico/kopscalico/internal/testing/kopsdouble/cmd/kops")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build the kops test double: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Store is a file:// kops state store the double keeps its state in.
type Store struct {
	Dir string
	Bin string // the double's binary
}

// NewStore builds the double and makes an empty state store in a test
// directory, emulating version (e.g. "1.34.1"; "" for DefaultVersion).
func NewStore(t testing.TB, version string) *Store {
	t.Helper()
	s := &Store{Dir: t.TempDir(), Bin: Build(t)}
	if version != "" {
		s.SetVersion(t, version)
	}
	return s
}

// URL is the KOPS_STATE_STORE value.
func (s *Store) URL() string { return "file://" + s.Dir }

func (s *Store) control(name string) string { return filepath.Join(s.Dir, ControlDir, name) }

func (s *Store) write(t testing.TB, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(s.Dir, ControlDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.control(name), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// SetVersion sets the kops version the double emulates.
func (s *Store) SetVersion(t testing.TB, version string) { s.write(t, "version", []byte(version+"\n")) }

// SetKubeconfig sets the kubeconfig `export kubecfg` and `update --admin`
// hand out (its current context's cluster and user, renamed after the kops
// cluster).
func (s *Store) SetKubeconfig(t testing.TB, kubeconfig []byte) { s.write(t, "kubeconfig", kubeconfig) }

// SetRollingUpdateDelay makes each instance `rolling-update cluster --yes`
// replaces take d (0: at once), so a test can interrupt a roll midway. A test
// knob of the double, not a kops behaviour.
func (s *Store) SetRollingUpdateDelay(t testing.TB, d time.Duration) {
	s.write(t, RollingUpdateDelayFile, []byte(d.String()+"\n"))
}

// SetNodeRegistration makes the double's instances register as Node
// objects (kwok's, labelled with their instance group, on the kubelet of
// their template's Kubernetes version) with the API server of the
// kubeconfig it hands out, as a cloud's kubelets would.
func (s *Store) SetNodeRegistration(t testing.TB) { s.write(t, NodeRegistrationFile, []byte("on\n")) }

// InjectFailures replaces the injected failures.
func (s *Store) InjectFailures(t testing.TB, fs ...Failure) {
	t.Helper()
	if err := writeJSON(s.control("failures.json"), fs); err != nil {
		t.Fatal(err)
	}
}

// Failures are the injected failures not used up yet.
func (s *Store) Failures(t testing.TB) []Failure {
	var fs []Failure
	_ = readJSON(s.control("failures.json"), &fs)
	return fs
}

// Calls are the recorded invocations, oldest first.
func (s *Store) Calls(t testing.TB) []Call {
	t.Helper()
	f, err := os.Open(s.control("calls.jsonl"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var calls []Call
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var c Call
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("calls.jsonl: %v", err)
		}
		calls = append(calls, c)
	}
	return calls
}

// ResetCalls forgets the recorded invocations.
func (s *Store) ResetCalls(t testing.TB) {
	t.Helper()
	if err := os.Remove(s.control("calls.jsonl")); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

// Run runs the double against this store (for seeding and inspection; the
// call is recorded like any other).
func (s *Store) Run(t testing.TB, env []string, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	cmd := exec.Command(s.Bin, args...)
	cmd.Env = append(append(os.Environ(), "KOPS_STATE_STORE="+s.URL()), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		exit = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), exit
}

// SeedCluster creates and applies a running AWS cluster with the given
// `kops create cluster` flags (e.g. "--networking", "kubenet"), as if it had
// been made by hand before the program ran, then forgets those calls.
func (s *Store) SeedCluster(t testing.TB, name string, createFlags ...string) {
	t.Helper()
	args := append([]string{"create", "cluster", "--name", name, "--cloud", "aws"}, createFlags...)
	if o, e, code := s.Run(t, nil, args...); code != 0 {
		t.Fatalf("seed: kops %s: exit %d\n%s%s", strings.Join(args, " "), code, o, e)
	}
	if o, e, code := s.Run(t, nil, "update", "cluster", name, "--yes", "--create-kube-config=false"); code != 0 {
		t.Fatalf("seed: kops update cluster --yes: exit %d\n%s%s", code, o, e)
	}
	s.ResetCalls(t)
}

// Exists reports whether the cluster is in the store.
func (s *Store) Exists(name string) bool {
	_, err := os.Stat(filepath.Join(s.Dir, name, "config"))
	return err == nil
}

// ClusterSpec is the stored Cluster object.
func (s *Store) ClusterSpec(t testing.TB, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.Dir, name, "config"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Cloud is the double's model of what runs for the cluster.
func (s *Store) Cloud(t testing.TB, name string) Cloud {
	t.Helper()
	var c Cloud
	if err := readJSON(filepath.Join(s.Dir, name, "cloud.json"), &c); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return c
}

// Commands renders calls as "kops <args>" lines, for assertions and reports.
func Commands(calls []Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = "kops " + c.String()
		if c.Exit != 0 {
			out[i] += fmt.Sprintf("   [exit %d]", c.Exit)
		}
	}
	return out
}

// Mutating is the calls that change the store or the cloud.
func Mutating(calls []Call) []Call {
	var out []Call
	for _, c := range calls {
		if c.Mutating() {
			out = append(out, c)
		}
	}
	return out
}

// RunStdin is Run with stdin.
func (s *Store) RunStdin(t testing.TB, env []string, stdin []byte, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	cmd := exec.Command(s.Bin, args...)
	cmd.Env = append(append(os.Environ(), "KOPS_STATE_STORE="+s.URL()), env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		exit = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), exit
}

// PauseAfter arms the stop after the nth call (from 1, counted in the call
// log, which ResetCalls empties) made by a program named parent; see
// PauseFile.
func (s *Store) PauseAfter(t testing.TB, parent string, n int) {
	t.Helper()
	_ = os.Remove(s.control(PausedFile))
	if err := writeJSON(s.control(PauseFile), Pause{Parent: parent, After: n}); err != nil {
		t.Fatal(err)
	}
}

// Disarm takes back a Pause that has not stopped a call yet.
func (s *Store) Disarm(t testing.TB) {
	t.Helper()
	if err := os.Remove(s.control(PauseFile)); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}

// WaitPaused waits until a call stopped at the armed Pause and returns it;
// ok is false when done closed or timeout passed first.
func (s *Store) WaitPaused(t testing.TB, done <-chan struct{}, timeout time.Duration) (p Paused, ok bool) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		if err := readJSON(s.control(PausedFile), &p); err == nil {
			return p, true
		} else if !os.IsNotExist(err) {
			t.Fatal(err)
		}
		select {
		case <-done:
			return p, false
		case <-deadline:
			return p, false
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Release lets the stopped call exit as it would have.
func (s *Store) Release(t testing.TB) {
	t.Helper()
	if err := os.Remove(s.control(PausedFile)); err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
}
