package kops_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
)

// group is an InstanceGroup in one line: name, role, machine type, min and
// max, zone.
type group struct {
	name, role, machineType string
	min, max                int
	zone                    string
}

func groupsYAML(groups []group) []byte {
	var docs [][]byte
	for _, g := range groups {
		docs = append(docs, []byte(fmt.Sprintf("apiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata:\n  name: %s\nspec:\n  machineType: %s\n  maxSize: %d\n  minSize: %d\n  role: %s\n  subnets:\n  - %s\n",
			g.name, g.machineType, g.max, g.min, g.role, g.zone)))
	}
	return kops.JoinDocuments(docs)
}

// The groups section (ReconcileInstanceGroups) as a table: what it changes,
// which existing groups it replaces, which it restores, what it refuses.
func TestGroupsSection(t *testing.T) {
	t.Parallel()
	cp := group{"control-plane-eu-west-1a", "Master", "t3.medium", 1, 1, "eu-west-1a"}
	a := group{"nodes-eu-west-1a", "Node", "t3.medium", 1, 1, "eu-west-1a"}
	b := group{"nodes-eu-west-1b", "Node", "t3.medium", 1, 1, "eu-west-1b"}
	bastion := group{"bastions", "Bastion", "t3.micro", 1, 1, "eu-west-1a"}
	uneven := func(g group, min, max int) group { g.min, g.max = min, max; return g }
	for _, c := range []struct {
		name     string
		groups   []group
		desired  func(*kops.Desired)
		changes  []string
		replaced []string
		restored []string
		wantErr  string
	}{
		{"as desired", []group{cp, a, b, bastion}, nil, nil, nil, nil, ""},
		{"node size: every Node group, bastion untouched", []group{cp, a, b, bastion}, func(d *kops.Desired) { d.NodeSize = "m6i.large" },
			[]string{"instancegroup nodes-eu-west-1a: machineType t3.medium -> m6i.large", "instancegroup nodes-eu-west-1b: machineType t3.medium -> m6i.large"},
			[]string{"nodes-eu-west-1a", "nodes-eu-west-1b"}, nil, ""},
		{"control-plane size", []group{cp, a, b}, func(d *kops.Desired) { d.ControlPlaneSize = "c6i.large" },
			[]string{"instancegroup control-plane-eu-west-1a: machineType t3.medium -> c6i.large"}, []string{"control-plane-eu-west-1a"}, nil, ""},
		{"empty sizes keep the groups'", []group{cp, a, b}, func(d *kops.Desired) { d.NodeSize, d.ControlPlaneSize = "", "" }, nil, nil, nil, ""},
		{"node count spread as kops create cluster does", []group{cp, a, b}, func(d *kops.Desired) { d.NodeCount = 5 },
			[]string{"instancegroup nodes-eu-west-1a: size 1..1 -> 3", "instancegroup nodes-eu-west-1b: size 1..1 -> 2"},
			[]string{"nodes-eu-west-1a", "nodes-eu-west-1b"}, nil, ""},
		{"an uneven split of the right total is kept", []group{cp, uneven(a, 2, 2), uneven(b, 0, 0)}, nil, nil, nil, nil, ""},
		{"min and max apart: evened", []group{cp, uneven(a, 1, 3), b}, nil,
			[]string{"instancegroup nodes-eu-west-1a: size 1..3 -> 1"}, []string{"nodes-eu-west-1a"}, nil, ""},
		{"a zone's lost Node group restored and counted", []group{cp, a}, func(d *kops.Desired) { d.NodeCount = 4 },
			[]string{"instancegroup nodes-eu-west-1b: restored for zone eu-west-1b (from nodes-eu-west-1a)", "instancegroup nodes-eu-west-1a: size 1..1 -> 2", "instancegroup nodes-eu-west-1b: size 1..1 -> 2"},
			[]string{"nodes-eu-west-1a"}, []string{"nodes-eu-west-1b"}, ""},
		{"control-plane count refused", []group{cp, a, b}, func(d *kops.Desired) { d.ControlPlaneCount = 3 }, nil, nil, nil,
			"runs 1 control-plane nodes and kopscalico:controlPlaneCount is 3"},
		{"no Node group", []group{cp, bastion}, nil, nil, nil, nil, "has no Node instance group to run kopscalico:nodeCount=2 workers"},
		{"no group at all", nil, nil, nil, nil, nil, "kops cluster demo.example.com has no instance groups"},
	} {
		d := kopstest.Desired("1.34")
		if c.desired != nil {
			c.desired(&d)
		}
		conv, err := kops.ReconcileInstanceGroups(groupsYAML(c.groups), d)
		if c.wantErr != "" || err != nil {
			if c.wantErr == "" || err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: err = %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		var replaced []string
		for _, doc := range kops.SplitDocuments(conv.YAML) {
			replaced = append(replaced, path(parse(t, doc), "metadata", "name").(string))
		}
		if !reflect.DeepEqual(conv.Changes, c.changes) || !reflect.DeepEqual(replaced, c.replaced) || !reflect.DeepEqual(conv.CreatedNames(), c.restored) {
			t.Errorf("%s:\n changes %q\n replaced %q, restored %q\nwant\n changes %q\n replaced %q, restored %q",
				c.name, conv.Changes, replaced, conv.CreatedNames(), c.changes, c.replaced, c.restored)
		}
	}
}
