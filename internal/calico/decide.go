package calico

import (
	"fmt"

	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

// Modes of the upgrade manifest (config kopscalico:calicoUpgradeManifest).
const (
	ModeAuto   = "auto"
	ModeAlways = "always"
	ModeNever  = "never"
)

// Decision says whether to deploy a Calico manifest, which one, and why.
type Decision struct {
	Apply bool
	// Source is TemplateName, or "file <path>" for the config's manifest.
	Source string
	// ManifestPath is set when the manifest comes from config.
	ManifestPath string
	Reason       string
}

// Decide applies the manifest only where it applies:
//
//   - mode never: nothing.
//   - a manifest path from config (a networking: cni cluster whose owner runs
//     Calico, which kops does not manage): that file, in modes auto and always.
//   - mode always: the embedded manifest, whatever the kops version.
//   - mode auto: the embedded manifest only on kops 1.7.x, whose own Calico
//     (calico/node v1.2.1, kube-policy-controller v0.6.0) predates the
//     policy support the tutorial upgrades to. From kops 1.8 on Calico is a
//     kops addon with policy support that kops re-applies on every update
//     (since 1.23 with forced server-side apply), so the manifest is skipped.
func Decide(mode, kopsVersion, manifestPath string) (Decision, error) {
	switch mode {
	case ModeNever:
		return Decision{Reason: "kopscalico:calicoUpgradeManifest is never"}, nil
	case ModeAuto, ModeAlways:
	default:
		return Decision{}, fmt.Errorf("kopscalico:calicoUpgradeManifest %q: want auto, always or never", mode)
	}
	if manifestPath != "" {
		return Decision{
			Apply: true, Source: "file " + manifestPath, ManifestPath: manifestPath,
			Reason: "kopscalico:calicoManifestPath is set: deploying " + manifestPath + " as given (for clusters with networking: cni {} whose owner runs Calico; on a cluster whose Calico kops manages this would fight kops)",
		}, nil
	}
	if mode == ModeAlways {
		return Decision{Apply: true, Source: TemplateName, Reason: "kopscalico:calicoUpgradeManifest is always"}, nil
	}
	if kopsVersion == "" {
		return Decision{Reason: "no kops version is pinned (kopscalico:kopsVersion; the cluster is not driven by kops here): auto applies the manifest only on kops 1.7.x; set kopscalico:calicoUpgradeManifest=always to apply it anyway"}, nil
	}
	v, err := kopsrelease.Parse(kopsVersion)
	if err != nil {
		return Decision{}, fmt.Errorf("kopscalico:kopsVersion: %w", err)
	}
	switch {
	case v.AtLeast(kopsrelease.Oldest) && !v.AtLeast(kopsrelease.CalicoAddon):
		return Decision{Apply: true, Source: TemplateName,
			Reason: fmt.Sprintf("kops %s ships Calico 2.2 (calico/node v1.2.1), which predates the policy support; upgrading it to Calico 2.4.1", kopsVersion)}, nil
	case !v.AtLeast(kopsrelease.Oldest):
		return Decision{Reason: fmt.Sprintf("kops %s is older than 1.7: the upgrade manifest is written for kops 1.7's Calico; set kopscalico:calicoUpgradeManifest=always to apply it anyway", kopsVersion)}, nil
	case v.AtLeast(kopsrelease.ForcedServerSideApply):
		return Decision{Reason: fmt.Sprintf("kops %s manages Calico as an addon and re-applies it with forced server-side apply; applying this manifest would fight it", kopsVersion)}, nil
	default:
		return Decision{Reason: fmt.Sprintf("kops %s manages Calico as an addon (with policy support) and re-applies it on every kops update; applying this manifest would fight it", kopsVersion)}, nil
	}
}
