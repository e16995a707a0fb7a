// Package sgchecktest is a fake EC2 API for the security-group check: it
// answers DescribeSecurityGroups and DescribeInstances like EC2 does for a
// kops cluster with Calico, so tests run without AWS. FakeEC2 serves callers
// in the process; Handler and Serve put it on HTTP in EC2's query protocol
// for the real SDK client, such as the provider plugin's.
package sgchecktest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// FakeEC2 answers DescribeSecurityGroups and DescribeInstances from fixed
// data the way EC2 does: it applies the filters the checker sends (tag:*,
// group-name, instance-state-name) and pages the answer pageSize at a time
// with a NextToken.
type FakeEC2 struct {
	Groups    []types.SecurityGroup
	Instances []types.Instance
	PageSize  int // answers are paged this many items at a time; 0: one page
	// Err, when set, is returned by every call; over HTTP a
	// *smithy.GenericAPIError is answered with its code, anything else as
	// InternalError.
	Err error

	mu                 sync.Mutex
	SecurityGroupCalls []*ec2.DescribeSecurityGroupsInput
	InstanceCalls      []*ec2.DescribeInstancesInput
}

// Calls returns how many describe calls were made.
func (f *FakeEC2) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.SecurityGroupCalls) + len(f.InstanceCalls)
}

func (f *FakeEC2) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.SecurityGroupCalls = append(f.SecurityGroupCalls, in)
	if f.Err != nil {
		return nil, f.Err
	}
	var match []types.SecurityGroup
	for _, g := range f.Groups {
		ok, err := filtersMatch(in.Filters, func(name string) ([]string, error) {
			switch name {
			case "group-name":
				return []string{aws.ToString(g.GroupName)}, nil
			case "group-id":
				return []string{aws.ToString(g.GroupId)}, nil
			}
			return tagValue(g.Tags, name)
		})
		if err != nil {
			return nil, err
		}
		if ok {
			match = append(match, g)
		}
	}
	page, next, err := f.page(len(match), in.NextToken)
	if err != nil {
		return nil, err
	}
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: match[page[0]:page[1]], NextToken: next}, nil
}

func (f *FakeEC2) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.InstanceCalls = append(f.InstanceCalls, in)
	if f.Err != nil {
		return nil, f.Err
	}
	var match []types.Instance
	for _, inst := range f.Instances {
		ok, err := filtersMatch(in.Filters, func(name string) ([]string, error) {
			if name == "instance-state-name" {
				return []string{string(inst.State.Name)}, nil
			}
			return tagValue(inst.Tags, name)
		})
		if err != nil {
			return nil, err
		}
		if ok {
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

func (f *FakeEC2) page(n int, token *string) ([2]int, *string, error) {
	start := 0
	if token != nil {
		s, err := strconv.Atoi(*token)
		if err != nil || s > n {
			return [2]int{}, nil, &smithy.GenericAPIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("bad NextToken %q", *token)}
		}
		start = s
	}
	size := f.PageSize
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

// tagValue answers a tag:<key> filter; any other filter name is refused as
// EC2 refuses a name it does not know.
func tagValue(tags []types.Tag, filterName string) ([]string, error) {
	key, ok := strings.CutPrefix(filterName, "tag:")
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "InvalidParameterValue", Message: fmt.Sprintf("The filter '%s' is invalid", filterName)}
	}
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return []string{aws.ToString(t.Value)}, nil
		}
	}
	return nil, nil
}

// filtersMatch applies EC2 filter semantics: every filter must match, a
// filter matches when any of its values equals any of the object's values.
func filtersMatch(filters []types.Filter, values func(name string) ([]string, error)) (bool, error) {
	for _, f := range filters {
		have, err := values(aws.ToString(f.Name))
		if err != nil {
			return false, err
		}
		if !slices.ContainsFunc(f.Values, func(v string) bool { return slices.Contains(have, v) }) {
			return false, nil
		}
	}
	return true, nil
}

// Fixture: what EC2 answers for a correct kops 1.28+ cluster with Calico,
// one control-plane instance and two nodes in two subnets. Rules are as kops
// pkg/model/awsmodel/firewall.go creates them (and as its integration test
// tests/integration/update_cluster/privatecalico lists them); EC2 merges
// rules with the same protocol and ports into one IpPermission, so the nodes
// group's all-traffic rules from masters and from nodes share one entry. The
// comment on each rule is the Name tag kops gives it.
const (
	MastersID = "sg-0a1b2c3d4e5f60001" // masters.<cluster>
	NodesID   = "sg-0a1b2c3d4e5f60002" // nodes.<cluster>
	AccountID = "123456789012"

	// Instances of the cluster KopsCluster builds.
	ControlPlaneInstance = "i-0cp00000000000001" // 172.20.32.10
	NodeInstance1        = "i-0n000000000000001" // 172.20.33.20
	NodeInstance2        = "i-0n000000000000002" // 172.20.64.20
)

// Pair is a group reference as EC2 returns it.
func Pair(id string) types.UserIdGroupPair {
	return types.UserIdGroupPair{GroupId: aws.String(id), UserId: aws.String(AccountID)}
}

// CIDR is an IPv4 range source.
func CIDR(c string) types.IpRange { return types.IpRange{CidrIp: aws.String(c)} }

// Perm is an IpPermission; ports are set for tcp, udp and icmp only, as EC2
// does.
func Perm(proto string, from, to int32, pairs []types.UserIdGroupPair, ranges ...types.IpRange) types.IpPermission {
	p := types.IpPermission{IpProtocol: aws.String(proto), UserIdGroupPairs: pairs, IpRanges: ranges}
	if proto == "tcp" || proto == "udp" || proto == "icmp" {
		p.FromPort, p.ToPort = aws.Int32(from), aws.Int32(to)
	}
	return p
}

// KopsTags are the tags kops puts on a cluster object named name.
func KopsTags(cluster, name string) []types.Tag {
	return []types.Tag{
		{Key: aws.String("KubernetesCluster"), Value: aws.String(cluster)},
		{Key: aws.String("Name"), Value: aws.String(name)},
		{Key: aws.String("kubernetes.io/cluster/" + cluster), Value: aws.String("owned")},
	}
}

// KopsGroups are the masters and nodes groups kops makes for cluster.
func KopsGroups(cluster, mastersID, nodesID string) []types.SecurityGroup {
	egress := []types.IpPermission{Perm("-1", 0, 0, nil, CIDR("0.0.0.0/0"))}
	masters := types.SecurityGroup{
		GroupId: aws.String(mastersID), GroupName: aws.String("masters." + cluster),
		Description: aws.String("Security group for masters"), OwnerId: aws.String(AccountID), VpcId: aws.String("vpc-0123"),
		Tags: KopsTags(cluster, "masters."+cluster),
		IpPermissions: []types.IpPermission{
			Perm("-1", 0, 0, []types.UserIdGroupPair{Pair(mastersID)}),       // from-masters.C-ingress-all-0to0-masters.C
			Perm("4", 0, 0, []types.UserIdGroupPair{Pair(nodesID)}),          // from-nodes.C-ingress-4-0to0-masters.C
			Perm("tcp", 1, 2379, []types.UserIdGroupPair{Pair(nodesID)}),     // from-nodes.C-ingress-tcp-1to2379-masters.C
			Perm("tcp", 2382, 4000, []types.UserIdGroupPair{Pair(nodesID)}),  // from-nodes.C-ingress-tcp-2382to4000-masters.C
			Perm("tcp", 4003, 65535, []types.UserIdGroupPair{Pair(nodesID)}), // from-nodes.C-ingress-tcp-4003to65535-masters.C
			Perm("udp", 1, 65535, []types.UserIdGroupPair{Pair(nodesID)}),    // from-nodes.C-ingress-udp-1to65535-masters.C
			Perm("tcp", 22, 22, nil, CIDR("203.0.113.0/24")),                 // from-203.0.113.0/24-ingress-tcp-22to22-masters.C
			Perm("tcp", 443, 443, nil, CIDR("203.0.113.0/24")),               // from-203.0.113.0/24-ingress-tcp-443to443-masters.C
			Perm("icmp", 3, 4, nil, CIDR("203.0.113.0/24")),                  // from-203.0.113.0/24-ingress-icmp-3to4-masters.C
		},
		IpPermissionsEgress: egress,
	}
	nodes := types.SecurityGroup{
		GroupId: aws.String(nodesID), GroupName: aws.String("nodes." + cluster),
		Description: aws.String("Security group for nodes"), OwnerId: aws.String(AccountID), VpcId: aws.String("vpc-0123"),
		Tags: KopsTags(cluster, "nodes."+cluster),
		IpPermissions: []types.IpPermission{
			// from-masters.C-ingress-all-0to0-nodes.C and from-nodes.C-ingress-all-0to0-nodes.C
			Perm("-1", 0, 0, []types.UserIdGroupPair{Pair(mastersID), Pair(nodesID)}),
			Perm("tcp", 22, 22, nil, CIDR("203.0.113.0/24")), // from-203.0.113.0/24-ingress-tcp-22to22-nodes.C
		},
		IpPermissionsEgress: egress,
	}
	return []types.SecurityGroup{masters, nodes}
}

// KopsInstance is a cluster instance with its primary interface.
func KopsInstance(cluster, id, ip, groupID, groupName string, state types.InstanceStateName, srcDst bool) types.Instance {
	return types.Instance{
		InstanceId:       aws.String(id),
		PrivateIpAddress: aws.String(ip),
		State:            &types.InstanceState{Name: state},
		SourceDestCheck:  aws.Bool(srcDst),
		SecurityGroups:   []types.GroupIdentifier{{GroupId: aws.String(groupID), GroupName: aws.String(groupName)}},
		Tags:             KopsTags(cluster, groupName),
		NetworkInterfaces: []types.InstanceNetworkInterface{{
			NetworkInterfaceId: aws.String("eni-" + id[2:]),
			PrivateIpAddress:   aws.String(ip),
			SourceDestCheck:    aws.Bool(srcDst),
			Attachment:         &types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(0)},
		}},
	}
}

// KopsCluster is a correct cluster, plus the noise a real account
// has: another kops cluster's groups and a terminated instance of this one
// that still has the source/destination check on.
func KopsCluster(cluster string) *FakeEC2 {
	groups := KopsGroups(cluster, MastersID, NodesID)
	groups = append(groups, KopsGroups("other.example.com", "sg-0ffff0001", "sg-0ffff0002")...)
	return &FakeEC2{
		Groups: groups,
		Instances: []types.Instance{
			KopsInstance(cluster, ControlPlaneInstance, "172.20.32.10", MastersID, "masters."+cluster, types.InstanceStateNameRunning, false),
			KopsInstance(cluster, NodeInstance1, "172.20.33.20", NodesID, "nodes."+cluster, types.InstanceStateNameRunning, false),
			KopsInstance(cluster, NodeInstance2, "172.20.64.20", NodesID, "nodes."+cluster, types.InstanceStateNameRunning, false),
			KopsInstance(cluster, "i-0old0000000000001", "172.20.33.99", NodesID, "nodes."+cluster, types.InstanceStateNameTerminated, true),
			KopsInstance("other.example.com", "i-0other00000000001", "10.1.0.5", "sg-0ffff0002", "nodes.other.example.com", types.InstanceStateNameRunning, true),
		},
	}
}

// Group returns the group with id, to change it in a test.
func (f *FakeEC2) Group(id string) *types.SecurityGroup {
	for i := range f.Groups {
		if aws.ToString(f.Groups[i].GroupId) == id {
			return &f.Groups[i]
		}
	}
	panic("no group " + id)
}

// RemovePermissions drops the ingress permissions of group id for which drop
// is true.
func (f *FakeEC2) RemovePermissions(id string, drop func(types.IpPermission) bool) {
	g := f.Group(id)
	var kept []types.IpPermission
	for _, p := range g.IpPermissions {
		if !drop(p) {
			kept = append(kept, p)
		}
	}
	g.IpPermissions = kept
}
