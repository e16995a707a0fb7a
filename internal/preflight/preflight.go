// Package preflight checks, before an `up` registers anything, that this
// machine and the AWS account have what the run needs: the pinned kops, AWS
// credentials that resolve, the region and its zones. Every problem is
// reported at once, each with its fix.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
)

// kopsReleases is where kops is downloaded from.
const kopsReleases = "https://github.com/kubernetes/kops/releases"

// Timeout bounds `kops version`; each AWS call is bounded by its client
// (awsbound.Describe).
const Timeout = time.Minute

// Deps are the seams to the outside world.
type Deps struct {
	// LookPath finds an executable as exec.LookPath does.
	LookPath func(file string) (string, error)
	// Kops runs the kops binary at path.
	Kops func(path string) kops.Runner
	// AWS makes the clients of region, credentials from the default chain.
	AWS func(ctx context.Context, region string) (AWS, error)
}

// Default are the real seams: PATH, the kops binary, the AWS SDK.
func Default() Deps {
	return Deps{
		LookPath: exec.LookPath,
		Kops:     func(path string) kops.Runner { return &kops.ExecRunner{Binary: path} },
		AWS:      NewAWS,
	}
}

// Error is every problem the preflight found.
type Error struct{ Problems []error }

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "preflight: %d problem(s) before anything is applied:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap exposes the problems to errors.Is and errors.As.
func (e *Error) Unwrap() []error { return e.Problems }

// Run checks what cfg needs of this machine and the account: kops when the
// program manages the cluster, AWS when it manages the cluster, creates the
// state-store bucket or checks security groups.
func Run(ctx context.Context, cfg config.Config, deps Deps) error {
	var problems []error
	if cfg.Cluster.Manage {
		problems = append(problems, checkKops(ctx, cfg, deps)...)
	}
	if cfg.Cluster.Manage || cfg.StateStore.Create() || cfg.SecurityGroupCheck != config.SGCheckOff {
		var zones []string
		if cfg.Cluster.Manage {
			zones = cfg.Cluster.Zones
		}
		problems = append(problems, checkAWS(ctx, cfg.Cluster.Region, zones, deps)...)
	}
	if len(problems) > 0 {
		return &Error{Problems: problems}
	}
	return nil
}

// checkKops finds the kops binary and checks it is the pinned minor release.
func checkKops(ctx context.Context, cfg config.Config, deps Deps) []error {
	bin := cfg.Kops.Binary
	install := fmt.Sprintf("install kops %s.x from %s", cfg.Kops.Version.MinorString(), kopsReleases)
	path, err := deps.LookPath(bin)
	if err != nil {
		if !strings.Contains(bin, "/") {
			return []error{fmt.Errorf("%s is not on PATH: %s or set %s to its path", bin, install, config.FullKey(config.KeyKopsBinary))}
		}
		return []error{fmt.Errorf("%s = %q: not an executable file (%v): %s, or point the key at one", config.FullKey(config.KeyKopsBinary), bin, err, install)}
	}
	m := kops.Manager{Runner: deps.Kops(path), Timeouts: kops.Timeouts{Command: Timeout}}
	d := kops.Desired{KopsVersion: cfg.Kops.Version, StateStore: cfg.StateStore.URL()}
	if _, err := m.CheckVersion(ctx, d); err != nil {
		return []error{fmt.Errorf("kops at %s: %w", path, err)}
	}
	return nil
}

// errNotChecked says why the region and zones were left unchecked.
var errNotChecked = errors.New("the region and zones are checked once AWS answers")

// checkAWS resolves the caller's identity, then checks the region is one of
// the account's and every zone is an available zone of it.
func checkAWS(ctx context.Context, region string, zones []string, deps Deps) []error {
	clients, err := deps.AWS(ctx, region)
	if err != nil {
		return []error{fmt.Errorf("AWS configuration: %w: fix AWS_PROFILE or the files under ~/.aws; %w", err, errNotChecked)}
	}
	if _, err := clients.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		return []error{identityProblem(region, err)}
	}
	return checkRegionAndZones(ctx, clients.EC2, region, zones)
}

// identityProblem turns a failed sts:GetCallerIdentity into its fix: an
// endpoint that does not resolve is a region (or network) problem, any
// other failure one of credentials.
func identityProblem(region string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("AWS does not answer in %s: %v: check this machine reaches AWS (behind a proxy: HTTPS_PROXY), or leave the checks out (--skip-preflight); %w",
			region, err, errNotChecked)
	}
	if isNoSuchHost(err) {
		return fmt.Errorf("%s = %q: AWS does not answer for this region (%v): use a region such as us-east-1, and check this machine reaches AWS "+
			"(air-gapped: skip the preflight); %w", config.FullKey(config.KeyRegion), region, err, errNotChecked)
	}
	return fmt.Errorf("AWS credentials do not resolve (sts:GetCallerIdentity: %v): set AWS_PROFILE (run `aws sso login` first for an SSO profile), "+
		"or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; %w", err, errNotChecked)
}
