package netpol

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"maps"
	"net/netip"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// SyntheticPodCIDR is where pods without an IP get their synthetic address:
// the default pod CIDR of kops clusters (kubeClusterCIDR 100.96.0.0/11), so a
// policy's ipBlock for the cluster's pod range matches them as it would in
// the cluster. Each address derives from a hash of "namespace/name", so it is
// stable across runs and does not move when other pods come or go.
const SyntheticPodCIDR = "100.96.0.0/11"

// PodsFromDeployment returns the pod a Deployment stands for: one
// representative pod named after the Deployment, in its namespace ("default"
// when empty), with the pod template's labels and container ports and no IP.
// Replicas of a Deployment carry the same labels and ports, so policies
// cannot tell them apart and one pod represents them all. A Deployment scaled
// to zero replicas has no pods and yields none.
func PodsFromDeployment(d appsv1.Deployment) []Pod {
	if d.Spec.Replicas != nil && *d.Spec.Replicas == 0 {
		return nil
	}
	return []Pod{{
		Namespace: namespaceOrDefault(d.Namespace),
		Name:      d.Name,
		Labels:    maps.Clone(d.Spec.Template.Labels),
		Ports:     containerPorts(d.Spec.Template.Spec),
	}}
}

// PodsFromDeployments applies PodsFromDeployment to each Deployment.
func PodsFromDeployments(ds []appsv1.Deployment) []Pod {
	var out []Pod
	for _, d := range ds {
		out = append(out, PodsFromDeployment(d)...)
	}
	return out
}

// containerPorts collects the ports of the regular containers, which is where
// Calico reads a workload's named ports from.
func containerPorts(spec corev1.PodSpec) []corev1.ContainerPort {
	var out []corev1.ContainerPort
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			p.Protocol = protocolOrTCP(p.Protocol)
			out = append(out, p)
		}
	}
	return out
}

func namespaceOrDefault(ns string) string {
	if ns == "" {
		return corev1.NamespaceDefault
	}
	return ns
}

// assignSyntheticIPs gives every pod without an IP an address in
// SyntheticPodCIDR derived from its name; collisions (with real or synthetic
// addresses) move to the next free address, in name order, so the outcome is
// deterministic.
func assignSyntheticIPs(pods []Pod) ([]netip.Addr, error) {
	prefix := netip.MustParsePrefix(SyntheticPodCIDR)
	size := uint32(1) << (32 - prefix.Bits())
	base := binary.BigEndian.Uint32(prefix.Addr().AsSlice())

	addrs := make([]netip.Addr, len(pods))
	used := make(map[netip.Addr]bool, len(pods))
	var missing []int
	for i, p := range pods {
		if p.IP == "" {
			missing = append(missing, i)
			continue
		}
		a, err := netip.ParseAddr(p.IP)
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s: IP %q is not an IP address", p.Namespace, p.Name, p.IP)
		}
		addrs[i] = a.Unmap()
		used[addrs[i]] = true
	}
	sort.Slice(missing, func(a, b int) bool {
		return podLess(pods[missing[a]], pods[missing[b]])
	})
	for _, i := range missing {
		h := fnv.New32a()
		h.Write([]byte(pods[i].Namespace + "/" + pods[i].Name))
		// Skip the network and broadcast-looking ends of the range.
		off := h.Sum32()%(size-2) + 1
		for {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], base+off)
			a := netip.AddrFrom4(b)
			if !used[a] {
				addrs[i] = a
				used[a] = true
				break
			}
			off = off%(size-2) + 1
		}
	}
	return addrs, nil
}

func podLess(a, b Pod) bool {
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}
