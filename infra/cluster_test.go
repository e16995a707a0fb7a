package infra

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

const tokKopsProvider = "pulumi:providers:" + pluginapi.Name

// The cluster is the plugin's custom resource, on an explicit provider
// instance, protected outside dev, waiting for the bucket, with the desired
// cluster as inputs named like the config keys.
func TestClusterIsAPluginResource(t *testing.T) {
	t.Parallel()
	for _, stack := range []string{"dev", "prod"} {
		rec, _, err := runProgramOn(t, stack, devConfig(), true)
		if err != nil {
			t.Fatal(err)
		}
		prov := rec.one(t, tokKopsProvider)
		for key, want := range map[string]string{
			config.KeyKopsBinary:           "kops",
			config.KeyKopsTimeout:          "10m0s",
			config.KeyRollingUpdateTimeout: "1h0m0s",
			config.KeyStateStore:           "s3://kops-state-calico-dev-example-com",
			// The owner mark of the stack's clusters: the SDK's default
			// organization under mocks.
			"stack": "organization/kopscalico/" + stack,
		} {
			if got := propString(t, prov.Inputs, key); got != want {
				t.Errorf("provider %s = %q, want %q", key, got, want)
			}
		}
		c := rec.one(t, pluginapi.ClusterType)
		if c.Name != "cluster" {
			t.Errorf("cluster resource name %q: it must not follow clusterName, or a rename would replace the cluster", c.Name)
		}
		if !strings.Contains(c.Provider, tokKopsProvider+"::kops::") {
			t.Errorf("cluster provider %q", c.Provider)
		}
		if c.Protect != (stack != "dev") {
			t.Errorf("%s: protect = %v", stack, c.Protect)
		}
		for path, want := range map[string]string{
			"clusterName":       "calico.dev.example.com",
			"stateStore":        "s3://kops-state-calico-dev-example-com",
			"zones.1":           "us-east-1b",
			"nodeCount":         "2",
			"controlPlaneCount": "1",
			"kopsVersion":       "1.34",
			"encapsulation":     "ipip",
			"adminAccess.0":     "203.0.113.0/24",
		} {
			if got := propString(t, c.Inputs, strings.Split(path, ".")...); got != want {
				t.Errorf("input %s = %q, want %q", path, got, want)
			}
		}
		// Through the guard, which waits for every setting of the store.
		if deps := strings.Join(c.Deps, " "); !strings.Contains(deps, pluginapi.StateStoreGuardType) {
			t.Errorf("the cluster does not wait for the state store guard: %s", deps)
		}
	}
}

// The switches reach the plugin, and the SSH key is handed over as content
// (the plugin may run where the path means nothing).
func TestClusterSwitchesAndSSHKey(t *testing.T) {
	t.Parallel()
	key := filepath.Join(t.TempDir(), "id.pub")
	if err := os.WriteFile(key, []byte("ssh-ed25519 AAAA ops\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := devConfig()
	cfg[config.KeySSHPublicKey] = key
	cfg[config.KeyAdoptExisting] = "true"
	cfg[config.KeyAllowReplacement] = "true"
	rec, _, err := runProgram(t, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	c := rec.one(t, pluginapi.ClusterType)
	for k, want := range map[string]string{config.KeySSHPublicKey: "ssh-ed25519 AAAA ops\n", config.KeyAdoptExisting: "true", config.KeyAllowReplacement: "true"} {
		if got := propString(t, c.Inputs, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestClusterRefusesWorldOpenAccess(t *testing.T) {
	t.Parallel()
	cfg := devConfig()
	cfg[config.KeySSHAccess] = `["0.0.0.0/0"]`
	rec, _, err := runProgram(t, cfg, true)
	if err == nil || !strings.Contains(err.Error(), "kopscalico:allowWorldAccess") {
		t.Errorf("err = %v", err)
	}
	if len(rec.byType(pluginapi.ClusterType)) != 0 {
		t.Error("cluster registered despite the bad config")
	}
}

// The security-group check is a plugin resource on the same provider,
// re-run on the cluster's revision; it expects etcd reachability only for an
// etcd-backed Calico, and knows kops 1.20+ never opens it.
func TestSecurityGroupCheckResource(t *testing.T) {
	t.Parallel()
	cfg := devConfig()
	cfg[config.KeySecurityGroupCheck] = "off"
	rec, _, err := runProgram(t, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.byType(pluginapi.SecurityGroupCheckType)); n != 0 {
		t.Errorf("securityGroupCheck=off registered %d checks", n)
	}
	tests := []struct {
		kops, path    string
		mode          config.ManifestMode
		etcd, blocked bool
	}{
		{"1.34", "", config.ManifestAuto, false, true},
		{"1.34", "", config.ManifestAlways, true, true}, // Calico 2.4 from the manifest
		{"1.7.1", "", config.ManifestAuto, true, false},
		{"1.7.1", "", config.ManifestNever, true, false}, // kops 1.7's own Calico 2.2
		{"1.7.1", "/tmp/calico.yaml", config.ManifestAuto, false, false},
	}
	for _, tt := range tests {
		cfg := devConfig()
		cfg[config.KeySecurityGroupCheck] = "warn"
		cfg[config.KeyKopsVersion] = tt.kops
		cfg[config.KeyCalicoManifest] = string(tt.mode)
		cfg[config.KeyCalicoManifestPath] = tt.path
		cfg[config.KeyEncapsulation] = "ipip"
		if tt.path != "" {
			if err := os.WriteFile(tt.path, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: kube-system\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		rec, _, err := runProgram(t, cfg, true)
		if err != nil {
			t.Fatalf("%+v: %v", tt, err)
		}
		check := rec.one(t, pluginapi.SecurityGroupCheckType)
		if got := propString(t, check.Inputs, "etcdDatastore"); got != boolString(tt.etcd) {
			t.Errorf("%+v: etcdDatastore = %s", tt, got)
		}
		if got := propString(t, check.Inputs, "kopsBlocksEtcd"); got != boolString(tt.blocked) {
			t.Errorf("%+v: kopsBlocksEtcd = %s", tt, got)
		}
		if propString(t, check.Inputs, "mode") != "warn" || propString(t, check.Inputs, "region") != "us-east-1" {
			t.Errorf("inputs %v", check.Inputs)
		}
		if !strings.Contains(check.Provider, tokKopsProvider+"::kops::") || !strings.Contains(strings.Join(check.Deps, " "), pluginapi.ClusterType) {
			t.Errorf("check provider %q, deps %v", check.Provider, check.Deps)
		}
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
