package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/lease"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// clusterRef is a kops cluster of the stack and where its lease lives.
type clusterRef struct{ name, stateStore, region string }

// stackClusters are the kops clusters the stack's state records (a
// Cluster's inputs, resource or pending operation) and the one its
// configuration asks for (cfg, unless it did not parse): a run killed in
// its first create leaves the cluster and its lease with nothing recorded.
func stackClusters(dep apitype.DeploymentV3, cfg *config.Config) []clusterRef {
	var refs []clusterRef
	add := func(r clusterRef) {
		if r.name == "" || r.stateStore == "" {
			return
		}
		for _, have := range refs {
			if have.name == r.name && have.stateStore == r.stateStore {
				return
			}
		}
		refs = append(refs, r)
	}
	// A Cluster's inputs are named as the config keys.
	fromInputs := func(in map[string]any) {
		str := func(key string) string { s, _ := in[key].(string); return s }
		add(clusterRef{name: str(config.KeyClusterName), stateStore: str(config.KeyStateStore), region: str(config.KeyRegion)})
	}
	for _, r := range dep.Resources {
		if string(r.Type) == pluginapi.ClusterType {
			fromInputs(r.Inputs)
		}
	}
	for _, op := range dep.PendingOperations {
		if string(op.Resource.Type) == pluginapi.ClusterType {
			fromInputs(op.Resource.Inputs)
		}
	}
	if cfg != nil && cfg.Cluster.Manage {
		add(clusterRef{name: cfg.Cluster.Name, stateStore: cfg.StateStore.URL(), region: cfg.Cluster.Region})
	}
	return refs
}

// leaseRepair is what repair needs to judge and break the clusters' leases.
type leaseRepair struct {
	open   func(ctx context.Context, stateStore, region string) (lease.Store, error) // s3lease.Open
	killed func(host string, pid int) bool                                           // killedHere
	stack  string                                                                    // the Pulumi stack, for the advice
}

// repairLeases reports each cluster's lease; with yes it breaks those of
// a killed run (killedHere: this host, a process gone), and only those: a
// lease of a live process or another host is left, with its holder and the
// break-lease command. A store it cannot read is reported, not fatal: the
// next up names any lease left; a break that fails is an error.
func (lr leaseRepair) repairLeases(ctx context.Context, clusters []clusterRef, yes bool, out io.Writer) error {
	var errs []error
	for _, c := range clusters {
		store, err := lr.open(ctx, c.stateStore, c.region)
		var h lease.Holder
		if err == nil {
			h, err = lease.Read(ctx, store, c.name)
		}
		if errors.Is(err, lease.ErrNotFound) {
			continue
		}
		if err != nil {
			fmt.Fprintf(out, "kopscalico: could not read the lease of kops cluster %s in %s (%v); the next up names any lease left\n", c.name, c.stateStore, err)
			continue
		}
		held := fmt.Sprintf("kops cluster %s in %s has a %s, until %s", c.name, c.stateStore, h.Describe(), h.Expires.Format(time.RFC3339))
		breakCmd := lease.BreakCommand(c.stateStore, c.name, c.region, h.ID)
		switch {
		case !lr.killed(h.Host, h.PID):
			fmt.Fprintf(out, "kopscalico: %s; repair leaves it: its run is on another host or its process still runs. "+
				"If that run is gone and no kops command of it still runs, break it: %s\n", held, breakCmd)
		case !yes:
			fmt.Fprintf(out, "kopscalico: %s: a killed run's (pid %d no longer runs on this host); kopscalico --stack %s repair --yes breaks it\n", held, h.PID, lr.stack)
		default:
			if _, err := lease.Break(ctx, store, c.name, h.ID); err != nil {
				errs = append(errs, fmt.Errorf("%s: a killed run's, but breaking it failed: %w", held, err))
				continue
			}
			fmt.Fprintf(out, "kopscalico: %s: a killed run's (pid %d no longer runs on this host): broken\n", held, h.PID)
		}
	}
	return errors.Join(errs...)
}
