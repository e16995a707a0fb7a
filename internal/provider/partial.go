package provider

import (
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil/rpcerror"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"

	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// partialFailure is the error of a create or update that changed the cluster
// and then failed: the engine records the resource with this ID and state
// (so destroy can delete it) and reports the reasons. A plain error would
// leave the cluster out of the state.
func partialFailure(id resource.ID, state, inputs any, reasons []string) error {
	msg := strings.Join(reasons, "; ")
	outProps, err := pluginapi.Encode(state)
	if err != nil {
		return err
	}
	inProps, err := pluginapi.Encode(inputs)
	if err != nil {
		return err
	}
	opts := plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true}
	rpcState, err := plugin.MarshalProperties(outProps, opts)
	if err != nil {
		return err
	}
	rpcInputs, err := plugin.MarshalProperties(inProps, opts)
	if err != nil {
		return err
	}
	return rpcerror.WithDetails(rpcerror.New(codes.Unknown, msg), &pulumirpc.ErrorResourceInitFailed{
		Id:         string(id),
		Properties: rpcState,
		Inputs:     rpcInputs,
		Reasons:    reasons,
	})
}
