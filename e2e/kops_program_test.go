package e2e_test

import (
	"context"
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
// manageCluster=true: the kops double creates the cluster and hands out the
// local control plane's kubeconfig, and everything deployed on the cluster
// lands there; a second up runs no kops command and wants no change;
// destroy --run-program removes the objects, then deletes the cluster once.
func TestProgramManagesKopsCluster(t *testing.T) {
	cp := controlplane.Start(t)
	store := kopsdouble.NewStore(t, "1.34.2")
	store.SetKubeconfig(t, cp.KubeconfigBytes())
	t.Setenv(infra.EnvWorkdir, t.TempDir())
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	s := pulumitest.New(t, infra.Program, pulumitest.Config{
		"kopscalico:clusterName":        pulumitest.Plain(kopsClusterName),
		"kopscalico:region":             pulumitest.Plain("us-east-1"),
		"kopscalico:zones":              pulumitest.Plain(`["us-east-1a"]`),
		"kopscalico:adminAccess":        pulumitest.Plain(`["203.0.113.0/24"]`),
		"kopscalico:kopsVersion":        pulumitest.Plain("1.34"),
		"kopscalico:kopsBinary":         pulumitest.Plain(store.Bin),
		"kopscalico:stateStore":         pulumitest.Plain(store.URL()),
		"kopscalico:securityGroupCheck": pulumitest.Plain("off"),
		"kopscalico:probes":             pulumitest.Plain("false"),
		"kopscalico:policiesDir":        pulumitest.Plain(filepath.Join(root, "policies")),
	})
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

	secrets := kubeconfigSecrets(string(cp.KubeconfigBytes()))
	if len(secrets) != 2 {
		t.Fatalf("control plane kubeconfig has %d credentials", len(secrets))
	}
	assertNoPlaintext(t, s.BackendDir(), secrets)

	calls = sc.step("program up again", func() { s.Up() })
	if len(calls) != 0 {
		t.Errorf("second up ran kops: %v", kopsdouble.Commands(calls))
	}
	calls = sc.step("program preview, nothing changed", func() { s.Preview(optpreview.ExpectNoChanges()) })
	if len(calls) != 0 {
		t.Errorf("preview ran kops: %v", kopsdouble.Commands(calls))
	}

	calls = sc.step("program destroy --run-program", func() { s.Destroy() })
	if n := countCalls(calls, "delete cluster"); n != 1 {
		t.Errorf("%d deletes, want 1", n)
	}
	for _, c := range calls {
		if strings.HasPrefix(c.String(), "create") || strings.HasPrefix(c.String(), "update") {
			t.Errorf("destroy ran kops %s", c)
		}
	}
	if store.Exists(kopsClusterName) {
		t.Error("cluster still in the state store")
	}
	if _, err := cp.Client.CoreV1().Namespaces().Get(ctx, "ns-1", metav1.GetOptions{}); err == nil {
		// Namespace deletion is asynchronous (finalizers); gone or terminating is fine.
		ns, _ := cp.Client.CoreV1().Namespaces().Get(ctx, "ns-1", metav1.GetOptions{})
		if ns != nil && ns.DeletionTimestamp == nil {
			t.Error("namespace ns-1 survived destroy")
		}
	} else if !apierrors.IsNotFound(err) {
		t.Errorf("namespace ns-1 after destroy: %v", err)
	}
}
