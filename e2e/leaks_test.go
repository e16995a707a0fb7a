package e2e_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/debug"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/infra"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
	"github.com/kopscalico/kopscalico/internal/testing/kubeconfigtest"
)

// leakSweep is where the sweep looks: texts (an operation's output, a
// rendered comment) and directories (walked, symlinks not followed), each
// named for the report.
type leakSweep struct {
	t     *testing.T
	texts map[string]string
	dirs  map[string]string
}

func (l *leakSweep) text(place, s string) { l.texts[place] += s }

// search fails the test for every sentinel found in any place, raw or
// base64-encoded at any alignment, and returns the places searched.
func (l *leakSweep) search(sentinels map[string]string) []string {
	l.t.Helper()
	var places []string
	look := func(place string, b []byte) {
		for name, s := range sentinels {
			for _, form := range encodings(s) {
				if bytes.Contains(b, []byte(form)) {
					l.t.Errorf("%s holds the %s sentinel (%.12s…)", place, name, form)
					break
				}
			}
		}
	}
	for place, s := range l.texts {
		places = append(places, place)
		look(place, []byte(s))
	}
	for place, dir := range l.dirs {
		files := 0
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			look(place+": "+strings.TrimPrefix(path, dir), b)
			return nil
		})
		if err != nil {
			l.t.Errorf("%s: %v", place, err)
		}
		places = append(places, place+" ("+dir+", "+strconv.Itoa(files)+" files)")
	}
	sort.Strings(places)
	return places
}

// encodings are s and its base64 forms at the three alignments it can take
// inside a longer encoded text.
func encodings(s string) []string {
	forms := []string{s}
	for pad := 0; pad < 3; pad++ {
		enc := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("\x00", pad) + s))
		// Drop the characters the padding and the unknown next bytes touch.
		skip := (pad*8 + 5) / 6
		forms = append(forms, enc[skip:len(enc)-4])
	}
	return forms
}

func sentinel(what string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "leak-sweep-" + what + "-" + hex.EncodeToString(b)
}

// TestSecretsStayPut runs a failed create, up (from a saved plan), refresh
// and destroy with sentinel values for the config passphrase, the AWS
// credentials and a kubeconfig's client key, then searches every place the
// run writes for them. kops itself sees the AWS credentials (it needs them)
// and nothing else of the engine's environment.
func TestSecretsStayPut(t *testing.T) {
	home, tmp := t.TempDir(), t.TempDir() // the HOME and TMPDIR the engine and plugins run with
	secrets := map[string]string{
		"PULUMI_CONFIG_PASSPHRASE": sentinel("passphrase"),
		"AWS_SECRET_ACCESS_KEY":    sentinel("aws-secret"),
		"AWS_SESSION_TOKEN":        sentinel("aws-session"),
		"GITHUB_TOKEN":             sentinel("github"),
	}
	env := map[string]string{"HOME": home, "TMPDIR": tmp, "AWS_ACCESS_KEY_ID": "AKIDLEAKSWEEP"}
	for k, v := range secrets {
		env[k] = v
	}
	store := kopsdouble.NewStore(t, "1.34.2")
	kc := kubeconfigtest.ClientCert(t, "https://127.0.0.1:6443")
	store.SetKubeconfig(t, kc)
	sentinels := map[string]string{}
	for k, v := range secrets {
		sentinels[k] = v
	}
	// A line of the client key's PEM body: found whether the PEM is kept as
	// text, escaped in JSON, or encoded again. (Its certificate is public,
	// and shares lines with the CA's, which the kubeconfig output holds.)
	key := kubeconfigtest.Parse(t, kc).User.ClientKeyData
	sentinels["kubeconfig client key"] = strings.Split(string(key), "\n")[2]

	s := pulumitest.New(t, kopsClusterProgram, kopsConfig(t, store, "1.34"),
		pulumitest.Options{StackName: "leaks", Tools: []string{"pulumi"}, Env: env})
	// The engine's and the plugins' own logs, at the most verbose level,
	// go to files in TMPDIR (glog), which the sweep reads.
	level := uint(9)
	logs := debug.LoggingOptions{LogLevel: &level, FlowToPlugins: true}
	sweep := &leakSweep{t: t, texts: map[string]string{}, dirs: map[string]string{
		"the stack's directory (backend: state, history, backups; workspace: Pulumi.yaml and the stack's config; PULUMI_HOME)": s.Dir,
		"the engine's TMPDIR (engine and plugin logs, kops's private HOMEs)":                                                   tmp,
		"the engine's HOME": home,
	}}

	store.InjectFailures(t, kopsdouble.Failure{Command: "create cluster", Times: 1})
	_, err := s.TryUp(optup.DebugLogging(logs))
	if err == nil || !strings.Contains(err.Error(), "create cluster") {
		t.Fatalf("up with a failing create: err = %v", err)
	}
	sweep.text("the failed up's output and error", err.Error())

	plan := filepath.Join(t.TempDir(), "plan.json")
	sweep.dirs["the saved plan"] = filepath.Dir(plan)
	pre := s.Preview(optpreview.Plan(plan), optpreview.DebugLogging(logs))
	sweep.text("the preview's output", pre.StdOut+pre.StdErr)
	up := s.Up(optup.Plan(plan), optup.DebugLogging(logs))
	sweep.text("up's output", up.StdOut+up.StdErr)
	if !store.Exists(kopsClusterName) {
		t.Fatal("no cluster after up")
	}

	ref := s.Refresh(optrefresh.DebugLogging(logs))
	sweep.text("refresh's output", ref.StdOut+ref.StdErr)
	export, err := os.ReadFile(s.ExportState())
	if err != nil {
		t.Fatal(err)
	}
	sweep.text("`pulumi stack export` after refresh", string(export))

	des := s.Destroy(optdestroy.DebugLogging(logs))
	sweep.text("destroy's output", des.StdOut+des.StdErr)
	if store.Exists(kopsClusterName) {
		t.Error("cluster left after destroy")
	}

	sweep.text("the pull-request comment", reachabilityComment(t, env))

	// The sweep is not vacuous: the logs were written where it looks.
	if m, _ := filepath.Glob(filepath.Join(tmp, "pulumi*")); len(m) == 0 {
		t.Errorf("no engine log in TMPDIR %s: the sweep would miss them", tmp)
	}
	if m, _ := filepath.Glob(filepath.Join(tmp, "kopscalico-*")); len(m) != 0 {
		t.Errorf("left in TMPDIR: %v (kops's private HOMEs and the plugin's work directories go after each call)", m)
	}
	places := sweep.search(sentinels)
	t.Logf("searched for %d sentinels in:\n  %s", len(sentinels), strings.Join(places, "\n  "))

	// What kops saw: the AWS credentials, a private HOME, nothing else.
	calls := store.Calls(t)
	if len(calls) == 0 {
		t.Fatal("no kops call recorded")
	}
	for _, c := range calls {
		seen := map[string]string{}
		for _, kv := range c.Env {
			k, v, _ := strings.Cut(kv, "=")
			seen[k] = v
		}
		for _, k := range []string{"PULUMI_CONFIG_PASSPHRASE", "GITHUB_TOKEN", "PULUMI_HOME", "PULUMI_BACKEND_URL"} {
			if _, ok := seen[k]; ok {
				t.Errorf("kops %s saw %s", c, k)
			}
		}
		if seen["AWS_SECRET_ACCESS_KEY"] != secrets["AWS_SECRET_ACCESS_KEY"] {
			t.Errorf("kops %s did not get the AWS credentials", c)
		}
		if h := seen["HOME"]; h == home || filepath.Dir(h) != tmp || seen["TMPDIR"] != filepath.Join(h, "tmp") {
			t.Errorf("kops %s ran with HOME %q TMPDIR %q; want a private HOME in %s", c, h, seen["TMPDIR"], tmp)
		}
	}
}

// reachabilityComment renders the pull-request comment as the preview
// workflow does (`reachability diff -o markdown --full`), with env.
func reachabilityComment(t *testing.T, env map[string]string) string {
	t.Helper()
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "reachability")
	build := exec.Command("go", "build", "-o", bin, "./cmd/reachability")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/reachability: %v\n%s", err, out)
	}
	full := filepath.Join(dir, "full.md")
	policies := filepath.Join(root, "policies")
	cmd := exec.Command(bin, "diff", "--demo", "ns-1", "-o", "markdown", "--full", full, policies, policies)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("reachability diff: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(full)
	return string(out) + string(b)
}

// TestKubeconfigCredentialCachedInCallersHome pins what README says stays
// on the machine: the Kubernetes provider reaches the cluster through the
// Cluster's kubeconfig, whose exec of `kops helpers kubectl-auth` runs in the
// engine's environment, and kops caches the credential it issues under that
// HOME; the plugin's own kops calls leave nothing there.
func TestKubeconfigCredentialCachedInCallersHome(t *testing.T) {
	cp := controlplane.Start(t)
	store := kopsdouble.NewStore(t, "1.34.2")
	store.SetKubeconfig(t, cp.KubeconfigBytes())
	home, tmp := t.TempDir(), t.TempDir()
	cfg := kopsConfig(t, store, "1.34")
	cfg["kopscalico:namespaces"] = pulumitest.Plain("ns-1")
	s := pulumitest.New(t, infra.Program, cfg, pulumitest.Options{StackName: "cache", Env: map[string]string{
		"HOME": home, "TMPDIR": tmp,
		"PATH": filepath.Dir(store.Bin) + string(os.PathListSeparator) + "/usr/bin:/bin", // the exec finds kops by name
	}})
	s.Up()

	dir := filepath.Join(home, ".kube", "cache", "kops-authentication")
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("the engine's HOME: %s holds %v (%v); want the one credential kubectl-auth cached for the Kubernetes provider", dir, entries, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, entries[0].Name()))
	key := strings.Split(string(kubeconfigtest.Parse(t, cp.KubeconfigBytes()).User.ClientKeyData), "\n")[2]
	if err != nil || !strings.Contains(strings.ReplaceAll(string(b), `\n`, "\n"), key) {
		t.Errorf("the cached file does not hold the issued key (%v)", err)
	}
	if m, _ := filepath.Glob(filepath.Join(tmp, "kopscalico-*")); len(m) != 0 {
		t.Errorf("left in TMPDIR: %v", m)
	}
	s.Destroy()
}
