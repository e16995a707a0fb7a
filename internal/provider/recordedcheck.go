package provider

import (
	"context"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// recordedCheck is what every resource that checks the cluster when it is
// created or updated and records the result shares: read keeps the record
// (what was true when it ran), delete does nothing, and a change of any
// input but the nodiff ones, or one not known yet, is an update, which
// checks again. A check that fails records nothing, so the next up checks
// again; a preview checks nothing and shows the result unknown.
type recordedCheck struct {
	wire pluginapi.Resource
	checker
}

// checker is a recorded check's own part: its Check of the inputs, and the
// check itself.
type checker interface {
	check(ctx context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error)
	// run checks and returns the resource's ID and the state to record; at
	// preview it checks nothing (old is the recorded state of an update).
	run(ctx context.Context, urn resource.URN, inputs, old resource.PropertyMap, preview bool) (resource.ID, resource.PropertyMap, error)
}

func (c recordedCheck) create(ctx context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	id, props, err := c.run(ctx, req.URN, req.Properties, nil, req.Preview)
	return plugin.CreateResponse{ID: id, Properties: props}, err
}

func (c recordedCheck) update(ctx context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
	_, props, err := c.run(ctx, req.URN, req.NewInputs, req.OldOutputs, req.Preview)
	return plugin.UpdateResponse{Properties: props}, err
}

func (c recordedCheck) diff(_ context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	return updateDiff(c.wire, req.OldInputs, req.NewInputs), nil
}

// read keeps the recorded result; `pulumi up --replace` checks again.
func (c recordedCheck) read(_ context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	return plugin.ReadResponse{ReadResult: plugin.ReadResult{ID: req.ID, Inputs: req.Inputs, Outputs: req.State}}, nil
}

func (c recordedCheck) delete(context.Context, plugin.DeleteRequest) (plugin.DeleteResponse, error) {
	return plugin.DeleteResponse{}, nil
}
