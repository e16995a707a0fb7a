package kopsplan

import (
	"fmt"
	"strconv"
)

// InstanceGroup is a planned autoscaling group with what its instances get
// from its launch template (security groups) and its subnets (addresses).
type InstanceGroup struct {
	Name           string // the AutoscalingGroup task's id, e.g. nodes-us-east-1a.<cluster>
	MinSize        int
	SecurityGroups []Ref
	SubnetCIDRs    []string
	Tags           map[string]string `json:",omitempty"` // the group's tags, which kops propagates to its instances
}

// instanceGroup reads an AutoscalingGroup task, resolving its launch
// template and subnets among the plan's tasks.
func instanceGroup(asg Task, byKey map[string]Task) (InstanceGroup, error) {
	g := InstanceGroup{Name: asg.ID}
	var err error
	if g.MinSize, err = strconv.Atoi(asg.Fields["MinSize"]); err != nil {
		return g, fmt.Errorf("MinSize %q: want a number", asg.Fields["MinSize"])
	}
	ltRef, err := parseRef(asg.Fields["LaunchTemplate"])
	if err != nil {
		return g, fmt.Errorf("LaunchTemplate: %w", err)
	}
	lt, ok := byKey["LaunchTemplate/"+ltRef.Name]
	if !ok {
		return g, fmt.Errorf("its launch template %s is not in the plan", ltRef.Name)
	}
	groups, err := parseList(lt.Fields["SecurityGroups"])
	if err != nil {
		return g, fmt.Errorf("LaunchTemplate/%s SecurityGroups: %w", lt.ID, err)
	}
	for _, s := range groups {
		ref, err := parseRef(s)
		if err != nil {
			return g, fmt.Errorf("LaunchTemplate/%s SecurityGroups: %w", lt.ID, err)
		}
		g.SecurityGroups = append(g.SecurityGroups, ref)
	}
	subnets, err := parseList(asg.Fields["Subnets"])
	if err != nil {
		return g, fmt.Errorf("Subnets: %w", err)
	}
	for _, s := range subnets {
		ref, err := parseRef(s)
		if err != nil {
			return g, fmt.Errorf("Subnets: %w", err)
		}
		subnet, ok := byKey["Subnet/"+ref.Name]
		if !ok || subnet.Fields["CIDR"] == "" {
			return g, fmt.Errorf("its subnet %s is not in the plan with a CIDR", ref.Name)
		}
		g.SubnetCIDRs = append(g.SubnetCIDRs, subnet.Fields["CIDR"])
	}
	if v, ok := asg.Fields["Tags"]; ok {
		if g.Tags, err = parseTags(v); err != nil {
			return g, err
		}
	}
	return g, nil
}
