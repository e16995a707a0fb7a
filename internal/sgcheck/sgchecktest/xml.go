package sgchecktest

import (
	"encoding/xml"
	"fmt"
	"reflect"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The EC2 answers as XML. Element names are EC2's (the SDK's deserializers
// read them); Go field names are the SDK types' own, so the encoder can tell
// which fields of a typed value have no element here.

type xmlDescribeSecurityGroupsResponse struct {
	XMLName        xml.Name           `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeSecurityGroupsResponse"`
	RequestID      string             `xml:"requestId"`
	SecurityGroups []xmlSecurityGroup `xml:"securityGroupInfo>item"`
	NextToken      *string            `xml:"nextToken,omitempty"`
}

type xmlDescribeInstancesResponse struct {
	XMLName      xml.Name         `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeInstancesResponse"`
	RequestID    string           `xml:"requestId"`
	Reservations []xmlReservation `xml:"reservationSet>item"`
	NextToken    *string          `xml:"nextToken,omitempty"`
}

type xmlErrorResponse struct {
	XMLName   xml.Name   `xml:"Response"`
	Errors    []xmlError `xml:"Errors>Error"`
	RequestID string     `xml:"RequestID"`
}

type xmlError struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

type xmlSecurityGroup struct {
	OwnerId             *string           `xml:"ownerId,omitempty"`
	GroupId             *string           `xml:"groupId,omitempty"`
	GroupName           *string           `xml:"groupName,omitempty"`
	Description         *string           `xml:"groupDescription,omitempty"`
	VpcId               *string           `xml:"vpcId,omitempty"`
	SecurityGroupArn    *string           `xml:"securityGroupArn,omitempty"`
	IpPermissions       []xmlIpPermission `xml:"ipPermissions>item"`
	IpPermissionsEgress []xmlIpPermission `xml:"ipPermissionsEgress>item"`
	Tags                []xmlTag          `xml:"tagSet>item"`
}

type xmlIpPermission struct {
	IpProtocol       *string              `xml:"ipProtocol,omitempty"`
	FromPort         *int32               `xml:"fromPort,omitempty"`
	ToPort           *int32               `xml:"toPort,omitempty"`
	UserIdGroupPairs []xmlUserIdGroupPair `xml:"groups>item"`
	IpRanges         []xmlIpRange         `xml:"ipRanges>item"`
	Ipv6Ranges       []xmlIpv6Range       `xml:"ipv6Ranges>item"`
	PrefixListIds    []xmlPrefixListId    `xml:"prefixListIds>item"`
}

type xmlUserIdGroupPair struct {
	UserId      *string `xml:"userId,omitempty"`
	GroupId     *string `xml:"groupId,omitempty"`
	GroupName   *string `xml:"groupName,omitempty"`
	VpcId       *string `xml:"vpcId,omitempty"`
	Description *string `xml:"description,omitempty"`
}

type xmlIpRange struct {
	CidrIp      *string `xml:"cidrIp,omitempty"`
	Description *string `xml:"description,omitempty"`
}

type xmlIpv6Range struct {
	CidrIpv6    *string `xml:"cidrIpv6,omitempty"`
	Description *string `xml:"description,omitempty"`
}

type xmlPrefixListId struct {
	PrefixListId *string `xml:"prefixListId,omitempty"`
	Description  *string `xml:"description,omitempty"`
}

type xmlTag struct {
	Key   *string `xml:"key,omitempty"`
	Value *string `xml:"value,omitempty"`
}

type xmlReservation struct {
	ReservationId *string       `xml:"reservationId,omitempty"`
	OwnerId       *string       `xml:"ownerId,omitempty"`
	Instances     []xmlInstance `xml:"instancesSet>item"`
}

type xmlInstance struct {
	InstanceId        *string                       `xml:"instanceId,omitempty"`
	ImageId           *string                       `xml:"imageId,omitempty"`
	InstanceType      types.InstanceType            `xml:"instanceType,omitempty"`
	State             *xmlInstanceState             `xml:"instanceState,omitempty"`
	PrivateIpAddress  *string                       `xml:"privateIpAddress,omitempty"`
	PrivateDnsName    *string                       `xml:"privateDnsName,omitempty"`
	PublicIpAddress   *string                       `xml:"ipAddress,omitempty"`
	SubnetId          *string                       `xml:"subnetId,omitempty"`
	VpcId             *string                       `xml:"vpcId,omitempty"`
	SourceDestCheck   *bool                         `xml:"sourceDestCheck,omitempty"`
	SecurityGroups    []xmlGroupIdentifier          `xml:"groupSet>item"`
	Tags              []xmlTag                      `xml:"tagSet>item"`
	NetworkInterfaces []xmlInstanceNetworkInterface `xml:"networkInterfaceSet>item"`
}

type xmlInstanceState struct {
	Code *int32                  `xml:"code,omitempty"`
	Name types.InstanceStateName `xml:"name,omitempty"`
}

type xmlGroupIdentifier struct {
	GroupId   *string `xml:"groupId,omitempty"`
	GroupName *string `xml:"groupName,omitempty"`
}

type xmlInstanceNetworkInterface struct {
	NetworkInterfaceId *string                      `xml:"networkInterfaceId,omitempty"`
	PrivateIpAddress   *string                      `xml:"privateIpAddress,omitempty"`
	SourceDestCheck    *bool                        `xml:"sourceDestCheck,omitempty"`
	SubnetId           *string                      `xml:"subnetId,omitempty"`
	VpcId              *string                      `xml:"vpcId,omitempty"`
	Status             types.NetworkInterfaceStatus `xml:"status,omitempty"`
	Attachment         *xmlAttachment               `xml:"attachment,omitempty"`
	Groups             []xmlGroupIdentifier         `xml:"groupSet>item"`
}

type xmlAttachment struct {
	AttachmentId *string                `xml:"attachmentId,omitempty"`
	DeviceIndex  *int32                 `xml:"deviceIndex,omitempty"`
	Status       types.AttachmentStatus `xml:"status,omitempty"`
}

// encoder turns the fake's typed values into their XML form and remembers
// every field that is set but has no element, so the handler refuses to
// answer rather than drop it.
type encoder struct{ dropped []string }

func (e *encoder) err() error {
	if len(e.dropped) == 0 {
		return nil
	}
	return fmt.Errorf("sgchecktest cannot send %s over the wire: add the fields to its XML types (xml.go)", strings.Join(e.dropped, ", "))
}

// keep notes the set fields of v (an SDK struct) that wire (its XML form)
// has no field for.
func (e *encoder) keep(v, wire any) {
	rv, wt := reflect.ValueOf(v), reflect.TypeOf(wire)
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		if !f.IsExported() || rv.Field(i).IsZero() {
			continue
		}
		if _, ok := wt.FieldByName(f.Name); !ok {
			e.dropped = append(e.dropped, rv.Type().Name()+"."+f.Name)
		}
	}
}

func each[T, W any](in []T, f func(T) W) []W {
	var out []W
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}

func (e *encoder) securityGroup(g types.SecurityGroup) xmlSecurityGroup {
	e.keep(g, xmlSecurityGroup{})
	return xmlSecurityGroup{
		OwnerId: g.OwnerId, GroupId: g.GroupId, GroupName: g.GroupName, Description: g.Description,
		VpcId: g.VpcId, SecurityGroupArn: g.SecurityGroupArn,
		IpPermissions:       each(g.IpPermissions, e.ipPermission),
		IpPermissionsEgress: each(g.IpPermissionsEgress, e.ipPermission),
		Tags:                each(g.Tags, e.tag),
	}
}

func (e *encoder) ipPermission(p types.IpPermission) xmlIpPermission {
	e.keep(p, xmlIpPermission{})
	return xmlIpPermission{
		IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort,
		UserIdGroupPairs: each(p.UserIdGroupPairs, func(g types.UserIdGroupPair) xmlUserIdGroupPair {
			e.keep(g, xmlUserIdGroupPair{})
			return xmlUserIdGroupPair{UserId: g.UserId, GroupId: g.GroupId, GroupName: g.GroupName, VpcId: g.VpcId, Description: g.Description}
		}),
		IpRanges: each(p.IpRanges, func(r types.IpRange) xmlIpRange {
			e.keep(r, xmlIpRange{})
			return xmlIpRange{CidrIp: r.CidrIp, Description: r.Description}
		}),
		Ipv6Ranges: each(p.Ipv6Ranges, func(r types.Ipv6Range) xmlIpv6Range {
			e.keep(r, xmlIpv6Range{})
			return xmlIpv6Range{CidrIpv6: r.CidrIpv6, Description: r.Description}
		}),
		PrefixListIds: each(p.PrefixListIds, func(r types.PrefixListId) xmlPrefixListId {
			e.keep(r, xmlPrefixListId{})
			return xmlPrefixListId{PrefixListId: r.PrefixListId, Description: r.Description}
		}),
	}
}

func (e *encoder) tag(t types.Tag) xmlTag {
	e.keep(t, xmlTag{})
	return xmlTag{Key: t.Key, Value: t.Value}
}

func (e *encoder) groupIdentifier(g types.GroupIdentifier) xmlGroupIdentifier {
	e.keep(g, xmlGroupIdentifier{})
	return xmlGroupIdentifier{GroupId: g.GroupId, GroupName: g.GroupName}
}

func (e *encoder) reservation(r types.Reservation) xmlReservation {
	e.keep(r, xmlReservation{})
	return xmlReservation{ReservationId: r.ReservationId, OwnerId: r.OwnerId, Instances: each(r.Instances, e.instance)}
}

func (e *encoder) instance(i types.Instance) xmlInstance {
	e.keep(i, xmlInstance{})
	out := xmlInstance{
		InstanceId: i.InstanceId, ImageId: i.ImageId, InstanceType: i.InstanceType,
		PrivateIpAddress: i.PrivateIpAddress, PrivateDnsName: i.PrivateDnsName, PublicIpAddress: i.PublicIpAddress,
		SubnetId: i.SubnetId, VpcId: i.VpcId, SourceDestCheck: i.SourceDestCheck,
		SecurityGroups:    each(i.SecurityGroups, e.groupIdentifier),
		Tags:              each(i.Tags, e.tag),
		NetworkInterfaces: each(i.NetworkInterfaces, e.networkInterface),
	}
	if i.State != nil {
		e.keep(*i.State, xmlInstanceState{})
		out.State = &xmlInstanceState{Code: i.State.Code, Name: i.State.Name}
	}
	return out
}

func (e *encoder) networkInterface(n types.InstanceNetworkInterface) xmlInstanceNetworkInterface {
	e.keep(n, xmlInstanceNetworkInterface{})
	out := xmlInstanceNetworkInterface{
		NetworkInterfaceId: n.NetworkInterfaceId, PrivateIpAddress: n.PrivateIpAddress, SourceDestCheck: n.SourceDestCheck,
		SubnetId: n.SubnetId, VpcId: n.VpcId, Status: n.Status,
		Groups: each(n.Groups, e.groupIdentifier),
	}
	if a := n.Attachment; a != nil {
		e.keep(*a, xmlAttachment{})
		out.Attachment = &xmlAttachment{AttachmentId: a.AttachmentId, DeviceIndex: a.DeviceIndex, Status: a.Status}
	}
	return out
}
