package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestWorkflowsPassActionlint: a broken workflow fails the suite here, not
// on the first pull request after it lands.
func TestWorkflowsPassActionlint(t *testing.T) {
	bin, err := filepath.Abs("../.tools/bin/actionlint")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("KOPSCALICO_E2E") != "" {
			t.Fatalf("actionlint is not built (%v): run tools/build.sh actionlint", err)
		}
		t.Skip("actionlint not built; `make test` builds it")
	}
	files, _ := filepath.Glob("../.github/workflows/*.yml")
	if len(files) == 0 {
		t.Fatal("no workflows found")
	}
	cmd := exec.Command(bin, append([]string{"-no-color"}, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
}

// TestPreviewWorkflowShape: the pull-request workflow previews the dev stack
// with a PR comment and a diff, on OIDC credentials, with least privilege.
func TestPreviewWorkflowShape(t *testing.T) {
	b, err := os.ReadFile("../.github/workflows/preview.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		On          map[string]any    `json:"on"`
		OnYAML11    map[string]any    `json:"true"` // YAML 1.1 reads a bare on: as true
		Permissions map[string]string `json:"permissions"`
		Jobs        map[string]struct {
			Steps []struct {
				Uses string            `json:"uses"`
				With map[string]any    `json:"with"`
				Env  map[string]string `json:"env"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	if wf.On == nil {
		wf.On = wf.OnYAML11
	}
	if _, ok := wf.On["pull_request"]; !ok {
		t.Error("preview does not run on pull_request")
	}
	want := map[string]string{"id-token": "write", "pull-requests": "write", "contents": "read"}
	for k, v := range want {
		if wf.Permissions[k] != v {
			t.Errorf("permission %s = %q, want %q", k, wf.Permissions[k], v)
		}
	}
	if len(wf.Permissions) != len(want) {
		t.Errorf("permissions beyond the three needed: %v", wf.Permissions)
	}
	var sawOIDC, sawPreview bool
	for _, job := range wf.Jobs {
		for _, s := range job.Steps {
			switch {
			case strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@"):
				sawOIDC = s.With["role-to-assume"] != nil
			case strings.HasPrefix(s.Uses, "pulumi/actions@"):
				if s.Uses != "pulumi/actions@v7" {
					t.Errorf("pulumi/actions pinned to %q, want the current major v7", s.Uses)
				}
				sawPreview = s.With["command"] == "preview" && s.With["comment-on-pr"] == true && s.With["diff"] == true && s.With["stack-name"] == "dev"
				if !strings.Contains(s.Env["PULUMI_CONFIG_PASSPHRASE"], "secrets.") {
					t.Error("the passphrase does not come from a secret")
				}
				if !strings.Contains(s.With["cloud-url"].(string), "vars.") {
					t.Error("the backend does not come from a repository variable")
				}
			}
			if s.Uses != "" && !strings.Contains(s.Uses, "@v") {
				t.Errorf("action %q not pinned to a released version", s.Uses)
			}
		}
	}
	if !sawOIDC || !sawPreview {
		t.Errorf("OIDC credentials step: %v, preview with comment and diff on dev: %v", sawOIDC, sawPreview)
	}
}
