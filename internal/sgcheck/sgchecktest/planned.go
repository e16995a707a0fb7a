package sgchecktest

import (
	"fmt"
	"net/netip"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/kopscalico/kopscalico/internal/kopsplan"
)

// Planned is what EC2 would describe once kops has applied plan to an
// account with nothing of the cluster in it: every planned security group
// with its planned tags and an id made up here (or its own, for a group kops
// does not create), its rules as EC2 returns them, and MinSize running
// instances per instance group, in the groups of its launch template, at
// made-up addresses of its subnets. A plan says nothing of an instance's
// source/destination check, so it is left unset (EC2 never leaves it so).
func Planned(plan kopsplan.Plan) (*FakeEC2, error) {
	ids := map[string]string{}
	for i, g := range plan.SecurityGroups {
		ids[g.Name] = g.ID
		if g.ID == "" {
			ids[g.Name] = fmt.Sprintf("sg-0plan%012d", i+1)
		}
	}
	groupID := func(r kopsplan.Ref) (string, error) {
		if r.ID != "" {
			return r.ID, nil
		}
		if id, ok := ids[r.Name]; ok {
			return id, nil
		}
		return "", fmt.Errorf("security group %s is not in the plan", r.Name)
	}

	f := &FakeEC2{}
	byName := map[string]*types.SecurityGroup{}
	for _, g := range plan.SecurityGroups {
		f.Groups = append(f.Groups, types.SecurityGroup{
			GroupId: aws.String(ids[g.Name]), GroupName: aws.String(g.Name), Description: aws.String(g.Description),
			OwnerId: aws.String(AccountID), VpcId: aws.String("vpc-0plan"), Tags: ec2Tags(g.Tags),
		})
	}
	for i := range f.Groups {
		byName[aws.ToString(f.Groups[i].GroupName)] = &f.Groups[i]
	}
	for _, r := range plan.SecurityGroupRules {
		g, ok := byName[r.SecurityGroup.Name]
		if !ok {
			return nil, fmt.Errorf("rule %s is in security group %s, which the plan does not create", r.Name, r.SecurityGroup.Name)
		}
		p, err := permission(r, groupID)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.Name, err)
		}
		if r.Egress {
			g.IpPermissionsEgress = mergePermission(g.IpPermissionsEgress, p)
		} else {
			g.IpPermissions = mergePermission(g.IpPermissions, p)
		}
	}

	next := map[string]netip.Addr{} // per subnet, the address the next instance gets
	for _, ig := range plan.InstanceGroups {
		if ig.MinSize > 0 && len(ig.SubnetCIDRs) == 0 {
			return nil, fmt.Errorf("instance group %s has no subnet", ig.Name)
		}
		var groups []types.GroupIdentifier
		for _, ref := range ig.SecurityGroups {
			id, err := groupID(ref)
			if err != nil {
				return nil, fmt.Errorf("instance group %s: %w", ig.Name, err)
			}
			groups = append(groups, types.GroupIdentifier{GroupId: aws.String(id), GroupName: aws.String(ref.Name)})
		}
		for n := 0; n < ig.MinSize; n++ {
			cidr := ig.SubnetCIDRs[n%len(ig.SubnetCIDRs)]
			ip, err := nextAddress(next, cidr)
			if err != nil {
				return nil, fmt.Errorf("instance group %s: %w", ig.Name, err)
			}
			f.Instances = append(f.Instances, types.Instance{
				InstanceId:       aws.String(fmt.Sprintf("i-0plan%012d", len(f.Instances)+1)),
				PrivateIpAddress: aws.String(ip.String()),
				State:            &types.InstanceState{Name: types.InstanceStateNameRunning},
				SecurityGroups:   groups,
				Tags:             ec2Tags(ig.Tags),
			})
		}
	}
	return f, nil
}

// permission is the IpPermission EC2 describes for a rule kops authorized
// as awstasks RenderAWS sends it: one source, the group first.
func permission(r kopsplan.SecurityGroupRule, groupID func(kopsplan.Ref) (string, error)) (types.IpPermission, error) {
	p := types.IpPermission{IpProtocol: aws.String(r.Protocol), FromPort: r.FromPort, ToPort: r.ToPort}
	switch {
	case r.SourceGroup != nil:
		id, err := groupID(*r.SourceGroup)
		if err != nil {
			return p, err
		}
		p.UserIdGroupPairs = []types.UserIdGroupPair{Pair(id)}
	case r.IPv6CIDR != "":
		p.Ipv6Ranges = []types.Ipv6Range{{CidrIpv6: aws.String(r.IPv6CIDR)}}
	case r.CIDR != "":
		p.IpRanges = []types.IpRange{CIDR(r.CIDR)}
	case r.PrefixList != "":
		p.PrefixListIds = []types.PrefixListId{{PrefixListId: aws.String(r.PrefixList)}}
	default:
		return p, fmt.Errorf("no source")
	}
	return p, nil
}

// mergePermission adds p to ps as EC2 keeps them: rules with the same
// protocol and ports are one permission with several sources.
func mergePermission(ps []types.IpPermission, p types.IpPermission) []types.IpPermission {
	for i := range ps {
		q := &ps[i]
		if aws.ToString(q.IpProtocol) == aws.ToString(p.IpProtocol) && samePort(q.FromPort, p.FromPort) && samePort(q.ToPort, p.ToPort) {
			q.UserIdGroupPairs = append(q.UserIdGroupPairs, p.UserIdGroupPairs...)
			q.IpRanges = append(q.IpRanges, p.IpRanges...)
			q.Ipv6Ranges = append(q.Ipv6Ranges, p.Ipv6Ranges...)
			q.PrefixListIds = append(q.PrefixListIds, p.PrefixListIds...)
			return ps
		}
	}
	return append(ps, p)
}

func samePort(a, b *int32) bool { return (a == nil) == (b == nil) && aws.ToInt32(a) == aws.ToInt32(b) }

// nextAddress hands out a subnet's addresses from its tenth on (AWS keeps
// the first four of every subnet).
func nextAddress(next map[string]netip.Addr, cidr string) (netip.Addr, error) {
	prefix, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("subnet CIDR %q: %w", cidr, err)
	}
	ip, ok := next[cidr]
	if !ok {
		ip = prefix.Masked().Addr()
		for range 10 {
			ip = ip.Next()
		}
	}
	if !prefix.Contains(ip) {
		return netip.Addr{}, fmt.Errorf("subnet %s has no address left", cidr)
	}
	next[cidr] = ip.Next()
	return ip, nil
}

// ec2Tags are tags as EC2 lists them, sorted by key.
func ec2Tags(tags map[string]string) []types.Tag {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]types.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}
