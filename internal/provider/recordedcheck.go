package provider

import (
	"context"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// recordedCheck is the CRUD of a resource that checks the cluster when it is
// created or updated and records the result: read keeps the record (what was
// true when it ran), delete does nothing, and a change of any input but the
// ignored ones, or one not known yet, is an update, which checks again.
type recordedCheck struct {
	// run checks and returns the outputs to record (at preview: with the
	// result unknown, and no check made); an error records nothing, so the
	// next up checks again.
	run func(ctx context.Context, urn resource.URN, inputs resource.PropertyMap, preview bool) (resource.PropertyMap, error)
	// id is the ID of a created resource.
	id func(inputs resource.PropertyMap) (resource.ID, error)
	// ignored are the inputs whose change alone checks nothing again.
	ignored map[string]bool
}

func (c recordedCheck) diff(_ context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	var changed []resource.PropertyKey
	detailed := map[string]plugin.PropertyDiff{}
	for _, k := range propertyKeys(req.OldInputs, req.NewInputs) {
		key := resource.PropertyKey(k)
		if c.ignored[k] || (!req.NewInputs[key].ContainsUnknowns() && req.OldInputs[key].DeepEquals(req.NewInputs[key])) {
			continue
		}
		changed = append(changed, key)
		detailed[k] = plugin.PropertyDiff{Kind: plugin.DiffUpdate, InputDiff: true}
	}
	if len(changed) == 0 {
		return plugin.DiffResponse{Changes: plugin.DiffNone}, nil
	}
	return plugin.DiffResponse{Changes: plugin.DiffSome, ChangedKeys: changed, DetailedDiff: detailed}, nil
}

func (c recordedCheck) create(ctx context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	props, err := c.run(ctx, req.URN, req.Properties, req.Preview)
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	id, err := c.id(req.Properties)
	return plugin.CreateResponse{ID: id, Properties: props}, err
}

func (c recordedCheck) update(ctx context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
	props, err := c.run(ctx, req.URN, req.NewInputs, req.Preview)
	return plugin.UpdateResponse{Properties: props}, err
}

// read keeps the recorded result; `pulumi up --replace` checks again.
func (c recordedCheck) read(_ context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	return plugin.ReadResponse{ReadResult: plugin.ReadResult{ID: req.ID, Inputs: req.Inputs, Outputs: req.State}}, nil
}

func (c recordedCheck) delete(context.Context, plugin.DeleteRequest) (plugin.DeleteResponse, error) {
	return plugin.DeleteResponse{}, nil
}
