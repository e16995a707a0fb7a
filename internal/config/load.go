package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Keys of the stack configuration, without the "kopscalico:" namespace. Every
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
	KeyKubernetesVersion    = "kubernetesVersion"
	KeySSHAccess            = "sshAccess"
	KeyAdminAccess          = "adminAccess"
	KeyAllowWorldAccess     = "allowWorldAccess"
	KeySSHPublicKey         = "sshPublicKey"
	KeyClusterProtect       = "clusterProtect"
	KeyAdoptExisting        = "adoptExistingCluster"
	KeyImportExisting       = "importExistingCluster"
	KeyAllowReplacement     = "allowClusterReplacement"
	KeyKopsVersion          = "kopsVersion"
	KeyKopsBinary           = "kopsBinary"
	KeyKopsTimeout          = "kopsTimeout"
	KeyValidateTimeout      = "validateTimeout"
	KeyRollingUpdateTimeout = "rollingUpdateTimeout"
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
)

// AllKeys is every key the program reads.
var AllKeys = []string{
	KeyManageCluster, KeyKubeconfig, KeyClusterName, KeyDNSZone, KeyRegion, KeyZones,
	KeyControlPlaneCount, KeyNodeCount, KeyControlPlaneSize, KeyNodeSize, KeyKubernetesVersion,
	KeySSHAccess, KeyAdminAccess, KeyAllowWorldAccess, KeySSHPublicKey,
	KeyClusterProtect, KeyAdoptExisting, KeyImportExisting, KeyAllowReplacement,
	KeyKopsVersion, KeyKopsBinary, KeyKopsTimeout, KeyValidateTimeout, KeyRollingUpdateTimeout,
	KeyStateStore, KeyStateStoreBucket, KeyStateStoreKMSKeyID, KeyStateStoreForceDest, KeyStateStoreProtect, KeyDeployRoleARN,
	KeyEncapsulation, KeyAWSSrcDstCheck, KeyPodCIDR, KeyCalicoManifest, KeyCalicoManifestPath,
	KeyPoliciesDir, KeyNamespaces, KeyDemoWorkloads, KeyProbes, KeySecurityGroupCheck,
}

// Defaults of the optional keys.
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

// protect reads a protect key: true, false, or auto (protected on every
// stack but dev).
func (r *reader) protect(key, stack string) bool {
	if v, _ := r.get(key); strings.TrimSpace(v) == "auto" {
		return stack != "dev"
	}
	return r.boolean(key, stack != "dev")
}

// Parse reads every key once, applies defaults and validates the result. All
// problems are reported together; each names the key, the value and the fix.
func Parse(project, stack string, get Lookup, fs FS) (Config, error) {
	r := reader{get: get}
	c := Config{Project: project, Stack: stack}

	c.Cluster.Manage = r.boolean(KeyManageCluster, true)
	c.Cluster.Kubeconfig = r.str(KeyKubeconfig, "")
	c.Cluster.Name = r.str(KeyClusterName, "")
	c.Cluster.DNSZone = r.str(KeyDNSZone, "")
	c.Cluster.Region = r.str(KeyRegion, "")
	c.Cluster.Zones = r.list(KeyZones)
	c.Cluster.ControlPlaneCount = r.integer(KeyControlPlaneCount, DefaultControlPlaneCount)
	c.Cluster.NodeCount = r.integer(KeyNodeCount, DefaultNodeCount)
	c.Cluster.ControlPlaneSize = r.str(KeyControlPlaneSize, DefaultInstanceSize)
	c.Cluster.NodeSize = r.str(KeyNodeSize, DefaultInstanceSize)
	c.Cluster.KubernetesVersion = r.str(KeyKubernetesVersion, "")
	c.Cluster.SSHAccess = r.list(KeySSHAccess)
	c.Cluster.AdminAccess = r.list(KeyAdminAccess)
	c.Cluster.AllowWorldAccess = r.boolean(KeyAllowWorldAccess, false)
	c.Cluster.SSHPublicKey = r.homePath(KeySSHPublicKey, fs)

	c.Kops.Version = r.str(KeyKopsVersion, "")
	c.Kops.Binary = r.str(KeyKopsBinary, DefaultKopsBinary)
	c.Kops.CommandTimeout = r.duration(KeyKopsTimeout, DefaultKopsTimeout)
	c.Kops.ValidateTimeout = r.duration(KeyValidateTimeout, DefaultValidateTimeout)
	c.Kops.RollingUpdateTimeout = r.duration(KeyRollingUpdateTimeout, DefaultRollingUpdateTimeout)

	c.StateStore.ExistingURL = r.str(KeyStateStore, "")
	c.StateStore.Bucket = r.str(KeyStateStoreBucket, "")
	c.StateStore.KMSKeyID = r.str(KeyStateStoreKMSKeyID, "")
	c.StateStore.ForceDestroy = r.boolean(KeyStateStoreForceDest, false)
	c.StateStore.DeployRoleARN = r.str(KeyDeployRoleARN, "")
	// Deleting a cluster, or the bucket that holds every cluster's state, is
	// rarely what a production stack means: both are protected outside dev.
	c.StateStore.Protect = r.protect(KeyStateStoreProtect, stack)
	c.Cluster.Protect = r.protect(KeyClusterProtect, stack)
	c.Cluster.AdoptExisting = r.boolean(KeyAdoptExisting, false)
	c.Cluster.ImportExisting = r.boolean(KeyImportExisting, false)
	c.Cluster.AllowReplacement = r.boolean(KeyAllowReplacement, false)

	c.Calico.Encapsulation = r.str(KeyEncapsulation, EncapIPIP)
	c.Calico.AWSSrcDstCheck = r.str(KeyAWSSrcDstCheck, "Disable")
	c.Calico.PodCIDR = r.str(KeyPodCIDR, DefaultPodCIDR)
	c.Calico.UpgradeManifest = r.str(KeyCalicoManifest, ManifestAuto)
	c.Calico.ManifestPath = r.str(KeyCalicoManifestPath, "")

	c.Workloads.PoliciesDir = r.str(KeyPoliciesDir, DefaultPoliciesDir)
	c.Workloads.Namespaces = r.list(KeyNamespaces)
	c.Workloads.Demo = r.boolean(KeyDemoWorkloads, true)
	c.Workloads.Probes = r.boolean(KeyProbes, true)

	c.SecurityGroupCheck = r.str(KeySecurityGroupCheck, SGCheckEnforce)

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
	return fmt.Sprintf("%s:%s = %q: %s", Namespace, e.Key, e.Value, e.Fix)
}

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
		r.errs = append(r.errs, keyErr(key, v, "must be positive, for example %s", def))
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
			r.errs = append(r.errs, keyErr(key, v, "must be a list of strings: a YAML list in the stack file, or one comma-separated string (`pulumi config set %s:%s a,b`)", Namespace, key))
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
