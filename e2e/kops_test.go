package e2e_test

// End-to-end scenarios of the kops cluster through the real Pulumi engine
// (Automation API, inline program) and the real provider plugin
// (cmd/pulumi-resource-kopscalico, found through the project's
// plugins.providers), with the kops test double as the kops binary. Each
// scenario logs the kops command sequence it caused ("kops sequence" lines
// in `go test -v`).

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/infra"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
	"github.com/kopscalico/kopscalico/internal/testing/kubeconfigtest"
)

const kopsClusterName = "calico.e2e.example.com"

// kopsClusterProgram is the kops part of the program: the config as
// infra.Program reads it, the plugin's provider and the Cluster on an
// existing state store, and the cluster's outputs exported.
func kopsClusterProgram(ctx *pulumi.Context) error { return kopsProgram(ctx, false) }

// kopsGuardedProgram is kopsClusterProgram with the store guarded as the
// program guards a bucket it owns (a file:// store stands in for it).
func kopsGuardedProgram(ctx *pulumi.Context) error { return kopsProgram(ctx, true) }

func kopsProgram(ctx *pulumi.Context, guarded bool) error {
	cfg, err := infra.LoadConfig(ctx)
	if err != nil {
		return err
	}
	store := pulumi.String(cfg.StateStore.URL())
	prov, err := infra.NewKopsProvider(ctx, cfg, store)
	if err != nil {
		return err
	}
	var opts []pulumi.ResourceOption
	if guarded {
		guard, err := infra.GuardStateStore(ctx, prov, store, nil)
		if err != nil {
			return err
		}
		opts = append(opts, pulumi.DependsOn([]pulumi.Resource{guard}))
	}
	c, err := infra.DeployCluster(ctx, cfg, prov, store, opts...)
	if err != nil {
		return err
	}
	ctx.Export("clusterName", c.Name)
	ctx.Export("kubeconfig", c.Kubeconfig)
	ctx.Export("networking", c.Networking)
	ctx.Export("undeclaredInstanceGroups", c.UndeclaredInstanceGroups)
	return nil
}

// kopsStackOptions: the cluster-only program needs the CLI and the plugin.
func kopsStackOptions(stack string) pulumitest.Options {
	return pulumitest.Options{StackName: stack, Tools: []string{"pulumi"}}
}

// kopsScenario is one stack over one double state store.
type kopsScenario struct {
	t     *testing.T
	store *kopsdouble.Store
	stack *pulumitest.Stack
	cfg   pulumitest.Config
	kc    []byte // the kubeconfig the double hands out
}

func kopsConfig(t *testing.T, store *kopsdouble.Store, kopsVersion string) pulumitest.Config {
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return pulumitest.Config{
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
		// The stacks here are not dev: protection is asked for where tested.
		"kopscalico:clusterProtect": pulumitest.Plain("false"),
	}
}

func newKopsScenario(t *testing.T, kopsVersion string, extra pulumitest.Config) *kopsScenario {
	t.Helper()
	store := kopsdouble.NewStore(t, kopsVersion+".2")
	kc := kubeconfigtest.ClientCert(t, "https://127.0.0.1:6443")
	store.SetKubeconfig(t, kc)
	cfg := kopsConfig(t, store, kopsVersion)
	for k, v := range extra {
		cfg[k] = v
	}
	s := &kopsScenario{t: t, store: store, kc: kc, cfg: cfg}
	s.stack = pulumitest.New(t, kopsClusterProgram, cfg, kopsStackOptions("kops"))
	return s
}

// step runs fn and returns the kops calls it caused, logged as a sequence.
func (s *kopsScenario) step(what string, fn func()) []kopsdouble.Call {
	s.t.Helper()
	s.store.ResetCalls(s.t)
	start := time.Now()
	fn()
	took := time.Since(start).Round(100 * time.Millisecond)
	calls := s.store.Calls(s.t)
	s.t.Logf("kops sequence [%s] (%d calls, %s):\n  %s", what, len(calls), took, strings.Join(kopsdouble.Commands(calls), "\n  "))
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

// clusterURN is the Cluster's URN in a stack of the cluster program.
func clusterURN(stack string) string {
	return fmt.Sprintf("urn:pulumi:%s::kopscalico::%s::cluster", stack, pluginapi.ClusterType)
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
	kc := fmt.Sprint(out["kubeconfig"].Value)
	if !strings.Contains(kc, "kubectl-auth") || strings.Contains(kc, "client-key-data") || strings.Contains(kc, "client-certificate-data") {
		t.Errorf("kubeconfig output is not the credential-free one:\n%s", kc)
	}
	if !strings.Contains(fmt.Sprint(out["networking"].Value), "ipipMode: CrossSubnet") {
		t.Errorf("networking output %v", out["networking"].Value)
	}
	assertNoCredentialInState(t, s.stack, s.kc)

	calls = s.step("up again, nothing changed", func() { s.stack.Up() })
	if m := kopsdouble.Mutating(calls); len(m) != 0 {
		t.Errorf("second up mutated: %v", kopsdouble.Commands(m))
	}
	calls = s.step("preview, nothing changed", func() { s.stack.Preview(optpreview.ExpectNoChanges()) })
	if len(calls) != 0 {
		t.Errorf("preview ran kops: %v", kopsdouble.Commands(calls))
	}

	s.stack.SetConfig(pulumitest.Config{"kopscalico:nodeCount": pulumitest.Plain("4")})
	calls = s.step("preview of a node count change", func() { s.stack.Preview() })
	if len(calls) != 0 {
		t.Errorf("preview ran kops: %v", kopsdouble.Commands(calls))
	}
	calls = s.step("up: node count 2 -> 4", func() { s.stack.Up() })
	if countCalls(calls, "update cluster --name "+kopsClusterName+" --yes") != 1 || countCalls(calls, "replace") != 1 {
		t.Errorf("node count change: want one replace and one update --yes")
	}
	if n := countCalls(calls, "rolling-update cluster --name "+kopsClusterName+" --yes"); n != 0 {
		t.Errorf("a node count change rolled %d times; kops reports no instance group needing it", n)
	}
	if countCalls(calls, "rolling-update cluster --name "+kopsClusterName) != 1 {
		t.Error("kops was not asked whether a roll is needed")
	}
	if c := s.store.Cloud(t, kopsClusterName); len(c.Instances["nodes-eu-west-1a"])+len(c.Instances["nodes-eu-west-1b"]) != 4 {
		t.Errorf("nodes running: %v", c.Instances)
	}

	s.stack.SetConfig(pulumitest.Config{"kopscalico:nodeSize": pulumitest.Plain("m6i.large")})
	calls = s.step("up: node size t3.medium -> m6i.large", func() { s.stack.Up() })
	if n := countCalls(calls, "rolling-update cluster --name "+kopsClusterName+" --yes"); n != 1 {
		t.Errorf("a node size change rolled %d times, want 1", n)
	}
	s.converged()

	// A config change the program has not applied, then destroy: destroy
	// works from the state, so the only mutating command is the delete.
	s.stack.SetConfig(pulumitest.Config{"kopscalico:nodeCount": pulumitest.Plain("3")})
	calls = s.step("destroy", func() { s.stack.Destroy() })
	if m := kopsdouble.Mutating(calls); len(m) != 1 || !strings.HasPrefix(m[0].String(), "delete cluster --name "+kopsClusterName+" --yes") {
		t.Errorf("mutating kops commands of destroy: %v; want exactly the delete", kopsdouble.Commands(m))
	}
	if s.store.Exists(kopsClusterName) {
		t.Error("cluster still in the state store after destroy")
	}
}

// A kubenet cluster made by hand is taken over only when the stack says so
// (adoptExistingCluster), and then converted with exactly one roll.
func TestKopsConvertsKubenetClusterOnlyWhenAdopted(t *testing.T) {
	s := newKopsScenario(t, "1.34", nil)
	s.store.SeedCluster(t, kopsClusterName, "--zones", "eu-west-1a,eu-west-1b", "--networking", "kubenet", "--node-count", "2")

	var err error
	calls := s.step("up over an existing cluster, not adopted", func() { _, err = s.stack.TryUp() })
	if err == nil || !strings.Contains(err.Error(), "kopscalico:adoptExistingCluster") {
		t.Fatalf("err = %v; want a refusal naming kopscalico:adoptExistingCluster", err)
	}
	if m := kopsdouble.Mutating(calls); len(m) != 0 {
		t.Errorf("a refused adoption ran %v", kopsdouble.Commands(m))
	}

	s.stack.SetConfig(pulumitest.Config{"kopscalico:adoptExistingCluster": pulumitest.Plain("true")})
	calls = s.step("up: adopt and convert a kubenet cluster", func() { s.stack.Up() })
	if n := countCalls(calls, "create cluster"); n != 0 {
		t.Errorf("created an existing cluster")
	}
	if n := countCalls(calls, "rolling-update cluster --name "+kopsClusterName+" --yes"); n != 1 {
		t.Errorf("%d rolling updates, want exactly 1", n)
	}
	s.converged()

	calls = s.step("up again", func() { s.stack.Up() })
	if m := kopsdouble.Mutating(calls); len(m) != 0 {
		t.Errorf("second up mutated: %v", kopsdouble.Commands(m))
	}

	// A second stack with the same cluster name is refused, even when it
	// asks to adopt: the first stack's mark is in the cluster spec.
	other := pulumitest.New(t, kopsClusterProgram, s.cfg, kopsStackOptions("other"))
	other.SetConfig(pulumitest.Config{"kopscalico:adoptExistingCluster": pulumitest.Plain("true")})
	calls = s.step("up of a second stack over the same cluster", func() { _, err = other.TryUp() })
	if err == nil || !strings.Contains(err.Error(), "belongs to stack "+stackMark("kops")) {
		t.Errorf("second stack: err = %v", err)
	}
	if m := kopsdouble.Mutating(calls); len(m) != 0 {
		t.Errorf("second stack mutated: %v", kopsdouble.Commands(m))
	}
}

// TestKopsFailureAtEachStepConverges injects a kops failure at every step
// the plugin runs: up (or destroy) fails with kops's stderr in the error,
// and running it again converges.
func TestKopsFailureAtEachStepConverges(t *testing.T) {
	for _, tc := range []struct {
		name    string
		seed    bool // a kubenet cluster exists before the first up
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
			s := newKopsScenario(t, "1.34", pulumitest.Config{"kopscalico:adoptExistingCluster": pulumitest.Plain(fmt.Sprint(tc.seed))})
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
			if n := countCalls(calls, "rolling-update cluster --name "+kopsClusterName+" --yes"); n > 1 {
				t.Errorf("re-run rolled %d times", n)
			}
		})
	}
}

// A first up that fails after kops made the cluster (validate times out)
// still records it: a plain destroy, which runs no program, deletes it
// exactly once, and then the state store's guard (the store goes last).
func TestKopsFailedFirstUpIsRecordedAndDestroyed(t *testing.T) {
	s := newKopsScenario(t, "1.34", nil)
	s.stack = pulumitest.New(t, kopsGuardedProgram, s.cfg, kopsStackOptions("failed-first-up"))
	s.store.InjectFailures(t, kopsdouble.Failure{Command: "validate cluster", Exit: 1, Stderr: "Error: validation failed: wait time exceeded during validation"})
	var err error
	s.step("up: validate times out", func() { _, err = s.stack.TryUp() })
	if err == nil || !strings.Contains(err.Error(), "wait time exceeded") {
		t.Fatalf("err = %v", err)
	}
	if !s.store.Exists(kopsClusterName) {
		t.Fatal("the double made no cluster; the test proves nothing")
	}
	s.store.InjectFailures(t)
	calls := s.step("destroy without the program", func() { s.stack.Destroy() })
	if n := countCalls(calls, "delete cluster --name "+kopsClusterName+" --yes"); n != 1 {
		t.Errorf("%d deletes, want exactly 1: %v", n, kopsdouble.Commands(calls))
	}
	if s.store.Exists(kopsClusterName) || stateHolds(t, s.stack, pluginapi.StateStoreGuardType) {
		t.Error("the cluster of the failed up, or the store's guard, survived destroy")
	}
}

// Changing clusterName, or `up --replace` on a protected stack, would delete
// the running cluster: both are refused before any kops command runs.
func TestKopsReplacementIsRefused(t *testing.T) {
	s := newKopsScenario(t, "1.34", nil)
	s.stack.Up()

	s.stack.SetConfig(pulumitest.Config{"kopscalico:clusterName": pulumitest.Plain("renamed.e2e.example.com")})
	var err error
	calls := s.step("preview of a clusterName change", func() { _, err = s.stack.TryPreview() })
	if err == nil || !strings.Contains(err.Error(), "clusterName") || !strings.Contains(err.Error(), "refusing to replace") {
		t.Errorf("preview: err = %v; want the replacement refused naming clusterName", err)
	}
	calls = append(calls, s.step("up with a clusterName change", func() { _, err = s.stack.TryUp() })...)
	if err == nil || !strings.Contains(err.Error(), "kopscalico:allowClusterReplacement") {
		t.Errorf("up: err = %v", err)
	}
	if len(calls) != 0 {
		t.Errorf("kops ran: %v", kopsdouble.Commands(calls))
	}
	if !s.store.Exists(kopsClusterName) {
		t.Fatal("the running cluster is gone")
	}

	prod := newKopsScenario(t, "1.34", pulumitest.Config{"kopscalico:clusterProtect": pulumitest.Plain("true")})
	prod.stack.Up()
	calls = prod.step("up --replace of a protected cluster", func() {
		_, err = prod.stack.TryUp(optup.Replace([]string{clusterURN("kops")}))
	})
	if err == nil || !strings.Contains(err.Error(), "protect") {
		t.Errorf("up --replace: err = %v; want the engine's protect refusal", err)
	}
	if len(calls) != 0 {
		t.Errorf("kops ran: %v", kopsdouble.Commands(calls))
	}
	if !prod.store.Exists(kopsClusterName) {
		t.Error("the protected cluster is gone")
	}
	prod.stack.SetConfig(pulumitest.Config{"kopscalico:clusterProtect": pulumitest.Plain("false")})
	prod.stack.Up()
}

// A cluster changed behind Pulumi's back shows as drift on refresh, and up
// puts it back.
func TestKopsDriftIsRefreshedAndRepaired(t *testing.T) {
	s := newKopsScenario(t, "1.34", nil)
	s.stack.Up()

	// An operator opens SSH with `kops edit cluster` and deletes a node group.
	spec := s.store.ClusterSpec(t, kopsClusterName)
	spec["spec"].(map[string]any)["sshAccess"] = []any{"0.0.0.0/0"}
	s.store.WriteClusterSpec(t, kopsClusterName, spec)
	s.store.DeleteInstanceGroup(t, kopsClusterName, "nodes-eu-west-1b")

	res := s.stack.Preview(optpreview.Refresh(), optpreview.Diff())
	if res.ChangeSummary["update"] != 1 {
		t.Errorf("preview --refresh: %v; want the Cluster updated", res.ChangeSummary)
	}
	for _, want := range []string{"sshAccess", "nodeCount"} {
		if !strings.Contains(res.StdOut, want) {
			t.Errorf("preview --refresh does not show the drift of %s:\n%s", want, res.StdOut)
		}
	}
	calls := s.step("up puts it back", func() { s.stack.Up(optup.Refresh()) })
	if countCalls(calls, "replace") == 0 {
		t.Errorf("up did not rewrite the cluster: %v", kopsdouble.Commands(calls))
	}
	s.converged()
	if _, err := os.Stat(filepath.Join(s.store.Dir, kopsClusterName, "instancegroup", "nodes-eu-west-1b")); err != nil {
		t.Errorf("the deleted node group is not back: %v", err)
	}
	s.stack.Preview(optpreview.Refresh(), optpreview.ExpectNoChanges())
}

// The store's guard outlives the cluster: a delete that fails for another
// reason, even one mentioning "not found", keeps the store; so does another
// cluster in it; once the store is empty, destroy completes.
func TestKopsStateStoreKeptWhileItHoldsACluster(t *testing.T) {
	s := newKopsScenario(t, "1.34", nil)
	s.stack = pulumitest.New(t, kopsGuardedProgram, s.cfg, kopsStackOptions("guarded"))
	s.stack.Up()

	s.store.InjectFailures(t, kopsdouble.Failure{Command: "delete cluster", ArgsContain: "--yes", Times: 1,
		Stderr: "Error: error deleting resources: InvalidGroup.NotFound: The security group 'sg-0123' does not exist"})
	var err error
	s.step("destroy, the delete failing", func() { _, err = s.stack.TryDestroy() })
	if err == nil || !strings.Contains(err.Error(), "InvalidGroup.NotFound") {
		t.Fatalf("err = %v", err)
	}
	if !s.store.Exists(kopsClusterName) || !stateHolds(t, s.stack, pluginapi.StateStoreGuardType) {
		t.Fatal("a failed delete let the store's guard go")
	}

	s.store.SeedCluster(t, "other.e2e.example.com", "--zones", "eu-west-1a", "--networking", "kubenet")
	calls := s.step("destroy with another cluster in the store", func() { _, err = s.stack.TryDestroy() })
	if err == nil || !strings.Contains(err.Error(), "still holds cluster(s) other.e2e.example.com") {
		t.Fatalf("err = %v", err)
	}
	if n := countCalls(calls, "delete cluster --name "+kopsClusterName+" --yes"); n != 1 || s.store.Exists(kopsClusterName) {
		t.Errorf("this stack's cluster: %d deletes, still there %v", n, s.store.Exists(kopsClusterName))
	}
	if !stateHolds(t, s.stack, pluginapi.StateStoreGuardType) {
		t.Error("the guard left the state while the store holds a cluster")
	}
	if _, stderr, code := s.store.Run(t, nil, "delete", "cluster", "--name", "other.e2e.example.com", "--yes"); code != 0 {
		t.Fatalf("delete the other cluster: %s", stderr)
	}
	s.stack.Destroy()
	if stateHolds(t, s.stack, pluginapi.StateStoreGuardType) {
		t.Error("the guard is still in the state after the store was emptied")
	}
}

// stateHolds reports whether the stack's state has a resource of a type.
func stateHolds(t *testing.T, s *pulumitest.Stack, typ string) bool {
	t.Helper()
	return slices.Contains(typesInState(t, s), typ)
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

	conv := newKopsScenario(t, "1.28", pulumitest.Config{"kopscalico:adoptExistingCluster": pulumitest.Plain("true")})
	conv.store.SeedCluster(t, kopsClusterName, "--zones", "eu-west-1a,eu-west-1b", "--networking", "kubenet", "--node-count", "2")
	calls = conv.step("up on kops 1.28: convert kubenet", func() { conv.stack.Up() })
	if n := countCalls(calls, "rolling-update cluster --name "+kopsClusterName+" --yes"); n != 1 {
		t.Errorf("%d rolls, want 1", n)
	}
	conv.converged()
}

// assertNoCredentialInState scans the exported state for the handed-out
// kubeconfig's certificate and key, in any encoding, and for any private key
// or client credential at all.
func assertNoCredentialInState(t *testing.T, s *pulumitest.Stack, kubeconfig []byte) {
	t.Helper()
	b, err := os.ReadFile(s.ExportState())
	if err != nil {
		t.Fatal(err)
	}
	state := string(b)
	secrets := kubeconfigSecrets(t, kubeconfig)
	if len(secrets) != 2 {
		t.Fatalf("test kubeconfig has %d credentials", len(secrets))
	}
	for _, secret := range secrets {
		pemText, _ := base64.StdEncoding.DecodeString(secret)
		for _, form := range []string{secret, string(pemText), strings.ReplaceAll(string(pemText), "\n", `\n`)} {
			if strings.Contains(state, form) {
				t.Errorf("the exported state holds a kubeconfig credential (%.16s…)", form)
			}
		}
	}
	for _, marker := range []string{"PRIVATE KEY", "client-key-data", "client-certificate-data", "clientKeyData"} {
		if strings.Contains(state, marker) {
			t.Errorf("the exported state holds %q", marker)
		}
	}
}
