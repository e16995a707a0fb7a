// Package awsbound loads the AWS SDK's configuration with every call
// bounded: each HTTP attempt, the attempts a call makes (the SDK's standard
// retryer: throttling, 5xx, timeouts and dropped connections, with jittered
// exponential backoff), and the call as a whole. The security-group check
// and the preflight make their AWS calls through it.
package awsbound

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// Limits bound one AWS call.
type Limits struct {
	Attempt     time.Duration // one HTTP attempt
	MaxAttempts int           // attempts of one call, the first included
	MaxBackoff  time.Duration // the longest wait between two attempts
	Call        time.Duration // the call, retries included
}

// Describe bounds a read-only describe, which answers in well under a
// second: four attempts of 20 s with at most 5 s between them fit in the
// 2-minute call bound.
var Describe = Limits{Attempt: 20 * time.Second, MaxAttempts: 4, MaxBackoff: 5 * time.Second, Call: 2 * time.Minute}

// Fits reports whether the attempts and the waits between them fit in the
// call bound.
func (l Limits) Fits() bool {
	return time.Duration(l.MaxAttempts)*l.Attempt+time.Duration(l.MaxAttempts-1)*l.MaxBackoff <= l.Call
}

// Config is the SDK's default configuration of region (credentials from
// the default chain: environment, shared config and profile, SSO, IMDS; the
// same places the kops CLI looks), each attempt and the retries bounded by l.
func Config(ctx context.Context, region string, l Limits) (aws.Config, error) {
	return awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region),
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(l.Attempt)),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = l.MaxAttempts
				o.MaxBackoff = l.MaxBackoff
			})
		}))
}

// Call runs call under a deadline of d, and says so when that deadline, not
// the caller's, ended it; name is the call as IAM names it (ec2:DescribeRegions).
func Call[I, O, P any](ctx context.Context, d time.Duration, name string, call func(context.Context, I, ...P) (O, error), in I, optFns []P) (O, error) {
	callCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	out, err := call(callCtx, in, optFns...)
	if err != nil && ctx.Err() == nil && callCtx.Err() != nil {
		err = fmt.Errorf("%s did not complete within %s (retries included): %w", name, d, err)
	}
	return out, err
}
