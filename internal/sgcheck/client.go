package sgcheck

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/kopscalico/kopscalico/internal/config"
)

// limits bound every EC2 call: each HTTP attempt, the attempts a call makes
// (the SDK's standard retryer: throttling, 5xx, timeouts and dropped
// connections, with jittered exponential backoff), and the call as a whole.
type limits struct {
	attempt     time.Duration
	maxAttempts int
	maxBackoff  time.Duration
	call        time.Duration
}

// ec2Limits: a describe answers in well under a second; four attempts of
// 20 s with at most 5 s between them fit in the 2-minute call bound.
var ec2Limits = limits{attempt: 20 * time.Second, maxAttempts: 4, maxBackoff: 5 * time.Second, call: 2 * time.Minute}

// NewEC2 returns a real EC2 client for region, with credentials from the
// default chain (environment, shared config and profile, SSO, IMDS), the
// same places the kops CLI and the Pulumi AWS provider look; every call is
// bounded by ec2Limits.
func NewEC2(ctx context.Context, region string) (EC2API, error) {
	return newEC2(ctx, region, ec2Limits)
}

func newEC2(ctx context.Context, region string, l limits) (EC2API, error) {
	if region == "" {
		return nil, fmt.Errorf("EC2 client: region is empty (set %s)", config.FullKey(config.KeyRegion))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region),
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(l.attempt)),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = l.maxAttempts
				o.MaxBackoff = l.maxBackoff
			})
		}))
	if err != nil {
		return nil, fmt.Errorf("EC2 client for %s: load AWS config: %w", region, err)
	}
	return boundedEC2{api: ec2.NewFromConfig(cfg), timeout: l.call}, nil
}

// boundedEC2 gives each call of api its own deadline.
type boundedEC2 struct {
	api     EC2API
	timeout time.Duration
}

func (b boundedEC2) DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	return bounded(ctx, b.timeout, "DescribeSecurityGroups", b.api.DescribeSecurityGroups, in, optFns)
}

func (b boundedEC2) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	return bounded(ctx, b.timeout, "DescribeInstances", b.api.DescribeInstances, in, optFns)
}

// bounded runs call under a deadline of d, and says so when that deadline,
// not the caller's, ended it.
func bounded[I, O any](ctx context.Context, d time.Duration, name string, call func(context.Context, I, ...func(*ec2.Options)) (O, error), in I, optFns []func(*ec2.Options)) (O, error) {
	callCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	out, err := call(callCtx, in, optFns...)
	if err != nil && ctx.Err() == nil && callCtx.Err() != nil {
		err = fmt.Errorf("EC2 %s did not complete within %s (retries included): %w", name, d, err)
	}
	return out, err
}
