package e2e_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/infra"
	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/sgcheck"
	"github.com/kopscalico/kopscalico/internal/sgcheck/sgchecktest"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

// TestPreviewIsSafeInCI is the pull-request preview: a deployed stack
// previewed from a fresh CI runner, which has no cached kubeconfig. The
// preview must run no kops command (every kops command is set to fail and
// every call is recorded), make no AWS call of the program's own (the EC2
// factory fails the test), need no kubeconfig, and succeed.
func TestPreviewIsSafeInCI(t *testing.T) {
	cp := controlplane.Start(t)
	store := kopsdouble.NewStore(t, "1.34.2")
	store.SetKubeconfig(t, cp.KubeconfigBytes())
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}

	// The workstation that deployed the stack: kops and EC2 answer.
	t.Setenv(infra.EnvWorkdir, t.TempDir())
	allowAWS := true
	ec2Calls := 0
	deps := infra.DefaultDeps()
	deps.NewEC2 = func(context.Context, string) (sgcheck.EC2API, error) {
		ec2Calls++
		if !allowAWS {
			t.Error("preview asked for an EC2 client")
		}
		return sgchecktest.KopsCluster(kopsClusterName), nil
	}
	s := pulumitest.New(t, infra.NewProgram(deps), pulumitest.Config{
		"kopscalico:clusterName":        pulumitest.Plain(kopsClusterName),
		"kopscalico:region":             pulumitest.Plain("us-east-1"),
		"kopscalico:zones":              pulumitest.Plain(`["us-east-1a","us-east-1b"]`),
		"kopscalico:adminAccess":        pulumitest.Plain(`["203.0.113.0/24"]`),
		"kopscalico:kopsVersion":        pulumitest.Plain("1.34"),
		"kopscalico:kopsBinary":         pulumitest.Plain(store.Bin),
		"kopscalico:stateStore":         pulumitest.Plain(store.URL()),
		"kopscalico:securityGroupCheck": pulumitest.Plain(config.SGCheckEnforce),
		"kopscalico:probes":             pulumitest.Plain("false"),
		"kopscalico:policiesDir":        pulumitest.Plain(filepath.Join(root, "policies")),
	})
	s.Up()
	if ec2Calls == 0 {
		t.Fatal("up did not run the security-group check; the test would prove nothing")
	}

	// The CI runner: a fresh work directory (no cached kubeconfig), kops
	// failing on every command, and no AWS.
	t.Setenv(infra.EnvWorkdir, t.TempDir())
	allowAWS = false
	var failures []kopsdouble.Failure
	for _, cmd := range []string{"version", "get cluster", "get instancegroups", "create cluster", "replace", "update cluster",
		"rolling-update cluster", "validate cluster", "export kubecfg", "delete cluster"} {
		failures = append(failures, kopsdouble.Failure{Command: cmd, Exit: 1, Stderr: "preview must not run kops"})
	}
	store.InjectFailures(t, failures...)
	store.ResetCalls(t)

	res := s.Preview()
	if calls := store.Calls(t); len(calls) != 0 {
		t.Errorf("preview ran kops: %v", kopsdouble.Commands(calls))
	}
	t.Logf("preview from a fresh runner: %v", res.ChangeSummary)
	for op, n := range res.ChangeSummary {
		if op == "replace" || op == "delete" || op == "create-replacement" || op == "delete-replaced" {
			t.Errorf("a preview without a cached kubeconfig plans %d %s", n, op)
		}
	}
	// The teardown run checks nothing against a cluster being deleted.
	store.InjectFailures(t)
	t.Setenv(infra.EnvTeardown, "true")
	s.Destroy()
	if store.Exists(kopsClusterName) {
		t.Error("destroy left the cluster in the state store")
	}
}
