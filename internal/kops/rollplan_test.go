package kops_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
)

// TestPredictRoll: which groups a change rolls, and why, from the spec and
// groups kops printed and the desired cluster; a change kops applies to the
// autoscaling group or the Calico addon alone rolls nothing.
func TestPredictRoll(t *testing.T) {
	t.Parallel()
	calico := kopstest.Fixture(t, "calico-1.34.yaml")
	kubenet := kopstest.Fixture(t, "kubenet-1.34-real.yaml")
	declared := func(mut func(g *config.InstanceGroup)) kops.DeclaredGroups {
		gs := kops.DeclaredGroups{
			{Name: "nodes-eu-west-1a", MachineType: "t3.medium", MinSize: 1, MaxSize: 1, Zones: []string{"eu-west-1a"}},
			{Name: "nodes-eu-west-1b", MachineType: "t3.medium", MinSize: 1, MaxSize: 1, Zones: []string{"eu-west-1b"}},
			{Name: "gpu", MachineType: "g5.xlarge", MinSize: 0, MaxSize: 4, Zones: []string{"eu-west-1a"}, Taints: []string{"nvidia.com/gpu=present:NoSchedule"}},
		}
		if mut != nil {
			mut(&gs[2])
		}
		return gs
	}
	for _, tc := range []struct {
		name        string
		spec        []byte
		igs         []byte
		change      func(d *kops.Desired)
		needsUpdate []string
		want        []string // "group: reasons"
	}{
		{name: "nothing changes", spec: calico, igs: withGPU(t)},
		{name: "node count: the ASG only", spec: calico, igs: withGPU(t), change: func(d *kops.Desired) { d.NodeCount = 4 }},
		{name: "access: security groups only", spec: calico, igs: withGPU(t), change: func(d *kops.Desired) {
			d.SSHAccess = config.MustParseAccessList("198.51.100.0/24")
		}},
		{name: "Calico pool mode: the addon only", spec: calico, igs: withGPU(t), change: func(d *kops.Desired) { d.Encapsulation = config.EncapVXLAN }},
		{name: "node size rolls the shorthand's groups", spec: calico, igs: withGPU(t), change: func(d *kops.Desired) { d.NodeSize = "m6i.large" }, want: []string{
			"nodes-eu-west-1a: machineType t3.medium -> m6i.large",
			"nodes-eu-west-1b: machineType t3.medium -> m6i.large",
		}},
		{name: "control-plane size", spec: calico, igs: withGPU(t), change: func(d *kops.Desired) { d.ControlPlaneSize = "m6i.large" }, want: []string{
			"control-plane-eu-west-1a: machineType t3.medium -> m6i.large",
		}},
		{name: "kubernetes version rolls every group, the undeclared one too, control plane first", spec: calico, igs: withGPU(t),
			change: func(d *kops.Desired) { d.KubernetesVersion = "1.35.0" }, want: []string{
				"control-plane-eu-west-1a: kubernetesVersion 1.34.2 -> 1.35.0",
				"gpu: kubernetesVersion 1.34.2 -> 1.35.0",
				"nodes-eu-west-1a: kubernetesVersion 1.34.2 -> 1.35.0",
				"nodes-eu-west-1b: kubernetesVersion 1.34.2 -> 1.35.0",
			}},
		{name: "kubenet to Calico rolls every group", spec: kubenet, igs: kopstest.Fixture(t, "instancegroups-1.34.yaml"), want: []string{
			"control-plane-eu-west-1a: networking kubenet -> calico",
			"nodes-eu-west-1a: networking kubenet -> calico",
			"nodes-eu-west-1b: networking kubenet -> calico",
		}},
		{name: "declared group resized and rolling settings: no roll", spec: calico, igs: withGPU(t), change: func(d *kops.Desired) {
			d.InstanceGroups = declared(func(g *config.InstanceGroup) { g.MinSize, g.MaxSize, g.MaxSurge = 1, 6, "2" })
		}},
		{name: "declared group's labels, taints and type", spec: calico, igs: withGPU(t), change: func(d *kops.Desired) {
			d.InstanceGroups = declared(func(g *config.InstanceGroup) {
				g.MachineType, g.NodeLabels, g.Taints = "g5.2xlarge", map[string]string{"gpu": "a10g"}, nil
			})
		}, want: []string{
			`gpu: machineType g5.xlarge -> g5.2xlarge; nodeLabels {"kops.k8s.io/instancegroup":"gpu"} -> {"gpu":"a10g","kops.k8s.io/instancegroup":"gpu"}; taints ["nvidia.com/gpu=present:NoSchedule"] -> (unset)`,
		}},
		{name: "spot price in the launch template", spec: calico, igs: withGPU(t), change: func(d *kops.Desired) {
			d.InstanceGroups = declared(func(g *config.InstanceGroup) { g.MaxPrice = "0.90" })
		}, want: []string{"gpu: maxPrice (unset) -> 0.90"}},
		{name: "a recorded NeedsUpdate", spec: calico, igs: withGPU(t), needsUpdate: []string{"gpu"}, want: []string{"gpu: " + kops.NeedsUpdateReason}},
		{name: "a created group rolls nothing", spec: calico, igs: kopstest.Fixture(t, "instancegroups-1.34.yaml"), change: func(d *kops.Desired) {
			d.InstanceGroups = declared(nil)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := kopstest.Desired("1.34")
			if tc.change != nil {
				tc.change(&d)
			}
			plan, err := kops.PredictRoll(tc.spec, tc.igs, d, tc.needsUpdate)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range plan.Groups {
				got = append(got, g.Name+": "+strings.Join(g.Reasons, "; "))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
		})
	}
}

// A spec or groups not recorded yet (a create) plan no roll.
func TestPredictRollWithoutARecord(t *testing.T) {
	t.Parallel()
	if plan, err := kops.PredictRoll(nil, nil, kopstest.Desired("1.34"), []string{"x"}); err != nil || len(plan.Groups) != 0 {
		t.Errorf("plan %+v, %v", plan, err)
	}
}
