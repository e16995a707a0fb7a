package kops_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

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

// TestRollRollsThePlannedGroupsWithTheOptions: a node size change rolls the
// shorthand's groups kops lists, named by --instance-group, with the roll's
// options and, from kops 1.32, an admin credential sized to the roll's
// bound; a group kops lists beyond the plan is warned and recorded, not
// rolled; kops 1.31 warns of its one-hour credential.
func TestRollRollsThePlannedGroupsWithTheOptions(t *testing.T) {
	t.Parallel()
	listed := "NAME\t\t\tSTATUS\t\tNEEDUPDATE\tREADY\tMIN\tTARGET\tMAX\tNODES\n" +
		"control-plane-eu-west-1a\tNeedsUpdate\t1\t\t0\t1\t1\t1\t1\n" +
		"nodes-eu-west-1a\tNeedsUpdate\t1\t\t0\t1\t1\t1\t1\n" +
		"nodes-eu-west-1b\tNeedsUpdate\t1\t\t0\t1\t1\t1\t1\n\nMust specify --yes to rolling-update.\n"
	for _, tc := range []struct {
		kops, version, roll, warn string
		rollFails                 bool
		needsUpdate               []string
	}{
		{kops: "1.36", version: "1.36.2", roll: "--instance-group nodes-eu-west-1a,nodes-eu-west-1b --drain-timeout 20m0s --validate-count 3 --admin=1h5m0s", needsUpdate: []string{"control-plane-eu-west-1a"}},
		{kops: "1.32", version: "1.32.1", roll: "--instance-group nodes-eu-west-1a,nodes-eu-west-1b --drain-timeout 20m0s --validate-count 3 --admin=1h5m0s", needsUpdate: []string{"control-plane-eu-west-1a"}},
		{kops: "1.31", version: "1.31.0", roll: "--instance-group nodes-eu-west-1a,nodes-eu-west-1b --drain-timeout 20m0s --validate-count 3", warn: "mints for one hour", needsUpdate: []string{"control-plane-eu-west-1a"}},
		{kops: "1.30", version: "1.30.4", roll: "--instance-group nodes-eu-west-1a,nodes-eu-west-1b --drain-timeout 20m0s --validate-count 3", needsUpdate: []string{"control-plane-eu-west-1a"}},
		{kops: "1.36", version: "1.36.2", roll: "--instance-group nodes-eu-west-1a,nodes-eu-west-1b --drain-timeout 20m0s --validate-count 3 --admin=1h5m0s", rollFails: true,
			needsUpdate: []string{"nodes-eu-west-1a", "nodes-eu-west-1b", "control-plane-eu-west-1a"}},
	} {
		t.Run(tc.kops, func(t *testing.T) {
			t.Parallel()
			d := kopstest.Desired(tc.kops)
			d.NodeSize = "m6i.large"
			rollAnswer := kopstest.OK("")
			if tc.rollFails {
				rollAnswer = kopstest.Fail(1, "error draining node")
			}
			k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
				"version": kopstest.OK("Client version: " + tc.version + " (git-v" + tc.version + ")\n"),
				"get cluster --name demo.example.com -o yaml":          kopstest.OK(string(kopstest.Fixture(t, "calico-1.34.yaml"))),
				"get instancegroups":                                   kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
				"replace -f -":                                         kopstest.OK(""),
				"update cluster --name demo.example.com --yes":         kopstest.OK(""),
				"rolling-update cluster --name demo.example.com":       kopstest.OK(listed),
				"rolling-update cluster --name demo.example.com --yes": rollAnswer,
				"validate cluster":                                     kopstest.OK(""),
			}}
			m := newManager(t, k)
			m.Roll = kops.RollOptions{DrainTimeout: 20 * time.Minute, ValidateCount: 3}
			var warnings []string
			m.Warnf = func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }
			writeKubeconfig(t, m.Kubeconfig)
			o, err := m.Ensure(context.Background(), d)
			if (err != nil) != tc.rollFails {
				t.Fatalf("err = %v", err)
			}
			var rolls []string
			for _, c := range k.Commands() {
				if strings.HasPrefix(c, "rolling-update cluster --name demo.example.com --yes") {
					rolls = append(rolls, strings.TrimPrefix(c, "rolling-update cluster --name demo.example.com --yes "))
				}
			}
			if len(rolls) != 1 || rolls[0] != tc.roll {
				t.Errorf("rolls %q, want one with %q", rolls, tc.roll)
			}
			if !reflect.DeepEqual(o.NeedsUpdate, tc.needsUpdate) {
				t.Errorf("NeedsUpdate %q, want %q", o.NeedsUpdate, tc.needsUpdate)
			}
			all := strings.Join(warnings, "\n")
			if !strings.Contains(all, "kops lists control-plane-eu-west-1a of cluster demo.example.com as NeedsUpdate, beyond the roll the preview planned") {
				t.Errorf("no warning of the group beyond the plan:\n%s", all)
			}
			if got := strings.Contains(all, "mints for one hour"); got != (tc.warn != "") {
				t.Errorf("one-hour credential warned %v, want %v:\n%s", got, tc.warn != "", all)
			}
		})
	}
}

// rollNeededRunner answers for a converted cluster with nothing to apply,
// whose control plane and nodes-eu-west-1a kops lists as NeedsUpdate.
func rollNeededRunner(t *testing.T) *kopstest.Runner {
	return &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"version": kopstest.OK("Client version: 1.34.1 (git-v1.34.1)\n"),
		"get cluster --name demo.example.com -o yaml":          kopstest.OK(string(kopstest.Fixture(t, "calico-1.34.yaml"))),
		"get instancegroups":                                   kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
		"update cluster --name demo.example.com":               kopstest.OK("\nNo changes need to be applied\n"),
		"rolling-update cluster --name demo.example.com":       kopstest.OK(string(kopstest.Fixture(t, "rolling-update-needed.txt"))),
		"rolling-update cluster --name demo.example.com --yes": kopstest.OK(""),
		"validate cluster":                                     kopstest.OK(""),
	}}
}

// TestRollRollsARecordedNeedsUpdate: a group kops listed at the last up, but
// that up did not roll, is in the plan and rolled this time.
func TestRollRollsARecordedNeedsUpdate(t *testing.T) {
	t.Parallel()
	k := rollNeededRunner(t)
	m := newManager(t, k)
	m.NeedsUpdate = []string{"control-plane-eu-west-1a"}
	writeKubeconfig(t, m.Kubeconfig)
	o, err := m.Ensure(context.Background(), kopstest.Desired("1.34"))
	if err != nil {
		t.Fatal(err)
	}
	if got := k.Commands()[len(k.Commands())-2]; got != "rolling-update cluster --name demo.example.com --yes --instance-group control-plane-eu-west-1a --admin=1h5m0s" {
		t.Errorf("roll: %s", got)
	}
	if !reflect.DeepEqual(o.NeedsUpdate, []string{"nodes-eu-west-1a"}) {
		t.Errorf("NeedsUpdate %q: nodes-eu-west-1a is listed beyond the plan", o.NeedsUpdate)
	}
}

// TestRollFinishingAnEarlierRunRollsEveryListedGroup: a run that finishes
// a killed run's work (Finishing) rolls every group kops lists, and leaves
// none to roll.
func TestRollFinishingAnEarlierRunRollsEveryListedGroup(t *testing.T) {
	t.Parallel()
	k := rollNeededRunner(t)
	m := newManager(t, k)
	m.Finishing = true
	writeKubeconfig(t, m.Kubeconfig)
	o, err := m.Ensure(context.Background(), kopstest.Desired("1.34"))
	if err != nil {
		t.Fatal(err)
	}
	if got := k.Commands()[len(k.Commands())-2]; got != "rolling-update cluster --name demo.example.com --yes --instance-group control-plane-eu-west-1a,nodes-eu-west-1a --admin=1h5m0s" {
		t.Errorf("roll: %s", got)
	}
	if len(o.NeedsUpdate) > 0 || !o.Rolled {
		t.Errorf("outcome %+v: every listed group is rolled", o)
	}
}

// TestRollLeftByAFailedRunIsRecorded: a run that stops before its roll
// (update --yes failing after the replace) leaves its planned groups to
// roll, so the next run plans them though the spec is already converted.
func TestRollLeftByAFailedRunIsRecorded(t *testing.T) {
	t.Parallel()
	k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"version": kopstest.OK("Client version: 1.34.1 (git-v1.34.1)\n"),
		"get cluster --name demo.example.com -o yaml":  kopstest.OK(string(kopstest.Fixture(t, "kubenet-1.34-real.yaml"))),
		"get instancegroups":                           kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
		"replace -f -":                                 kopstest.OK(""),
		"update cluster --name demo.example.com --yes": kopstest.Fail(1, "Error: injected"),
	}}
	m := newManager(t, k)
	o, err := m.Ensure(context.Background(), kopstest.Desired("1.34"))
	if err == nil || !o.Converted {
		t.Fatalf("outcome %+v, %v", o, err)
	}
	if want := []string{"control-plane-eu-west-1a", "nodes-eu-west-1a", "nodes-eu-west-1b"}; !reflect.DeepEqual(o.NeedsUpdate, want) {
		t.Errorf("NeedsUpdate %q, want %q", o.NeedsUpdate, want)
	}
	plan, err := kops.PredictRoll(kopstest.Fixture(t, "calico-1.34.yaml"), kopstest.Fixture(t, "instancegroups-1.34.yaml"), kopstest.Desired("1.34"), o.NeedsUpdate)
	if err != nil || len(plan.Groups) != 3 {
		t.Errorf("the next run's plan %+v, %v", plan, err)
	}
}
