package kopsplan

import (
	"fmt"
	"strconv"
)

// SecurityGroup is a planned awstasks.SecurityGroup
// (upup/pkg/fi/cloudup/awstasks/securitygroup.go).
type SecurityGroup struct {
	Name        string
	ID          string `json:",omitempty"` // set for a group kops does not create (securityGroupOverride)
	Description string `json:",omitempty"`
	VPC         Ref
	// RemoveExtraRules are the ports on which kops deletes ingress rules it
	// did not plan ("port=22", "port=3:4" for ICMP, "port=-1").
	RemoveExtraRules []string          `json:",omitempty"`
	Tags             map[string]string `json:",omitempty"`
}

// SecurityGroupRule is a planned awstasks.SecurityGroupRule
// (upup/pkg/fi/cloudup/awstasks/securitygrouprule.go), with the defaults
// its RenderAWS applies filled in, so it reads as the permission EC2 gets.
type SecurityGroupRule struct {
	Name          string // the task id, also its Name tag when it has tags
	SecurityGroup Ref    // the group the rule is in
	Egress        bool   `json:",omitempty"`
	// Protocol is EC2's IpProtocol: "tcp", "udp", "icmp", a number ("4"),
	// or "-1" (all traffic) where the task leaves it unset.
	Protocol string
	FromPort *int32 `json:",omitempty"` // unset for all traffic and protocols without ports
	ToPort   *int32 `json:",omitempty"`
	// The source (destination when Egress), one of them as in RenderAWS:
	// the group, else the IPv6 range, else the IPv4 range, else the prefix
	// list; a task with none of them gets CIDR 0.0.0.0/0.
	SourceGroup *Ref              `json:",omitempty"`
	CIDR        string            `json:",omitempty"`
	IPv6CIDR    string            `json:",omitempty"`
	PrefixList  string            `json:",omitempty"`
	Tags        map[string]string `json:",omitempty"`
}

// securityGroup reads a SecurityGroup task.
func securityGroup(t Task) (SecurityGroup, error) {
	g := SecurityGroup{Name: t.ID, ID: t.Fields["ID"], Description: t.Fields["Description"]}
	var err error
	if v, ok := t.Fields["VPC"]; ok {
		if g.VPC, err = parseRef(v); err != nil {
			return g, fmt.Errorf("VPC: %w", err)
		}
	}
	if v, ok := t.Fields["RemoveExtraRules"]; ok {
		if g.RemoveExtraRules, err = parseList(v); err != nil {
			return g, fmt.Errorf("RemoveExtraRules: %w", err)
		}
	}
	if v, ok := t.Fields["Tags"]; ok {
		if g.Tags, err = parseTags(v); err != nil {
			return g, err
		}
	}
	return g, nil
}

// securityGroupRule reads a SecurityGroupRule task.
func securityGroupRule(t Task) (SecurityGroupRule, error) {
	f := t.Fields
	r := SecurityGroupRule{Name: t.ID, Protocol: f["Protocol"], CIDR: f["CIDR"], IPv6CIDR: f["IPv6CIDR"], PrefixList: f["PrefixList"]}
	var err error
	if r.SecurityGroup, err = parseRef(f["SecurityGroup"]); err != nil {
		return r, fmt.Errorf("SecurityGroup: %w", err)
	}
	if v, ok := f["SourceGroup"]; ok {
		src, err := parseRef(v)
		if err != nil {
			return r, fmt.Errorf("SourceGroup: %w", err)
		}
		r.SourceGroup = &src
	}
	if v, ok := f["Egress"]; ok {
		if r.Egress, err = strconv.ParseBool(v); err != nil {
			return r, fmt.Errorf("Egress %q: want true or false", v)
		}
	}
	for name, port := range map[string]**int32{"FromPort": &r.FromPort, "ToPort": &r.ToPort} {
		if v, ok := f[name]; ok {
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return r, fmt.Errorf("%s %q: want a port number", name, v)
			}
			p := int32(n)
			*port = &p
		}
	}
	if v, ok := f["Tags"]; ok {
		if r.Tags, err = parseTags(v); err != nil {
			return r, err
		}
	}
	if r.Protocol == "" {
		r.Protocol = "-1"
	}
	if r.SourceGroup == nil && r.CIDR == "" && r.IPv6CIDR == "" && r.PrefixList == "" {
		r.CIDR = "0.0.0.0/0"
	}
	return r, nil
}
