package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// nodeVersions reads the kubelet versions of the cluster's nodes; when they
// cannot be read (no reader, the API not answering) it warns and keeps the
// versions recorded before.
func (c *cluster) nodeVersions(ctx context.Context, urn resource.URN, kubeconfig string, recorded []kops.NodeVersion) []kops.NodeVersion {
	r := c.p.deps.NodeReader
	if r == nil || kubeconfig == "" {
		return recorded
	}
	nodes, err := r.NodeVersions(ctx, kubeconfig)
	if err != nil {
		c.p.logf(ctx, diag.Warning, urn, "the kubelet versions of the nodes were not read (%v): an unfinished upgrade may go unseen until they are", err)
		return recorded
	}
	return nodes
}

// upgradeDiff is the Kubernetes upgrade part of Diff, from the recorded
// state: a version change that breaks the skew policy is refused at
// preview; nodes behind the version show as a warning and an update of
// nodeVersions, which the update finishes.
func (c *cluster) upgradeDiff(ctx context.Context, urn resource.URN, state pluginapi.ClusterState, d kops.Desired, dd *detailedDiff) error {
	if err := kops.CheckUpgrade([]byte(state.Spec), d, state.NodeVersions); err != nil {
		return err
	}
	want := d.KubernetesVersion
	if want == "" && state.Spec != "" {
		if live, err := kops.Describe(kops.Observed{Spec: []byte(state.Spec)}); err == nil {
			want = live.KubernetesVersion
		}
	}
	behind := kops.Behind(state.NodeVersions, want)
	if len(behind) == 0 {
		return nil
	}
	c.p.logf(ctx, diag.Warning, urn, "kops cluster %s: %s; up finishes the upgrade to Kubernetes %s in kops's order (control plane, then nodes)",
		d.Name, strings.Join(behind, ", "), strings.TrimPrefix(want, "v"))
	dd.add(wireName(&state, &state.NodeVersions), false, false)
	return nil
}

// upgradeNote is what refresh says of nodes behind the cluster's version.
func upgradeNote(state pluginapi.ClusterState) string {
	live, err := kops.Describe(kops.Observed{Spec: []byte(state.Spec)})
	if err != nil {
		return ""
	}
	if behind := kops.Behind(state.NodeVersions, live.KubernetesVersion); len(behind) > 0 {
		return fmt.Sprintf("kops cluster %s runs Kubernetes %s but %s: the next up finishes the upgrade", state.Name, strings.TrimPrefix(live.KubernetesVersion, "v"), strings.Join(behind, ", "))
	}
	return ""
}
