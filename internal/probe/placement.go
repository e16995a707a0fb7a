package probe

import (
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// ZoneLabel is the well-known label of a node's zone; kops's AWS nodes carry
// their availability zone, and each zone is a subnet of its own.
const ZoneLabel = "topology.kubernetes.io/zone"

// Placement is where a probe's pod runs relative to its target's pods.
type Placement string

const (
	// AnyZone: no constraint, where the config lists one zone; whether the
	// probes crossed a subnet is for the nodes as read to say (Zones).
	AnyZone Placement = ""
	// OtherZone: required pod anti-affinity to the target's pods by zone, so
	// the connection crosses subnets (IP-in-IP or VXLAN, and the
	// source/destination check path).
	OtherZone Placement = "other-zone"
	// SameZone: required pod affinity to the target's pods by zone: the
	// unencapsulated path cross-subnet mode keeps inside a subnet.
	SameZone Placement = "same-zone"
)

// Describe is the placement as the table shows it.
func (p Placement) Describe() string {
	switch p {
	case OtherZone:
		return "other zone than target"
	case SameZone:
		return "same zone as target"
	}
	return "any (not placed by zone)"
}

// Place pins the probes to zones: on a cluster of two or more zones (as the
// config lists them: the program reads no node) each probe runs twice, from
// another zone than its target and from the same one (named
// <probe>-cross-zone and <probe>-same-zone); on one zone the probes stay as
// planned. The verdicts' table says, from the nodes, what was crossed.
func Place(probes []Probe, zones []string) ([]Probe, error) {
	if len(zones) < 2 {
		return probes, nil
	}
	out := make([]Probe, 0, 2*len(probes))
	for _, p := range probes {
		for _, pl := range []struct {
			suffix    string
			placement Placement
		}{{"-cross-zone", OtherZone}, {"-same-zone", SameZone}} {
			q := p
			q.Name += pl.suffix
			q.Placement = pl.placement
			if msgs := validation.IsDNS1123Label(q.Name); len(msgs) > 0 {
				return nil, fmt.Errorf("probe %q: not a valid Job name: %v", q.Name, msgs)
			}
			out = append(out, q)
		}
	}
	return out, nil
}

// affinity is the pod affinity of a placement: by zone, to the pods of the
// target's workload (its labels, in its namespace).
func affinity(p Probe) *corev1.Affinity {
	if p.Placement == AnyZone || len(p.To.PodLabels) == 0 {
		return nil
	}
	terms := []corev1.PodAffinityTerm{{
		LabelSelector: &metav1.LabelSelector{MatchLabels: maps.Clone(p.To.PodLabels)},
		Namespaces:    []string{p.To.Namespace},
		TopologyKey:   ZoneLabel,
	}}
	if p.Placement == OtherZone {
		return &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}}
	}
	return &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: terms}}
}
