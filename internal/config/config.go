// Package config holds the program's typed stack configuration: every key
// the program reads, its default, and the rules its values obey, checked
// once, before any resource is registered, into typed values. The rules of
// the desired kops cluster serve the plugin's Cluster inputs too
// (CheckCluster). It has no Pulumi dependency in its core: Parse takes a key
// lookup, so tests feed it plain maps.
package config

import (
	"net/netip"
	"time"

	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

// Config is the whole validated stack configuration.
type Config struct {
	Project string // Pulumi project name
	Stack   string // Pulumi stack name

	Cluster    Cluster
	Kops       Kops
	StateStore StateStore
	Calico     Calico
	Workloads  Workloads

	SecurityGroupCheck SGCheckMode
	// CalicoDataplaneCheck is the Calico dataplane check's mode; unset, the
	// security-group check's.
	CalicoDataplaneCheck SGCheckMode
}

// Cluster is the desired kops cluster.
type Cluster struct {
	// Manage: when true the program creates/converts/deletes the cluster with
	// kops; when false it deploys onto an existing cluster reached with
	// Kubeconfig.
	Manage bool
	// Kubeconfig (secret) is only read when Manage is false.
	Kubeconfig string

	Name              string   // kops cluster name, a DNS name
	DNSZone           string   // Route53 zone; empty for a gossip (.k8s.local) name
	Region            string   // AWS region
	Zones             []string // availability zones, all in Region
	ControlPlaneCount int      // 1, 3, 5 or 7 (etcd quorum)
	NodeCount         int      // 1 to MaxNodeCount
	ControlPlaneSize  string   // EC2 instance type
	NodeSize          string   // EC2 instance type
	// InstanceGroups, when set, are the Node groups the stack declares, in
	// place of the shorthand nodeCount/nodeSize; nil: the shorthand.
	InstanceGroups []InstanceGroup
	// AllowGroupRemoval names the declared groups the stack may delete once
	// the list no longer declares them.
	AllowGroupRemoval []string
	KubernetesVersion string     // empty: kops's default
	SSHAccess         AccessList // empty closes SSH entirely
	AdminAccess       AccessList // who may reach the API; never empty on a managed cluster
	AllowWorldAccess  bool       // must be true to accept a /0 prefix (0.0.0.0/0, ::/0) above
	SSHPublicKey      string     // path to an SSH public key, ~/ expanded; empty: none
	// Protect is Pulumi's protect on the cluster: it cannot be deleted or
	// replaced until unprotected.
	Protect bool
	// AdoptExisting lets the program take over a cluster of this name that
	// is already in the state store (converting it); off, one is refused.
	AdoptExisting bool
	// ImportExisting imports a cluster of this name from the state store as
	// it is (pulumi import by name): refused unless it matches the config.
	ImportExisting bool
	// AllowReplacement lets a change of the name, region, zones, DNS zone,
	// state store or control-plane count replace the cluster.
	AllowReplacement bool
	// TakeOverFrom is another stack's owner mark (organization/project/stack)
	// that create, adoption and import may replace by this stack's.
	TakeOverFrom string
}

// Kops is how the kops CLI is run.
type Kops struct {
	// Version is the pinned kops release (its minor matters): the spec is
	// rendered for it at preview, and `pulumi up` checks the binary's `kops
	// version` matches. Zero when none is pinned (an unmanaged cluster).
	Version              kopsrelease.Version
	Binary               string        // path or name on PATH
	CommandTimeout       time.Duration // each kops command but validate and rolling-update
	ValidateTimeout      time.Duration // `kops validate cluster --wait`
	RollingUpdateTimeout time.Duration // `kops rolling-update cluster --yes`
	// DrainTimeout and ValidateCount are the roll's --drain-timeout and
	// --validate-count; zero leaves kops's defaults (15m, 2).
	DrainTimeout  time.Duration
	ValidateCount int
}

// StateStore is the kops state store.
type StateStore struct {
	// ExistingURL, when set, is an existing store (s3://bucket[/prefix], or
	// file:///path for local testing): no bucket is created.
	ExistingURL  string
	Bucket       string // name of the bucket to create when ExistingURL is empty
	KMSKeyID     string // empty: SSE-S3 (AES256); else SSE-KMS with this key
	ForceDestroy bool
	Protect      bool
	// DeployRoleARN is the IAM role that runs kops; when set, the created
	// bucket denies reading the cluster's secrets to every other principal
	// but the cluster's control plane.
	DeployRoleARN string
}

// Create reports whether the program creates the state-store bucket.
func (s StateStore) Create() bool { return s.ExistingURL == "" }

// URL is the KOPS_STATE_STORE value when it is known without creating
// anything (an existing store, or the bucket name from config).
func (s StateStore) URL() string {
	if s.ExistingURL != "" {
		return s.ExistingURL
	}
	return "s3://" + s.Bucket
}

// Calico is the networking configuration.
type Calico struct {
	Encapsulation   Encapsulation
	AWSSrcDstCheck  SrcDstCheck
	PodCIDR         netip.Prefix // Calico's IPv4 pool of the legacy manifest, e.g. 100.96.0.0/11
	UpgradeManifest ManifestMode
	ManifestPath    string // optional manifest (YAML) deployed as-is for networking: cni clusters
}

// Workloads is what the program deploys on the cluster.
type Workloads struct {
	PoliciesDir string // one folder per namespace
	// Namespaces are the namespaces the stack owns (creates, and deletes with
	// everything in it): exactly those whose policies folder holds their
	// Namespace object (CheckOwnedNamespaces).
	Namespaces []string
	Demo       bool // http-echo and busybox demo workloads
	Probes     bool // probe Jobs that prove the policies
}
