package e2e_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

// kubelets is "group=version" of every kwok node the double registered.
func kubelets(t *testing.T, cp *controlplane.ControlPlane) []string {
	t.Helper()
	nodes, err := cp.Client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: "kops.k8s.io/instancegroup"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range nodes.Items {
		out = append(out, n.Labels["kops.k8s.io/instancegroup"]+"="+n.Status.NodeInfo.KubeletVersion)
	}
	sort.Strings(out)
	return out
}

func allOn(list []string, version string) bool {
	for _, k := range list {
		if !strings.HasSuffix(k, "="+version) {
			return false
		}
	}
	return len(list) > 0
}

// TestKopsUpgradeInKopsOrder: a kubernetesVersion change 1.33 -> 1.34 with
// kops 1.36 runs `kops reconcile cluster` (control plane, then nodes), and
// every node (kwok's, registered by the double's instances) ends on the new
// kubelet. Then an upgrade to 1.35 made by hand the old way (update and roll)
// stops half-way, as kops from 1.31 keeps the nodes on the old kubelet:
// refresh records it, the preview says how many nodes are behind, and the
// next up finishes it.
func TestKopsUpgradeInKopsOrder(t *testing.T) {
	cp := controlplane.Start(t)
	store := kopsdouble.NewStore(t, "1.36.2")
	store.SetKubeconfig(t, cp.KubeconfigBytes())
	store.SetNodeRegistration(t)
	cfg := kopsConfig(t, store, "1.36")
	cfg["kopscalico:kubernetesVersion"] = pulumitest.Plain("1.33.4")
	// kops (the double) on PATH: the plugin reads the nodes through the
	// kubeconfig's exec of `kops helpers kubectl-auth`.
	opts := kopsStackOptions("kops")
	opts.Env = map[string]string{"PATH": filepath.Dir(store.Bin) + string(os.PathListSeparator) + "/usr/bin:/bin"}
	s := &kopsScenario{t: t, store: store, cfg: cfg, stack: pulumitest.New(t, kopsClusterProgram, cfg, opts)}
	s.step("up: create on 1.33.4", func() { s.stack.Up() })
	if k := kubelets(t, cp); !allOn(k, "v1.33.4") || len(k) != 3 {
		t.Fatalf("nodes after create: %v", k)
	}

	s.stack.SetConfig(pulumitest.Config{"kopscalico:kubernetesVersion": pulumitest.Plain("1.34.1")})
	calls := s.step("up: 1.33.4 -> 1.34.1", func() { s.stack.Up() })
	if n := countCalls(calls, "reconcile cluster --name "+kopsClusterName+" --yes"); n != 1 {
		t.Errorf("%d `kops reconcile cluster --yes`, want 1", n)
	}
	if n := countCalls(calls, "update cluster --name "+kopsClusterName+" --yes"); n != 0 {
		t.Errorf("a plain `update cluster --yes` ran %d times beside reconcile", n)
	}
	if k := kubelets(t, cp); !allOn(k, "v1.34.1") {
		t.Errorf("nodes after the upgrade: %v", k)
	}
	s.converged()
	s.stack.Preview(optpreview.Refresh(), optpreview.ExpectNoChanges())

	// The old way by hand: the spec edited, update --yes and rolling-update
	// --yes; kops 1.36 keeps the nodes on 1.34 since the control plane ran it.
	spec := s.store.ClusterSpec(t, kopsClusterName)
	spec["spec"].(map[string]any)["kubernetesVersion"] = "1.35.0"
	s.store.WriteClusterSpec(t, kopsClusterName, spec)
	for _, args := range [][]string{
		{"update", "cluster", "--name", kopsClusterName, "--yes", "--create-kube-config=false"},
		{"rolling-update", "cluster", "--name", kopsClusterName, "--yes"},
	} {
		if out, errOut, code := s.store.Run(t, nil, args...); code != 0 {
			t.Fatalf("kops %s: %d\n%s\n%s", strings.Join(args, " "), code, out, errOut)
		}
	}
	if k := kubelets(t, cp); allOn(k, "v1.35.0") || !strings.Contains(strings.Join(k, ","), "control-plane-eu-west-1a=v1.35.0") {
		t.Fatalf("the hand-made upgrade did not stop half-way: %v", k)
	}
	s.stack.SetConfig(pulumitest.Config{"kopscalico:kubernetesVersion": pulumitest.Plain("1.35.0")})
	s.stack.Refresh()
	res := s.stack.Preview()
	if res.ChangeSummary["update"] != 1 || !strings.Contains(res.StdOut, "2 nodes still on v1.34.1") {
		t.Errorf("preview after a half-way upgrade: %v\n%s", res.ChangeSummary, res.StdOut)
	}
	calls = s.step("up finishes the upgrade", func() { s.stack.Up(optup.Refresh()) })
	if n := countCalls(calls, "reconcile cluster --name "+kopsClusterName+" --yes"); n != 1 {
		t.Errorf("%d `kops reconcile cluster --yes`, want 1: %v", n, kopsdouble.Commands(calls))
	}
	if k := kubelets(t, cp); !allOn(k, "v1.35.0") {
		t.Errorf("nodes after the next up: %v", k)
	}
	s.stack.Preview(optpreview.Refresh(), optpreview.ExpectNoChanges())

	// Skipping a minor is refused at preview, before any kops command.
	s.stack.SetConfig(pulumitest.Config{"kopscalico:kubernetesVersion": pulumitest.Plain("1.37.0")})
	calls = s.step("preview 1.35 -> 1.37", func() {
		if _, err := s.stack.TryPreview(); err == nil || !strings.Contains(err.Error(), "skips 1 minor release(s)") {
			t.Errorf("preview of a skipped minor: %v", err)
		}
	})
	if len(calls) != 0 {
		t.Errorf("the refused preview ran kops: %v", kopsdouble.Commands(calls))
	}
}
