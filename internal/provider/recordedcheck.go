package provider

import (
	"context"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// recordedCheck is what every resource that checks the cluster when it is
// created or updated and records the result shares: read keeps the record
// (what was true when it ran), delete does nothing, and a change of any
// input but the nodiff ones, or one not known yet, is an update, which
// checks again. A check that fails records nothing, so the next up checks
// again; a preview checks nothing and shows the result unknown.
type recordedCheck struct{ wire pluginapi.Resource }

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
