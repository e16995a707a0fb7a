package storepolicy

import (
	"encoding/base32"
	"hash/fnv"
	"strings"
)

// maxIAMRoleName is kops's iam.MaxLengthIAMRoleName (pkg/model/iam/types.go).
const maxIAMRoleName = 64

// kopsIAMName is the name kops gives the IAM role and instance profile of an
// instance-group role: "masters.", "apiservers.", "nodes." or "bastions."
// and the cluster name (pkg/model/names.go IAMName), cut by kops's
// pkg/truncate.TruncateString to 64 characters when longer.
func kopsIAMName(prefix, clusterName string) string {
	return truncateString(prefix+clusterName, maxIAMRoleName)
}

// truncateString is kops's truncate.TruncateString without AlwaysAddHash
// and with its default 6-character hash: a name longer than max keeps its
// first max-7 characters, a dash, and the first 6 characters of the
// lowercase base32hex FNV-32a hash of the whole name.
func truncateString(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const hashLength = 6
	h := fnv.New32a()
	h.Write([]byte(s))
	hash := strings.ToLower(base32.HexEncoding.EncodeToString(h.Sum(nil)))[:hashLength]
	return s[:max-hashLength-1] + "-" + hash
}
