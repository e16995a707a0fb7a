package e2e_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/infra"
)

// cliConfigStack is a stack of program with the required keys set, and
// declare, which puts the repository's Pulumi.yaml declarations (changed by
// mutate) in its project settings.
func cliConfigStack(t *testing.T, program pulumi.RunFunc) (*pulumitest.Stack, context.Context, func(mutate func(*workspace.Project))) {
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	s := pulumitest.New(t, program, pulumitest.Config{
		"kopscalico:clusterName":        pulumitest.Plain("calico.e2e.example.com"),
		"kopscalico:region":             pulumitest.Plain("us-east-1"),
		"kopscalico:zones":              pulumitest.Plain("us-east-1a,us-east-1b"),
		"kopscalico:adminAccess":        pulumitest.Plain("203.0.113.0/24"),
		"kopscalico:kopsVersion":        pulumitest.Plain("1.36"),
		"kopscalico:securityGroupCheck": pulumitest.Plain("off"),
		"kopscalico:policiesDir":        pulumitest.Plain(filepath.Join(root, "policies")),
	}, pulumitest.Options{Tools: []string{}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	declare := func(mutate func(*workspace.Project)) {
		t.Helper()
		repo, err := workspace.LoadProject(filepath.Join(root, "Pulumi.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		ws := s.Stack.Workspace()
		proj, err := ws.ProjectSettings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		proj.Config = repo.Config
		if mutate != nil {
			mutate(proj)
		}
		if err := ws.SaveProjectSettings(ctx, proj); err != nil {
			t.Fatal(err)
		}
	}
	return s, ctx, declare
}

// TestConfigListFormsThroughCLI: with the repository's Pulumi.yaml, the real
// CLI hands the program a list set as one comma-separated string (the form
// the README shows) and as a --path list alike, and the program reads both
// as the same list. Declared as an array, the CLI refuses the string before
// the program runs: why Pulumi.yaml leaves the lists untyped.
func TestConfigListFormsThroughCLI(t *testing.T) {
	// The program reads the config as infra.Program does, exporting the lists.
	program := func(ctx *pulumi.Context) error {
		cfg, err := infra.LoadConfig(ctx)
		if err != nil {
			return err
		}
		ctx.Export("zones", pulumi.ToStringArray(cfg.Cluster.Zones))
		ctx.Export("adminAccess", pulumi.ToStringArray(cfg.Cluster.AdminAccess.Strings()))
		return nil
	}
	s, ctx, declare := cliConfigStack(t, program)
	want := func(form string) {
		t.Helper()
		out := s.Outputs()
		if got := fmt.Sprint(out["zones"].Value); got != "[us-east-1a us-east-1b]" {
			t.Errorf("%s: zones = %s", form, got)
		}
		if got := fmt.Sprint(out["adminAccess"].Value); got != "[203.0.113.0/24]" {
			t.Errorf("%s: adminAccess = %s", form, got)
		}
	}

	declare(nil)
	s.Up()
	want("comma-separated")

	if err := s.Stack.RemoveAllConfig(ctx, []string{"kopscalico:zones", "kopscalico:adminAccess"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Stack.SetAllConfigWithOptions(ctx, auto.ConfigMap{
		"kopscalico:zones[0]":       pulumitest.Plain("us-east-1a"),
		"kopscalico:zones[1]":       pulumitest.Plain("us-east-1b"),
		"kopscalico:adminAccess[0]": pulumitest.Plain("203.0.113.0/24"),
	}, &auto.ConfigOptions{Path: true}); err != nil {
		t.Fatal(err)
	}
	s.Up()
	want("--path list")

	s.SetConfig(pulumitest.Config{"kopscalico:zones": pulumitest.Plain("us-east-1a,us-east-1b")})
	array, str := "array", "string"
	declare(func(p *workspace.Project) {
		zones := p.Config["kopscalico:zones"]
		zones.Type, zones.Items = &array, &workspace.ProjectConfigItemsType{Type: str}
		p.Config["kopscalico:zones"] = zones
	})
	if _, err := s.TryUp(); err == nil || !strings.Contains(err.Error(), "must be of type 'array<string>'") {
		t.Errorf("declared as an array, the CLI should refuse the comma-separated string: %v", err)
	}
}
