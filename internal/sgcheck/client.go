package sgcheck

import (
	"context"
	"fmt"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/kopscalico/kopscalico/internal/config"
)

// NewEC2 returns a real EC2 client for region, with credentials from the
// default chain (environment, shared config and profile, SSO, IMDS), the
// same places the kops CLI and the Pulumi AWS provider look.
func NewEC2(ctx context.Context, region string) (EC2API, error) {
	if region == "" {
		return nil, fmt.Errorf("EC2 client: region is empty (set %s)", config.FullKey(config.KeyRegion))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, fmt.Errorf("EC2 client for %s: load AWS config: %w", region, err)
	}
	return ec2.NewFromConfig(cfg), nil
}
