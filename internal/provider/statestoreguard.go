package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// stateStoreGuard stands between the state-store bucket (and its settings)
// and the clusters in it: the engine deletes it after the clusters and
// before the store, and its delete refuses while kops lists any cluster in
// the store, so the state of a running cluster is never deleted.
type stateStoreGuard struct{ p *Provider }

func (g *stateStoreGuard) check(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	var args pluginapi.StateStoreGuardArgs
	if err := pluginapi.Decode(req.News, &args); err != nil {
		return plugin.CheckResponse{}, err
	}
	c := newChecks(&args, req.News)
	if args.StateStore == "" {
		c.fail(&args.StateStore, errors.New("required"))
	}
	return c.response(req.News), nil
}

// diff: a new URL is an update of what is guarded, never a replacement (a
// replacement would delete the guard, and check the old store, mid-update).
func (g *stateStoreGuard) diff(_ context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	return updateDiff(pluginapi.StateStoreGuard, req.OldInputs, req.NewInputs), nil
}

func (g *stateStoreGuard) create(_ context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	var args pluginapi.StateStoreGuardArgs
	if err := pluginapi.Decode(req.Properties, &args); err != nil {
		return plugin.CreateResponse{}, err
	}
	return plugin.CreateResponse{ID: resource.ID(args.StateStore), Properties: req.Properties}, nil
}

func (g *stateStoreGuard) read(_ context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	return plugin.ReadResponse{ReadResult: plugin.ReadResult{ID: req.ID, Inputs: req.Inputs, Outputs: req.State}}, nil
}

func (g *stateStoreGuard) update(_ context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
	return plugin.UpdateResponse{Properties: req.NewInputs}, nil
}

// delete refuses while the store holds a cluster: this stack's, if its
// delete failed, or anyone else's.
func (g *stateStoreGuard) delete(ctx context.Context, req plugin.DeleteRequest) (plugin.DeleteResponse, error) {
	var args pluginapi.StateStoreGuardArgs
	if err := pluginapi.Decode(req.Outputs, &args); err != nil {
		return plugin.DeleteResponse{}, err
	}
	names, err := (&cluster{p: g.p}).manager(ctx, req.URN, "").ListClusters(ctx, args.StateStore)
	if err != nil {
		return plugin.DeleteResponse{}, fmt.Errorf("the kops state store %s is kept: %w", args.StateStore, err)
	}
	if len(names) > 0 {
		return plugin.DeleteResponse{}, fmt.Errorf("the kops state store %s still holds cluster(s) %s: it is kept, since deleting it would orphan their cloud resources; "+
			"delete them first (`kops delete cluster --name <name> --yes`), then run destroy again", args.StateStore, strings.Join(names, ", "))
	}
	return plugin.DeleteResponse{}, nil
}
