package sgcheck

import (
	"net/netip"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestPermitsTraffic(t *testing.T) {
	t.Parallel()
	ports := func(proto string, from, to int32) types.IpPermission {
		return types.IpPermission{IpProtocol: aws.String(proto), FromPort: aws.Int32(from), ToPort: aws.Int32(to)}
	}
	noPorts := func(proto string) types.IpPermission { return types.IpPermission{IpProtocol: aws.String(proto)} }
	bgp := traffic{proto: protoTCP, port: 179}
	vx := traffic{proto: protoUDP, port: 4789}
	ipipT := traffic{proto: protoIPIP}
	all := traffic{proto: protoAll}
	tests := []struct {
		name string
		p    types.IpPermission
		t    traffic
		want bool
	}{
		{"all covers tcp port", noPorts("-1"), bgp, true},
		{"all covers protocol 4", noPorts("-1"), ipipT, true},
		{"all covers all", noPorts("-1"), all, true},
		{"tcp full range is not all traffic", ports("tcp", 0, 65535), all, false},
		{"range holds port", ports("tcp", 1, 2379), bgp, true},
		{"range edge low", ports("tcp", 179, 200), bgp, true},
		{"range edge high", ports("tcp", 100, 179), bgp, true},
		{"range below port", ports("tcp", 1, 178), bgp, false},
		{"range above port", ports("tcp", 180, 2379), bgp, false},
		{"udp is not tcp", ports("udp", 1, 65535), bgp, false},
		{"udp range holds vxlan", ports("udp", 1, 65535), vx, true},
		{"udp by number", ports("17", 4789, 4789), vx, true},
		{"tcp by number", ports("6", 179, 179), bgp, true},
		{"tcp -1 ports means all", ports("tcp", -1, -1), bgp, true},
		{"protocol 4 without ports", noPorts("4"), ipipT, true},
		{"protocol 4 with -1 ports", ports("4", -1, -1), ipipT, true},
		{"protocol 4 as terraform shows it", ports("4", 0, 65535), ipipT, true},
		{"protocol 4 is not tcp", noPorts("4"), bgp, false},
		{"tcp is not protocol 4", ports("tcp", 0, 65535), ipipT, false},
		{"icmp is nothing we need", ports("icmp", 3, 4), ipipT, false},
	}
	for _, tt := range tests {
		if got := permitsTraffic(tt.p, tt.t); got != tt.want {
			t.Errorf("%s: permitsTraffic = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPermitsSource(t *testing.T) {
	t.Parallel()
	src := source{name: "nodes.c", id: "sg-n", members: []member{
		{"i-1", netip.MustParseAddr("10.0.1.5")}, {"i-2", netip.MustParseAddr("10.0.2.5")},
	}}
	empty := source{name: "nodes.c", id: "sg-n"}
	withPairs := func(ids ...string) types.IpPermission {
		var p types.IpPermission
		for _, id := range ids {
			p.UserIdGroupPairs = append(p.UserIdGroupPairs, types.UserIdGroupPair{GroupId: aws.String(id)})
		}
		return p
	}
	withCIDR := func(c string) types.IpPermission {
		return types.IpPermission{IpRanges: []types.IpRange{{CidrIp: aws.String(c)}}}
	}
	tests := []struct {
		name string
		p    types.IpPermission
		src  source
		want bool
	}{
		{"group pair", withPairs("sg-m", "sg-n"), src, true},
		{"other group", withPairs("sg-m"), src, false},
		{"cidr holds all members", withCIDR("10.0.0.0/16"), src, true},
		{"cidr holds some members", withCIDR("10.0.1.0/24"), src, false},
		{"world holds all", withCIDR("0.0.0.0/0"), empty, true},
		{"cidr with no members to judge", withCIDR("10.0.0.0/16"), empty, false},
		{"nothing", types.IpPermission{}, src, false},
	}
	for _, tt := range tests {
		if got, _ := permitsSource(tt.p, tt.src); got != tt.want {
			t.Errorf("%s: permitsSource = %v, want %v", tt.name, got, tt.want)
		}
	}
}
