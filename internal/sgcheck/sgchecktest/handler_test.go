package sgchecktest

import (
	"context"
	"errors"
	"go/token"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kopscalico/kopscalico/internal/sgcheck"
)

const testRegion = "eu-west-1"

func serve(t *testing.T, f *FakeEC2) (*Server, *ec2.Client) {
	s := Serve(f, testRegion)
	t.Cleanup(s.Close)
	return s, s.Client()
}

// richGroup and richInstance set every field the XML types carry.
func richGroup() types.SecurityGroup {
	g := KopsGroups("rich.example.com", "sg-0r1", "sg-0r2")[0]
	g.SecurityGroupArn = aws.String("arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0r1")
	p := Perm("tcp", 22, 22, []types.UserIdGroupPair{{
		UserId: aws.String(AccountID), GroupId: aws.String("sg-0r2"), GroupName: aws.String("nodes.rich.example.com"),
		VpcId: aws.String("vpc-0123"), Description: aws.String("ssh from nodes"),
	}}, types.IpRange{CidrIp: aws.String("10.0.0.0/8"), Description: aws.String("office")})
	p.Ipv6Ranges = []types.Ipv6Range{{CidrIpv6: aws.String("2001:db8::/32"), Description: aws.String("v6 office")}}
	p.PrefixListIds = []types.PrefixListId{{PrefixListId: aws.String("pl-0123"), Description: aws.String("vpn")}}
	g.IpPermissions = append(g.IpPermissions, p)
	return g
}

func richInstance() types.Instance {
	i := KopsInstance("rich.example.com", "i-0rich0000000001", "172.20.40.4", "sg-0r2", "nodes.rich.example.com", types.InstanceStateNameRunning, false)
	i.ImageId, i.InstanceType = aws.String("ami-0123"), types.InstanceTypeT3Medium
	i.State.Code = aws.Int32(16)
	i.PrivateDnsName, i.PublicIpAddress = aws.String("ip-172-20-40-4.eu-west-1.compute.internal"), aws.String("198.51.100.4")
	i.SubnetId, i.VpcId = aws.String("subnet-0a"), aws.String("vpc-0123")
	ni := &i.NetworkInterfaces[0]
	ni.SubnetId, ni.VpcId, ni.Status = aws.String("subnet-0a"), aws.String("vpc-0123"), types.NetworkInterfaceStatusInUse
	ni.Groups = i.SecurityGroups
	ni.Attachment.AttachmentId, ni.Attachment.Status = aws.String("eni-attach-0rich"), types.AttachmentStatusAttached
	return i
}

// unsetWireFields lists the fields of the XML types (wire and those it
// holds) that v, the SDK value wire encodes, sets nowhere.
func unsetWireFields(wire reflect.Type, v reflect.Value) []string {
	values := map[reflect.Type][]reflect.Value{}
	var collect func(wire reflect.Type, v reflect.Value)
	collect = func(wire reflect.Type, v reflect.Value) {
		values[wire] = append(values[wire], v)
		for i := range wire.NumField() {
			wf, f := wire.Field(i), v.FieldByName(wire.Field(i).Name)
			switch {
			case wf.Type.Kind() == reflect.Slice && wf.Type.Elem().Kind() == reflect.Struct:
				for j := range f.Len() {
					collect(wf.Type.Elem(), f.Index(j))
				}
			case wf.Type.Kind() == reflect.Pointer && wf.Type.Elem().Kind() == reflect.Struct && !f.IsNil():
				collect(wf.Type.Elem(), f.Elem())
			}
		}
	}
	collect(wire, v)
	var out []string
	for wire, vs := range values {
		for i := range wire.NumField() {
			name := wire.Field(i).Name
			if !slices.ContainsFunc(vs, func(v reflect.Value) bool { return !v.FieldByName(name).IsZero() }) {
				out = append(out, vs[0].Type().Name()+"."+name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// sdkValues compares SDK values field by field: an empty list is as good as
// none (EC2 writes empty list elements, the SDK decodes them as empty
// slices), and the SDK's unexported markers are not data.
var sdkValues = []cmp.Option{
	cmpopts.EquateEmpty(),
	cmp.FilterPath(func(p cmp.Path) bool {
		f, ok := p.Last().(cmp.StructField)
		return ok && !token.IsExported(f.Name())
	}, cmp.Ignore()),
}

// The real SDK client decodes every field the handler writes into the value
// the fake holds: the XML element names are EC2's.
func TestWireRoundTripsTheFakesValues(t *testing.T) {
	rg, ri := richGroup(), richInstance()
	if unset := unsetWireFields(reflect.TypeOf(xmlSecurityGroup{}), reflect.ValueOf(rg)); len(unset) > 0 {
		t.Fatalf("richGroup leaves %v unset: the round trip would not test them", unset)
	}
	if unset := unsetWireFields(reflect.TypeOf(xmlInstance{}), reflect.ValueOf(ri)); len(unset) > 0 {
		t.Fatalf("richInstance leaves %v unset: the round trip would not test them", unset)
	}
	f := KopsCluster("calico.example.com")
	f.Groups = append(f.Groups, rg)
	f.Instances = append(f.Instances, ri)
	_, c := serve(t, f)

	sg, err := c.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(f.Groups, sg.SecurityGroups, sdkValues...); d != "" {
		t.Errorf("groups over the wire (-fake +decoded):\n%s", d)
	}
	in, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	var got []types.Instance
	for _, r := range in.Reservations {
		got = append(got, r.Instances...)
	}
	if d := cmp.Diff(f.Instances, got, sdkValues...); d != "" {
		t.Errorf("instances over the wire (-fake +decoded):\n%s", d)
	}
}

// Filters reach the fake as the client sent them, and the client's paginator
// follows the fake's pages.
func TestWireFiltersAndPages(t *testing.T) {
	f := KopsCluster("calico.example.com")
	f.PageSize = 1
	s, c := serve(t, f)
	filters := []types.Filter{
		{Name: aws.String("tag:KubernetesCluster"), Values: []string{"calico.example.com"}},
		{Name: aws.String("instance-state-name"), Values: []string{"running", "pending"}},
	}
	var ids []string
	pages := ec2.NewDescribeInstancesPaginator(c, &ec2.DescribeInstancesInput{Filters: filters})
	for pages.HasMorePages() {
		page, err := pages.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Reservations {
			for _, i := range r.Instances {
				ids = append(ids, aws.ToString(i.InstanceId))
			}
		}
	}
	want := []string{ControlPlaneInstance, NodeInstance1, NodeInstance2}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("instances = %v, want %v", ids, want)
	}
	if len(f.InstanceCalls) != 3 {
		t.Fatalf("fake saw %d calls, want 3 pages", len(f.InstanceCalls))
	}
	for i, call := range f.InstanceCalls {
		if !reflect.DeepEqual(call.Filters, filters) {
			t.Errorf("call %d filters differ (-sent +received):\n%s", i, cmp.Diff(filters, call.Filters, sdkValues...))
		}
		if wantToken := []string{"", "1", "2"}[i]; aws.ToString(call.NextToken) != wantToken {
			t.Errorf("call %d NextToken = %q, want %q", i, aws.ToString(call.NextToken), wantToken)
		}
	}
	for _, r := range s.Requests() {
		if r.Action != "DescribeInstances" || r.Region != testRegion {
			t.Errorf("request %s in %s", r.Action, r.Region)
		}
	}
}

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("err = %v, want an EC2 API error", err)
	}
	return api.ErrorCode() + ": " + api.ErrorMessage()
}

// Refusals arrive as EC2 XML errors the SDK decodes into API errors, and
// every request is counted.
func TestWireErrors(t *testing.T) {
	ctx := context.Background()
	f := KopsCluster("calico.example.com")
	s, c := serve(t, f)

	_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if got := apiCode(t, err); !strings.HasPrefix(got, "InvalidAction: The action DescribeVpcs is not valid") {
		t.Errorf("other action: %s", got)
	}
	otherKey := credentials.NewStaticCredentialsProvider("AKIDREAL", SecretAccessKey, "")
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}, func(o *ec2.Options) { o.Credentials = otherKey })
	if got := apiCode(t, err); !strings.HasPrefix(got, "AuthFailure: ") || !strings.Contains(got, "AKIDREAL") {
		t.Errorf("other access key: %s", got)
	}
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-1"}})
	if got := apiCode(t, err); got != "UnknownParameter: The parameter InstanceId.1 is not recognized by sgchecktest" {
		t.Errorf("unsupported parameter: %s", got)
	}
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []types.Filter{{Name: aws.String("vpc-id"), Values: []string{"vpc-0123"}}}})
	if got := apiCode(t, err); got != "InvalidParameterValue: The filter 'vpc-id' is invalid" {
		t.Errorf("unsupported filter: %s", got)
	}
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{NextToken: aws.String("x")})
	if got := apiCode(t, err); !strings.HasPrefix(got, "InvalidParameterValue: bad NextToken") {
		t.Errorf("bad token: %s", got)
	}

	f.Err = &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."}
	_, err = c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if got := apiCode(t, err); got != "UnauthorizedOperation: You are not authorized to perform this operation." {
		t.Errorf("fake's error: %s", got)
	}
	f.Err = nil

	f.Instances = append(f.Instances, richInstance())
	f.Instances[len(f.Instances)-1].Platform = types.PlatformValuesWindows
	_, err = c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if got := apiCode(t, err); !strings.HasPrefix(got, "InternalError: sgchecktest cannot send Instance.Platform over the wire") {
		t.Errorf("field without an element: %s", got)
	}

	if n := s.RequestCount(); n != 7 {
		t.Errorf("RequestCount = %d, want 7", n)
	}
}

// Env points sgcheck.NewEC2, the plugin's client, at the server.
func TestEnvReachesServer(t *testing.T) {
	s := Serve(KopsCluster("calico.example.com"), "ap-south-2")
	defer s.Close()
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
	api, err := sgcheck.NewEC2(context.Background(), s.Region)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{}); err != nil {
		t.Fatal(err)
	}
	if r := s.Requests(); len(r) != 1 || r[0].Action != "DescribeSecurityGroups" || r[0].Region != "ap-south-2" {
		t.Errorf("requests = %+v", r)
	}
}
