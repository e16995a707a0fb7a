package kopsrelease

import (
	"fmt"
	"regexp"
	"strconv"
)

// KubeletSkew is how many minors a kubelet may be older than the API
// server (Kubernetes version-skew policy): 3 from Kubernetes 1.28, 2 before.
func KubeletSkew(apiServer KubeMinor) int {
	if apiServer.minorsAfter(KubeMinor{1, 28}) >= 0 {
		return 3
	}
	return 2
}

// KubeMinor is a Kubernetes release line, as "1.34".
type KubeMinor struct{ Major, Minor int }

func (k KubeMinor) String() string { return fmt.Sprintf("%d.%d", k.Major, k.Minor) }

var kubeRE = regexp.MustCompile(`^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?$`)

// ParseKubeMinor reads the minor of "1.34.2", "v1.34.2" or "1.34"; ok is
// false for anything else (kops also takes a URL of a custom build).
func ParseKubeMinor(s string) (KubeMinor, bool) {
	m := kubeRE.FindStringSubmatch(s)
	if m == nil {
		return KubeMinor{}, false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return KubeMinor{major, minor}, true
}

// minorsAfter is how many minors k is after o (negative when before).
func (k KubeMinor) minorsAfter(o KubeMinor) int {
	if k.Major != o.Major {
		return 100 * (k.Major - o.Major)
	}
	return k.Minor - o.Minor
}

// CheckKubernetesUpgrade holds a move of the control plane from Kubernetes
// version from to version to, with kubelets running the versions in
// kubelets, to the version-skew policy: one minor at a time (the API server
// and its storage upgrade one minor at a time), and no kubelet more than
// KubeletSkew minors behind the new control plane. Versions it cannot read
// are not judged.
func CheckKubernetesUpgrade(from, to string, kubelets []string) error {
	f, okF := ParseKubeMinor(from)
	t, okT := ParseKubeMinor(to)
	if !okF || !okT {
		return nil
	}
	if n := t.minorsAfter(f); n > 1 {
		return fmt.Errorf("Kubernetes %s to %s skips %d minor release(s): the control plane upgrades one minor at a time; upgrade to %d.%d first", from, to, n-1, f.Major, f.Minor+1)
	}
	for _, k := range kubelets {
		kv, ok := ParseKubeMinor(k)
		if ok && t.minorsAfter(kv) > KubeletSkew(t) {
			return fmt.Errorf("nodes still run kubelet %s, more than %d minors behind Kubernetes %s (version-skew policy): finish the upgrade to %s first (`up` again with the current version rolls them)", k, KubeletSkew(t), to, from)
		}
	}
	return nil
}
