package calico

import (
	"fmt"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
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
func Decide(mode config.ManifestMode, kops kopsrelease.Version, manifestPath string) Decision {
	modeKey := config.FullKey(config.KeyCalicoManifest)
	if mode == config.ManifestNever {
		return Decision{Reason: modeKey + " is never"}
	}
	if manifestPath != "" {
		return Decision{
			Apply: true, Source: "file " + manifestPath, ManifestPath: manifestPath,
			Reason: config.FullKey(config.KeyCalicoManifestPath) + " is set: deploying " + manifestPath + " as given (for clusters with networking: cni {} whose owner runs Calico; on a cluster whose Calico kops manages this would fight kops)",
		}
	}
	if mode == config.ManifestAlways {
		return Decision{Apply: true, Source: TemplateName, Reason: modeKey + " is always"}
	}
	if kops.IsZero() {
		return Decision{Reason: fmt.Sprintf("no kops version is pinned (%s; the cluster is not driven by kops here): auto applies the manifest only on kops 1.7.x; set %s=always to apply it anyway",
			config.FullKey(config.KeyKopsVersion), modeKey)}
	}
	v := kops.MinorString()
	switch {
	case !kops.AtLeast(kopsrelease.CalicoAddon):
		return Decision{Apply: true, Source: TemplateName,
			Reason: fmt.Sprintf("kops %s ships Calico 2.2 (calico/node v1.2.1), which predates the policy support; upgrading it to Calico 2.4.1", v)}
	case kops.AtLeast(kopsrelease.ForcedServerSideApply):
		return Decision{Reason: fmt.Sprintf("kops %s manages Calico as an addon and re-applies it with forced server-side apply; applying this manifest would fight it", v)}
	default:
		return Decision{Reason: fmt.Sprintf("kops %s manages Calico as an addon (with policy support) and re-applies it on every kops update; applying this manifest would fight it", v)}
	}
}
