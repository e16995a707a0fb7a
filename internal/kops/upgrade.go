package kops

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

// NodeVersion counts the nodes of one instance group on one kubelet version,
// as the Node objects report them (label kops.k8s.io/instancegroup,
// status.nodeInfo.kubeletVersion).
type NodeVersion struct {
	Group   string `json:"group"`
	Kubelet string `json:"kubelet"`
	Nodes   int    `json:"nodes"`
}

// InstanceGroupLabel is the label kops puts on each node: its instance group.
const InstanceGroupLabel = "kops.k8s.io/instancegroup"

// controlPlaneRoles are the roles kops upgrades first
// (cmd/kops/reconcile_cluster.go; parsed by pkg/apis/kops/parse.go), named
// "master" before kops 1.26 renamed the role.
func controlPlaneRoles(v kopsrelease.Version) string {
	if !v.AtLeast(kopsrelease.ControlPlaneFlags) {
		return "master"
	}
	return "control-plane,apiserver"
}

// Behind says, per kubelet version, how many nodes do not run the
// Kubernetes version want ("2 nodes still on v1.33.4 (nodes-a, nodes-b)");
// empty when want is empty or every node runs it.
func Behind(nodes []NodeVersion, want string) []string {
	if want == "" {
		return nil
	}
	count, groups := map[string]int{}, map[string][]string{}
	for _, n := range nodes {
		if strings.TrimPrefix(n.Kubelet, "v") != strings.TrimPrefix(want, "v") {
			count[n.Kubelet] += n.Nodes
			groups[n.Kubelet] = append(groups[n.Kubelet], n.Group)
		}
	}
	var out []string
	for v, n := range count {
		sort.Strings(groups[v])
		out = append(out, fmt.Sprintf("%d nodes still on %s (%s)", n, v, strings.Join(groups[v], ", ")))
	}
	sort.Strings(out)
	return out
}

// CheckUpgrade refuses, before anything runs, a Kubernetes version change
// from the cluster's spec (liveSpec) to d's that breaks the version-skew
// policy with the kubelets nodes run.
func CheckUpgrade(liveSpec []byte, d Desired, nodes []NodeVersion) error {
	if d.KubernetesVersion == "" || len(liveSpec) == 0 {
		return nil
	}
	live, err := Describe(Observed{Spec: liveSpec})
	if err != nil {
		return err
	}
	var kubelets []string
	for _, n := range nodes {
		kubelets = append(kubelets, n.Kubelet)
	}
	if err := kopsrelease.CheckKubernetesUpgrade(live.KubernetesVersion, d.KubernetesVersion, kubelets); err != nil {
		return fmt.Errorf("%s = %q on cluster %s: %w", config.FullKey(config.KeyKubernetesVersion), d.KubernetesVersion, d.Name, err)
	}
	return nil
}

// planUpgrade decides, from the spec kops holds and the node versions last
// read, whether this run upgrades Kubernetes (a new version, or nodes left
// behind by an earlier run), and refuses what the skew policy forbids.
func (m *Manager) planUpgrade(op *operation) error {
	if err := CheckUpgrade(op.spec, op.d, m.Nodes); err != nil {
		return err
	}
	live, err := Describe(Observed{Spec: op.spec})
	if err != nil {
		return err
	}
	want := op.d.KubernetesVersion
	if want == "" {
		want = live.KubernetesVersion
	}
	behind := Behind(m.Nodes, want)
	op.upgrade = len(behind) > 0 || (op.d.KubernetesVersion != "" && strings.TrimPrefix(live.KubernetesVersion, "v") != strings.TrimPrefix(want, "v"))
	if len(behind) > 0 {
		m.logf("upgrading cluster %s to Kubernetes %s: %s", op.d.Name, want, strings.Join(behind, ", "))
	}
	return nil
}

// reconcileCluster is kops's own upgrade from 1.31: `kops reconcile cluster
// --yes` updates and rolls the control plane, then the nodes, then prunes.
func (m *Manager) reconcileCluster(ctx context.Context, op *operation) error {
	if !op.upgrade || !op.d.KopsVersion.AtLeast(kopsrelease.ReconcileCluster) {
		return nil
	}
	if _, err := m.OperationKubeconfig(ctx, op.d); err != nil {
		return err
	}
	m.stepLogf(op, "upgrading cluster %s in kops's order: control plane, then nodes, then prune", op.d.Name)
	if _, err := m.runStep(ctx, op, nil, "--name", op.d.Name, "--yes"); err != nil {
		return err
	}
	op.reconciled = true
	op.out.Applied, op.out.Rolled = true, true
	return nil
}

// updateControlPlane applies the control plane's launch templates alone
// before kops 1.31, which has no reconcile (from 1.30, by role).
func (m *Manager) updateControlPlane(ctx context.Context, op *operation) error {
	if !op.upgrade || op.d.KopsVersion.AtLeast(kopsrelease.ReconcileCluster) || !op.d.KopsVersion.AtLeast(kopsrelease.UpdateByRole) {
		return nil
	}
	if _, err := m.runStep(ctx, op, nil, "--name", op.d.Name, "--instance-group-roles", controlPlaneRoles(op.d.KopsVersion), "--yes", "--create-kube-config=false"); err != nil {
		return err
	}
	op.out.Applied = true
	return nil
}

// rollControlPlane replaces the control plane before any node, before kops
// 1.31: the kubelets never run ahead of the API server.
func (m *Manager) rollControlPlane(ctx context.Context, op *operation) error {
	if !op.upgrade || op.d.KopsVersion.AtLeast(kopsrelease.ReconcileCluster) {
		return nil
	}
	if !op.out.Applied {
		// Before 1.30 update cannot pick roles: every template is applied,
		// and the roll by role still replaces the control plane first.
		if _, err := m.run(ctx, op.d, StepUpdate, nil, "--name", op.d.Name, "--yes", "--create-kube-config=false"); err != nil {
			return err
		}
		op.out.Applied = true
	}
	if _, err := m.OperationKubeconfig(ctx, op.d); err != nil {
		return err
	}
	m.warnShortCredential(op.d, 1)
	flags := append([]string{"--name", op.d.Name, "--instance-group-roles", controlPlaneRoles(op.d.KopsVersion), "--yes"}, m.rollFlags(op.d)...)
	if _, err := m.runStep(ctx, op, nil, flags...); err != nil {
		return err
	}
	op.out.Rolled = true
	return nil
}
