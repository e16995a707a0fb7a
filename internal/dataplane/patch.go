package dataplane

import (
	"encoding/json"
	"fmt"
)

// FieldManager is the server-side apply manager the plugin patches pools
// as: the fields it sets show as its own in the pool's managedFields.
const FieldManager = "kopscalico"

// PoolPatch is a change Calico takes live: a pool's mode within its overlay
// (Always <-> CrossSubnet), which calico-node's env cannot make once the
// pool exists.
type PoolPatch struct {
	Pool      string `json:"pool"`
	From      string `json:"from"`
	IPIPMode  string `json:"ipipMode"`
	VXLANMode string `json:"vxlanMode"`
}

// String says what the patch changes.
func (p PoolPatch) String() string {
	return fmt.Sprintf("ippools.%s %s: %s -> %s", CalicoGroup, p.Pool, p.From, modes(p.IPIPMode, p.VXLANMode))
}

// ApplyConfiguration is the server-side apply body: the pool's two modes,
// nothing else, so the plugin owns those fields only.
func (p PoolPatch) ApplyConfiguration() ([]byte, error) {
	return json.Marshal(map[string]any{
		"apiVersion": CalicoGroup + "/" + CalicoVersion,
		"kind":       "IPPool",
		"metadata":   map[string]any{"name": p.Pool},
		"spec":       map[string]any{"ipipMode": p.IPIPMode, "vxlanMode": p.VXLANMode},
	})
}

// Patches are the pool patches that bring the dataplane to the one asked
// for, once calico-node runs its current template on every node (before,
// a node may still run the previous backend); none until then.
func (r Report) Patches() []PoolPatch {
	if !r.Observed.Rollout.Done() {
		return nil
	}
	var out []PoolPatch
	for _, row := range r.Rows {
		if row.Patch != nil {
			out = append(out, *row.Patch)
		}
	}
	return out
}
