// Package nodeversions reads which kubelet version the nodes of each kops
// instance group run, from the Node objects (label kops.k8s.io/instancegroup,
// status.nodeInfo.kubeletVersion): what an upgrade has left to do. It is the
// plugin's: the program never links a Kubernetes client.
package nodeversions

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kubeapi"
)

// DefaultTimeout bounds one read, the exec credential plugin included.
const DefaultTimeout = 2 * time.Minute

// Reader lists the Node objects through the API server a kubeconfig names.
type Reader struct {
	Timeout time.Duration // zero: DefaultTimeout
}

// NodeVersions reads the nodes and counts them by group and kubelet.
func (r Reader) NodeVersions(ctx context.Context, kubeconfig string) ([]kops.NodeVersion, error) {
	timeout := r.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	nodes, err := kubeapi.ListNodes(ctx, kubeconfig, timeout)
	if err != nil {
		return nil, fmt.Errorf("read node versions: %w", err)
	}
	return Count(nodes), nil
}

// Count counts nodes by instance group and kubelet version, sorted; a node
// without the group label is no instance of kops's and is left out.
func Count(nodes []corev1.Node) []kops.NodeVersion {
	counts := map[[2]string]int{}
	for _, n := range nodes {
		if g := n.Labels[kops.InstanceGroupLabel]; g != "" {
			counts[[2]string{g, n.Status.NodeInfo.KubeletVersion}]++
		}
	}
	out := make([]kops.NodeVersion, 0, len(counts))
	for k, n := range counts {
		out = append(out, kops.NodeVersion{Group: k[0], Kubelet: k[1], Nodes: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Kubelet < out[j].Kubelet
	})
	return out
}
