package kopsplan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kopscalico/kopscalico/internal/testing/golden"
)

// TestParseRealPlans reads plans real kops 1.36.2 printed for `kops update
// cluster --name calico.k8s.local` (no --yes) on an offline, empty account:
// the cluster created with the program's arguments and converted to ipip
// cross-subnet, and one created with --networking kubenet, before
// conversion. internal/kops's TestRealKopsCreateConvertPlan writes them
// (-update-plan-testdata) and fails when real kops plans otherwise.
func TestParseRealPlans(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"update-calico-ipip-1.36.2", "update-kubenet-as-created-1.36.2"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", name+".txt"))
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(string(raw))
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, filepath.Join("testdata", name+".golden.json"), append(got, '\n'))
			if len(p.SecurityGroups) != 3 || len(p.InstanceGroups) != 3 {
				t.Errorf("%d security groups and %d instance groups, want 3 (api-elb, masters, nodes) and 3 (one control plane, two nodes)", len(p.SecurityGroups), len(p.InstanceGroups))
			}
		})
	}
}

// TestParseSecurityGroupRule reads a rule of each shape kops prints, with
// the defaults RenderAWS applies.
func TestParseSecurityGroupRule(t *testing.T) {
	t.Parallel()
	plan := strings.Join([]string{
		"Will create resources:",
		"  SecurityGroupRule/from-nodes.c-ingress-4-0to0-masters.c",
		"  \tSecurityGroup       \tname:masters.c",
		"  \tProtocol            \t4",
		"  \tSourceGroup         \tname:nodes.c",
		"  \tTags                \t{Name: from-nodes.c-ingress-4-0to0-masters.c, KubernetesCluster: c, empty: }",
		"",
		"  SecurityGroupRule/from-masters.c-egress-all-0to0-::/0",
		"  \tSecurityGroup       \tname:masters.c id:sg-0shared",
		"  \tIPv6CIDR            \t::/0",
		"  \tEgress              \ttrue",
		"",
		"  SecurityGroupRule/node-to-elb",
		"  \tSecurityGroup       \tname:api-elb.c",
		"",
		"  SecurityGroupRule/ssh",
		"  \tSecurityGroup       \tname:nodes.c",
		"  \tCIDR                \t203.0.113.0/24",
		"  \tProtocol            \ttcp",
		"  \tFromPort            \t22",
		"  \tToPort              \t22",
		"",
		"Must specify --yes to apply changes",
	}, "\n")
	p, err := Parse(plan)
	if err != nil {
		t.Fatal(err)
	}
	port := func(n int32) *int32 { return &n }
	want := []SecurityGroupRule{
		{Name: "from-nodes.c-ingress-4-0to0-masters.c", SecurityGroup: Ref{Name: "masters.c"}, Protocol: "4", SourceGroup: &Ref{Name: "nodes.c"},
			Tags: map[string]string{"Name": "from-nodes.c-ingress-4-0to0-masters.c", "KubernetesCluster": "c", "empty": ""}},
		{Name: "from-masters.c-egress-all-0to0-::/0", SecurityGroup: Ref{Name: "masters.c", ID: "sg-0shared"}, Egress: true, Protocol: "-1", IPv6CIDR: "::/0"},
		{Name: "node-to-elb", SecurityGroup: Ref{Name: "api-elb.c"}, Protocol: "-1", CIDR: "0.0.0.0/0"},
		{Name: "ssh", SecurityGroup: Ref{Name: "nodes.c"}, Protocol: "tcp", FromPort: port(22), ToPort: port(22), CIDR: "203.0.113.0/24"},
	}
	if diff := cmp.Diff(want, p.SecurityGroupRules); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}

func TestParseTasksSections(t *testing.T) {
	t.Parallel()
	plan := strings.Join([]string{
		"I1127 warnings kops logs to stdout come first",
		"Will create resources:",
		"  Keypair/ca",
		"  \tSubject             \tcn=kubernetes-ca",
		"  \tNotes               \tfirst line",
		"second line of the same value",
		"",
		"Will modify resources:",
		"  SecurityGroupRule/changed",
		"  \tProtocol            \t udp -> tcp",
		"",
		"Must specify --yes to apply changes",
	}, "\n")
	got, err := ParseTasks(plan)
	if err != nil {
		t.Fatal(err)
	}
	want := []Task{{Kind: "Keypair", ID: "ca", Fields: map[string]string{"Subject": "cn=kubernetes-ca", "Notes": "first line\nsecond line of the same value"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tasks (-want +got):\n%s", diff)
	}
	if none, err := ParseTasks("No changes need to be applied\n"); err != nil || len(none) != 0 {
		t.Errorf("a plan without changes: %v, %v", none, err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ plan, want string }{
		{"Will create resources:\n  \tProtocol  \ttcp\n", `kops plan line 2: "  \tProtocol  \ttcp" comes before any task`},
		{"Will create resources:\n  VPC/c\n\n  stray words\n", `kops plan line 4: "  stray words" is neither a task, a field of VPC/c, nor the rest of a value`},
		{"Will create resources:\n  SecurityGroupRule/r\n  \tSecurityGroup \tmasters.c\n", `kops plan SecurityGroupRule/r: SecurityGroup: reference "masters.c": want name:<name> and/or id:<id>`},
		{"Will create resources:\n  SecurityGroupRule/r\n  \tSecurityGroup \tname:m\n  \tFromPort \tsome\n", `kops plan SecurityGroupRule/r: FromPort "some": want a port number`},
		{"Will create resources:\n  SecurityGroup/g\n  \tTags \t{Name}\n", `kops plan SecurityGroup/g: tags "{Name}": "Name" is not key: value`},
		{"Will create resources:\n  AutoscalingGroup/a\n  \tMinSize \t1\n  \tLaunchTemplate \tname:lt\n", `kops plan AutoscalingGroup/a: its launch template lt is not in the plan`},
	} {
		if _, err := Parse(c.plan); err == nil || err.Error() != c.want {
			t.Errorf("Parse(%q) = %v, want %s", c.plan, err, c.want)
		}
	}
}
