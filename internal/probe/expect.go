package probe

import (
	"fmt"
	"maps"
	"slices"

	"github.com/kopscalico/kopscalico/internal/netpol"
	"github.com/kopscalico/kopscalico/internal/reachability"
)

// PolicyExpect computes expected verdicts from the manifests: the same
// reachability model as the stack output and the pull-request review, with
// one known pod per probe source, labelled as the probe pod will be.
func PolicyExpect(m reachability.Model, sources []Source) (Expect, error) {
	m.Cluster.Pods = slices.Clone(m.Cluster.Pods)
	for _, s := range sources {
		m.Cluster.Pods = append(m.Cluster.Pods, netpol.Pod{Namespace: s.Namespace, Name: PodName(s), Labels: maps.Clone(s.Labels)})
	}
	expect, err := reachability.Expect(m)
	if err != nil {
		return nil, fmt.Errorf("reachability model of the policies: %w", err)
	}
	return expect, nil
}
