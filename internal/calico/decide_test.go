package calico

import (
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode       config.ManifestMode
		kops, path string
		apply      bool
		source     string
		reason     string
	}{
		{config.ManifestAuto, "1.7.1", "", true, TemplateName, "kops 1.7 ships Calico 2.2"},
		{config.ManifestAuto, "1.7", "", true, TemplateName, "predates the policy support"},
		{config.ManifestAuto, "v1.7.0", "", true, TemplateName, "upgrading it to Calico 2.4.1"},
		{config.ManifestAuto, "1.34", "", false, "", "kops 1.34 manages Calico as an addon and re-applies it with forced server-side apply; applying this manifest would fight it"},
		{config.ManifestAuto, "1.28.4", "", false, "", "forced server-side apply"},
		{config.ManifestAuto, "1.8.0", "", false, "", "re-applies it on every kops update"},
		{config.ManifestAlways, "1.34", "", true, TemplateName, "calicoUpgradeManifest is always"},
		{config.ManifestNever, "1.7.1", "", false, "", "calicoUpgradeManifest is never"},
		{config.ManifestNever, "1.34", "/tmp/calico.yaml", false, "", "never"},
		{config.ManifestAuto, "1.34", "/tmp/calico.yaml", true, "file /tmp/calico.yaml", "networking: cni"},
		{config.ManifestAlways, "1.7.1", "/tmp/calico.yaml", true, "file /tmp/calico.yaml", "calicoManifestPath is set"},
		{config.ManifestAuto, "", "", false, "", "no kops version is pinned"},
		{config.ManifestAlways, "", "", true, TemplateName, "calicoUpgradeManifest is always"},
	}
	for _, tt := range tests {
		var v kopsrelease.Version
		if tt.kops != "" {
			v = kopsrelease.MustParse(tt.kops)
		}
		d := Decide(tt.mode, v, tt.path)
		if d.Apply != tt.apply || d.Source != tt.source || !strings.Contains(d.Reason, tt.reason) {
			t.Errorf("Decide(%q, %q, %q) = %+v\nwant apply=%v source=%q reason containing %q", tt.mode, tt.kops, tt.path, d, tt.apply, tt.source, tt.reason)
		}
		if d.Apply && tt.path != "" && d.ManifestPath != tt.path {
			t.Errorf("ManifestPath = %q", d.ManifestPath)
		}
	}
}
