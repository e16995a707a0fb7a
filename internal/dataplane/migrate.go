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

// MigrationSteps is how a running cluster moves from one overlay to the
// other by hand, in an order where calico_backend carries the pool at every
// step (Calico documents no order for this migration; the plugin refuses it
// and names these steps).
func MigrationSteps(from, to config.Encapsulation) string {
	e := Expect(Desired{Encapsulation: to})
	pool := patchPool(DefaultPoolName, e.IPIPMode, e.VXLANMode) + " (and every other enabled IPv4 pool)"
	kops := fmt.Sprintf("kops edit cluster: spec.networking.calico.encapsulationMode: %s, %sMode: CrossSubnet, no %sMode; kops update cluster --yes; kops rolling-update cluster --yes; kubectl -n %s rollout status ds/%s (calico_backend %s)",
		to, to, from, Namespace, DaemonSetName, e.Backend)
	done := fmt.Sprintf("pulumi refresh, then %s=%s: the recorded cluster then agrees", config.FullKey(config.KeyEncapsulation), to)
	if carries(BackendBIRD, poolOf(e)) && to == config.EncapVXLAN {
		return fmt.Sprintf("1. the pool, while BIRD carries both: %s; 2. the backend: %s; 3. %s", pool, kops, done)
	}
	return fmt.Sprintf("1. the backend (BIRD carries the VXLAN pool meanwhile): %s; 2. the pool: %s; 3. %s", kops, pool, done)
}
