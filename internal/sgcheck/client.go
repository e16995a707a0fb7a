package sgcheck

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/kopscalico/kopscalico/internal/awsbound"
	"github.com/kopscalico/kopscalico/internal/config"
)

// ec2Limits bound every EC2 call.
var ec2Limits = awsbound.Describe

// NewEC2 returns a real EC2 client for region, with credentials from the
// default chain (environment, shared config and profile, SSO, IMDS), the
// same places the kops CLI and the Pulumi AWS provider look; every call is
// bounded by ec2Limits.
func NewEC2(ctx context.Context, region string) (EC2API, error) {
	return newEC2(ctx, region, ec2Limits)
}

func newEC2(ctx context.Context, region string, l awsbound.Limits) (EC2API, error) {
	if region == "" {
		return nil, fmt.Errorf("EC2 client: region is empty (set %s)", config.FullKey(config.KeyRegion))
	}
	cfg, err := awsbound.Config(ctx, region, l)
	if err != nil {
		return nil, fmt.Errorf("EC2 client for %s: load AWS config: %w", region, err)
	}
	return boundedEC2{api: ec2.NewFromConfig(cfg), timeout: l.Call}, nil
}

// boundedEC2 gives each call of api its own deadline.
type boundedEC2 struct {
	api     EC2API
	timeout time.Duration
}

func (b boundedEC2) DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	return awsbound.Call(ctx, b.timeout, "EC2 DescribeSecurityGroups", b.api.DescribeSecurityGroups, in, optFns)
}

func (b boundedEC2) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	return awsbound.Call(ctx, b.timeout, "EC2 DescribeInstances", b.api.DescribeInstances, in, optFns)
}
