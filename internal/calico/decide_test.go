package calico

import (
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		mode, kops, path string
		apply            bool
		source           string
		reason           string
	}{
		{"auto", "1.7.1", "", true, TemplateName, "kops 1.7.1 ships Calico 2.2"},
		{"auto", "1.7", "", true, TemplateName, "predates the policy support"},
		{"auto", "v1.7.0", "", true, TemplateName, "upgrading it to Calico 2.4.1"},
		{"auto", "1.34", "", false, "", "kops 1.34 manages Calico as an addon and re-applies it with forced server-side apply; applying this manifest would fight it"},
		{"auto", "1.28.4", "", false, "", "forced server-side apply"},
		{"auto", "1.8.0", "", false, "", "re-applies it on every kops update"},
		{"always", "1.34", "", true, TemplateName, "calicoUpgradeManifest is always"},
		{"never", "1.7.1", "", false, "", "calicoUpgradeManifest is never"},
		{"never", "1.34", "/tmp/calico.yaml", false, "", "never"},
		{"auto", "1.34", "/tmp/calico.yaml", true, "file /tmp/calico.yaml", "networking: cni"},
		{"always", "1.7.1", "/tmp/calico.yaml", true, "file /tmp/calico.yaml", "calicoManifestPath is set"},
		{"auto", "", "", false, "", "no kops version is pinned"},
		{"always", "", "", true, TemplateName, "calicoUpgradeManifest is always"},
	}
	for _, tt := range tests {
		d, err := Decide(tt.mode, tt.kops, tt.path)
		if err != nil {
			t.Errorf("Decide(%q, %q, %q): %v", tt.mode, tt.kops, tt.path, err)
			continue
		}
		if d.Apply != tt.apply || d.Source != tt.source || !strings.Contains(d.Reason, tt.reason) {
			t.Errorf("Decide(%q, %q, %q) = %+v\nwant apply=%v source=%q reason containing %q", tt.mode, tt.kops, tt.path, d, tt.apply, tt.source, tt.reason)
		}
		if d.Apply && tt.path != "" && d.ManifestPath != tt.path {
			t.Errorf("ManifestPath = %q", d.ManifestPath)
		}
	}
}

func TestDecideErrors(t *testing.T) {
	if _, err := Decide("sometimes", "1.7.1", ""); err == nil || !strings.Contains(err.Error(), "calicoUpgradeManifest") {
		t.Errorf("bad mode: %v", err)
	}
	if _, err := Decide("auto", "latest", ""); err == nil || !strings.Contains(err.Error(), "kopsVersion") {
		t.Errorf("bad version: %v", err)
	}
	// An unparsable version does not matter when it is not consulted.
	if d, err := Decide("always", "", ""); err != nil || !d.Apply {
		t.Errorf("always without version: %+v %v", d, err)
	}
}
