package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

// Namespace is the Pulumi config namespace of every key (the project name).
const Namespace = "kopscalico"

// FullKey is a key as the user sets it: "kopscalico:<key>". Messages outside
// this package that name a key to change take it from here.
func FullKey(key string) string { return Namespace + ":" + key }

// Keys of the stack configuration, without the namespace. Every
// key is declared, with its type, default and description, in Pulumi.yaml;
// TestPulumiYAMLDeclaresEveryKey keeps the two in step.
const (
	KeyManageCluster        = "manageCluster"
	KeyKubeconfig           = "kubeconfig"
	KeyClusterName          = "clusterName"
	KeyDNSZone              = "dnsZone"
	KeyRegion               = "region"
	KeyZones                = "zones"
	KeyControlPlaneCount    = "controlPlaneCount"
	KeyNodeCount            = "nodeCount"
	KeyControlPlaneSize     = "controlPlaneSize"
	KeyNodeSize             = "nodeSize"
	KeyInstanceGroups       = "instanceGroups"
	KeyAllowGroupRemoval    = "allowInstanceGroupRemoval"
	KeyKubernetesVersion    = "kubernetesVersion"
	KeySSHAccess            = "sshAccess"
	KeyAdminAccess          = "adminAccess"
	KeyAllowWorldAccess     = "allowWorldAccess"
	KeySSHPublicKey         = "sshPublicKey"
	KeyClusterProtect       = "clusterProtect"
	KeyAdoptExisting        = "adoptExistingCluster"
	KeyImportExisting       = "importExistingCluster"
	KeyAllowReplacement     = "allowClusterReplacement"
	KeyTakeOverClusterFrom  = "takeOverClusterFrom"
	KeyKopsVersion          = "kopsVersion"
	KeyKopsBinary           = "kopsBinary"
	KeyKopsTimeout          = "kopsTimeout"
	KeyValidateTimeout      = "validateTimeout"
	KeyRollingUpdateTimeout = "rollingUpdateTimeout"
	KeyDrainTimeout         = "rollingUpdateDrainTimeout"
	KeyValidateCount        = "rollingUpdateValidateCount"
	KeyStateStore           = "stateStore"
	KeyStateStoreBucket     = "stateStoreBucket"
	KeyStateStoreKMSKeyID   = "stateStoreKmsKeyId"
	KeyStateStoreForceDest  = "stateStoreForceDestroy"
	KeyStateStoreProtect    = "stateStoreProtect"
	KeyDeployRoleARN        = "deployRoleArn"
	KeyEncapsulation        = "encapsulation"
	KeyAWSSrcDstCheck       = "awsSrcDstCheck"
	KeyPodCIDR              = "podCIDR"
	KeyCalicoManifest       = "calicoUpgradeManifest"
	KeyCalicoManifestPath   = "calicoManifestPath"
	KeyPoliciesDir          = "policiesDir"
	KeyNamespaces           = "namespaces"
	KeyDemoWorkloads        = "demoWorkloads"
	KeyProbes               = "probes"
	KeySecurityGroupCheck   = "securityGroupCheck"
	KeyCalicoDataplaneCheck = "calicoDataplaneCheck"
)

// AllKeys is every key the program reads.
var AllKeys = []string{
	KeyManageCluster, KeyKubeconfig, KeyClusterName, KeyDNSZone, KeyRegion, KeyZones,
	KeyControlPlaneCount, KeyNodeCount, KeyControlPlaneSize, KeyNodeSize, KeyInstanceGroups, KeyAllowGroupRemoval, KeyKubernetesVersion,
	KeySSHAccess, KeyAdminAccess, KeyAllowWorldAccess, KeySSHPublicKey,
	KeyClusterProtect, KeyAdoptExisting, KeyImportExisting, KeyAllowReplacement, KeyTakeOverClusterFrom,
	KeyKopsVersion, KeyKopsBinary, KeyKopsTimeout, KeyValidateTimeout, KeyRollingUpdateTimeout, KeyDrainTimeout, KeyValidateCount,
	KeyStateStore, KeyStateStoreBucket, KeyStateStoreKMSKeyID, KeyStateStoreForceDest, KeyStateStoreProtect, KeyDeployRoleARN,
	KeyEncapsulation, KeyAWSSrcDstCheck, KeyPodCIDR, KeyCalicoManifest, KeyCalicoManifestPath,
	KeyPoliciesDir, KeyNamespaces, KeyDemoWorkloads, KeyProbes, KeySecurityGroupCheck,
	KeyCalicoDataplaneCheck,
}

// Defaults of the optional keys; the kops timeouts' serve the provider and a
// kops.Manager's zero fields too. Validate's is kops's own: rolling-update
// gives a cluster 15m to validate (--validation-timeout).
const (
	DefaultControlPlaneCount    = 1
	DefaultNodeCount            = 2
	MaxControlPlaneCount        = 7
	MaxNodeCount                = 50
	DefaultInstanceSize         = "t3.medium"
	DefaultKopsBinary           = "kops"
	DefaultKopsTimeout          = 10 * time.Minute
	DefaultValidateTimeout      = 15 * time.Minute
	DefaultRollingUpdateTimeout = 60 * time.Minute
	MaxValidateCount            = 10
	DefaultPodCIDR              = "100.96.0.0/11"
	DefaultPoliciesDir          = "policies"
)

// Lookup returns the raw value of a key (without namespace) and whether it is
// set. Pulumi gives arrays as JSON text.
type Lookup func(key string) (string, bool)

// FS is what validation asks of the file system: tests give a fake.
type FS interface {
	IsDir(path string) bool
	IsFile(path string) bool
	// HomeDir is the directory a leading ~/ in a path stands for.
	HomeDir() (string, error)
}

// Parse reads every key once into typed values, applies defaults and checks
// the rules. All problems are reported together; each names the key, the
// value and the fix.
func Parse(project, stack string, get Lookup, fs FS) (Config, error) {
	r := reader{get: get}
	c := Config{Project: project, Stack: stack}

	c.Cluster.Manage = r.boolean(KeyManageCluster, true)
	c.Cluster.Kubeconfig = r.str(KeyKubeconfig, "")
	r.readCluster(&c)
	c.Cluster.SSHPublicKey = r.homePath(KeySSHPublicKey, fs)

	c.Kops.Binary = r.str(KeyKopsBinary, DefaultKopsBinary)
	c.Kops.CommandTimeout = r.duration(KeyKopsTimeout, DefaultKopsTimeout)
	c.Kops.ValidateTimeout = r.duration(KeyValidateTimeout, DefaultValidateTimeout)
	c.Kops.RollingUpdateTimeout = r.duration(KeyRollingUpdateTimeout, DefaultRollingUpdateTimeout)
	c.Kops.DrainTimeout = r.duration(KeyDrainTimeout, 0)
	c.Kops.ValidateCount = r.integer(KeyValidateCount, 0)

	c.StateStore.ExistingURL = r.str(KeyStateStore, "")
	c.StateStore.Bucket = r.str(KeyStateStoreBucket, "")
	c.StateStore.KMSKeyID = r.str(KeyStateStoreKMSKeyID, "")
	c.StateStore.ForceDestroy = r.boolean(KeyStateStoreForceDest, false)
	c.StateStore.DeployRoleARN = r.str(KeyDeployRoleARN, "")
	// Deleting a cluster, or the bucket that holds every cluster's state, is
	// rarely what a production stack means: both are protected outside dev.
	c.StateStore.Protect = r.protect(KeyStateStoreProtect).Protects(stack)
	c.Cluster.Protect = r.protect(KeyClusterProtect).Protects(stack)
	c.Cluster.AdoptExisting = r.boolean(KeyAdoptExisting, false)
	c.Cluster.ImportExisting = r.boolean(KeyImportExisting, false)
	c.Cluster.AllowReplacement = r.boolean(KeyAllowReplacement, false)
	c.Cluster.TakeOverFrom = r.str(KeyTakeOverClusterFrom, "")

	c.Calico.PodCIDR = r.podCIDR(KeyPodCIDR)
	c.Calico.UpgradeManifest = readMode(&r, manifestKey, ManifestAuto)
	c.Calico.ManifestPath = r.str(KeyCalicoManifestPath, "")

	c.Workloads.PoliciesDir = r.str(KeyPoliciesDir, DefaultPoliciesDir)
	c.Workloads.Namespaces = r.list(KeyNamespaces)
	c.Workloads.Demo = r.boolean(KeyDemoWorkloads, true)
	c.Workloads.Probes = r.boolean(KeyProbes, true)

	c.SecurityGroupCheck = readMode(&r, sgCheckKey, SGCheckEnforce)
	c.CalicoDataplaneCheck = c.SecurityGroupCheck
	if v, _ := r.get(KeyCalicoDataplaneCheck); strings.TrimSpace(v) != "" {
		c.CalicoDataplaneCheck = readMode(&r, dataplaneCheckKey, c.SecurityGroupCheck)
	}

	if c.StateStore.ExistingURL == "" && c.StateStore.Bucket == "" && c.Cluster.Name != "" {
		c.StateStore.Bucket = DefaultBucketName(c.Cluster.Name)
	}

	placeholders := placeholderErrors(get)
	errs := withoutPlaceholderEchoes(append(r.errs, validate(c, fs)...), placeholders)
	errs = append(placeholders, errs...)
	if len(errs) > 0 {
		return Config{}, &Error{Problems: errs}
	}
	return c, nil
}

// DefaultBucketName derives the state-store bucket name from the cluster
// name: kops-state-<name with dots as dashes>, cut to S3's 63 characters.
func DefaultBucketName(clusterName string) string {
	name := "kops-state-" + strings.ReplaceAll(clusterName, ".", "-")
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	return name
}

// Error is every problem found in the stack configuration.
type Error struct{ Problems []error }

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "invalid stack configuration (%d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString("); nothing was created:")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap lets errors.As find a *KeyError among the problems.
func (e *Error) Unwrap() []error { return e.Problems }

// KeyError is one problem with one key.
type KeyError struct {
	Key   string // without namespace
	Value string
	Fix   string
}

func (e *KeyError) Error() string {
	return FullKey(e.Key) + " = " + e.Detail()
}

// Detail is the value and the fix, without the key: how the plugin reports
// a problem on the property named after the key.
func (e *KeyError) Detail() string { return fmt.Sprintf("%q: %s", e.Value, e.Fix) }

func keyErr(key, value, format string, args ...any) error {
	return &KeyError{Key: key, Value: value, Fix: fmt.Sprintf(format, args...)}
}

// Keys lists the keys named in err's problems, in order: handy in tests and
// for tooling.
func Keys(err error) []string {
	var ce *Error
	if !errors.As(err, &ce) {
		return nil
	}
	var keys []string
	for _, p := range ce.Problems {
		var ke *KeyError
		if errors.As(p, &ke) {
			keys = append(keys, ke.Key)
		}
	}
	return keys
}

type reader struct {
	get  Lookup
	errs []error
}

func (r *reader) str(key, def string) string {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	return strings.TrimSpace(v)
}

// protect reads a protect key: true, false, or auto.
func (r *reader) protect(key string) ProtectMode {
	v := r.str(key, string(ProtectAuto))
	if v == string(ProtectAuto) || v == "" {
		return ProtectAuto
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.errs = append(r.errs, keyErr(key, v, "must be %s (protected on every stack but dev)", oneOf(protectValues)))
		return ProtectAuto
	}
	if b {
		return ProtectOn
	}
	return ProtectOff
}

// readMode reads a key whose value is one of a few words.
func readMode[T ~string](r *reader, m modeKey[T], def T) T {
	v, ok := r.get(m.key)
	if !ok {
		return def
	}
	mode, err := m.parse(strings.TrimSpace(v))
	if err != nil {
		r.errs = append(r.errs, err)
		return def
	}
	return mode
}

// kopsVersion reads the pinned kops release: a version, and one the program
// drives. Zero when unset (and not required).
func (r *reader) kopsVersion(key string, required bool) kopsrelease.Version {
	raw := r.str(key, "")
	if raw == "" && !required {
		return kopsrelease.Version{}
	}
	v, err := kopsrelease.Parse(raw)
	if err != nil {
		r.errs = append(r.errs, keyErr(key, raw, "must pin the kops release the stack is driven with, such as %s (see `kops version`)", kopsrelease.Newest.MinorString()))
		return kopsrelease.Version{}
	}
	if err := kopsrelease.Supported(v); err != nil {
		r.errs = append(r.errs, keyErr(key, raw, "%v", err))
		return kopsrelease.Version{}
	}
	return v
}

// podCIDR reads an IPv4 network.
func (r *reader) podCIDR(key string) netip.Prefix {
	raw := r.str(key, DefaultPodCIDR)
	p, err := netip.ParsePrefix(raw)
	if err != nil || !p.Addr().Is4() || p.Masked() != p {
		r.errs = append(r.errs, keyErr(key, raw, "must be an IPv4 network in CIDR form such as %s", DefaultPodCIDR))
		return netip.MustParsePrefix(DefaultPodCIDR)
	}
	return p
}

// access reads an access list: nil when unset, empty when set empty.
func (r *reader) access(key string) AccessList {
	items := r.list(key)
	if items == nil {
		return nil
	}
	out := AccessList{}
	for _, s := range items {
		a, err := ParseAccess(s)
		if err != nil {
			r.errs = append(r.errs, keyErr(key, s, "%v", err))
			continue
		}
		out = append(out, a)
	}
	return out
}

// homePath reads a file path, expanding a leading ~/ to the home directory
// (as a shell, and kops, would): the program reads the file itself.
func (r *reader) homePath(key string, fs FS) string {
	v := r.str(key, "")
	rest, ok := strings.CutPrefix(v, "~/")
	if !ok {
		return v
	}
	home, err := fs.HomeDir()
	if err != nil || home == "" {
		r.errs = append(r.errs, keyErr(key, v, "starts with ~/ but the home directory is unknown (%v): give an absolute path", err))
		return v
	}
	return filepath.Join(home, rest)
}

func (r *reader) boolean(key string, def bool) bool {
	v, ok := r.get(key)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		r.errs = append(r.errs, keyErr(key, v, "must be true or false"))
		return def
	}
	return b
}

func (r *reader) integer(key string, def int) int {
	v, ok := r.get(key)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		r.errs = append(r.errs, keyErr(key, v, "must be a whole number"))
		return def
	}
	return n
}

func (r *reader) duration(key string, def time.Duration) time.Duration {
	v, ok := r.get(key)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		r.errs = append(r.errs, keyErr(key, v, "must be a duration such as 90s, 10m or 1h30m"))
		return def
	}
	if d <= 0 {
		example := def
		if example == 0 { // a key whose default is kops's own
			example = 20 * time.Minute
		}
		r.errs = append(r.errs, keyErr(key, v, "must be positive, for example %s", example))
		return def
	}
	return d
}

// list reads a JSON array of strings (how Pulumi passes a YAML list or values
// set with --path), or one comma-separated string (`pulumi config set
// kopscalico:zones us-east-1a,us-east-1b`). Empty items are refused.
func (r *reader) list(key string) []string {
	v, ok := r.get(key)
	if !ok {
		return nil
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return []string{}
	}
	var items []string
	if strings.HasPrefix(v, "[") {
		if err := json.Unmarshal([]byte(v), &items); err != nil {
			r.errs = append(r.errs, keyErr(key, v, "must be a list of strings: a YAML list in the stack file, or one comma-separated string (`pulumi config set %s a,b`)", FullKey(key)))
			return nil
		}
	} else {
		items = strings.Split(v, ",")
	}
	for i := range items {
		items[i] = strings.TrimSpace(items[i])
		if items[i] == "" {
			r.errs = append(r.errs, keyErr(key, v, "has an empty item: separate the items with single commas, e.g. a,b (no leading or trailing comma)"))
			return nil
		}
	}
	return items
}
