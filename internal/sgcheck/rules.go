package sgcheck

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// normalizeProtocol maps what EC2 may return in IpProtocol to one spelling:
// "-1" for all, names for tcp/udp/icmp, the number for anything else.
func normalizeProtocol(p string) string {
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "-1", "all":
		return protoAll
	case "tcp", "6":
		return protoTCP
	case "udp", "17":
		return protoUDP
	case "icmp", "1":
		return "icmp"
	case "icmpv6", "58":
		return "icmpv6"
	default:
		return strings.ToLower(strings.TrimSpace(p))
	}
}

// permitsTraffic reports whether one IpPermission lets t through, ignoring
// who the source is. An all-traffic permission (-1) covers every protocol
// and port; all traffic itself is only covered by -1; a tcp/udp permission
// covers t when its port range holds t's port. For protocols without ports
// (such as 4) EC2 returns no ports or -1, and kops's Terraform output 0-65535:
// the protocol alone decides.
func permitsTraffic(p types.IpPermission, t traffic) bool {
	proto := normalizeProtocol(aws.ToString(p.IpProtocol))
	if proto == protoAll {
		return true
	}
	if t.proto == protoAll || proto != t.proto {
		return false
	}
	if t.proto != protoTCP && t.proto != protoUDP {
		return true
	}
	if p.FromPort == nil || p.ToPort == nil || aws.ToInt32(p.FromPort) == -1 {
		return true // EC2 omits the range when every port is allowed
	}
	return aws.ToInt32(p.FromPort) <= t.port && t.port <= aws.ToInt32(p.ToPort)
}

// member is a running cluster instance's private address.
type member struct {
	instanceID string
	ip         netip.Addr
}

// source is a group traffic comes from: its id, and the private IPv4
// addresses of its running instances (to decide whether a CIDR rule covers it).
type source struct {
	name    string
	id      string
	members []member
}

// permitsSource reports whether p admits traffic from src: a group pair that
// references src's group id, or an IPv4 range holding every running member of
// src (0.0.0.0/0 holds all of them even when none is running). It returns a
// note when a CIDR almost matched, for the report.
func permitsSource(p types.IpPermission, src source) (bool, string) {
	for _, pair := range p.UserIdGroupPairs {
		if aws.ToString(pair.GroupId) == src.id {
			return true, ""
		}
	}
	var note string
	for _, r := range p.IpRanges {
		prefix, err := netip.ParsePrefix(aws.ToString(r.CidrIp))
		if err != nil {
			continue
		}
		if prefix.Bits() == 0 {
			return true, ""
		}
		if len(src.members) == 0 {
			note = fmt.Sprintf("%s cannot be matched to %s: it has no running instances", prefix, src.name)
			continue
		}
		var outside []string
		for _, m := range src.members {
			if !prefix.Contains(m.ip) {
				outside = append(outside, m.instanceID+" "+m.ip.String())
			}
		}
		if len(outside) == 0 {
			return true, ""
		}
		note = fmt.Sprintf("%s does not hold %s", prefix, strings.Join(outside, ", "))
	}
	return false, note
}

// describePermission is a short human form of an IpPermission's traffic.
func describePermission(p types.IpPermission) string {
	proto := normalizeProtocol(aws.ToString(p.IpProtocol))
	switch proto {
	case protoAll:
		return "all traffic"
	case protoTCP, protoUDP:
		if p.FromPort == nil || aws.ToInt32(p.FromPort) == -1 {
			return proto + " all ports"
		}
		from, to := aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort)
		if from == to {
			return fmt.Sprintf("%s %d", proto, from)
		}
		return fmt.Sprintf("%s %d-%d", proto, from, to)
	default:
		return "protocol " + proto
	}
}
