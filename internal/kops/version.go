package kops

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Version is a kops release, as far as the program's behaviour depends on it
// (major.minor; the patch is kept for messages).
type Version struct {
	Major, Minor, Patch int
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// MinorString is "1.34": the form of the pinned kopscalico:kopsVersion.
func (v Version) MinorString() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// AtLeast reports whether v is major.minor or later.
func (v Version) AtLeast(major, minor int) bool {
	if v.Major != major {
		return v.Major > major
	}
	return v.Minor >= minor
}

// SameMinor reports whether v and o are the same major.minor release line.
func (v Version) SameMinor(o Version) bool { return v.Major == o.Major && v.Minor == o.Minor }

// Versions the program's behaviour changes at.
var (
	// From 1.22 calico.crossSubnet is deprecated and has no effect;
	// encapsulationMode/ipipMode/vxlanMode/awsSrcDstCheck replace it.
	versionCalicoModes = Version{1, 22, 0}
	// From 1.26 `--control-plane-*` flags replace `--master-*`.
	versionControlPlaneFlags = Version{1, 26, 0}
	// From 1.29 `kops create cluster` without --dns-zone makes a DNS-none
	// cluster, a gossip (.k8s.local) name included ("Gossip is deprecated,
	// using None DNS instead", upup/pkg/fi/cloudup/new_cluster.go); before,
	// a gossip name got legacy gossip DNS.
	versionGossipIsDNSNone = Version{1, 29, 0}
	// From 1.37 gossip DNS is removed.
	versionGossipRemoved = Version{1, 37, 0}
)

func (v Version) atLeast(o Version) bool { return v.AtLeast(o.Major, o.Minor) }

var semverRE = regexp.MustCompile(`v?(\d+)\.(\d+)(?:\.(\d+))?`)

// ParseVersion parses "1.34", "1.34.1", "v1.34.1" or "1.34.0-beta.1".
func ParseVersion(s string) (Version, error) {
	s = strings.TrimSpace(s)
	m := semverRE.FindStringSubmatch(s)
	if m == nil || !strings.HasPrefix(strings.TrimPrefix(s, "v"), m[1]) {
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

// ParseVersionOutput parses what `kops version` prints:
//
//	Client version: 1.34.1 (git-v1.34.1)      kops 1.19 and later
//	Version 1.7.0 (git-e04c29d)               older releases
//	1.34.1                                    `kops version --short`
//
// Lines it does not know (klog noise, "Last applied server version") are skipped.
func ParseVersionOutput(out string) (Version, error) {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		var rest string
		switch {
		case strings.HasPrefix(line, "Client version:"):
			rest = strings.TrimPrefix(line, "Client version:")
		case strings.HasPrefix(line, "Version "):
			rest = strings.TrimPrefix(line, "Version ")
		case semverRE.MatchString(line) && !strings.Contains(line, " "):
			rest = line
		default:
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		return ParseVersion(fields[0])
	}
	return Version{}, fmt.Errorf("unrecognised `kops version` output %q", strings.TrimSpace(out))
}
