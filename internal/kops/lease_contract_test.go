package kops_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/lease"
	"github.com/kopscalico/kopscalico/internal/lease/s3lease"
)

// The lease and the mark against real kops 1.36.2 and the double, in a
// file:// store: `kops create cluster --set` stores the owner mark in its
// first write; the lease object, outside the cluster's folder, is not
// listed by `kops get clusters` and does not stop `kops delete cluster`;
// a second run's lock is refused while it is held.
func TestRealKopsLeaseAndMarkOnCreate(t *testing.T) {
	t.Parallel()
	for _, w := range []kopsWorld{realKops(t), doubleKops(t)} {
		t.Run(w.Label, func(t *testing.T) {
			ctx := context.Background()
			w.t = t
			d := w.desired("ipip")
			const stack = "organization/kopscalico/dev"
			m := &kops.Manager{Runner: &kops.ExecRunner{Binary: w.Bin, Env: w.Vars()}, Timeouts: kops.Timeouts{Command: 2 * time.Minute},
				Leases: s3lease.Open, Owner: kops.Ownership{Stack: stack}}
			unlock, err := m.Lock(ctx, d, "create")
			if err != nil {
				t.Fatal(err)
			}
			leaseFile := filepath.Join(w.StoreDir, ".kopscalico-leases", d.Name+".json")
			if _, err := os.Stat(leaseFile); err != nil {
				t.Fatalf("the lease is not at %s: %v", leaseFile, err)
			}

			w.must(nil, append(kops.CreateClusterArgs(d), kops.MarkOnCreate(stack)...)...)
			owner, found, err := m.LiveOwner(ctx, d)
			if err != nil || !found || owner != stack {
				t.Fatalf("after create the live mark is %q (found %v, %v), want %q", owner, found, err, stack)
			}
			names, err := m.ListClusters(ctx, d.StateStore)
			if err != nil || !slices.Equal(names, []string{d.Name}) {
				t.Errorf("kops get clusters with the lease in the store: %v, %v; want only %s", names, err, d.Name)
			}

			other := &kops.Manager{Runner: m.Runner, Leases: s3lease.Open, Owner: kops.Ownership{Stack: "organization/kopscalico/other"}}
			var held *lease.HeldError
			if _, err := other.Lock(ctx, d, "update"); !errors.As(err, &held) || held.Holder.Stack != stack {
				t.Errorf("a second lock: %v; want the lease held by %s", err, stack)
			}

			if err := m.Delete(ctx, d); err != nil {
				t.Fatalf("kops delete cluster with the lease in the store: %v", err)
			}
			if _, err := os.Stat(filepath.Join(w.StoreDir, d.Name, "config")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the cluster's config is left after the delete: %v", err)
			}
			if r := w.run(nil, "get", "clusters", "-o", "yaml"); r.exit != 1 {
				t.Errorf("kops get clusters after the delete: exit %d, %s%s; want no clusters", r.exit, r.stdout, r.stderr)
			}
			unlock()
			if _, err := os.Stat(leaseFile); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the lease is left after unlock: %v", err)
			}
		})
	}
}
