// Package kopsrelease is what the program knows about kops releases: how a
// version is written, which releases are supported, and, in one table, the
// release at which each behaviour the program depends on changes.
// Supporting a new kops minor is a row here (if something changes), a
// fixture printed by that kops, and the test double.
package kopsrelease

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a kops release. The program's behaviour depends on the minor
// release only; the patch is kept for messages.
type Version struct {
	Major, Minor, Patch int
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// MinorString is "1.34": how kopscalico:kopsVersion pins a release.
func (v Version) MinorString() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// AtLeast reports whether v is o's minor release or a later one.
func (v Version) AtLeast(o Version) bool {
	if v.Major != o.Major {
		return v.Major > o.Major
	}
	return v.Minor >= o.Minor
}

// IsZero reports whether no release is pinned.
func (v Version) IsZero() bool { return v == Version{} }

// MarshalText writes the minor release ("1.34"), empty when none is pinned:
// the form of kopscalico:kopsVersion and of the plugin's kopsVersion input.
func (v Version) MarshalText() ([]byte, error) {
	if v.IsZero() {
		return []byte{}, nil
	}
	return []byte(v.MinorString()), nil
}

// UnmarshalText parses what MarshalText writes, or any form Parse takes.
func (v *Version) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*v = Version{}
		return nil
	}
	p, err := Parse(string(b))
	if err != nil {
		return err
	}
	*v = p
	return nil
}

// SameMinor reports whether v and o are the same major.minor release line.
func (v Version) SameMinor(o Version) bool { return v.Major == o.Major && v.Minor == o.Minor }

func minor(m int) Version { return Version{1, m, 0} }

// Releases the program supports: it creates clusters with Newest back to
// OldestToCreate, and converts clusters of kops releases back to Oldest.
var (
	Oldest         = minor(7)
	OldestToCreate = minor(28)
	Newest         = minor(36)
)

// The releases at which a behaviour the program depends on changes, each
// with where in kops it comes from.
var (
	// kops 1.7's own Calico (calico/node v1.2.1) predates NetworkPolicy
	// support: the tutorial's upgrade manifest applies to 1.7 only; from
	// 1.8 Calico is a kops addon kops re-applies.
	CalicoAddon = minor(8)
	// From 1.20 kops leaves the etcd ports (2380-2381, 4001-4002) out of the
	// node-to-control-plane rules and removes rules added there
	// (pkg/model/awsmodel/firewall.go applyNodeToMasterBlockSpecificPorts).
	EtcdBlockedFromNodes = minor(20)
	// From 1.22 calico.crossSubnet is deprecated and ignored;
	// encapsulationMode, ipipMode/vxlanMode and awsSrcDstCheck replace it.
	CalicoModes = minor(22)
	// From 1.23 kops re-applies its addons (Calico among them) with forced
	// server-side apply (channels/pkg/channels/apply.go).
	ForcedServerSideApply = minor(23)
	// From 1.26 `--control-plane-*` flags replace `--master-*`.
	ControlPlaneFlags = minor(26)
	// From 1.29 `kops create cluster` without --dns-zone makes a DNS-none
	// cluster, a gossip (.k8s.local) name included
	// (upup/pkg/fi/cloudup/new_cluster.go); before, gossip DNS.
	GossipIsDNSNone = minor(29)
	// From 1.37 gossip DNS is removed.
	GossipRemoved = minor(37)
	// From 1.30 `update cluster` takes --instance-group-roles, so the
	// control plane's launch templates can be applied before the nodes'.
	UpdateByRole = minor(30)
	// From 1.31 `update cluster` keeps node groups on the kubelet the control
	// plane runs (cmd/kops/update_cluster.go IgnoreKubeletVersionSkew), and
	// `kops reconcile cluster` updates and rolls the control plane, then the
	// nodes, then prunes (docs/tutorial/upgrading-kubernetes.md).
	ReconcileCluster = minor(31)
	// From 1.18 `rolling-update cluster` takes --validate-count
	// (cmd/kops/rollingupdatecluster.go, v1.18.0), from 1.23 --drain-timeout
	// (cmd/kops/rolling-update_cluster.go, v1.23.0).
	RollingUpdateValidateCount = minor(18)
	RollingUpdateDrainTimeout  = minor(23)
	// From 1.31 rolling-update and validate talk to the API with an admin
	// credential minted from the state store, for one hour
	// (cmd/kops/util/factory.go RESTConfig, `Admin: 1 * time.Hour`, v1.31.0);
	// before, with the kubeconfig's user.
	MintedAdminCredential = minor(31)
	// From 1.32 `rolling-update cluster --admin` sets that credential's
	// lifetime (cmd/kops/rolling-update_cluster.go, v1.32.0; kops commit
	// d5cea90a "make --admin configurable to rolling-update").
	RollingUpdateAdminLifetime = minor(32)
)

var versionRE = regexp.MustCompile(`^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$`)

// Parse parses "1.34", "1.34.1", "v1.34.1" or "1.34.0-beta.1".
func Parse(s string) (Version, error) {
	m := versionRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Version{}, fmt.Errorf("%q is not a kops version (want major.minor, e.g. 1.34)", s)
	}
	var v Version
	v.Major, _ = strconv.Atoi(m[1])
	v.Minor, _ = strconv.Atoi(m[2])
	if m[3] != "" {
		v.Patch, _ = strconv.Atoi(m[3])
	}
	return v, nil
}

// MustParse is Parse for versions written in code; it panics on a bad one.
func MustParse(s string) Version {
	v, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return v
}

// Supported says whether the program can drive v, and what to do if not.
func Supported(v Version) error {
	if v.AtLeast(Oldest) && !v.AtLeast(minor(Newest.Minor+1)) {
		return nil
	}
	return fmt.Errorf("kops %s is not supported: use %s to %s (releases down to %s only to convert legacy clusters)",
		v.MinorString(), OldestToCreate.MinorString(), Newest.MinorString(), Oldest.MinorString())
}

// ParseOutput parses what `kops version` prints:
//
//	Client version: 1.34.1 (git-v1.34.1)      kops 1.19 and later
//	Version 1.7.0 (git-e04c29d)               older releases
//	1.34.1                                    `kops version --short`
//
// Lines it does not know (klog noise, "Last applied server version") are skipped.
func ParseOutput(out string) (Version, error) {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		var rest string
		switch {
		case strings.HasPrefix(line, "Client version:"):
			rest = strings.TrimPrefix(line, "Client version:")
		case strings.HasPrefix(line, "Version "):
			rest = strings.TrimPrefix(line, "Version ")
		case versionRE.MatchString(line):
			rest = line
		default:
			continue
		}
		if fields := strings.Fields(rest); len(fields) > 0 {
			return Parse(fields[0])
		}
	}
	return Version{}, fmt.Errorf("unrecognised `kops version` output %q", strings.TrimSpace(out))
}
