package infra

import (
	"context"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/calico"
	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/sgcheck"
)

// newEC2Func builds the EC2 client for a region (sgcheck.NewEC2, or a fake).
type newEC2Func func(ctx context.Context, region string) (sgcheck.EC2API, error)

// checkSecurityGroups checks, read-only, that the cluster's kops security
// groups and instances carry what Calico cross-subnet needs, once
// clusterReady resolves (the cluster exists and validates). The report is
// logged as a table and returned (the program exports it as the
// securityGroupCheck stack output: expectation id -> "ok", "skipped: ..." or
// "missing in <group>: ...").
//
//   - kopscalico:securityGroupCheck off: no AWS call; the returned output is
//     an empty map.
//   - preview: no AWS call; the output is unknown until `pulumi up`.
//   - warn: missing expectations (and AWS errors) are logged as warnings.
//   - enforce: they are logged as errors and fail `pulumi up`.
//
// Nothing is ever added to the groups: kops owns them and removes rules it did
// not create on ports it models (179 and 4789 among them).
func checkSecurityGroups(ctx *pulumi.Context, cfg config.Config, clusterReady pulumi.Output, newEC2 newEC2Func) (pulumi.StringMapOutput, error) {
	mode := cfg.SecurityGroupCheck
	switch mode {
	case config.SGCheckOff:
		return pulumi.StringMap{}.ToStringMapOutput(), nil
	case config.SGCheckWarn, config.SGCheckEnforce:
	default:
		return pulumi.StringMapOutput{}, fmt.Errorf("%s:%s %q: want enforce, warn or off", config.Namespace, config.KeySecurityGroupCheck, mode)
	}
	if newEC2 == nil {
		return pulumi.StringMapOutput{}, fmt.Errorf("security-group check: no EC2 client factory")
	}
	in := sgcheck.Input{
		ClusterName:    cfg.Cluster.Name,
		Encapsulation:  cfg.Calico.Encapsulation,
		AWSSrcDstCheck: cfg.Calico.AWSSrcDstCheck,
		EtcdDatastore:  calicoUsesEtcd(cfg),
	}

	if ctx.DryRun() {
		_ = ctx.Log.Info(fmt.Sprintf("security-group check (%s) for cluster %s runs at `pulumi up`: preview makes no AWS call", mode, in.ClusterName), nil)
		out := pulumi.UnsafeUnknownOutput(nil).ApplyT(func(any) map[string]string { return nil }).(pulumi.StringMapOutput)
		return out, nil
	}

	region := cfg.Cluster.Region
	summary := clusterReady.ApplyTWithContext(ctx.Context(), func(c context.Context, _ any) (map[string]string, error) {
		fail := func(err error) (map[string]string, error) {
			if mode == config.SGCheckEnforce {
				_ = ctx.Log.Error(err.Error(), nil)
				return nil, fmt.Errorf("%w (set %s:%s=warn to only warn)", err, config.Namespace, config.KeySecurityGroupCheck)
			}
			_ = ctx.Log.Warn(err.Error(), nil)
			return map[string]string{"error": err.Error()}, nil
		}
		api, err := newEC2(c, region)
		if err != nil {
			return fail(fmt.Errorf("security-group check: %w", err))
		}
		report, err := sgcheck.Check(c, api, in)
		if err != nil {
			return fail(fmt.Errorf("security-group check: %w", err))
		}
		switch {
		case !report.Failed():
			_ = ctx.Log.Info(report.String(), nil)
		case mode == config.SGCheckEnforce:
			_ = ctx.Log.Error(report.String(), nil)
			return nil, fmt.Errorf("security-group check: cluster %s misses %d of %d expectations Calico cross-subnet needs (see the table above); fix them through kops (kops update cluster --yes), not by hand, or set %s:%s=warn to only warn",
				in.ClusterName, len(report.Missing()), len(report.Expectations), config.Namespace, config.KeySecurityGroupCheck)
		default:
			_ = ctx.Log.Warn(report.String(), nil)
		}
		return report.Summary(), nil
	})
	// The report holds no secret; clusterReady may be (a kubeconfig).
	out := pulumi.Unsecret(summary).(pulumi.StringMapOutput)
	return out, nil
}

// calicoUsesEtcd reports whether the cluster's Calico keeps its data in
// kops's etcd, so nodes must reach the control plane on TCP 4001: kops 1.7's
// own Calico 2.2, or the Calico 2.4 upgrade manifest this program applies
// (calico.Decide with the pinned kops version). A manifest from
// calicoManifestPath is the owner's business: kops does not open etcd for it.
func calicoUsesEtcd(cfg config.Config) bool {
	if cfg.Calico.ManifestPath != "" {
		return false
	}
	if d, err := calico.Decide(cfg.Calico.UpgradeManifest, cfg.Kops.Version, ""); err == nil && d.Apply {
		return true
	}
	minor, err := config.KopsMinor(cfg.Kops.Version)
	return err == nil && minor == 7
}
