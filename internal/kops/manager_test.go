package kops_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
)

func newManager(t *testing.T, r kops.Runner) *kops.Manager {
	return &kops.Manager{
		Runner:     r,
		Timeouts:   kops.Timeouts{Command: time.Minute, Validate: 10 * time.Minute, RollingUpdate: time.Hour},
		Kubeconfig: filepath.Join(t.TempDir(), "kubeconfig"),
	}
}

const notFound = `Error: cluster not found "demo.example.com"`

func TestEnsureCreates(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	gets := 0
	spec := strings.ReplaceAll(string(kopstest.Fixture(t, "kubenet-1.36.yaml")), "kubenet: {}", "calico: {}")
	k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"version": kopstest.OK("Client version: 1.34.1 (git-v1.34.1)\n"),
		"get cluster --name demo.example.com -o yaml": func([]byte) ([]byte, error) {
			gets++
			if gets == 1 {
				return nil, &kops.CommandError{ExitCode: 1, Stderr: notFound}
			}
			return []byte(spec), nil
		},
		"get instancegroups": kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
		"replace -f -":       kopstest.OK(""),
		"update cluster":     kopstest.OK("Cluster is starting.  It should be ready in a few minutes.\n"),
		"validate cluster":   kopstest.OK("Your cluster demo.example.com is ready\n"),
	}}
	d.SSHPublicKey = "ssh-ed25519 AAAAC3Nza ops@example\n"
	var keyFile string
	k.Set("create cluster", func([]byte) ([]byte, error) {
		// The key is handed to kops as a file holding the configured content.
		calls := k.Calls()
		args := calls[len(calls)-1].Args
		keyFile = args[strings.Index(args, "--ssh-public-key ")+len("--ssh-public-key "):]
		if b, err := os.ReadFile(keyFile); err != nil || string(b) != d.SSHPublicKey {
			t.Errorf("ssh key file %q: %q, %v", keyFile, b, err)
		}
		return nil, nil
	})
	m := newManager(t, k)
	m.Owner = kops.Ownership{Stack: "org/p/stack-a"}
	k.Set("export kubecfg", exportWrites(t, m, "kubeconfig for "+d.Name))
	o, err := m.Ensure(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	create := kops.CreateClusterArgs(d)
	want := []string{
		"version",
		"get cluster --name demo.example.com -o yaml",
		// The mark goes in with kops's first write of the spec.
		strings.Join(create, " ") + " --set metadata.annotations=kopscalico.io/owner=org/p/stack-a --ssh-public-key " + keyFile,
		"get cluster --name demo.example.com -o yaml",
		"replace -f -",
		"get instancegroups --name demo.example.com -o yaml",
		"update cluster --name demo.example.com --yes --create-kube-config=false",
		"export kubecfg --name demo.example.com --auth-plugin --kubeconfig " + m.Kubeconfig + ".tmp",
		"validate cluster --name demo.example.com --wait 10m0s",
	}
	if got := k.Commands(); !reflect.DeepEqual(got, want) {
		t.Errorf("commands:\n got %q\nwant %q", got, want)
	}
	if !o.Created || !o.Converted || !o.Applied || o.Rolled {
		t.Errorf("outcome %+v", o)
	}
	replaced, err := kops.Describe(kops.Observed{Spec: []byte(k.Calls()[4].Stdin)})
	if err != nil || replaced.Encapsulation != "ipip" || len(replaced.SSHAccess) != 0 || replaced.Owner != "org/p/stack-a" {
		t.Errorf("replaced spec %+v, %v", replaced, err)
	}
	for _, c := range k.Calls() {
		if _, set := c.Env["KOPS_CLUSTER_NAME"]; set || c.Env["KOPS_STATE_STORE"] != d.StateStore || c.Env["KUBECONFIG"] != m.Kubeconfig {
			t.Errorf("kops %s: env %v", c.Args, c.Env)
		}
		// kops refuses a cluster named two ways; the name goes as --name only.
		if c.Args != "version" && strings.Count(c.Args, d.Name) != strings.Count(c.Args, "--name "+d.Name) {
			t.Errorf("kops %s: the cluster name is passed other than as --name", c.Args)
		}
	}
}

// exportWrites answers `kops export kubecfg` by writing content where the
// command says.
func exportWrites(t *testing.T, m *kops.Manager, content string) func([]byte) ([]byte, error) {
	return func([]byte) ([]byte, error) {
		return nil, os.WriteFile(m.Kubeconfig+".tmp", []byte(content), 0o600)
	}
}

func writeKubeconfig(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("kubeconfig"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureConvertsKubenetWithOneRoll(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.28")
	rolled := false
	k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"version": kopstest.OK("Client version: 1.28.4 (git-v1.28.4)\n"),
		"get cluster --name demo.example.com -o yaml":    kopstest.OK(string(kopstest.Fixture(t, "kubenet-1.28.yaml"))),
		"get instancegroups":                             kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
		"replace -f -":                                   kopstest.OK(""),
		"update cluster --name demo.example.com --yes":   kopstest.OK("Changes may require instances to restart: kops rolling-update cluster\n"),
		"rolling-update cluster --name demo.example.com": kopstest.OK(string(kopstest.Fixture(t, "rolling-update-needed.txt"))),
		"rolling-update cluster --name demo.example.com --yes": func([]byte) ([]byte, error) {
			rolled = true
			return []byte("Rolling update completed for cluster \"demo.example.com\"!\n"), nil
		},
		"export kubecfg":   kopstest.OK(""),
		"validate cluster": kopstest.OK("Your cluster demo.example.com is ready\n"),
	}}
	m := newManager(t, k)
	writeKubeconfig(t, m.Kubeconfig)
	o, err := m.Ensure(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"version",
		"get cluster --name demo.example.com -o yaml",
		"get instancegroups --name demo.example.com -o yaml",
		"replace -f -",
		"update cluster --name demo.example.com --yes --create-kube-config=false",
		"rolling-update cluster --name demo.example.com",
		"rolling-update cluster --name demo.example.com --yes",
		"validate cluster --name demo.example.com --wait 10m0s",
	}
	if got := k.Commands(); !reflect.DeepEqual(got, want) {
		t.Errorf("commands:\n got %q\nwant %q", got, want)
	}
	if !rolled || !o.Converted || o.Resized || !o.Rolled {
		t.Errorf("outcome %+v", o)
	}
}

func TestEnsureAlreadyConvertedRunsNothingMutating(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"version": kopstest.OK("Client version: 1.34.1 (git-v1.34.1)\n"),
		"get cluster --name demo.example.com -o yaml":    kopstest.OK(string(kopstest.Fixture(t, "calico-1.34.yaml"))),
		"get instancegroups":                             kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
		"update cluster --name demo.example.com":         kopstest.OK("\nNo changes need to be applied\n"),
		"rolling-update cluster --name demo.example.com": kopstest.OK(string(kopstest.Fixture(t, "rolling-update-not-needed.txt"))),
		"validate cluster":                               kopstest.OK("Your cluster demo.example.com is ready\n"),
	}}
	m := newManager(t, k)
	writeKubeconfig(t, m.Kubeconfig)
	o, err := m.Ensure(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if o.Mutated() {
		t.Errorf("outcome %+v", o)
	}
	for _, c := range k.Commands() {
		if strings.Contains(c, "--yes") || strings.HasPrefix(c, "replace") || strings.HasPrefix(c, "create") || strings.HasPrefix(c, "export") {
			t.Errorf("mutating command on a converted cluster: kops %s", c)
		}
	}
}

func TestEnsureAppliesPendingUpdateAfterAnInterruptedRun(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"version": kopstest.OK("Client version: 1.34.1 (git-v1.34.1)\n"),
		"get cluster --name demo.example.com -o yaml":    kopstest.OK(string(kopstest.Fixture(t, "calico-1.34.yaml"))),
		"get instancegroups":                             kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
		"update cluster --name demo.example.com":         kopstest.OK("Will modify resources:\n\nMust specify --yes to apply changes\n"),
		"update cluster --name demo.example.com --yes":   kopstest.OK(""),
		"export kubecfg":                                 kopstest.OK(""),
		"rolling-update cluster --name demo.example.com": kopstest.OK(string(kopstest.Fixture(t, "rolling-update-not-needed.txt"))),
		"validate cluster":                               kopstest.OK(""),
	}}
	m := newManager(t, k)
	k.Set("export kubecfg", exportWrites(t, m, "kubeconfig"))
	if _, err := m.Ensure(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(k.Commands(), "\n")
	for _, want := range []string{"update cluster --name demo.example.com --yes --create-kube-config=false", "export kubecfg --name demo.example.com --auth-plugin --kubeconfig " + m.Kubeconfig + ".tmp"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing kops %s in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "rolling-update cluster --name demo.example.com --yes") {
		t.Error("rolled although kops reported no instance group needing it")
	}
}

func TestEnsureRefusesVersionMismatch(t *testing.T) {
	t.Parallel()
	k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"version": kopstest.OK("Client version: 1.33.0 (git-v1.33.0)\n"),
	}}
	_, err := newManager(t, k).Ensure(context.Background(), kopstest.Desired("1.34"))
	if err == nil || !strings.Contains(err.Error(), "kopscalico:kopsVersion") || !strings.Contains(err.Error(), "1.33.0") {
		t.Errorf("err = %v", err)
	}
	if len(k.Calls()) != 1 {
		t.Errorf("ran %v after the mismatch", k.Commands())
	}
}

func TestEnsureFailureCarriesStderr(t *testing.T) {
	t.Parallel()
	k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"version":        kopstest.OK("Client version: 1.34.1 (git-v1.34.1)\n"),
		"get cluster":    kopstest.Fail(1, notFound),
		"create cluster": kopstest.Fail(1, "Error: error building cluster: no credentials"),
	}}
	_, err := newManager(t, k).Ensure(context.Background(), kopstest.Desired("1.34"))
	if err == nil || !strings.Contains(err.Error(), "no credentials") || !strings.HasPrefix(err.Error(), "creating cluster demo.example.com: ") {
		t.Errorf("err = %v", err)
	}
}

func TestDeleteIsIdempotent(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"get cluster":    kopstest.OK(string(kopstest.Fixture(t, "calico-1.34.yaml"))),
		"delete cluster": kopstest.OK("Deleted cluster: \"demo.example.com\"\n"),
	}}
	if err := newManager(t, k).Delete(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if got := k.Commands(); !reflect.DeepEqual(got, []string{"get cluster --name demo.example.com -o yaml", "delete cluster --name demo.example.com --yes"}) {
		t.Errorf("commands %q", got)
	}
	gone := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{"get cluster": kopstest.Fail(1, notFound)}}
	if err := newManager(t, gone).Delete(context.Background(), d); err != nil {
		t.Errorf("deleting a deleted cluster: %v", err)
	}
	broken := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{"get cluster": kopstest.Fail(1, "Error: error reading cluster configuration: AccessDenied")}}
	if err := newManager(t, broken).Delete(context.Background(), d); err == nil {
		t.Error("an unreadable state store was taken for a deleted cluster")
	}
}

// A failed delete whose stderr says "not found" about something else is a
// failure; one that says this cluster is gone counts only once a second
// `get cluster` confirms it.
func TestDeleteMatchesNotFoundForThisClusterOnly(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	spec := string(kopstest.Fixture(t, "calico-1.34.yaml"))
	cases := []struct {
		name      string
		delStderr string
		after     func([]byte) ([]byte, error) // the second get cluster
		wantErr   string
	}{
		{"other resource not found", `Error: error deleting resources: InvalidGroup.NotFound: security group not found`, nil, "InvalidGroup.NotFound"},
		{"another cluster not found", `Error: cluster not found "other.example.com"`, nil, "other.example.com"},
		{"this cluster gone, confirmed", `Error: Cluster.kops.k8s.io "demo.example.com" not found`, kopstest.Fail(1, notFound), ""},
		{"this cluster reported gone but still there", `Error: Cluster.kops.k8s.io "demo.example.com" not found`, kopstest.OK(spec), "still in"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gets := 0
			k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
				"get cluster": func(b []byte) ([]byte, error) {
					gets++
					if gets == 1 {
						return []byte(spec), nil
					}
					if c.after == nil {
						t.Fatal("a second get cluster after a delete that failed for another reason")
					}
					return c.after(b)
				},
				"delete cluster": kopstest.Fail(1, c.delStderr),
			}}
			err := newManager(t, k).Delete(context.Background(), d)
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, c.wantErr)
			}
		})
	}
}

// A cluster marked by another stack is refused before anything is written;
// an unmarked one is marked only when claimed.
func TestEnsureRespectsTheOwnerMark(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.28")
	marked, err := kops.MarkOwner(kopstest.Fixture(t, "kubenet-1.28.yaml"), "stack-b")
	if err != nil {
		t.Fatal(err)
	}
	k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"version":            kopstest.OK("Client version: 1.28.4 (git-v1.28.4)\n"),
		"get cluster":        kopstest.OK(string(marked)),
		"get instancegroups": kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
	}}
	m := newManager(t, k)
	m.Owner = kops.Ownership{Stack: "org/p/stack-a"}
	var owned *kops.OwnerError
	if _, err := m.Ensure(context.Background(), d); !errors.As(err, &owned) || owned.Live != "stack-b" {
		t.Fatalf("err = %v", err)
	}
	for _, c := range k.Commands() {
		if strings.HasPrefix(c, "replace") || strings.Contains(c, "--yes") {
			t.Errorf("wrote to a cluster another stack owns: kops %s", c)
		}
	}

	k = &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"version":            kopstest.OK("Client version: 1.28.4 (git-v1.28.4)\n"),
		"get cluster":        kopstest.OK(string(kopstest.Fixture(t, "kubenet-1.28.yaml"))),
		"get instancegroups": kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
		"replace -f -":       kopstest.Fail(1, "stop here"),
	}}
	m = newManager(t, k)
	m.Owner = kops.Ownership{Stack: "org/p/stack-a"}
	_, _ = m.Ensure(context.Background(), d)
	calls := k.Calls()
	live, err := kops.Describe(kops.Observed{Spec: []byte(calls[len(calls)-1].Stdin)})
	if err != nil || live.Owner != "org/p/stack-a" {
		t.Errorf("claimed spec owner %q, %v", live.Owner, err)
	}
}

func TestListClusters(t *testing.T) {
	t.Parallel()
	two := string(kopstest.Fixture(t, "calico-1.34.yaml")) + "\n---\n" +
		strings.ReplaceAll(string(kopstest.Fixture(t, "kubenet-1.28.yaml")), "demo.example.com", "other.example.com")
	for _, c := range []struct {
		answer  kopstest.Answer
		want    []string
		wantErr string
	}{
		{kopstest.OK(two), []string{"demo.example.com", "other.example.com"}, ""},
		{kopstest.Fail(1, "Error: no clusters found"), nil, ""},
		{kopstest.Fail(1, "Error: error listing clusters: AccessDenied"), nil, "AccessDenied"},
	} {
		k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{"get clusters -o yaml": c.answer}}
		got, err := newManager(t, k).ListClusters(context.Background(), "s3://store")
		if (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) || !reflect.DeepEqual(got, c.want) {
			t.Errorf("got %v, %v; want %v, error %q", got, err, c.want, c.wantErr)
		}
		if calls := k.Calls(); len(calls) != 1 || calls[0].Env["KOPS_STATE_STORE"] != "s3://store" {
			t.Errorf("calls %+v", calls)
		}
	}
}

// A create that finds a cluster carrying this stack's mark (a create whose
// answer was lost) takes it back; one unmarked or marked by another stack
// is an *ExistsError before anything is written.
func TestCreateTakesBackItsOwnCluster(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.28")
	for _, tc := range []struct {
		mark       string
		wantExists bool
	}{{"org/p/stack-a", false}, {"", true}, {"org/p/stack-b", true}} {
		spec := kopstest.Fixture(t, "kubenet-1.28.yaml")
		if tc.mark != "" {
			var err error
			if spec, err = kops.MarkOwner(spec, tc.mark); err != nil {
				t.Fatal(err)
			}
		}
		k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
			"version":            kopstest.OK("Client version: 1.28.4 (git-v1.28.4)\n"),
			"get cluster":        kopstest.OK(string(spec)),
			"get instancegroups": kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
			"replace -f -":       kopstest.Fail(1, "stop here"),
		}}
		m := newManager(t, k)
		m.Owner = kops.Ownership{Stack: "org/p/stack-a"}
		_, err := m.Create(context.Background(), d, false)
		var exists *kops.ExistsError
		if errors.As(err, &exists) != tc.wantExists {
			t.Errorf("mark %q: err = %v, want ExistsError %v", tc.mark, err, tc.wantExists)
		}
		wrote := slices.ContainsFunc(k.Commands(), func(c string) bool { return strings.HasPrefix(c, "replace") })
		if wrote == tc.wantExists {
			t.Errorf("mark %q: commands %q", tc.mark, k.Commands())
		}
	}
}

// TestUnappliedNamesWhatARunLeftUndone: a spec written but not applied, or
// applied but not rolled, is reported; neither is a clean cluster; nothing
// mutating runs.
func TestUnappliedNamesWhatARunLeftUndone(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	for _, c := range []struct {
		name, update, roll string
		want               string
	}{
		{name: "update pending", update: "Will modify resources:\n\nMust specify --yes to apply changes\n", want: "changes `kops update cluster --yes` has not applied"},
		{name: "roll pending", update: "\nNo changes need to be applied\n", roll: "rolling-update-needed.txt", want: "has not rolled: "},
		{name: "clean", update: "\nNo changes need to be applied\n", roll: "rolling-update-not-needed.txt"},
	} {
		k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
			"update cluster --name demo.example.com": kopstest.OK(c.update),
			"export kubecfg":                         kopstest.OK(""),
		}}
		if c.roll != "" {
			k.Set("rolling-update cluster --name demo.example.com", kopstest.OK(string(kopstest.Fixture(t, c.roll))))
		}
		m := newManager(t, k)
		k.Set("export kubecfg", exportWrites(t, m, "kubeconfig"))
		got, err := m.Unapplied(context.Background(), d)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if c.want == "" && len(got) > 0 || c.want != "" && (len(got) != 1 || !strings.Contains(got[0], c.want)) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
		for _, cmd := range k.Commands() {
			if strings.Contains(cmd, "--yes") {
				t.Errorf("%s: ran kops %s", c.name, cmd)
			}
		}
	}
}
