package e2e_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/provider"
)

// `pulumi package get-schema` on the built plugin prints the wire structs'
// schema, which the CLI binds (it fails on a schema it cannot).
func TestPluginSchema(t *testing.T) {
	if os.Getenv(controlplane.EnvRequireE2E) != "1" {
		t.Skip("an end-to-end test: set KOPSCALICO_E2E=1")
	}
	tools := controlplane.RequireTools(t, "pulumi")
	plugin := filepath.Join(pulumitest.ProviderPluginDir(t), "pulumi-resource-"+pluginapi.Name)
	cmd := exec.Command(tools["pulumi"], "package", "get-schema", plugin)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PULUMI_HOME="+t.TempDir(), "PULUMI_SKIP_UPDATE_CHECK=true")
	cmd.Stderr = &testWriter{t}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pulumi package get-schema: %v", err)
	}
	want, err := pluginapi.Schema(provider.Version)
	if err != nil {
		t.Fatal(err)
	}
	var printed, built map[string]any
	if err := json.Unmarshal(out, &printed); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if err := json.Unmarshal(want, &built); err != nil {
		t.Fatal(err)
	}
	if c, ok := printed["config"].(map[string]any); ok && len(c) == 0 {
		delete(printed, "config") // the CLI prints the empty package config
	}
	if diff := cmp.Diff(built, printed); diff != "" {
		t.Errorf("get-schema (-built +printed):\n%s", diff)
	}
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(b []byte) (int, error) {
	w.t.Logf("%s", b)
	return len(b), nil
}
