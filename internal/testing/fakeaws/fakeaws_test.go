package fakeaws

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// sdkConfig loads the AWS SDK configuration the way kops does
// (awsup.loadAWSConfig: LoadDefaultConfig with a region), from Env alone.
func sdkConfig(t *testing.T, s *Server, region string) aws.Config {
	t.Helper()
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestSDKReachesTheFakeThroughEnv(t *testing.T) {
	s := Start(t)
	cfg := sdkConfig(t, s, "eu-west-1")
	ctx := context.Background()

	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != Account {
		t.Fatalf("GetCallerIdentity: %+v, %v", id, err)
	}
	client := ec2.NewFromConfig(cfg)
	azs, err := client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{ZoneNames: []string{"eu-west-1b"}})
	if err != nil || len(azs.AvailabilityZones) != 1 || aws.ToString(azs.AvailabilityZones[0].ZoneName) != "eu-west-1b" ||
		azs.AvailabilityZones[0].State != ec2types.AvailabilityZoneStateAvailable {
		t.Errorf("DescribeAvailabilityZones: %+v, %v", azs, err)
	}
	const image = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610"
	imgs, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"099720109477"},
		Filters: []ec2types.Filter{{Name: aws.String("name"), Values: []string{image}}}})
	if err != nil || len(imgs.Images) != 1 || aws.ToString(imgs.Images[0].Name) != image || imgs.Images[0].Architecture != ec2types.ArchitectureValuesX8664 {
		t.Errorf("DescribeImages: %+v, %v", imgs, err)
	}
	types, err := client.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []ec2types.InstanceType{"t3.medium"}})
	if err != nil || len(types.InstanceTypes) != 1 || aws.ToInt32(types.InstanceTypes[0].VCpuInfo.DefaultVCpus) != 2 ||
		aws.ToInt32(types.InstanceTypes[0].NetworkInfo.MaximumNetworkInterfaces) != 3 {
		t.Errorf("DescribeInstanceTypes: %+v, %v", types, err)
	}
	vpcs, err := client.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err != nil || len(vpcs.Vpcs) != 0 {
		t.Errorf("DescribeVpcs in an empty account: %+v, %v", vpcs, err)
	}

	_, err = client.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnauthorizedOperation" {
		t.Errorf("CreateVpc: %v, want the fake's refusal", err)
	}
	refused := s.Refused()
	if len(refused) != 1 || refused[0].String() != "ec2:CreateVpc" {
		t.Errorf("refused calls %v", refused)
	}
	var got []string
	for _, c := range s.Calls() {
		got = append(got, c.String())
	}
	want := "sts:GetCallerIdentity ec2:DescribeAvailabilityZones ec2:DescribeImages ec2:DescribeInstanceTypes ec2:DescribeVpcs ec2:CreateVpc"
	if strings.Join(got, " ") != want {
		t.Errorf("calls %v, want %s", got, want)
	}
}

// TestWebThroughEnv fetches through the proxy from a child process, so the
// proxy and CA variables are read at start as kops reads them.
func TestWebThroughEnv(t *testing.T) {
	if os.Getenv("FAKEAWS_FETCH") != "" {
		return
	}
	s := Start(t)
	s.ServeWebFile("https://raw.githubusercontent.com/kubernetes/kops/master/channels/stable", []byte("kind: Channel\n"))
	fetch := func(u string) string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestFetchChild$")
		cmd.Env = []string{"FAKEAWS_FETCH=" + u}
		for k, v := range s.Env() {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("fetch %s: %v\n%s", u, err, out)
		}
		return string(out)
	}
	if out := fetch("https://raw.githubusercontent.com/kubernetes/kops/master/channels/stable"); !strings.Contains(out, "200 kind: Channel") {
		t.Errorf("channel: %q", out)
	}
	if out := fetch("https://artifacts.k8s.io/binaries/kops/1.36.2/linux/amd64/nodeup.sha256"); !strings.Contains(out, "200 ") || len(strings.Fields(out)) < 2 || len(strings.Fields(out)[1]) != 64 {
		t.Errorf("hash file: %q", out)
	}
	if out := fetch("https://dl.k8s.io/release/stable.txt"); !strings.Contains(out, "404 ") {
		t.Errorf("unknown file: %q", out)
	}
	reqs := s.WebRequests()
	if len(reqs) != 3 || reqs[2].URL != "https://dl.k8s.io/release/stable.txt" || reqs[2].Status != 404 {
		t.Errorf("web requests %+v", reqs)
	}
}

// TestFetchChild is the child of TestWebThroughEnv: it prints the status and
// body of FAKEAWS_FETCH fetched with Go's default client.
func TestFetchChild(t *testing.T) {
	u := os.Getenv("FAKEAWS_FETCH")
	if u == "" {
		t.Skip("child of TestWebThroughEnv")
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	os.Stdout.WriteString("\n" + resp.Status[:3] + " " + string(b) + "\n")
}

// The fake's S3 is held to S3's conditional writes through the SDK's own
// client: a second PutObject with If-None-Match: * is refused 412
// PreconditionFailed, as is an If-Match of an old ETag, and a conditional
// delete of a changed object.
func TestS3ConditionalWritesThroughTheSDK(t *testing.T) {
	s := Start(t)
	client := s3.NewFromConfig(sdkConfig(t, s, "us-east-1"))
	ctx := context.Background()
	put := func(body string, opt func(*s3.PutObjectInput)) (*s3.PutObjectOutput, error) {
		in := &s3.PutObjectInput{Bucket: aws.String("store"), Key: aws.String("p/.kopscalico-leases/c.json"), Body: strings.NewReader(body)}
		opt(in)
		return client.PutObject(ctx, in)
	}
	first, err := put("one", func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") })
	if err != nil {
		t.Fatalf("first conditional put: %v", err)
	}
	preconditionFailed := func(what string, err error) {
		t.Helper()
		var re *awshttp.ResponseError
		var api smithy.APIError
		if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusPreconditionFailed || !errors.As(err, &api) || api.ErrorCode() != "PreconditionFailed" {
			t.Errorf("%s: %v; want 412 PreconditionFailed", what, err)
		}
	}
	_, err = put("two", func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") })
	preconditionFailed("second put with If-None-Match: *", err)
	if got, _ := s.S3Object("store", "p/.kopscalico-leases/c.json"); string(got) != "one" {
		t.Errorf("after the refused put the object is %q, want %q", got, "one")
	}
	second, err := put("three", func(in *s3.PutObjectInput) { in.IfMatch = first.ETag })
	if err != nil || aws.ToString(second.ETag) == aws.ToString(first.ETag) {
		t.Fatalf("put with If-Match of the current ETag: %v (ETag %v)", err, second)
	}
	_, err = put("four", func(in *s3.PutObjectInput) { in.IfMatch = first.ETag })
	preconditionFailed("put with If-Match of an old ETag", err)
	got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("store"), Key: aws.String("p/.kopscalico-leases/c.json")})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(got.Body); string(b) != "three" || aws.ToString(got.ETag) != aws.ToString(second.ETag) {
		t.Errorf("get: %q %s, want %q %s", b, aws.ToString(got.ETag), "three", aws.ToString(second.ETag))
	}
	_, err = client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("store"), Key: aws.String("p/.kopscalico-leases/c.json"), IfMatch: first.ETag})
	preconditionFailed("delete with If-Match of an old ETag", err)
	if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("store"), Key: aws.String("p/.kopscalico-leases/c.json"), IfMatch: second.ETag}); err != nil {
		t.Fatalf("delete with If-Match of the current ETag: %v", err)
	}
	_, err = client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("store"), Key: aws.String("p/.kopscalico-leases/c.json")})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("get after delete: %v, want NoSuchKey", err)
	}
	if _, err := put("five", func(in *s3.PutObjectInput) { in.IfNoneMatch = aws.String("*") }); err != nil {
		t.Errorf("conditional put after the delete: %v", err)
	}
}
