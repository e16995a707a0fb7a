package kops

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type call struct {
	args  string
	stdin string
	env   map[string]string
}

// scriptedKops answers each command from a table keyed by its first words;
// it records every call with its per-call environment.
type scriptedKops struct {
	t       *testing.T
	calls   []call
	answers map[string]func(stdin []byte) ([]byte, error)
}

func (s *scriptedKops) Run(ctx context.Context, c Command) ([]byte, error) {
	joined := strings.Join(c.Args, " ")
	s.calls = append(s.calls, call{args: joined, stdin: string(c.Stdin), env: c.Env})
	if _, ok := ctx.Deadline(); !ok {
		s.t.Errorf("kops %s ran without a deadline", joined)
	}
	best := ""
	for prefix := range s.answers {
		if strings.HasPrefix(joined, prefix) && len(prefix) > len(best) {
			best = prefix
		}
	}
	if best == "" {
		s.t.Fatalf("unexpected command: kops %s", joined)
	}
	return s.answers[best](c.Stdin)
}

func (s *scriptedKops) commands() []string {
	var out []string
	for _, c := range s.calls {
		out = append(out, c.args)
	}
	return out
}

func ok(out string) func([]byte) ([]byte, error) {
	return func([]byte) ([]byte, error) { return []byte(out), nil }
}

func fail(code int, stderr string) func([]byte) ([]byte, error) {
	return func([]byte) ([]byte, error) { return nil, &CommandError{ExitCode: code, Stderr: stderr} }
}

func newManager(t *testing.T, r Runner) *Manager {
	return &Manager{
		Runner:     r,
		Timeouts:   Timeouts{Command: time.Minute, Validate: 10 * time.Minute, RollingUpdate: time.Hour},
		Kubeconfig: filepath.Join(t.TempDir(), "kubeconfig"),
		AdminTTL:   18 * time.Hour,
	}
}

const notFound = `Error: cluster not found "demo.example.com"`

func TestEnsureCreates(t *testing.T) {
	d := desired("1.34")
	gets := 0
	spec := strings.ReplaceAll(string(fixture(t, "kubenet-1.36.yaml")), "kubenet: {}", "calico: {}")
	k := &scriptedKops{t: t, answers: map[string]func([]byte) ([]byte, error){
		"version": ok("Client version: 1.34.1 (git-v1.34.1)\n"),
		"get cluster --name demo.example.com -o yaml": func([]byte) ([]byte, error) {
			gets++
			if gets == 1 {
				return nil, &CommandError{ExitCode: 1, Stderr: notFound}
			}
			return []byte(spec), nil
		},
		"create cluster":   ok(""),
		"replace -f -":     ok(""),
		"update cluster":   ok("Cluster is starting.  It should be ready in a few minutes.\n"),
		"validate cluster": ok("Your cluster demo.example.com is ready\n"),
	}}
	m := newManager(t, k)
	o, err := m.Ensure(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	create, _ := CreateClusterArgs(d)
	want := []string{
		"version",
		"get cluster --name demo.example.com -o yaml",
		strings.Join(create, " "),
		"get cluster --name demo.example.com -o yaml",
		"replace -f -",
		"update cluster --name demo.example.com --yes --admin=18h0m0s",
		"validate cluster --name demo.example.com --wait 10m0s",
	}
	if got := k.commands(); !reflect.DeepEqual(got, want) {
		t.Errorf("commands:\n got %q\nwant %q", got, want)
	}
	if !o.Created || !o.Converted || !o.Applied || o.Rolled {
		t.Errorf("outcome %+v", o)
	}
	replaced := parse(t, []byte(k.calls[4].stdin))
	if path(replaced, "spec", "networking", "calico", "ipipMode") != "CrossSubnet" || path(replaced, "spec", "sshAccess") != nil {
		t.Errorf("replaced spec networking=%v sshAccess=%v", path(replaced, "spec", "networking"), path(replaced, "spec", "sshAccess"))
	}
	for _, c := range k.calls {
		if _, set := c.env["KOPS_CLUSTER_NAME"]; set || c.env["KOPS_STATE_STORE"] != d.StateStore || c.env["KUBECONFIG"] != m.Kubeconfig {
			t.Errorf("kops %s: env %v", c.args, c.env)
		}
		// kops refuses a cluster named two ways; the name goes as --name only.
		if c.args != "version" && strings.Count(c.args, d.Name) != strings.Count(c.args, "--name "+d.Name) {
			t.Errorf("kops %s: the cluster name is passed other than as --name", c.args)
		}
	}
}

func writeFreshKubeconfig(t *testing.T, path, name string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(testKubeconfig(t, name, time.Now().Add(17*time.Hour))), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureConvertsKubenetWithOneRoll(t *testing.T) {
	d := desired("1.28")
	rolled := false
	k := &scriptedKops{t: t, answers: map[string]func([]byte) ([]byte, error){
		"version":                                 ok("Client version: 1.28.4 (git-v1.28.4)\n"),
		"get cluster --name demo.example.com -o yaml":    ok(string(fixture(t, "kubenet-1.28.yaml"))),
		"get instancegroups":                      ok(string(fixture(t, "instancegroups-1.34.yaml"))),
		"replace -f -":                            ok(""),
		"update cluster --name demo.example.com --yes":   ok("Changes may require instances to restart: kops rolling-update cluster\n"),
		"rolling-update cluster --name demo.example.com": ok(rollNeeded),
		"rolling-update cluster --name demo.example.com --yes": func([]byte) ([]byte, error) {
			rolled = true
			return []byte("Rolling update completed for cluster \"demo.example.com\"!\n"), nil
		},
		"export kubecfg":   ok(""),
		"validate cluster": ok("Your cluster demo.example.com is ready\n"),
	}}
	m := newManager(t, k)
	writeFreshKubeconfig(t, m.Kubeconfig, d.Name)
	o, err := m.Ensure(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"version",
		"get cluster --name demo.example.com -o yaml",
		"replace -f -",
		"get instancegroups --name demo.example.com -o yaml",
		"update cluster --name demo.example.com --yes --create-kube-config=false",
		"rolling-update cluster --name demo.example.com",
		"rolling-update cluster --name demo.example.com --yes",
		"validate cluster --name demo.example.com --wait 10m0s",
	}
	if got := k.commands(); !reflect.DeepEqual(got, want) {
		t.Errorf("commands:\n got %q\nwant %q", got, want)
	}
	if !rolled || !o.Converted || o.Resized || !o.Rolled {
		t.Errorf("outcome %+v", o)
	}
}

func TestEnsureAlreadyConvertedRunsNothingMutating(t *testing.T) {
	d := desired("1.34")
	k := &scriptedKops{t: t, answers: map[string]func([]byte) ([]byte, error){
		"version":                                 ok("Client version: 1.34.1 (git-v1.34.1)\n"),
		"get cluster --name demo.example.com -o yaml":    ok(string(fixture(t, "calico-1.34.yaml"))),
		"get instancegroups":                      ok(string(fixture(t, "instancegroups-1.34.yaml"))),
		"update cluster --name demo.example.com":         ok("\nNo changes need to be applied\n"),
		"rolling-update cluster --name demo.example.com": ok(rollNotNeeded),
		"validate cluster":                        ok("Your cluster demo.example.com is ready\n"),
	}}
	m := newManager(t, k)
	writeFreshKubeconfig(t, m.Kubeconfig, d.Name)
	o, err := m.Ensure(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if o.Mutated() {
		t.Errorf("outcome %+v", o)
	}
	for _, c := range k.commands() {
		if strings.Contains(c, "--yes") || strings.HasPrefix(c, "replace") || strings.HasPrefix(c, "create") || strings.HasPrefix(c, "export") {
			t.Errorf("mutating command on a converted cluster: kops %s", c)
		}
	}
}

func TestEnsureAppliesPendingUpdateAfterAnInterruptedRun(t *testing.T) {
	d := desired("1.34")
	k := &scriptedKops{t: t, answers: map[string]func([]byte) ([]byte, error){
		"version":                                 ok("Client version: 1.34.1 (git-v1.34.1)\n"),
		"get cluster --name demo.example.com -o yaml":    ok(string(fixture(t, "calico-1.34.yaml"))),
		"get instancegroups":                      ok(string(fixture(t, "instancegroups-1.34.yaml"))),
		"update cluster --name demo.example.com":         ok("Will modify resources:\n\nMust specify --yes to apply changes\n"),
		"update cluster --name demo.example.com --yes":   ok(""),
		"export kubecfg":                          ok(""),
		"rolling-update cluster --name demo.example.com": ok(rollNotNeeded),
		"validate cluster":                        ok(""),
	}}
	m := newManager(t, k)
	k.answers["export kubecfg"] = func([]byte) ([]byte, error) {
		return nil, os.WriteFile(m.Kubeconfig+".tmp", []byte(testKubeconfig(t, d.Name, time.Now().Add(18*time.Hour))), 0o644)
	}
	if _, err := m.Ensure(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(k.commands(), "\n")
	for _, want := range []string{"update cluster --name demo.example.com --yes --create-kube-config=false", "export kubecfg --name demo.example.com --admin=18h0m0s --kubeconfig " + m.Kubeconfig + ".tmp"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing kops %s in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "rolling-update cluster --name demo.example.com --yes") {
		t.Error("rolled although kops reported no instance group needing it")
	}
}

func TestEnsureRefusesVersionMismatch(t *testing.T) {
	k := &scriptedKops{t: t, answers: map[string]func([]byte) ([]byte, error){
		"version": ok("Client version: 1.33.0 (git-v1.33.0)\n"),
	}}
	_, err := newManager(t, k).Ensure(context.Background(), desired("1.34"))
	if err == nil || !strings.Contains(err.Error(), "kopscalico:kopsVersion") || !strings.Contains(err.Error(), "1.33.0") {
		t.Errorf("err = %v", err)
	}
	if len(k.calls) != 1 {
		t.Errorf("ran %v after the mismatch", k.commands())
	}
}

func TestEnsureFailureCarriesStderr(t *testing.T) {
	k := &scriptedKops{t: t, answers: map[string]func([]byte) ([]byte, error){
		"version":        ok("Client version: 1.34.1 (git-v1.34.1)\n"),
		"get cluster":    fail(1, notFound),
		"create cluster": fail(1, "Error: error building cluster: no credentials"),
	}}
	_, err := newManager(t, k).Ensure(context.Background(), desired("1.34"))
	if err == nil || !strings.Contains(err.Error(), "no credentials") || !strings.HasPrefix(err.Error(), "creating cluster demo.example.com: ") {
		t.Errorf("err = %v", err)
	}
}

func TestUpdateRefusesImmutableChanges(t *testing.T) {
	k := &scriptedKops{t: t, answers: map[string]func([]byte) ([]byte, error){}}
	old := desired("1.34")
	new := old
	new.Zones = []string{"eu-west-1a"}
	new.Region = "eu-west-2"
	_, err := newManager(t, k).Update(context.Background(), old, new)
	if err == nil || !strings.Contains(err.Error(), "kopscalico:zones") || !strings.Contains(err.Error(), "kopscalico:region") {
		t.Errorf("err = %v", err)
	}
	if len(k.calls) != 0 {
		t.Errorf("ran %v", k.commands())
	}
}

func TestDeleteIsIdempotent(t *testing.T) {
	d := desired("1.34")
	k := &scriptedKops{t: t, answers: map[string]func([]byte) ([]byte, error){
		"get cluster":    ok(string(fixture(t, "calico-1.34.yaml"))),
		"delete cluster": ok("Deleted cluster: \"demo.example.com\"\n"),
	}}
	if err := newManager(t, k).Delete(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if got := k.commands(); !reflect.DeepEqual(got, []string{"get cluster --name demo.example.com -o yaml", "delete cluster --name demo.example.com --yes"}) {
		t.Errorf("commands %q", got)
	}
	gone := &scriptedKops{t: t, answers: map[string]func([]byte) ([]byte, error){"get cluster": fail(1, notFound)}}
	if err := newManager(t, gone).Delete(context.Background(), d); err != nil {
		t.Errorf("deleting a deleted cluster: %v", err)
	}
	broken := &scriptedKops{t: t, answers: map[string]func([]byte) ([]byte, error){"get cluster": fail(1, "Error: error reading cluster configuration: AccessDenied")}}
	if err := newManager(t, broken).Delete(context.Background(), d); err == nil {
		t.Error("an unreadable state store was taken for a deleted cluster")
	}
}

func TestEnsureKubeconfigExportsOnlyWhenStale(t *testing.T) {
	d := desired("1.34")
	exports := 0
	var m *Manager
	k := &scriptedKops{t: t, answers: map[string]func([]byte) ([]byte, error){
		"export kubecfg": func([]byte) ([]byte, error) {
			exports++
			return nil, os.WriteFile(m.Kubeconfig+".tmp", []byte(testKubeconfig(t, d.Name, time.Now().Add(18*time.Hour))), 0o644)
		},
	}}
	m = newManager(t, k)
	for i := 0; i < 2; i++ {
		if err := m.EnsureKubeconfig(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	if exports != 1 {
		t.Errorf("%d exports, want 1 (the second run reuses the file)", exports)
	}
	if fi, err := os.Stat(m.Kubeconfig); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig %v, %v; want mode 0600", fi, err)
	}
	// Near expiry it is exported again.
	m.Now = func() time.Time { return time.Now().Add(15 * time.Hour) }
	if err := m.EnsureKubeconfig(context.Background(), d); err != nil || exports != 2 {
		t.Errorf("exports %d, err %v; want a renewal", exports, err)
	}
	// A failed export keeps the previous file.
	before, _ := os.ReadFile(m.Kubeconfig)
	k.answers["export kubecfg"] = fail(1, "Error: cannot build kubeconfig")
	m.Now = func() time.Time { return time.Now().Add(30 * time.Hour) }
	if err := m.EnsureKubeconfig(context.Background(), d); err == nil || !strings.Contains(err.Error(), "cannot build kubeconfig") {
		t.Errorf("err = %v", err)
	}
	if after, _ := os.ReadFile(m.Kubeconfig); string(after) != string(before) {
		t.Error("failed export changed the cached kubeconfig")
	}
}
