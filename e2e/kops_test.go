package e2e_test

// End-to-end scenarios of the kops cluster component through the real
// Pulumi engine (Automation API, inline program) with the kops test double
// as the kops binary (kopscalico:kopsBinary). Each scenario logs the kops
// command sequence it caused ("kops sequence" lines in `go test -v`).

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/infra"
	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

const kopsClusterName = "calico.e2e.example.com"

// kopsClusterProgram is the state store + kops cluster part of the program:
// the config as infra.Program reads it, infra.DeployCluster with the real
// exec runner, and the cluster's outputs exported.
func kopsClusterProgram(ctx *pulumi.Context) error {
	lookup := func(key string) (string, bool) { return ctx.GetConfig(config.Namespace + ":" + key) }
	cfg, err := config.Parse(ctx.Project(), ctx.Stack(), lookup, hostFS{})
	if err != nil {
		return err
	}
	c, err := infra.DeployCluster(ctx, cfg, pulumi.String(cfg.StateStore.URL()), infra.NewKopsExecRunner)
	if err != nil {
		return err
	}
	ctx.Export("clusterName", c.Name)
	ctx.Export("kubeconfig", c.Kubeconfig)
	ctx.Export("networking", c.Networking)
	return nil
}

// kopsStackOptions: the cluster-only program needs the CLI, no provider plugin.
func kopsStackOptions(stack string) pulumitest.Options {
	return pulumitest.Options{StackName: stack, Tools: []string{"pulumi"}}
}

type hostFS struct{}

func (hostFS) IsDir(p string) bool { st, err := os.Stat(p); return err == nil && st.IsDir() }
func (hostFS) IsFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// kopsScenario is one stack over one double state store.
type kopsScenario struct {
	t     *testing.T
	store *kopsdouble.Store
	stack *pulumitest.Stack
	kc    string // the kubeconfig the double hands out
}

func newKopsScenario(t *testing.T, kopsVersion string, extra pulumitest.Config) *kopsScenario {
	t.Helper()
	store := kopsdouble.NewStore(t, kopsVersion+".2")
	kc := e2eKubeconfig(t)
	store.SetKubeconfig(t, []byte(kc))
	t.Setenv(infra.EnvWorkdir, t.TempDir())
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cfg := pulumitest.Config{
		"kopscalico:policiesDir":        pulumitest.Plain(filepath.Join(root, "policies")),
		"kopscalico:clusterName":        pulumitest.Plain(kopsClusterName),
		"kopscalico:region":             pulumitest.Plain("eu-west-1"),
		"kopscalico:zones":              pulumitest.Plain(`["eu-west-1a","eu-west-1b"]`),
		"kopscalico:nodeCount":          pulumitest.Plain("2"),
		"kopscalico:adminAccess":        pulumitest.Plain(`["203.0.113.0/24"]`),
		"kopscalico:kopsVersion":        pulumitest.Plain(kopsVersion),
		"kopscalico:kopsBinary":         pulumitest.Plain(store.Bin),
		"kopscalico:stateStore":         pulumitest.Plain(store.URL()),
		"kopscalico:securityGroupCheck": pulumitest.Plain("off"),
		"kopscalico:demoWorkloads":      pulumitest.Plain("false"),
		"kopscalico:probes":             pulumitest.Plain("false"),
	}
	for k, v := range extra {
		cfg[k] = v
	}
	s := &kopsScenario{t: t, store: store, kc: kc}
	s.stack = pulumitest.New(t, kopsClusterProgram, cfg, kopsStackOptions("kops"))
	return s
}

// step runs fn and returns the kops calls it caused, logged as a sequence.
func (s *kopsScenario) step(what string, fn func()) []kopsdouble.Call {
	s.t.Helper()
	s.store.ResetCalls(s.t)
	fn()
	calls := s.store.Calls(s.t)
	s.t.Logf("kops sequence [%s] (%d calls):\n  %s", what, len(calls), strings.Join(kopsdouble.Commands(calls), "\n  "))
	return calls
}

func countCalls(calls []kopsdouble.Call, prefix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c.String(), prefix) {
			n++
		}
	}
	return n
}

func (s *kopsScenario) needsRoll() bool {
	s.t.Helper()
	c := s.store.Cloud(s.t, kopsClusterName)
	for ig, inst := range c.Instances {
		for _, h := range inst {
			if h != c.Templates[ig] {
				return true
			}
		}
	}
	return false
}

// converged checks the store holds the desired Calico cross-subnet cluster,
// applied, with nothing left to roll.
func (s *kopsScenario) converged() {
	s.t.Helper()
	if !s.store.Exists(kopsClusterName) {
		s.t.Fatal("cluster not in the state store")
	}
	spec := s.store.ClusterSpec(s.t, kopsClusterName)["spec"].(map[string]any)
	net := spec["networking"].(map[string]any)
	calico, _ := net["calico"].(map[string]any)
	if len(net) != 1 || calico["ipipMode"] != "CrossSubnet" || calico["encapsulationMode"] != "ipip" || calico["awsSrcDstCheck"] != "Disable" {
		s.t.Errorf("networking = %v", net)
	}
	if _, ok := spec["sshAccess"]; ok {
		s.t.Errorf("sshAccess = %v, want SSH closed", spec["sshAccess"])
	}
	if got := fmt.Sprint(spec["kubernetesApiAccess"]); got != "[203.0.113.0/24]" {
		s.t.Errorf("kubernetesApiAccess = %s", got)
	}
	if !s.store.Cloud(s.t, kopsClusterName).Applied || s.needsRoll() {
		s.t.Error("cluster not applied, or instances left to roll")
	}
}

func TestKopsClusterLifecycle(t *testing.T) {
	s := newKopsScenario(t, "1.34", nil)

	calls := s.step("preview of a new stack", func() { s.stack.Preview() })
	if len(calls) != 0 {
		t.Errorf("preview ran kops: %v", kopsdouble.Commands(calls))
	}

	calls = s.step("up: create", func() { s.stack.Up() })
	if n := countCalls(calls, "create cluster"); n != 1 {
		t.Errorf("%d `kops create cluster`, want 1", n)
	}
	for _, c := range calls {
		if strings.HasPrefix(c.String(), "create cluster") && (!strings.Contains(c.String(), "--control-plane-count 1") || !strings.Contains(c.String(), "--networking calico")) {
			t.Errorf("create call %q", c)
		}
	}
	s.converged()
	out := s.stack.Outputs()
	if kc := out["kubeconfig"]; !kc.Secret || !strings.Contains(fmt.Sprint(kc.Value), "current-context: "+kopsClusterName) {
		t.Errorf("kubeconfig output secret=%v", kc.Secret)
	}
	if !strings.Contains(fmt.Sprint(out["networking"].Value), "ipipMode: CrossSubnet") {
		t.Errorf("networking output %v", out["networking"].Value)
	}

	// No kubeconfig credential in plaintext in the state the backend keeps
	// (`stack export` through the Automation API decrypts secrets, so the
	// stack's files are read as they are on disk).
	secrets := kubeconfigSecrets(s.kc)
	if len(secrets) != 2 {
		t.Fatalf("test kubeconfig has %d credentials", len(secrets))
	}
	assertNoPlaintext(t, s.stack.BackendDir(), secrets)

	calls = s.step("up again, nothing changed", func() { s.stack.Up() })
	if m := kopsdouble.Mutating(calls); len(m) != 0 {
		t.Errorf("second up mutated: %v", kopsdouble.Commands(m))
	}
	s.stack.Preview(optpreview.ExpectNoChanges())

	s.stack.SetConfig(pulumitest.Config{"kopscalico:nodeCount": pulumitest.Plain("4")})
	calls = s.step("preview of a node count change", func() { s.stack.Preview() })
	if len(calls) != 0 {
		t.Errorf("preview ran kops: %v", kopsdouble.Commands(calls))
	}
	calls = s.step("up: node count 2 -> 4", func() { s.stack.Up() })
	if countCalls(calls, "update cluster "+kopsClusterName+" --yes") != 1 || countCalls(calls, "replace") != 1 {
		t.Errorf("node count change: want one replace and one update --yes")
	}
	if n := countCalls(calls, "rolling-update cluster "+kopsClusterName+" --yes"); n != 0 {
		t.Errorf("a node count change rolled %d times; kops reports no instance group needing it", n)
	}
	if countCalls(calls, "rolling-update cluster "+kopsClusterName) != 1 {
		t.Error("kops was not asked whether a roll is needed")
	}
	if c := s.store.Cloud(t, kopsClusterName); len(c.Instances["nodes-eu-west-1a"])+len(c.Instances["nodes-eu-west-1b"]) != 4 {
		t.Errorf("nodes running: %v", c.Instances)
	}

	s.stack.SetConfig(pulumitest.Config{"kopscalico:nodeSize": pulumitest.Plain("m6i.large")})
	calls = s.step("up: node size t3.medium -> m6i.large", func() { s.stack.Up() })
	if n := countCalls(calls, "rolling-update cluster "+kopsClusterName+" --yes"); n != 1 {
		t.Errorf("a node size change rolled %d times, want 1", n)
	}
	s.converged()

	calls = s.step("destroy --run-program", func() { s.stack.Destroy() })
	if n := countCalls(calls, "delete cluster"); n != 1 {
		t.Errorf("%d `kops delete cluster`, want 1", n)
	}
	if s.store.Exists(kopsClusterName) {
		t.Error("cluster still in the state store after destroy")
	}
}

func TestKopsConvertsKubenetCluster(t *testing.T) {
	s := newKopsScenario(t, "1.34", nil)
	s.store.SeedCluster(t, kopsClusterName, "--zones", "eu-west-1a,eu-west-1b", "--networking", "kubenet", "--node-count", "2")

	calls := s.step("up: convert a kubenet cluster", func() { s.stack.Up() })
	if n := countCalls(calls, "create cluster"); n != 0 {
		t.Errorf("created an existing cluster")
	}
	if n := countCalls(calls, "rolling-update cluster "+kopsClusterName+" --yes"); n != 1 {
		t.Errorf("%d rolling updates, want exactly 1", n)
	}
	s.converged()

	calls = s.step("up again", func() { s.stack.Up() })
	if m := kopsdouble.Mutating(calls); len(m) != 0 {
		t.Errorf("second up mutated: %v", kopsdouble.Commands(m))
	}
}

func TestKopsAlreadyConvertedClusterIsLeftAlone(t *testing.T) {
	s := newKopsScenario(t, "1.34", nil)
	s.store.SeedCluster(t, kopsClusterName, "--zones", "eu-west-1a,eu-west-1b", "--networking", "kubenet", "--node-count", "2")
	s.stack.Up()
	// A new stack adopting the same, already converted cluster.
	other := pulumitest.New(t, kopsClusterProgram, nil, kopsStackOptions("adopt"))
	cfg, err := s.stack.Stack.GetAllConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	other.SetConfig(cfg)
	calls := s.step("up of a new stack over a converted cluster", func() { other.Up() })
	if m := kopsdouble.Mutating(calls); len(m) != 0 {
		t.Errorf("mutating kops commands on a converted cluster: %v", kopsdouble.Commands(m))
	}
}

// TestKopsFailureAtEachStepConverges injects a kops failure at every step
// the program runs: up (or destroy) fails with kops's stderr in the error,
// and running it again converges.
func TestKopsFailureAtEachStepConverges(t *testing.T) {
	for _, tc := range []struct {
		name    string
		seed    bool // a kubenet cluster exists before the first up
		prepare func(s *kopsScenario)
		fail    kopsdouble.Failure
		destroy bool
	}{
		{name: "version", fail: kopsdouble.Failure{Command: "version"}},
		{name: "create", fail: kopsdouble.Failure{Command: "create cluster"}},
		{name: "replace", fail: kopsdouble.Failure{Command: "replace"}},
		{name: "update", fail: kopsdouble.Failure{Command: "update cluster", ArgsContain: "--yes"}},
		{name: "validate", fail: kopsdouble.Failure{Command: "validate cluster", Exit: 1}},
		{name: "convert-update", seed: true, fail: kopsdouble.Failure{Command: "update cluster", ArgsContain: "--yes"}},
		{name: "convert-export", seed: true, fail: kopsdouble.Failure{Command: "export kubecfg"}},
		{name: "convert-roll", seed: true, fail: kopsdouble.Failure{Command: "rolling-update cluster", ArgsContain: "--yes"}},
		{name: "delete", destroy: true, fail: kopsdouble.Failure{Command: "delete cluster"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newKopsScenario(t, "1.34", nil)
			if tc.seed {
				s.store.SeedCluster(t, kopsClusterName, "--zones", "eu-west-1a,eu-west-1b", "--networking", "kubenet", "--node-count", "2")
			}
			if tc.destroy {
				s.stack.Up()
			}
			stderr := fmt.Sprintf("Error: injected %s failure %d", tc.name, time.Now().UnixNano())
			tc.fail.Stderr, tc.fail.Times = stderr, 1
			s.store.InjectFailures(t, tc.fail)
			var err error
			s.step("failing "+tc.name, func() {
				if tc.destroy {
					_, err = s.stack.TryDestroy()
				} else {
					_, err = s.stack.TryUp()
				}
			})
			if err == nil {
				t.Fatalf("the injected %s failure did not fail the operation", tc.fail.Command)
			}
			if !strings.Contains(err.Error(), stderr) {
				t.Errorf("error does not carry kops's stderr %q:\n%v", stderr, err)
			}
			if len(s.store.Failures(t)) != 0 {
				t.Fatal("the injected failure was never reached")
			}
			if tc.destroy {
				s.step("destroy again", func() { s.stack.Destroy() })
				if s.store.Exists(kopsClusterName) {
					t.Error("cluster left after the second destroy")
				}
				return
			}
			calls := s.step("up again", func() { s.stack.Up() })
			s.converged()
			if n := countCalls(calls, "create cluster"); n != 0 && tc.name != "version" && tc.name != "create" {
				t.Errorf("re-run created the cluster again")
			}
			if n := countCalls(calls, "rolling-update cluster "+kopsClusterName+" --yes"); n > 1 {
				t.Errorf("re-run rolled %d times", n)
			}
		})
	}
}

// e2eKubeconfig is an admin kubeconfig with a client certificate valid for
// a day, as `kops export kubecfg --admin` writes one.
func e2eKubeconfig(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "kubecfg", Organization: []string{"system:masters"}},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	b64 := func(typ string, der []byte) string {
		return base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: %[1]s
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
users:
- name: admin
  user:
    client-certificate-data: %[1]s
    client-key-data: %[2]s
`, b64("CERTIFICATE", der), b64("EC PRIVATE KEY", keyDER))
}

func TestKopsVersionPinMismatchFailsUp(t *testing.T) {
	s := newKopsScenario(t, "1.34", nil)
	s.store.SetVersion(t, "1.33.1")
	var err error
	calls := s.step("up with kops 1.33 installed and 1.34 pinned", func() { _, err = s.stack.TryUp() })
	if err == nil || !strings.Contains(err.Error(), "kopscalico:kopsVersion") || !strings.Contains(err.Error(), "1.33.1") {
		t.Fatalf("err = %v; want a mismatch naming kopscalico:kopsVersion and the installed 1.33.1", err)
	}
	if len(calls) != 1 || calls[0].String() != "version" {
		t.Errorf("calls after the mismatch: %v", kopsdouble.Commands(calls))
	}
}

// TestKopsOlderSupportedRelease runs create and convert on kops 1.28, the
// oldest release the program supports.
func TestKopsOlderSupportedRelease(t *testing.T) {
	s := newKopsScenario(t, "1.28", nil)
	calls := s.step("up on kops 1.28: create", func() { s.stack.Up() })
	for _, c := range calls {
		if strings.HasPrefix(c.String(), "create cluster") && !strings.Contains(c.String(), "--control-plane-count 1") {
			t.Errorf("create on 1.28: %s", c)
		}
	}
	s.converged()

	conv := newKopsScenario(t, "1.28", nil)
	conv.store.SeedCluster(t, kopsClusterName, "--zones", "eu-west-1a,eu-west-1b", "--networking", "kubenet", "--node-count", "2")
	calls = conv.step("up on kops 1.28: convert kubenet", func() { conv.stack.Up() })
	if n := countCalls(calls, "rolling-update cluster "+kopsClusterName+" --yes"); n != 1 {
		t.Errorf("%d rolls, want 1", n)
	}
	conv.converged()
}

// assertNoPlaintext fails when any file the file backend keeps (stack
// state, history, backups) holds one of the secrets as it is.
func assertNoPlaintext(t *testing.T, backendDir string, secrets []string) {
	t.Helper()
	files := 0
	err := filepath.WalkDir(backendDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(path, filepath.Join(".pulumi", "stacks")) {
			files++
		}
		for _, secret := range secrets {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s holds a kubeconfig credential (%.12s…) in plaintext", path, secret)
			}
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("reading the backend's stack files: %d files, %v", files, err)
	}
}
