package preflight

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

type fakeSTS struct{ err error }

func (f fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &sts.GetCallerIdentityOutput{Arn: aws.String("arn:aws:iam::123456789012:user/me"), Account: aws.String("123456789012")}, nil
}

// fakeEC2 answers as EC2 does for an account with regions, each region's
// zones named by their state.
type fakeEC2 struct {
	region  string
	regions map[string]string // name -> opt-in status
	zones   map[string]ec2types.AvailabilityZoneState
	calls   []string
}

func (f *fakeEC2) DescribeRegions(_ context.Context, in *ec2.DescribeRegionsInput, _ ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error) {
	f.calls = append(f.calls, "DescribeRegions")
	out := &ec2.DescribeRegionsOutput{}
	for name, optIn := range f.regions {
		// Without AllRegions, EC2 leaves out the regions not enabled.
		if optIn == "not-opted-in" && !aws.ToBool(in.AllRegions) {
			continue
		}
		out.Regions = append(out.Regions, ec2types.Region{RegionName: aws.String(name), OptInStatus: aws.String(optIn)})
	}
	return out, nil
}

func (f *fakeEC2) DescribeAvailabilityZones(context.Context, *ec2.DescribeAvailabilityZonesInput, ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error) {
	f.calls = append(f.calls, "DescribeAvailabilityZones")
	out := &ec2.DescribeAvailabilityZonesOutput{}
	for name, state := range f.zones {
		out.AvailabilityZones = append(out.AvailabilityZones, ec2types.AvailabilityZone{ZoneName: aws.String(name), State: state, RegionName: aws.String(f.region)})
	}
	return out, nil
}

func newFakeEC2() *fakeEC2 {
	return &fakeEC2{
		region:  "eu-west-1",
		regions: map[string]string{"eu-west-1": "opt-in-not-required", "us-east-1": "opt-in-not-required", "af-south-1": "not-opted-in"},
		zones: map[string]ec2types.AvailabilityZoneState{
			"eu-west-1a": ec2types.AvailabilityZoneStateAvailable, "eu-west-1b": ec2types.AvailabilityZoneStateAvailable,
			"eu-west-1c": ec2types.AvailabilityZoneStateImpaired,
		},
	}
}

// world is a machine and an account: kops on PATH answering `kops version`
// with version, and AWS.
type world struct {
	onPath  map[string]string // name or path -> resolved path
	version string
	stsErr  error
	ec2     *fakeEC2
	runner  *kopstest.Runner
}

func newWorld() *world {
	return &world{onPath: map[string]string{"kops": "/usr/local/bin/kops"}, version: "Client version: 1.36.2 (git-v1.36.2)\n", ec2: newFakeEC2()}
}

func (w *world) deps(t *testing.T) Deps {
	w.runner = &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{"version": kopstest.OK(w.version)}}
	return Deps{
		LookPath: func(file string) (string, error) {
			if p, ok := w.onPath[file]; ok {
				return p, nil
			}
			if strings.Contains(file, "/") {
				return "", &fs.PathError{Op: "stat", Path: file, Err: fs.ErrNotExist}
			}
			return "", fmt.Errorf("exec: %q: executable file not found in $PATH", file)
		},
		Kops: func(string) kops.Runner { return w.runner },
		AWS: func(context.Context, string) (AWS, error) {
			return AWS{STS: fakeSTS{w.stsErr}, EC2: w.ec2}, nil
		},
	}
}

func managed() config.Config {
	return config.Config{
		Cluster:            config.Cluster{Manage: true, Region: "eu-west-1", Zones: []string{"eu-west-1a", "eu-west-1b"}},
		Kops:               config.Kops{Version: kopsrelease.MustParse("1.36"), Binary: "kops"},
		StateStore:         config.StateStore{Bucket: "kops-state-calico"},
		SecurityGroupCheck: config.SGCheckEnforce,
	}
}

// problems runs the preflight and returns its problems' messages.
func problems(t *testing.T, cfg config.Config, deps Deps) []string {
	t.Helper()
	err := Run(context.Background(), cfg, deps)
	if err == nil {
		return nil
	}
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("not a preflight error: %v", err)
	}
	var out []string
	for _, p := range pe.Problems {
		out = append(out, p.Error())
	}
	return out
}

func wantProblems(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for i, w := range want {
		if !strings.Contains(got[i], w) {
			t.Errorf("problem %d:\n  %s\nlacks %q", i, got[i], w)
		}
	}
}

func TestReadyMachinePasses(t *testing.T) {
	t.Parallel()
	w := newWorld()
	if got := problems(t, managed(), w.deps(t)); got != nil {
		t.Fatalf("problems on a ready machine: %v", got)
	}
	if calls := w.runner.Calls(); len(calls) != 1 || calls[0].Args != "version" {
		t.Errorf("kops calls %v, want `kops version` only", calls)
	}
	if strings.Join(w.ec2.calls, " ") != "DescribeRegions DescribeAvailabilityZones" {
		t.Errorf("EC2 calls %v", w.ec2.calls)
	}
}

// TestEveryProblemAtOnce: a new user's machine, no kops and no AWS
// credentials, hears of both in one run.
func TestEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	w := newWorld()
	w.onPath = nil
	w.stsErr = errors.New("failed to refresh cached credentials, no EC2 IMDS role found")
	wantProblems(t, problems(t, managed(), w.deps(t)),
		"kops is not on PATH: install kops 1.36.x from https://github.com/kubernetes/kops/releases or set kopscalico:kopsBinary",
		"AWS credentials do not resolve (sts:GetCallerIdentity: failed to refresh cached credentials")
	if len(w.ec2.calls) != 0 {
		t.Errorf("EC2 asked without credentials: %v", w.ec2.calls)
	}
}

func TestKopsProblems(t *testing.T) {
	t.Parallel()
	w := newWorld()
	w.version = "Client version: 1.34.1 (git-v1.34.1)\n"
	wantProblems(t, problems(t, managed(), w.deps(t)),
		"kops at /usr/local/bin/kops: the kops binary is 1.34.1 but kopscalico:kopsVersion pins 1.36")

	cfg := managed()
	cfg.Kops.Binary = "/opt/kops/bin/kops"
	wantProblems(t, problems(t, cfg, w.deps(t)),
		`kopscalico:kopsBinary = "/opt/kops/bin/kops": not an executable file`)

	w = newWorld()
	deps := w.deps(t)
	w.runner.Answers["version"] = kopstest.Fail(2, "exec format error")
	wantProblems(t, problems(t, managed(), deps), "kops at /usr/local/bin/kops: checking the kops version")
}

func TestRegionAndZoneProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		region string
		zones  []string
		want   []string
	}{
		{"region unknown to the account", "eu-west-9", []string{"eu-west-9a", "eu-west-9b"},
			[]string{`kopscalico:region = "eu-west-9": not a region of this AWS account: use one of af-south-1, eu-west-1, us-east-1`}},
		{"opt-in region not enabled", "af-south-1", []string{"af-south-1a", "af-south-1b"},
			[]string{`kopscalico:region = "af-south-1": the account has not enabled this opt-in region`}},
		{"zones missing or impaired, both named", "eu-west-1", []string{"eu-west-1a", "eu-west-1d", "eu-west-1c"},
			[]string{`kopscalico:zones = "eu-west-1d": not an availability zone of eu-west-1: use two or more of eu-west-1a, eu-west-1b`,
				`kopscalico:zones = "eu-west-1c": the zone is impaired`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			cfg := managed()
			cfg.Cluster.Region, cfg.Cluster.Zones = tc.region, tc.zones
			wantProblems(t, problems(t, cfg, w.deps(t)), tc.want...)
		})
	}
}

func TestUnresolvableEndpointIsARegionProblem(t *testing.T) {
	t.Parallel()
	w := newWorld()
	w.stsErr = &net.DNSError{Err: "no such host", Name: "sts.eu-west-9.amazonaws.com", IsNotFound: true}
	wantProblems(t, problems(t, managed(), w.deps(t)),
		`kopscalico:region = "eu-west-1": AWS does not answer for this region`)
}

// TestOnlyWhatTheConfigNeeds: deploying onto an existing cluster with an
// existing store and no security-group check needs neither kops nor AWS;
// an existing cluster whose groups are checked needs AWS, not kops or zones.
func TestOnlyWhatTheConfigNeeds(t *testing.T) {
	t.Parallel()
	cfg := managed()
	cfg.Cluster.Manage = false
	cfg.StateStore.ExistingURL = "s3://kops-state"
	cfg.SecurityGroupCheck = config.SGCheckOff
	if err := Run(context.Background(), cfg, Deps{}); err != nil {
		t.Fatalf("checked something: %v", err)
	}

	cfg.SecurityGroupCheck = config.SGCheckWarn
	w := newWorld()
	w.onPath = nil
	if got := problems(t, cfg, w.deps(t)); got != nil {
		t.Errorf("problems: %v", got)
	}
	if strings.Join(w.ec2.calls, " ") != "DescribeRegions" {
		t.Errorf("EC2 calls %v, want the region check only", w.ec2.calls)
	}
}
