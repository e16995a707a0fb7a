package sgcheck

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/kopscalico/kopscalico/internal/config"
)

// tagClusterName is the tag kops puts on every AWS object of a cluster
// (kops upup/pkg/fi/cloudup/awsup TagClusterName).
const tagClusterName = "KubernetesCluster"

// Input says which cluster to check and how its Calico is configured.
type Input struct {
	ClusterName string
	// Encapsulation is ipip (BGP with BIRD) or vxlan.
	Encapsulation config.Encapsulation
	// AWSSrcDstCheck is the kops value: Disable (kops's default, also used
	// when empty), "Enable" or "DoNothing". Only Disable is checked.
	AWSSrcDstCheck config.SrcDstCheck
	// EtcdDatastore is true when Calico keeps its data in kops's etcd (kops
	// 1.7's own Calico, or the Calico 2.4 upgrade manifest): nodes must then
	// reach the control plane on TCP 4001.
	EtcdDatastore bool
	// KopsBlocksEtcd is true on kops 1.20 and later, which never opens the
	// etcd ports (2380-2381, 4001-4002) from nodes to the control plane and
	// removes rules added there by hand.
	KopsBlocksEtcd bool
}

// Check reads the cluster's kops security groups and running instances and
// reports, expectation by expectation, what Calico cross-subnet needs and
// what is missing. It only calls Describe*: kops owns these groups and
// removes rules it did not create on ports it models, so nothing is fixed
// here. The error is for failed AWS calls; missing rules are in the report.
// The input is checked at the plugin's edge.
func Check(ctx context.Context, api EC2API, in Input) (Report, error) {
	cluster := in.ClusterName
	groups, err := describeGroups(ctx, api, cluster)
	if err != nil {
		return Report{}, err
	}
	instances, err := describeRunningInstances(ctx, api, cluster)
	if err != nil {
		return Report{}, err
	}

	report := Report{Cluster: cluster, Encapsulation: in.Encapsulation}
	found := map[role]*types.SecurityGroup{}
	for _, r := range []role{controlPlane, nodes} {
		name := r.groupName(cluster)
		matches := groups[name]
		e := Expectation{
			ID:     "group-" + strings.ReplaceAll(r.label(), " ", "-"),
			Name:   "Security group for " + r.label() + " exists",
			Group:  name,
			Source: "kops pkg/model/names.go SecurityGroupName, pkg/model/awsmodel/firewall.go GetSecurityGroups",
		}
		switch len(matches) {
		case 0:
			e.Missing = fmt.Sprintf("no security group named %s tagged %s=%s (groups replaced by securityGroupOverride are not checked)", name, tagClusterName, cluster)
		case 1:
			e.OK = true
			e.Group = groupLabel(matches[0])
			found[r] = &matches[0]
		default:
			ids := make([]string, len(matches))
			for i, g := range matches {
				ids[i] = aws.ToString(g.GroupId)
			}
			e.Missing = fmt.Sprintf("%d groups named %s are tagged %s=%s (%s); cannot tell which one the cluster uses", len(matches), name, tagClusterName, cluster, strings.Join(ids, ", "))
		}
		report.Expectations = append(report.Expectations, e)
	}

	sources := map[role]source{}
	for r, g := range found {
		sources[r] = source{name: r.groupName(cluster), id: aws.ToString(g.GroupId), members: membersOf(instances, aws.ToString(g.GroupId))}
	}
	for _, x := range ruleExpectations(in.Encapsulation, in.EtcdDatastore) {
		if x.blockedByKops != "" && in.KopsBlocksEtcd {
			report.Expectations = append(report.Expectations, Expectation{
				ID: x.id, Name: x.name, Group: x.to.groupName(cluster), Source: x.source, Blocked: x.blockedByKops,
			})
			continue
		}
		report.Expectations = append(report.Expectations, checkRule(cluster, x, found, sources))
	}
	report.Expectations = append(report.Expectations, checkSrcDst(cluster, in.AWSSrcDstCheck, instances))
	return report, nil
}

func groupLabel(g types.SecurityGroup) string {
	return fmt.Sprintf("%s (%s)", aws.ToString(g.GroupName), aws.ToString(g.GroupId))
}

func checkRule(cluster string, x ruleExpectation, found map[role]*types.SecurityGroup, sources map[role]source) Expectation {
	e := Expectation{
		ID:     x.id,
		Name:   x.name,
		Group:  x.to.groupName(cluster),
		Source: x.source,
	}
	dst, ok := found[x.to]
	if !ok {
		e.Missing = "cannot check: security group " + x.to.groupName(cluster) + " not found"
		return e
	}
	e.Group = groupLabel(*dst)
	src, ok := sources[x.from]
	if !ok {
		e.Missing = "cannot check: source security group " + x.from.groupName(cluster) + " not found"
		return e
	}
	var fromSource, notes []string
	for _, p := range dst.IpPermissions {
		okSource, note := permitsSource(p, src)
		okTraffic := permitsTraffic(p, x.traffic)
		switch {
		case okSource && okTraffic:
			e.OK = true
			return e
		case okSource:
			fromSource = append(fromSource, describePermission(p))
		case okTraffic && note != "":
			// A CIDR rule with the right traffic that does not hold the
			// source's instances: say why it does not count.
			notes = append(notes, note)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "no ingress rule allows %s from %s", x.traffic, src.name)
	if src.id != "" {
		fmt.Fprintf(&b, " (%s)", src.id)
	}
	if len(fromSource) > 0 {
		fmt.Fprintf(&b, "; from that source it allows only %s", strings.Join(fromSource, ", "))
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, "; %s", strings.Join(notes, "; "))
	}
	rule := x.kopsRule
	if strings.Contains(rule, "%[1]s") {
		rule = fmt.Sprintf(rule, cluster)
	}
	hint := x.hint
	if hint == "" {
		hint = "run kops update cluster --yes; do not add it by hand, kops removes rules it did not create"
	}
	fmt.Fprintf(&b, "; kops creates it as rule %s (%s)", rule, hint)
	e.Missing = b.String()
	return e
}

// checkSrcDst checks that source/destination checking is off on every running
// instance's primary network interface, the one Felix (awsSrcDstCheck:
// Disable) and the older k8s-ec2-srcdst controller switch off. Without it EC2
// drops the unencapsulated pod traffic cross-subnet mode sends within a
// subnet.
func checkSrcDst(cluster string, mode config.SrcDstCheck, instances []types.Instance) Expectation {
	if mode == "" {
		mode = config.SrcDstDisable
	}
	e := Expectation{
		ID:     "srcdst-check-disabled",
		Name:   "Source/destination check disabled on instances",
		Group:  fmt.Sprintf("running instances tagged %s=%s", tagClusterName, cluster),
		Source: srcSrcDst,
	}
	if mode != config.SrcDstDisable {
		e.OK = true
		e.Skipped = "awsSrcDstCheck is " + string(mode) + ": the cluster does not ask for it"
		return e
	}
	if len(instances) == 0 {
		e.Missing = "no running instances found, so source/destination checking could not be verified"
		return e
	}
	var enabled []string
	for _, inst := range instances {
		check, where := sourceDestCheck(inst)
		switch {
		case check == nil:
			enabled = append(enabled, aws.ToString(inst.InstanceId)+" (not reported)")
		case *check:
			enabled = append(enabled, aws.ToString(inst.InstanceId)+" "+where)
		}
	}
	if len(enabled) == 0 {
		e.OK = true
		return e
	}
	sort.Strings(enabled)
	e.Missing = fmt.Sprintf("source/destination check is on for %d of %d instances: %s (calico-node's Felix turns it off when awsSrcDstCheck is Disable; check its IAM permission ec2:ModifyNetworkInterfaceAttribute and logs)",
		len(enabled), len(instances), strings.Join(enabled, ", "))
	return e
}

// sourceDestCheck returns the primary interface's flag (device index 0), or
// the instance's own attribute when no interface is listed.
func sourceDestCheck(inst types.Instance) (*bool, string) {
	for _, ni := range inst.NetworkInterfaces {
		if ni.Attachment != nil && aws.ToInt32(ni.Attachment.DeviceIndex) == 0 {
			if ni.SourceDestCheck != nil {
				return ni.SourceDestCheck, "(" + aws.ToString(ni.NetworkInterfaceId) + ")"
			}
		}
	}
	return inst.SourceDestCheck, "(instance attribute)"
}

func membersOf(instances []types.Instance, groupID string) []member {
	var out []member
	for _, inst := range instances {
		in := false
		for _, g := range inst.SecurityGroups {
			if aws.ToString(g.GroupId) == groupID {
				in = true
			}
		}
		if !in {
			continue
		}
		ip, err := netip.ParseAddr(aws.ToString(inst.PrivateIpAddress))
		if err != nil {
			continue
		}
		out = append(out, member{instanceID: aws.ToString(inst.InstanceId), ip: ip})
	}
	return out
}

// describeGroups returns the cluster's kops groups by name, all pages.
func describeGroups(ctx context.Context, api EC2API, cluster string) (map[string][]types.SecurityGroup, error) {
	in := &ec2.DescribeSecurityGroupsInput{
		Filters: []types.Filter{
			{Name: aws.String("tag:" + tagClusterName), Values: []string{cluster}},
			{Name: aws.String("group-name"), Values: []string{controlPlane.groupName(cluster), nodes.groupName(cluster)}},
		},
	}
	out := map[string][]types.SecurityGroup{}
	pages := ec2.NewDescribeSecurityGroupsPaginator(api, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe security groups of cluster %s: %w", cluster, err)
		}
		for _, g := range page.SecurityGroups {
			name := aws.ToString(g.GroupName)
			out[name] = append(out[name], g)
		}
	}
	return out, nil
}

// describeRunningInstances returns the cluster's running instances, all pages.
func describeRunningInstances(ctx context.Context, api EC2API, cluster string) ([]types.Instance, error) {
	in := &ec2.DescribeInstancesInput{
		Filters: []types.Filter{
			{Name: aws.String("tag:" + tagClusterName), Values: []string{cluster}},
			{Name: aws.String("instance-state-name"), Values: []string{"running"}},
		},
	}
	var out []types.Instance
	pages := ec2.NewDescribeInstancesPaginator(api, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe instances of cluster %s: %w", cluster, err)
		}
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				// The filter already asks for running ones; a fake or an
				// eventually consistent answer may still carry others.
				if inst.State != nil && inst.State.Name != types.InstanceStateNameRunning {
					continue
				}
				out = append(out, inst)
			}
		}
	}
	return out, nil
}
