package probe

import (
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"

	"github.com/kopscalico/kopscalico/internal/netpol"
)

// PolicyExpect computes expected verdicts from the manifests: the
// reachability evaluator over cluster (namespaces, workload pods, policies)
// plus one pod per probe source, labelled as the probe pod will be.
func PolicyExpect(cluster netpol.Cluster, sources []Source) (Expect, error) {
	c := netpol.Cluster{
		Namespaces: cluster.Namespaces,
		Pods:       append([]netpol.Pod(nil), cluster.Pods...),
		Policies:   cluster.Policies,
	}
	for _, s := range sources {
		c.Pods = append(c.Pods, netpol.Pod{Namespace: s.Namespace, Name: PodName(s), Labels: maps.Clone(s.Labels)})
	}
	ev, err := netpol.NewEvaluator(c)
	if err != nil {
		return nil, fmt.Errorf("reachability model of the policies: %w", err)
	}
	return func(from, to string, port int, proto string) (bool, error) {
		src, err := netpol.ParsePodRef(from)
		if err != nil {
			return false, err
		}
		dst, err := netpol.ParsePodRef(to)
		if err != nil {
			return false, err
		}
		return ev.Allowed(src, dst, netpol.PortProto{Port: int32(port), Protocol: corev1.Protocol(proto)})
	}, nil
}
