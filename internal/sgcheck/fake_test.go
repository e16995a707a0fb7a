package sgcheck

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// fakeEC2 answers DescribeSecurityGroups and DescribeInstances from fixed
// data the way EC2 does: it applies the filters the checker sends (tag:*,
// group-name, instance-state-name) and pages the answer pageSize at a time
// with a NextToken.
type fakeEC2 struct {
	groups    []types.SecurityGroup
	instances []types.Instance
	pageSize  int
	err       error

	sgCalls   []*ec2.DescribeSecurityGroupsInput
	instCalls []*ec2.DescribeInstancesInput
}

func (f *fakeEC2) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	f.sgCalls = append(f.sgCalls, in)
	if f.err != nil {
		return nil, f.err
	}
	var match []types.SecurityGroup
	for _, g := range f.groups {
		if filtersMatch(in.Filters, func(name string) []string {
			switch name {
			case "group-name":
				return []string{aws.ToString(g.GroupName)}
			case "group-id":
				return []string{aws.ToString(g.GroupId)}
			}
			return tagValue(g.Tags, name)
		}) {
			match = append(match, g)
		}
	}
	page, next, err := f.page(len(match), in.NextToken)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: match[page[0]:page[1]], NextToken: next}, nil
}

func (f *fakeEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.instCalls = append(f.instCalls, in)
	if f.err != nil {
		return nil, f.err
	}
	var match []types.Instance
	for _, inst := range f.instances {
		if filtersMatch(in.Filters, func(name string) []string {
			if name == "instance-state-name" {
				return []string{string(inst.State.Name)}
			}
			return tagValue(inst.Tags, name)
		}) {
			match = append(match, inst)
		}
	}
	page, next, err := f.page(len(match), in.NextToken)
	if err != nil {
		return nil, err
	}
	// One reservation per instance, as an Auto Scaling group launches them.
	var res []types.Reservation
	for _, inst := range match[page[0]:page[1]] {
		res = append(res, types.Reservation{Instances: []types.Instance{inst}})
	}
	return &ec2.DescribeInstancesOutput{Reservations: res, NextToken: next}, nil
}

func (f *fakeEC2) page(n int, token *string) ([2]int, *string, error) {
	start := 0
	if token != nil {
		s, err := strconv.Atoi(*token)
		if err != nil || s > n {
			return [2]int{}, nil, fmt.Errorf("InvalidParameterValue: bad NextToken %q", *token)
		}
		start = s
	}
	size := f.pageSize
	if size <= 0 {
		size = n
	}
	end := min(start+size, n)
	var next *string
	if end < n {
		next = aws.String(strconv.Itoa(end))
	}
	return [2]int{start, end}, next, nil
}

func tagValue(tags []types.Tag, filterName string) []string {
	key, ok := cutPrefix(filterName, "tag:")
	if !ok {
		panic("fake EC2: unsupported filter " + filterName)
	}
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return []string{aws.ToString(t.Value)}
		}
	}
	return nil
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return s, false
}

// filtersMatch applies EC2 filter semantics: every filter must match, a
// filter matches when any of its values equals any of the object's values.
func filtersMatch(filters []types.Filter, values func(name string) []string) bool {
	for _, f := range filters {
		have := values(aws.ToString(f.Name))
		ok := false
		for _, v := range f.Values {
			if slices.Contains(have, v) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// Fixture: what EC2 answers for a correct kops 1.28+ cluster with Calico,
// one control-plane instance and two nodes in two subnets. Rules are as kops
// pkg/model/awsmodel/firewall.go creates them (and as its integration test
// tests/integration/update_cluster/privatecalico lists them); EC2 merges
// rules with the same protocol and ports into one IpPermission, so the nodes
// group's all-traffic rules from masters and from nodes share one entry. The
// comment on each rule is the Name tag kops gives it.
const (
	testCluster = "calico.example.com"
	mastersID   = "sg-0a1b2c3d4e5f60001"
	nodesID     = "sg-0a1b2c3d4e5f60002"
	accountID   = "123456789012"
)

func pair(id string) types.UserIdGroupPair {
	return types.UserIdGroupPair{GroupId: aws.String(id), UserId: aws.String(accountID)}
}

func cidr(c string) types.IpRange { return types.IpRange{CidrIp: aws.String(c)} }

func perm(proto string, from, to int32, pairs []types.UserIdGroupPair, ranges ...types.IpRange) types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String(proto), UserIdGroupPairs: pairs, IpRanges: ranges}
	if proto == "tcp" || proto == "udp" || proto == "icmp" {
		p.FromPort, p.ToPort = aws.Int32(from), aws.Int32(to)
	}
	return p
}

func kopsTags(cluster, name string) []types.Tag {
	return []types.Tag{
		{Key: aws.String("KubernetesCluster"), Value: aws.String(cluster)},
		{Key: aws.String("Name"), Value: aws.String(name)},
		{Key: aws.String("kubernetes.io/cluster/" + cluster), Value: aws.String("owned")},
	}
}

func kopsGroups(cluster, mastersID, nodesID string) []types.SecurityGroup {
	egress := []types.IpPermission{perm("-1", 0, 0, nil, cidr("0.0.0.0/0"))}
	masters := types.SecurityGroup{
		GroupId: aws.String(mastersID), GroupName: aws.String("masters." + cluster),
		Description: aws.String("Security group for masters"), OwnerId: aws.String(accountID), VpcId: aws.String("vpc-0123"),
		Tags: kopsTags(cluster, "masters."+cluster),
		IpPermissions: []types.IpPermission{
			perm("-1", 0, 0, []types.UserIdGroupPair{pair(mastersID)}),       // from-masters.C-ingress-all-0to0-masters.C
			perm("4", 0, 0, []types.UserIdGroupPair{pair(nodesID)}),          // from-nodes.C-ingress-4-0to0-masters.C
			perm("tcp", 1, 2379, []types.UserIdGroupPair{pair(nodesID)}),     // from-nodes.C-ingress-tcp-1to2379-masters.C
			perm("tcp", 2382, 4000, []types.UserIdGroupPair{pair(nodesID)}),  // from-nodes.C-ingress-tcp-2382to4000-masters.C
			perm("tcp", 4003, 65535, []types.UserIdGroupPair{pair(nodesID)}), // from-nodes.C-ingress-tcp-4003to65535-masters.C
			perm("udp", 1, 65535, []types.UserIdGroupPair{pair(nodesID)}),    // from-nodes.C-ingress-udp-1to65535-masters.C
			perm("tcp", 22, 22, nil, cidr("203.0.113.0/24")),                 // from-203.0.113.0/24-ingress-tcp-22to22-masters.C
			perm("tcp", 443, 443, nil, cidr("203.0.113.0/24")),               // from-203.0.113.0/24-ingress-tcp-443to443-masters.C
			perm("icmp", 3, 4, nil, cidr("203.0.113.0/24")),                  // from-203.0.113.0/24-ingress-icmp-3to4-masters.C
		},
		IpPermissionsEgress: egress,
	}
	nodes := types.SecurityGroup{
		GroupId: aws.String(nodesID), GroupName: aws.String("nodes." + cluster),
		Description: aws.String("Security group for nodes"), OwnerId: aws.String(accountID), VpcId: aws.String("vpc-0123"),
		Tags: kopsTags(cluster, "nodes."+cluster),
		IpPermissions: []types.IpPermission{
			// from-masters.C-ingress-all-0to0-nodes.C and from-nodes.C-ingress-all-0to0-nodes.C
			perm("-1", 0, 0, []types.UserIdGroupPair{pair(mastersID), pair(nodesID)}),
			perm("tcp", 22, 22, nil, cidr("203.0.113.0/24")), // from-203.0.113.0/24-ingress-tcp-22to22-nodes.C
		},
		IpPermissionsEgress: egress,
	}
	return []types.SecurityGroup{masters, nodes}
}

func kopsInstance(cluster, id, ip, groupID, groupName string, state types.InstanceStateName, srcDst bool) types.Instance {
	return types.Instance{
		InstanceId:       aws.String(id),
		PrivateIpAddress: aws.String(ip),
		State:            &types.InstanceState{Name: state},
		SourceDestCheck:  aws.Bool(srcDst),
		SecurityGroups:   []types.GroupIdentifier{{GroupId: aws.String(groupID), GroupName: aws.String(groupName)}},
		Tags:             kopsTags(cluster, groupName),
		NetworkInterfaces: []types.InstanceNetworkInterface{{
			NetworkInterfaceId: aws.String("eni-" + id[2:]),
			PrivateIpAddress:   aws.String(ip),
			SourceDestCheck:    aws.Bool(srcDst),
			Attachment:         &types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(0)},
		}},
	}
}

// completeKopsCluster is a correct cluster, plus the noise a real account
// has: another kops cluster's groups and a terminated instance of this one
// that still has the source/destination check on.
func completeKopsCluster() *fakeEC2 {
	groups := kopsGroups(testCluster, mastersID, nodesID)
	groups = append(groups, kopsGroups("other.example.com", "sg-0ffff0001", "sg-0ffff0002")...)
	return &fakeEC2{
		groups: groups,
		instances: []types.Instance{
			kopsInstance(testCluster, "i-0cp00000000000001", "172.20.32.10", mastersID, "masters."+testCluster, types.InstanceStateNameRunning, false),
			kopsInstance(testCluster, "i-0n000000000000001", "172.20.33.20", nodesID, "nodes."+testCluster, types.InstanceStateNameRunning, false),
			kopsInstance(testCluster, "i-0n000000000000002", "172.20.64.20", nodesID, "nodes."+testCluster, types.InstanceStateNameRunning, false),
			kopsInstance(testCluster, "i-0old0000000000001", "172.20.33.99", nodesID, "nodes."+testCluster, types.InstanceStateNameTerminated, true),
			kopsInstance("other.example.com", "i-0other00000000001", "10.1.0.5", "sg-0ffff0002", "nodes.other.example.com", types.InstanceStateNameRunning, true),
		},
	}
}

func (f *fakeEC2) group(id string) *types.SecurityGroup {
	for i := range f.groups {
		if aws.ToString(f.groups[i].GroupId) == id {
			return &f.groups[i]
		}
	}
	panic("no group " + id)
}
