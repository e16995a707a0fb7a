package infra

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/calico"
	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// securityGroupCheck is the plugin's read-only EC2 check of what Calico
// cross-subnet needs from the cluster's kops security groups. It runs when
// it is created and whenever its inputs change (the cluster's revision among
// them), never on a run that changes nothing, and its delete does nothing.
type securityGroupCheck struct {
	pulumi.CustomResourceState

	// Summary is expectation id -> "ok", "skipped: …", "missing in …: …" or
	// "blocked by kops: …".
	Summary pulumi.StringMapOutput `pulumi:"summary"`
}

// checkSecurityGroups registers the check of the named cluster; revision is
// the Cluster's (nil for a cluster the program does not manage: checked once).
func checkSecurityGroups(ctx *pulumi.Context, cfg config.Config, prov pulumi.ProviderResource, revision pulumi.StringInput, after []pulumi.Resource) (*securityGroupCheck, error) {
	if revision == nil {
		revision = pulumi.String("")
	}
	args := &pluginapi.SecurityGroupCheckArgs{
		ClusterName:    cfg.Cluster.Name,
		Region:         cfg.Cluster.Region,
		Encapsulation:  cfg.Calico.Encapsulation,
		AWSSrcDstCheck: cfg.Calico.AWSSrcDstCheck,
		EtcdDatastore:  calicoUsesEtcd(cfg),
		KopsBlocksEtcd: cfg.Kops.Version.AtLeast(kopsrelease.EtcdBlockedFromNodes),
		Mode:           cfg.SecurityGroupCheck,
	}
	inputs, err := wireInputs(args, lateInput{&args.ClusterRevision, revision})
	if err != nil {
		return nil, err
	}
	check := &securityGroupCheck{}
	err = ctx.RegisterResource(pluginapi.SecurityGroupCheckType, "security-groups", inputs, check, pulumi.Provider(prov), pulumi.DependsOn(after))
	if err != nil {
		return nil, err
	}
	return check, nil
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
	if calico.Decide(cfg.Calico.UpgradeManifest, cfg.Kops.Version, "").Apply {
		return true
	}
	v := cfg.Kops.Version
	return !v.IsZero() && !v.AtLeast(kopsrelease.CalicoAddon)
}
