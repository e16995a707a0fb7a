package infra

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/calico"
	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// patchForceAnnotation makes pulumi-kubernetes's server-side apply take over
// fields another manager set. The embedded manifest upgrades objects kops 1.7
// created (calico-config, calico-node, ...), so taking them over is the point.
const patchForceAnnotation = "pulumi.com/patchForce"

// deployCalico deploys the Calico manifest where it applies (calico.Decide):
// the tutorial's upgrade manifest rendered for this cluster on kops 1.7.x or
// when config says always, or the manifest file from config. Elsewhere it
// logs why it skips and deploys nothing: modern kops owns Calico. Every
// object is registered through the cluster's provider after dependsOn; the
// registered resources are returned so later stages (policies) can wait for
// the upgraded Calico.
func deployCalico(ctx *pulumi.Context, cfg config.Config, provider pulumi.ProviderResource, dependsOn []pulumi.Resource) ([]pulumi.Resource, error) {
	decision := calico.Decide(cfg.Calico.UpgradeManifest, cfg.Kops.Version, cfg.Calico.ManifestPath)
	if !decision.Apply {
		_ = ctx.Log.Info("Calico manifest skipped: "+decision.Reason, nil)
		return nil, nil
	}

	var objects []map[string]any
	var err error
	if decision.ManifestPath != "" {
		objects, err = calico.LoadManifest(decision.ManifestPath)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", config.FullKey(config.KeyCalicoManifestPath), err)
		}
	} else {
		objects, err = renderUpgradeManifest(cfg)
		if err != nil {
			return nil, err
		}
		for _, obj := range objects {
			setAnnotation(obj, patchForceAnnotation, "true")
		}
	}
	_ = ctx.Log.Info(fmt.Sprintf("Calico manifest: deploying %s (%d objects): %s", decision.Source, len(objects), decision.Reason), nil)

	opts := []pulumi.ResourceOption{pulumi.Provider(provider)}
	if len(dependsOn) > 0 {
		opts = append(opts, pulumi.DependsOn(dependsOn))
	}
	seen := map[string]bool{}
	var out []pulumi.Resource
	for _, obj := range objects {
		name := calicoResourceName(obj)
		if seen[name] {
			return nil, fmt.Errorf("calico manifest %s: %s is declared twice", decision.Source, name)
		}
		seen[name] = true
		res, err := deployObject(ctx, name, obj, opts...)
		if err != nil {
			return nil, fmt.Errorf("calico manifest %s: %w", decision.Source, err)
		}
		out = append(out, res)
	}
	return out, nil
}

// renderUpgradeManifest renders the tutorial's manifest with this stack's
// cluster name, region, pod CIDR and encapsulation.
func renderUpgradeManifest(cfg config.Config) ([]map[string]any, error) {
	mode, err := calico.IPIPModeFor(cfg.Calico.Encapsulation)
	if err != nil {
		return nil, fmt.Errorf("%s: %w; set %s=%s", config.FullKey(config.KeyEncapsulation), err, config.FullKey(config.KeyCalicoManifest), config.ManifestNever)
	}
	if cfg.Cluster.Region == "" {
		return nil, fmt.Errorf("%s is required for the Calico upgrade manifest (its k8s-ec2-srcdst controller calls EC2 in that region)", config.FullKey(config.KeyRegion))
	}
	objects, err := calico.Render(calico.Params{
		ClusterName: cfg.Cluster.Name,
		Region:      cfg.Cluster.Region,
		PodCIDR:     cfg.Calico.PodCIDR,
		IPIPMode:    mode,
		EtcdMembers: calico.EtcdMemberNames(cfg.Cluster.Zones, cfg.Cluster.ControlPlaneCount),
	})
	if err != nil {
		return nil, fmt.Errorf("calico upgrade manifest: %w", err)
	}
	return objects, nil
}

// calicoResourceName is the Pulumi name of a manifest object:
// calico-<kind>-<namespace>-<name>, or calico-<kind>-<name> when it is
// cluster-scoped, lowercased.
func calicoResourceName(obj map[string]any) string {
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	name, _ := meta["name"].(string)
	parts := []string{"calico", kind}
	if ns != "" {
		parts = append(parts, ns)
	}
	parts = append(parts, name)
	return strings.ToLower(strings.Join(parts, "-"))
}

func setAnnotation(obj map[string]any, key, value string) {
	meta, ok := obj["metadata"].(map[string]any)
	if !ok {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	ann, ok := meta["annotations"].(map[string]any)
	if !ok {
		ann = map[string]any{}
		meta["annotations"] = ann
	}
	ann[key] = value
}

// calicoDataplaneOutput is the stack output of the dataplane check.
const calicoDataplaneOutput = "calicoDataplane"

// calicoDataplane is the plugin's reading of Calico's dataplane (IP pools,
// calico_backend, Felix, the calico-node rollout) against the one the stack
// asks for: read when it is created and whenever the Cluster's revision
// changes, recorded, so a preview shows it from any machine.
type calicoDataplane struct {
	pulumi.CustomResourceState

	// Summary is subject -> "ok: …", or what differs and its fix.
	Summary pulumi.StringMapOutput `pulumi:"summary"`
}

// checkCalicoDataplane registers the dataplane check in its mode
// (calicoDataplaneCheck), and returns its summary; it registers nothing when
// that is off, or when Calico keeps its pools in etcd (kops 1.7's, the
// legacy manifest's), where the Kubernetes API cannot read them.
func checkCalicoDataplane(ctx *pulumi.Context, cfg config.Config, prov pulumi.ProviderResource, kubeconfig pulumi.StringOutput, revision pulumi.StringInput, after []pulumi.Resource) (pulumi.StringMapOutput, bool, error) {
	if cfg.CalicoDataplaneCheck == config.SGCheckOff {
		return pulumi.StringMapOutput{}, false, nil
	}
	if calicoUsesEtcd(cfg) {
		_ = ctx.Log.Info("Calico dataplane check skipped: this Calico keeps its IP pools in etcd, which the Kubernetes API does not show", nil)
		return pulumi.StringMapOutput{}, false, nil
	}
	if revision == nil {
		revision = pulumi.String("")
	}
	args := &pluginapi.CalicoDataplaneArgs{CalicoDesired: pluginapi.CalicoDesired{
		Encapsulation:  cfg.Calico.Encapsulation,
		AWSSrcDstCheck: cfg.Calico.AWSSrcDstCheck,
		Mode:           cfg.CalicoDataplaneCheck,
	}}
	inputs, err := wireInputs(args, lateInput{&args.Kubeconfig, kubeconfig}, lateInput{&args.ClusterRevision, revision})
	if err != nil {
		return pulumi.StringMapOutput{}, false, err
	}
	check := &calicoDataplane{}
	err = ctx.RegisterResource(pluginapi.CalicoDataplaneType, "calico-dataplane", inputs, check, pulumi.Provider(prov), pulumi.DependsOn(after))
	if err != nil {
		return pulumi.StringMapOutput{}, false, err
	}
	return check.Summary, true, nil
}
