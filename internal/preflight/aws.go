package preflight

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kopscalico/kopscalico/internal/awsbound"
	"github.com/kopscalico/kopscalico/internal/config"
)

// STSAPI is the part of the STS client the preflight uses.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// EC2API is the part of the EC2 client the preflight uses: two describes.
type EC2API interface {
	DescribeRegions(ctx context.Context, in *ec2.DescribeRegionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
	DescribeAvailabilityZones(ctx context.Context, in *ec2.DescribeAvailabilityZonesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error)
}

// AWS is the clients of one region.
type AWS struct {
	STS STSAPI
	EC2 EC2API
}

// NewAWS makes the real clients of region, with credentials from the
// default chain (environment, shared config and profile, SSO, IMDS): where
// kops and the Pulumi AWS provider look too. Every call is bounded by
// awsbound.Describe, as the security-group check's are.
func NewAWS(ctx context.Context, region string) (AWS, error) {
	return newAWS(ctx, region, awsbound.Describe)
}

func newAWS(ctx context.Context, region string, l awsbound.Limits) (AWS, error) {
	cfg, err := awsbound.Config(ctx, region, l)
	if err != nil {
		return AWS{}, err
	}
	return AWS{STS: boundedSTS{sts.NewFromConfig(cfg), l.Call}, EC2: boundedEC2{ec2.NewFromConfig(cfg), l.Call}}, nil
}

// boundedSTS and boundedEC2 give each call of api its own deadline.
type boundedSTS struct {
	api     STSAPI
	timeout time.Duration
}

func (b boundedSTS) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return awsbound.Call(ctx, b.timeout, "sts:GetCallerIdentity", b.api.GetCallerIdentity, in, optFns)
}

type boundedEC2 struct {
	api     EC2API
	timeout time.Duration
}

func (b boundedEC2) DescribeRegions(ctx context.Context, in *ec2.DescribeRegionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error) {
	return awsbound.Call(ctx, b.timeout, "ec2:DescribeRegions", b.api.DescribeRegions, in, optFns)
}

func (b boundedEC2) DescribeAvailabilityZones(ctx context.Context, in *ec2.DescribeAvailabilityZonesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error) {
	return awsbound.Call(ctx, b.timeout, "ec2:DescribeAvailabilityZones", b.api.DescribeAvailabilityZones, in, optFns)
}

// checkRegionAndZones checks the region is one the account lists and has
// enabled, and each zone is an available zone of it.
func checkRegionAndZones(ctx context.Context, client EC2API, region string, zones []string) []error {
	regions, err := client.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		return []error{fmt.Errorf("ec2:DescribeRegions in %s: %w: the AWS identity needs it (read-only) to check %s and %s",
			region, err, config.FullKey(config.KeyRegion), config.FullKey(config.KeyZones))}
	}
	var names []string
	found := false
	for _, r := range regions.Regions {
		name := aws.ToString(r.RegionName)
		names = append(names, name)
		if name != region {
			continue
		}
		found = true
		if aws.ToString(r.OptInStatus) == "not-opted-in" {
			return []error{fmt.Errorf("%s = %q: the account has not enabled this opt-in region: enable it (AWS console, Account, AWS Regions) or use another region",
				config.FullKey(config.KeyRegion), region)}
		}
	}
	if !found {
		slices.Sort(names)
		return []error{fmt.Errorf("%s = %q: not a region of this AWS account: use one of %s",
			config.FullKey(config.KeyRegion), region, strings.Join(names, ", "))}
	}
	if len(zones) == 0 {
		return nil
	}

	out, err := client.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil {
		return []error{fmt.Errorf("ec2:DescribeAvailabilityZones in %s: %w: the AWS identity needs it (read-only) to check %s",
			region, err, config.FullKey(config.KeyZones))}
	}
	state := map[string]ec2types.AvailabilityZoneState{}
	var available []string
	for _, z := range out.AvailabilityZones {
		name := aws.ToString(z.ZoneName)
		state[name] = z.State
		if z.State == ec2types.AvailabilityZoneStateAvailable {
			available = append(available, name)
		}
	}
	slices.Sort(available)
	var problems []error
	for _, z := range zones {
		switch s, ok := state[z]; {
		case !ok:
			problems = append(problems, fmt.Errorf("%s = %q: not an availability zone of %s: use two or more of %s",
				config.FullKey(config.KeyZones), z, region, strings.Join(available, ", ")))
		case s != ec2types.AvailabilityZoneStateAvailable:
			problems = append(problems, fmt.Errorf("%s = %q: the zone is %s: use two or more of %s",
				config.FullKey(config.KeyZones), z, s, strings.Join(available, ", ")))
		}
	}
	return problems
}

// isNoSuchHost reports whether err is a DNS name that does not resolve.
func isNoSuchHost(err error) bool {
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
}
