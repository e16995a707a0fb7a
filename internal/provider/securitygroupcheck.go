package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/sgcheck"
)

// securityGroupCheck runs the read-only EC2 check at create and update, and
// again whenever an input changes (the cluster's revision among them); its
// read keeps the result and its delete does nothing (kops owns the groups).
type securityGroupCheck struct {
	p *Provider
}

func (s *securityGroupCheck) check(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	var args pluginapi.SecurityGroupCheckArgs
	if err := pluginapi.Decode(req.News, &args); err != nil {
		return plugin.CheckResponse{}, err
	}
	c := newChecks(&args, req.News)
	_, err := config.ParseSGCheckMode(string(args.Mode))
	if err == nil && args.Mode == config.SGCheckOff {
		err = fmt.Errorf("must be enforce or warn: with off the program registers no check")
	}
	c.fail(&args.Mode, err)
	_, err = config.ParseEncapsulation(string(args.Encapsulation))
	c.fail(&args.Encapsulation, err)
	_, err = config.ParseSrcDstCheck(string(args.AWSSrcDstCheck))
	c.fail(&args.AWSSrcDstCheck, err)
	for _, required := range []*string{&args.ClusterName, &args.Region} {
		if *required == "" {
			c.fail(required, errors.New("required"))
		}
	}
	return c.response(req.News), nil
}

func (s *securityGroupCheck) inspect(ctx context.Context, args pluginapi.SecurityGroupCheckArgs) (sgcheck.Report, error) {
	api, err := s.p.deps.NewEC2(ctx, args.Region)
	if err != nil {
		return sgcheck.Report{}, err
	}
	return sgcheck.Check(ctx, api, sgcheck.Input{
		ClusterName:    args.ClusterName,
		Encapsulation:  args.Encapsulation,
		AWSSrcDstCheck: args.AWSSrcDstCheck,
		EtcdDatastore:  args.EtcdDatastore,
		KopsBlocksEtcd: args.KopsBlocksEtcd,
	})
}

// run checks the groups, logs the table and returns the ID (the cluster's
// name) and the state; in enforce
// mode a missing expectation is an error (nothing is recorded, so the next
// up checks again).
func (s *securityGroupCheck) run(ctx context.Context, urn resource.URN, inputs, old resource.PropertyMap, preview bool) (resource.ID, resource.PropertyMap, error) {
	var args pluginapi.SecurityGroupCheckArgs
	if err := pluginapi.Decode(inputs, &args); err != nil {
		return "", nil, err
	}
	if preview {
		return resource.ID(args.ClusterName), previewState(pluginapi.SecurityGroupCheck, inputs, old), nil
	}
	report, err := s.inspect(ctx, args)
	if err != nil {
		if args.Mode == config.SGCheckEnforce {
			return "", nil, fmt.Errorf("security-group check: %w (set %s=%s to only warn)", err, config.FullKey(config.KeySecurityGroupCheck), config.SGCheckWarn)
		}
		s.p.logf(ctx, diag.Warning, urn, "security-group check: %v", err)
		props, err := pluginapi.Encode(pluginapi.SecurityGroupCheckState{SecurityGroupCheckArgs: args, Summary: map[string]string{"error": err.Error()}})
		return resource.ID(args.ClusterName), props, err
	}
	switch {
	case report.Failed() && args.Mode == config.SGCheckEnforce:
		s.p.logf(ctx, diag.Error, urn, "%s", report)
		return "", nil, fmt.Errorf("security-group check: cluster %s misses %d of %d expectations Calico cross-subnet needs (see the table above); fix them through kops (kops update cluster --yes), not by hand, or set %s=%s to only warn",
			args.ClusterName, len(report.Missing()), len(report.Expectations), config.FullKey(config.KeySecurityGroupCheck), config.SGCheckWarn)
	case report.Failed() || len(report.BlockedByKops()) > 0:
		s.p.logf(ctx, diag.Warning, urn, "%s", report)
	default:
		s.p.logf(ctx, diag.Info, urn, "%s", report)
	}
	props, err := pluginapi.Encode(pluginapi.SecurityGroupCheckState{SecurityGroupCheckArgs: args, Summary: report.Summary()})
	return resource.ID(args.ClusterName), props, err
}
