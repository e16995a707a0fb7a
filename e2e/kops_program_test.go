package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/infra"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

// TestProgramManagesKopsCluster runs the whole infra.Program with
// manageCluster=true: the plugin creates the cluster with the kops double,
// whose credential-free kubeconfig (an exec of `kops helpers kubectl-auth`)
// reaches the local control plane, where everything else lands. Then:
//
//   - a second up runs no mutating kops command, a preview wants no change;
//   - the stack previewed from a fresh checkout (a CI runner: no local file,
//     no kops on PATH, every kops command failing) is all `same`, and a
//     one-policy edit is exactly one update;
//   - a plain destroy from that checkout deletes the objects and the cluster
//     once.
func TestProgramManagesKopsCluster(t *testing.T) {
	cp := controlplane.Start(t)
	store := kopsdouble.NewStore(t, "1.34.2")
	store.SetKubeconfig(t, cp.KubeconfigBytes())
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	policiesDir := filepath.Join(t.TempDir(), "policies")
	if err := os.CopyFS(policiesDir, os.DirFS(filepath.Join(root, "policies"))); err != nil {
		t.Fatal(err)
	}
	// The workstation that deploys: kops (the double) on PATH, as the
	// kubeconfig's exec needs it; a CI runner: no kops at all.
	withKops := map[string]string{"PATH": filepath.Dir(store.Bin) + string(os.PathListSeparator) + "/usr/bin:/bin"}
	withoutKops := map[string]string{"PATH": "/usr/bin:/bin"}
	s := pulumitest.New(t, infra.Program, pulumitest.Config{
		"kopscalico:clusterName":        pulumitest.Plain(kopsClusterName),
		"kopscalico:region":             pulumitest.Plain("us-east-1"),
		"kopscalico:zones":              pulumitest.Plain(`["us-east-1a","us-east-1b"]`),
		"kopscalico:adminAccess":        pulumitest.Plain(`["203.0.113.0/24"]`),
		"kopscalico:kopsVersion":        pulumitest.Plain("1.34"),
		"kopscalico:kopsBinary":         pulumitest.Plain(store.Bin),
		"kopscalico:stateStore":         pulumitest.Plain(store.URL()),
		"kopscalico:securityGroupCheck": pulumitest.Plain("off"),
		"kopscalico:probes":             pulumitest.Plain("false"),
		"kopscalico:policiesDir":        pulumitest.Plain(policiesDir),
		"kopscalico:namespaces":         pulumitest.Plain("ns-1"),
		"kopscalico:clusterProtect":     pulumitest.Plain("false"),
	}, pulumitest.Options{Env: withKops})
	ctx := context.Background()
	sc := &kopsScenario{t: t, store: store, stack: s}

	calls := sc.step("program preview", func() { s.Preview() })
	if len(calls) != 0 {
		t.Errorf("preview ran kops: %v", kopsdouble.Commands(calls))
	}
	calls = sc.step("program up", func() { s.Up() })
	if n := countCalls(calls, "create cluster"); n != 1 {
		t.Errorf("%d creates, want 1", n)
	}
	if _, err := cp.Client.CoreV1().Namespaces().Get(ctx, "ns-1", metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace ns-1 after up (deployed through the kops cluster's kubeconfig): %v", err)
	}
	assertNoCredentialInState(t, s, cp.KubeconfigBytes())

	calls = sc.step("program up again", func() { s.Up() })
	if m := kopsdouble.Mutating(calls); len(m) != 0 {
		t.Errorf("second up mutated: %v", kopsdouble.Commands(m))
	}
	calls = sc.step("program preview, nothing changed", func() { s.Preview(optpreview.ExpectNoChanges()) })
	if plugin := pluginCalls(calls); len(plugin) != 0 {
		t.Errorf("preview ran kops: %v", kopsdouble.Commands(plugin))
	}

	// A CI runner: a fresh checkout, no kops on PATH, and every kops
	// command of the plugin failing.
	var failures []kopsdouble.Failure
	for _, cmd := range []string{"version", "get cluster", "get instancegroups", "create cluster", "replace", "update cluster",
		"rolling-update cluster", "validate cluster", "export kubecfg", "delete cluster"} {
		failures = append(failures, kopsdouble.Failure{Command: cmd, Exit: 1, Stderr: "preview must not run kops"})
	}
	store.InjectFailures(t, failures...)
	ci := s.FreshCheckout(infra.Program, pulumitest.Options{Env: withoutKops})
	// No resource and no output changes (the outputs come from the state).
	assertPreviewUnchanged(t, ci)
	allow := filepath.Join(policiesDir, "ns-1", "allow.yaml")
	b, err := os.ReadFile(allow)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(allow, append(b, "      ports:\n        - protocol: TCP\n          port: 5678\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	res := ci.Preview()
	if res.ChangeSummary["update"] != 1 || len(res.ChangeSummary) != 2 {
		t.Errorf("one policy edited: %v, want exactly one update", res.ChangeSummary)
	}
	if calls := pluginCalls(store.Calls(t)); len(calls) != 0 {
		t.Errorf("previews from the fresh checkout ran kops: %v", kopsdouble.Commands(calls))
	}

	// Destroy from that checkout: the cluster's objects need the kubeconfig's
	// exec (kops on PATH), the delete runs from the state.
	store.InjectFailures(t)
	gone := s.FreshCheckout(infra.Program, pulumitest.Options{Env: withKops})
	calls = sc.step("destroy from a fresh checkout", func() { gone.Destroy() })
	if n := countCalls(calls, "delete cluster"); n != 1 {
		t.Errorf("%d deletes, want 1", n)
	}
	for _, c := range kopsdouble.Mutating(calls) {
		if !strings.HasPrefix(c.String(), "delete cluster") {
			t.Errorf("destroy ran kops %s", c)
		}
	}
	if store.Exists(kopsClusterName) {
		t.Error("cluster still in the state store")
	}
	if ns, err := cp.Client.CoreV1().Namespaces().Get(ctx, "ns-1", metav1.GetOptions{}); err == nil {
		// Namespace deletion is asynchronous (finalizers); gone or terminating is fine.
		if ns.DeletionTimestamp == nil {
			t.Error("namespace ns-1 survived destroy")
		}
	} else if !apierrors.IsNotFound(err) {
		t.Errorf("namespace ns-1 after destroy: %v", err)
	}
}

// pluginCalls are the calls the plugin made: all but the kubeconfig's
// credential helper, which the Kubernetes provider runs.
func pluginCalls(calls []kopsdouble.Call) []kopsdouble.Call {
	var out []kopsdouble.Call
	for _, c := range calls {
		if !strings.HasPrefix(c.String(), "helpers kubectl-auth") {
			out = append(out, c)
		}
	}
	return out
}
