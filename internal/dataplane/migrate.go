package dataplane

import (
	"fmt"

	"github.com/kopscalico/kopscalico/internal/config"
)

// migrationFix is how a pool moves to the desired overlay in an order where
// calico_backend carries the pool at every step: BIRD carries IP-in-IP,
// VXLAN and plain routes; the vxlan backend carries VXLAN only. So the pool
// moves first while the backend carries the new overlay, and the backend
// second; or, towards IP-in-IP from the vxlan backend, the backend first.
func migrationFix(d Desired, p Pool, backend string) string {
	e := Expect(d)
	patch := patchPool(p.Name, e.IPIPMode, e.VXLANMode)
	rollBackend := fmt.Sprintf("kops update cluster --yes writes %s %s and calico-node rolls, once kops edit cluster sets encapsulationMode %s (on a cluster the stack manages, set %s=%s only after that and a pulumi refresh: before, it is refused)",
		BackendKey, e.Backend, d.Encapsulation, config.FullKey(config.KeyEncapsulation), d.Encapsulation)
	if !carries(backend, poolOf(e)) {
		return fmt.Sprintf("first the backend: %s; wait for kubectl -n %s rollout status ds/%s (BIRD carries the current pool meanwhile); then the pool: %s",
			rollBackend, Namespace, DaemonSetName, patch)
	}
	if backend == e.Backend {
		return "the pool, now: " + patch
	}
	return fmt.Sprintf("first the pool, while %s %s carries both: %s; then the backend: %s", BackendKey, backend, patch, rollBackend)
}

// OverlayDocs is Calico's page on the two overlays. It documents no
// ipip <-> vxlan migration: it warns that switching encapsulation modes
// disrupts in-progress connections, and sets calico_backend vxlan (no BGP)
// only for a cluster whose pools are all VXLAN, the order MigrationSteps keeps.
const OverlayDocs = "https://docs.tigera.io/calico/latest/networking/configuring/vxlan-ipip"

// MigrationSteps is how a running cluster moves from one overlay to the
// other by hand, in an order where calico_backend carries the pool at every
// step (BIRD carries both overlays, the vxlan backend VXLAN only: kops
// docs/networking/calico.md); the plugin refuses the change and names them.
func MigrationSteps(from, to config.Encapsulation) string {
	e := Expect(Desired{Encapsulation: to})
	pool := patchPool(DefaultPoolName, e.IPIPMode, e.VXLANMode) + " (and every other enabled IPv4 pool)"
	kops := fmt.Sprintf("kops edit cluster: spec.networking.calico.encapsulationMode: %s, %sMode: CrossSubnet, no %sMode; kops update cluster --yes; kops rolling-update cluster --yes; kubectl -n %s rollout status ds/%s (calico_backend %s)",
		to, to, from, Namespace, DaemonSetName, e.Backend)
	done := fmt.Sprintf("pulumi refresh, then %s=%s: the recorded cluster then agrees", config.FullKey(config.KeyEncapsulation), to)
	docs := fmt.Sprintf(" (Calico documents no step-by-step migration; %s: switching encapsulation disrupts in-progress connections, and calico_backend vxlan is for VXLAN-only pools)", OverlayDocs)
	if carries(BackendBIRD, poolOf(e)) && to == config.EncapVXLAN {
		return fmt.Sprintf("1. the pool, while BIRD carries both: %s; 2. the backend: %s; 3. %s%s", pool, kops, done, docs)
	}
	return fmt.Sprintf("1. the backend (BIRD carries the VXLAN pool meanwhile): %s; 2. the pool: %s; 3. %s%s", kops, pool, done, docs)
}
