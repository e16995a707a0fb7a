package e2e_test

import (
	"fmt"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/infra"
)

// TestConfigInstanceGroupsThroughCLI: with the repository's Pulumi.yaml
// (instanceGroups untyped, default ""), groups set with --path, numbers and
// all, reach the program as the list it reads; unset, the shorthand.
func TestConfigInstanceGroupsThroughCLI(t *testing.T) {
	program := func(ctx *pulumi.Context) error {
		cfg, err := infra.LoadConfig(ctx)
		if err != nil {
			return err
		}
		ctx.Export("groups", pulumi.String(fmt.Sprintf("%+v", cfg.Cluster.InstanceGroups)))
		ctx.Export("shorthand", pulumi.Bool(cfg.Cluster.InstanceGroups == nil))
		return nil
	}
	s, ctx, declare := cliConfigStack(t, program)
	declare(nil)
	s.Up()
	if out := s.Outputs(); out["shorthand"].Value != true {
		t.Errorf("unset: groups %v", out["groups"].Value)
	}
	if err := s.Stack.SetAllConfigWithOptions(ctx, auto.ConfigMap{
		"kopscalico:instanceGroups[0].name":        pulumitest.Plain("gpu"),
		"kopscalico:instanceGroups[0].machineType": pulumitest.Plain("g5.xlarge"),
		"kopscalico:instanceGroups[0].minSize":     pulumitest.Plain("0"),
		"kopscalico:instanceGroups[0].maxSize":     pulumitest.Plain("3"),
		"kopscalico:instanceGroups[0].maxSurge":    pulumitest.Plain("25%"),
		"kopscalico:instanceGroups[0].zones[0]":    pulumitest.Plain("us-east-1a"),
	}, &auto.ConfigOptions{Path: true}); err != nil {
		t.Fatal(err)
	}
	s.Up()
	const want = "[{Name:gpu Role: MachineType:g5.xlarge MinSize:0 MaxSize:3 Zones:[us-east-1a] MaxPrice: MixedInstancesPolicy:<nil> NodeLabels:map[] Taints:[] MaxSurge:25% MaxUnavailable:}]"
	if got := fmt.Sprint(s.Outputs()["groups"].Value); got != want {
		t.Errorf("--path groups read as\n %s\nwant\n %s", got, want)
	}
}
