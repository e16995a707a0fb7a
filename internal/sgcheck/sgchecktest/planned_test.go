package sgchecktest

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/kopscalico/kopscalico/internal/kopsplan"
)

// realPlan is a plan of real kops 1.36.2 for calico.k8s.local, converted to
// ipip cross-subnet (see internal/kopsplan's TestParseRealPlans).
const realPlan = "../../kopsplan/testdata/update-calico-ipip-1.36.2.txt"

func parsePlan(t *testing.T, path string) kopsplan.Plan {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := kopsplan.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPlanned(t *testing.T) {
	t.Parallel()
	port := func(n int32) *int32 { return &n }
	masters, nodes := kopsplan.Ref{Name: "masters.c"}, kopsplan.Ref{Name: "nodes.c"}
	plan := kopsplan.Plan{
		SecurityGroups: []kopsplan.SecurityGroup{
			{Name: "masters.c", Description: "Security group for masters", Tags: map[string]string{"Name": "masters.c", "KubernetesCluster": "c"}},
			{Name: "nodes.c", ID: "sg-0own", Tags: map[string]string{"KubernetesCluster": "c"}},
		},
		SecurityGroupRules: []kopsplan.SecurityGroupRule{
			{Name: "all-from-masters", SecurityGroup: nodes, Protocol: "-1", SourceGroup: &masters},
			{Name: "all-from-nodes", SecurityGroup: nodes, Protocol: "-1", SourceGroup: &nodes},
			{Name: "ipip", SecurityGroup: masters, Protocol: "4", SourceGroup: &nodes},
			{Name: "ssh", SecurityGroup: masters, Protocol: "tcp", FromPort: port(22), ToPort: port(22), CIDR: "203.0.113.0/24"},
			{Name: "ssh-v6", SecurityGroup: masters, Protocol: "tcp", FromPort: port(22), ToPort: port(22), IPv6CIDR: "2001:db8::/32"},
			{Name: "https", SecurityGroup: masters, Protocol: "tcp", FromPort: port(443), ToPort: port(443), PrefixList: "pl-0vpn"},
			{Name: "egress", SecurityGroup: masters, Egress: true, Protocol: "-1", CIDR: "0.0.0.0/0"},
		},
		InstanceGroups: []kopsplan.InstanceGroup{
			{Name: "cp", MinSize: 1, SecurityGroups: []kopsplan.Ref{masters}, SubnetCIDRs: []string{"172.20.0.0/17"}, Tags: map[string]string{"KubernetesCluster": "c"}},
			{Name: "nodes", MinSize: 3, SecurityGroups: []kopsplan.Ref{nodes}, SubnetCIDRs: []string{"172.20.0.0/17", "172.20.128.0/17"}},
		},
	}
	f, err := Planned(plan)
	if err != nil {
		t.Fatal(err)
	}
	const mastersID = "sg-0plan000000000001"
	want := []types.SecurityGroup{
		{GroupId: aws.String(mastersID), GroupName: aws.String("masters.c"), Description: aws.String("Security group for masters"),
			OwnerId: aws.String(AccountID), VpcId: aws.String("vpc-0plan"),
			Tags: []types.Tag{{Key: aws.String("KubernetesCluster"), Value: aws.String("c")}, {Key: aws.String("Name"), Value: aws.String("masters.c")}},
			IpPermissions: []types.IpPermission{
				{IpProtocol: aws.String("4"), UserIdGroupPairs: []types.UserIdGroupPair{Pair("sg-0own")}},
				{IpProtocol: aws.String("tcp"), FromPort: port(22), ToPort: port(22), IpRanges: []types.IpRange{CIDR("203.0.113.0/24")},
					Ipv6Ranges: []types.Ipv6Range{{CidrIpv6: aws.String("2001:db8::/32")}}},
				{IpProtocol: aws.String("tcp"), FromPort: port(443), ToPort: port(443), PrefixListIds: []types.PrefixListId{{PrefixListId: aws.String("pl-0vpn")}}},
			},
			IpPermissionsEgress: []types.IpPermission{{IpProtocol: aws.String("-1"), IpRanges: []types.IpRange{CIDR("0.0.0.0/0")}}},
		},
		{GroupId: aws.String("sg-0own"), GroupName: aws.String("nodes.c"), Description: aws.String(""),
			OwnerId: aws.String(AccountID), VpcId: aws.String("vpc-0plan"),
			Tags: []types.Tag{{Key: aws.String("KubernetesCluster"), Value: aws.String("c")}},
			IpPermissions: []types.IpPermission{
				{IpProtocol: aws.String("-1"), UserIdGroupPairs: []types.UserIdGroupPair{Pair(mastersID), Pair("sg-0own")}},
			},
		},
	}
	if diff := cmp.Diff(want, f.Groups, cmp.AllowUnexported(types.SecurityGroup{}, types.IpPermission{}, types.UserIdGroupPair{}, types.IpRange{}, types.Ipv6Range{}, types.PrefixListId{}, types.Tag{})); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}

	var got []string
	for _, i := range f.Instances {
		got = append(got, fmt.Sprintf("%s %s %s %s tags=%d", aws.ToString(i.InstanceId), aws.ToString(i.PrivateIpAddress),
			aws.ToString(i.SecurityGroups[0].GroupId), i.State.Name, len(i.Tags)))
		if i.SourceDestCheck != nil || i.NetworkInterfaces != nil {
			t.Errorf("instance %s has a source/destination check, which no plan says", aws.ToString(i.InstanceId))
		}
	}
	wantInstances := []string{
		"i-0plan000000000001 172.20.0.10 " + mastersID + " running tags=1",
		"i-0plan000000000002 172.20.0.11 sg-0own running tags=0",
		"i-0plan000000000003 172.20.128.10 sg-0own running tags=0",
		"i-0plan000000000004 172.20.0.12 sg-0own running tags=0",
	}
	if !slices.Equal(got, wantInstances) {
		t.Errorf("instances:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantInstances, "\n"))
	}
}

func TestPlannedRefusesUnknownGroups(t *testing.T) {
	t.Parallel()
	masters, other := kopsplan.Ref{Name: "masters.c"}, kopsplan.Ref{Name: "shared"}
	groups := []kopsplan.SecurityGroup{{Name: "masters.c"}}
	for _, c := range []struct {
		plan kopsplan.Plan
		want string
	}{
		{kopsplan.Plan{SecurityGroups: groups, SecurityGroupRules: []kopsplan.SecurityGroupRule{{Name: "r", SecurityGroup: other, Protocol: "-1", CIDR: "0.0.0.0/0"}}},
			"rule r is in security group shared, which the plan does not create"},
		{kopsplan.Plan{SecurityGroups: groups, SecurityGroupRules: []kopsplan.SecurityGroupRule{{Name: "r", SecurityGroup: masters, Protocol: "-1", SourceGroup: &other}}},
			"rule r: security group shared is not in the plan"},
		{kopsplan.Plan{SecurityGroups: groups, InstanceGroups: []kopsplan.InstanceGroup{{Name: "ig", MinSize: 1, SecurityGroups: []kopsplan.Ref{other}, SubnetCIDRs: []string{"10.0.0.0/24"}}}},
			"instance group ig: security group shared is not in the plan"},
		{kopsplan.Plan{SecurityGroups: groups, InstanceGroups: []kopsplan.InstanceGroup{{Name: "ig", MinSize: 1, SecurityGroups: []kopsplan.Ref{masters}, SubnetCIDRs: []string{"10.0.0.0/29"}}}},
			"instance group ig: subnet 10.0.0.0/29 has no address left"},
	} {
		if _, err := Planned(c.plan); err == nil || err.Error() != c.want {
			t.Errorf("Planned: %v, want %s", err, c.want)
		}
	}
}

// TestKopsGroupsIsWhatKopsPlans holds the hand-written fixture KopsGroups to
// real kops 1.36.2: the permissions between the masters and nodes groups are
// the ones kops plans. Those from CIDRs and the API load balancer differ by
// design: the fixture is a cluster whose API is reached without one.
func TestKopsGroupsIsWhatKopsPlans(t *testing.T) {
	t.Parallel()
	const cluster = "calico.k8s.local"
	planned, err := Planned(parsePlan(t, realPlan))
	if err != nil {
		t.Fatal(err)
	}
	fixture := &FakeEC2{Groups: KopsGroups(cluster, MastersID, NodesID)}
	if diff := cmp.Diff(betweenClusterGroups(t, fixture, cluster), betweenClusterGroups(t, planned, cluster)); diff != "" {
		t.Errorf("KopsGroups differs from the plan of real kops (-fixture +plan):\n%s", diff)
	}
}

// betweenClusterGroups lists, per masters/nodes group, the ingress it
// admits from those two groups, in words: "masters.c <- nodes.c tcp 1-2379".
func betweenClusterGroups(t *testing.T, f *FakeEC2, cluster string) []string {
	t.Helper()
	names := map[string]string{}
	for _, g := range f.Groups {
		names[aws.ToString(g.GroupId)] = aws.ToString(g.GroupName)
	}
	ours := func(name string) bool { return name == "masters."+cluster || name == "nodes."+cluster }
	var out []string
	for _, g := range f.Groups {
		dst := aws.ToString(g.GroupName)
		if !ours(dst) {
			continue
		}
		for _, p := range g.IpPermissions {
			ports := ""
			if p.FromPort != nil {
				ports = fmt.Sprintf(" %d-%d", aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort))
			}
			for _, pair := range p.UserIdGroupPairs {
				if src := names[aws.ToString(pair.GroupId)]; ours(src) {
					out = append(out, fmt.Sprintf("%s <- %s %s%s", dst, src, aws.ToString(p.IpProtocol), ports))
				}
			}
		}
	}
	slices.Sort(out)
	if len(out) == 0 {
		t.Fatalf("no permissions between the groups of %s", cluster)
	}
	return out
}
