package provider_test

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/provider"
)

// withNodes is a recorded state whose nodes ran the given kubelets.
func withNodes(t *testing.T, state resource.PropertyMap, nodes []kops.NodeVersion) resource.PropertyMap {
	t.Helper()
	var s pluginapi.ClusterState
	if err := pluginapi.Decode(state, &s); err != nil {
		t.Fatal(err)
	}
	s.NodeVersions = nodes
	return props(t, s)
}

// Nodes left on the old kubelet show in the preview, and make the Cluster
// an update though its spec is as desired; a change the skew policy forbids
// is refused at preview.
func TestClusterDiffSeesNodesBehind(t *testing.T) {
	t.Parallel()
	logs := &recordedLogs{}
	p := provider.New(logs, provider.Deps{NewKopsRunner: func(string, func(string, string)) kops.Runner { return &kopstest.Runner{T: t} }})
	inputs := clusterInputs(t, func(a *pluginapi.ClusterArgs) { a.KubernetesVersion = "1.34.2" })
	spec := string(kopstest.Fixture(t, "calico-1.34.yaml")) // kubernetesVersion: 1.34.2
	diff := func(news resource.PropertyMap, nodes []kops.NodeVersion) (plugin.DiffResponse, error) {
		return p.Diff(context.Background(), plugin.DiffRequest{URN: clusterURN, Type: pluginapi.ClusterType, ID: "demo.example.com",
			OldInputs: inputs, OldOutputs: withNodes(t, recordedState(t, inputs, spec), nodes), NewInputs: news})
	}
	current := []kops.NodeVersion{{Group: "control-plane-eu-west-1a", Kubelet: "v1.34.2", Nodes: 1}, {Group: "nodes-eu-west-1a", Kubelet: "v1.34.2", Nodes: 2}}
	if res, err := diff(inputs, current); err != nil || res.Changes != plugin.DiffNone {
		t.Errorf("nodes on the version: %+v, %v", res, err)
	}
	behind := []kops.NodeVersion{current[0], {Group: "nodes-eu-west-1a", Kubelet: "v1.33.4", Nodes: 2}}
	res, err := diff(inputs, behind)
	if err != nil || res.Changes != plugin.DiffSome || res.DetailedDiff["nodeVersions"].Kind != plugin.DiffUpdate {
		t.Errorf("nodes behind: %+v, %v", res, err)
	}
	if w := logs.only(t); !strings.Contains(w.msg, "2 nodes still on v1.33.4 (nodes-eu-west-1a); up finishes the upgrade to Kubernetes 1.34.2") {
		t.Errorf("warning %q", w.msg)
	}
	skip := clusterInputs(t, func(a *pluginapi.ClusterArgs) { a.KubernetesVersion = "1.36.0" })
	if _, err := diff(skip, current); err == nil || !strings.Contains(err.Error(), "kopscalico:kubernetesVersion = \"1.36.0\" on cluster demo.example.com: Kubernetes 1.34.2 to 1.36.0 skips 1 minor release(s)") {
		t.Errorf("a skipped minor: %v", err)
	}
}
