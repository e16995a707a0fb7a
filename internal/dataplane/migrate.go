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
	rollBackend := fmt.Sprintf("kops update cluster --yes writes %s %s and calico-node rolls (pulumi up with %s=%s does it)",
		BackendKey, e.Backend, config.FullKey(config.KeyEncapsulation), d.Encapsulation)
	if !carries(backend, poolOf(e)) {
		return fmt.Sprintf("first the backend: %s; wait for kubectl -n %s rollout status ds/%s (BIRD carries the current pool meanwhile); then the pool: %s",
			rollBackend, Namespace, DaemonSetName, patch)
	}
	if backend == e.Backend {
		return "the pool, now: " + patch
	}
	return fmt.Sprintf("first the pool, while %s %s carries both: %s; then the backend: %s", BackendKey, backend, patch, rollBackend)
}
