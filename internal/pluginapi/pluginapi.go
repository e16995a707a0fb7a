// Package pluginapi is what the program and the provider plugin
// (pulumi-resource-kopscalico) agree on: the package and resource type
// tokens, the provider's configuration keys, and each resource's inputs.
// The program imports this, not the plugin, so it links neither kops's
// runner nor the AWS SDK's EC2 client.
package pluginapi

import (
	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/dataplane"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/probe"
)

// Name is the package name: resource types are kopscalico:index:<Type>,
// the plugin binary is pulumi-resource-kopscalico.
const Name = "kopscalico"

// Resource type tokens.
const (
	ClusterType            = Name + ":index:Cluster"
	SecurityGroupCheckType = Name + ":index:SecurityGroupCheck"
	StateStoreGuardType    = Name + ":index:StateStoreGuard"
	ProbeVerdictsType      = Name + ":index:ProbeVerdicts"
	CalicoDataplaneType    = Name + ":index:CalicoDataplane"
)

// ProviderArgs are the provider's own inputs (its pulumi:providers:kopscalico
// resource): how kops runs, not what it builds. The timeouts are durations
// as Go writes them ("10m0s"); an empty value keeps the default.
type ProviderArgs struct {
	KopsBinary           string `json:"kopsBinary,omitempty"`
	KopsTimeout          string `json:"kopsTimeout,omitempty"`
	ValidateTimeout      string `json:"validateTimeout,omitempty"`
	RollingUpdateTimeout string `json:"rollingUpdateTimeout,omitempty"`
	// StateStore is where `pulumi import` of a Cluster looks for it.
	StateStore string `json:"stateStore,omitempty"`
	// Stack is the stack's identity, organization/project/stack
	// (kops.StackMark): the owner mark its Clusters carry.
	Stack string `json:"stack,omitempty" wire:"program"`
	// TakeOverClusterFrom is another stack's owner mark that create,
	// adoption and import may replace by this stack's.
	TakeOverClusterFrom string `json:"takeOverClusterFrom,omitempty"`
}

// ClusterArgs are the Cluster's inputs: the desired cluster (property names
// are the kopscalico config keys) and two switches that are not part of the
// cluster itself, whose change alone changes nothing.
type ClusterArgs struct {
	kops.Desired
	// AdoptExisting lets create take over a cluster that is already in the
	// state store (it is converted, and this stack's destroy deletes it).
	AdoptExisting bool `json:"adoptExistingCluster,omitempty" wire:"nodiff,was=adoptExisting"`
	// AllowReplacement lets a change of an identity field replace the
	// cluster: a new one is created and the old one deleted.
	AllowReplacement bool `json:"allowClusterReplacement,omitempty" wire:"nodiff,was=allowReplacement"`
}

// ClusterState is the Cluster's recorded state: its inputs and what kops
// reports. No credential: the kubeconfig runs `kops helpers kubectl-auth`.
type ClusterState struct {
	ClusterArgs
	// Kubeconfig reaches the API with a short-lived certificate issued by
	// `kops helpers kubectl-auth`; its content is the same run after run.
	Kubeconfig string `json:"kubeconfig" wire:"unknownOnCreate"`
	// Spec and LiveInstanceGroups are the cluster as `kops get` prints it:
	// refresh updates them, and Diff compares them with the inputs. (States
	// before the instanceGroups input held the latter under that name, read
	// as no record: the next refresh or update writes it.)
	Spec               string `json:"spec" wire:"unknown"`
	LiveInstanceGroups string `json:"liveInstanceGroups" wire:"unknown"`
	// UndeclaredInstanceGroups are the groups the stack leaves as they are
	// (kops.UndeclaredInstanceGroups).
	UndeclaredInstanceGroups []string `json:"undeclaredInstanceGroups" wire:"unknown"`
	// Networking is spec.networking as YAML, for reading in previews.
	Networking string `json:"networking" wire:"unknown"`
	// Revision changes whenever the applied spec or instance groups do:
	// what checks of the cluster (the security-group check) re-run on.
	Revision string `json:"revision" wire:"unknown"`
	// Owner is the owner mark (kops.OwnerAnnotation) this stack put on the
	// cluster: refresh and delete refuse a cluster whose live mark differs.
	Owner string `json:"owner,omitempty" wire:"unknownOnCreate"`
	// NodeVersions counts each instance group's nodes by the kubelet they
	// run (the Node objects): nodes behind the Kubernetes version show in
	// the preview and make the next update finish the upgrade.
	NodeVersions []kops.NodeVersion `json:"nodeVersions,omitempty" wire:"unknown"`
	// Unapplied is what refresh found in the state store that the cluster
	// does not run (kops.Manager.Unapplied: a run stopped after `replace`, or
	// before the roll): Diff makes it an update, which finishes the work.
	Unapplied []string `json:"unapplied,omitempty" wire:"unknown"`
}

// SecurityGroupCheckArgs are the SecurityGroupCheck's inputs: which cluster
// to check and how its Calico is configured. ClusterRevision is the
// Cluster's revision output, so the check runs again whenever kops changed
// the cluster, and not on runs that change nothing.
type SecurityGroupCheckArgs struct {
	ClusterName    string               `json:"clusterName"`
	Region         string               `json:"region"`
	Encapsulation  config.Encapsulation `json:"encapsulation"`
	AWSSrcDstCheck config.SrcDstCheck   `json:"awsSrcDstCheck"`
	EtcdDatastore  bool                 `json:"etcdDatastore"`
	KopsBlocksEtcd bool                 `json:"kopsBlocksEtcd"`
	// Mode is enforce (a missing expectation fails) or warn; with off the
	// program registers no check.
	Mode            config.SGCheckMode `json:"mode"`
	ClusterRevision string             `json:"clusterRevision"`
}

// SecurityGroupCheckState is the recorded result.
type SecurityGroupCheckState struct {
	SecurityGroupCheckArgs
	// Summary is expectation id -> "ok", "skipped: …", "missing in …: …" or
	// "blocked by kops: …".
	Summary map[string]string `json:"summary" wire:"unknown"`
}

// StateStoreGuardArgs name the kops state store the stack owns.
type StateStoreGuardArgs struct {
	StateStore string `json:"stateStore"`
}

// ProbeVerdictsArgs are the ProbeVerdicts' inputs: how to reach the cluster
// the probe Jobs ran in, and what they ran.
type ProbeVerdictsArgs struct {
	// Kubeconfig (secret) is the Cluster's credential-free one, or the
	// user's for a cluster the program does not manage. It is how the
	// verdicts are read, not what they prove: a change of it alone reads
	// nothing again.
	Kubeconfig string `json:"kubeconfig" wire:"secret,nodiff"`
	ProbeRun
}

// ProbeRun is what the probe Jobs ran: the planned probes with their
// expected verdicts, and the Jobs' revision.
type ProbeRun struct {
	Namespace string `json:"namespace"`
	// Probes are the planned probes; each runs in the Job of its name.
	Probes []probe.Probe `json:"probes"`
	// Jobs are the URNs of the probes' Jobs by probe name: what
	// `pulumi up --replace` takes to run them again.
	Jobs map[string]string `json:"jobs"`
	// Revision names the Jobs' run: a new one means replaced Jobs, whose
	// verdicts are read again.
	Revision string `json:"revision"`
}

// ProbeVerdictsState is the recorded result: the verdicts outlive the probe
// pods (a node roll, pod garbage collection), so later runs read nothing.
// The kubeconfig is not kept.
type ProbeVerdictsState struct {
	ProbeRun
	// Verdicts are the observed outcomes by probe name.
	Verdicts map[string]string `json:"verdicts" wire:"unknown"`
	// Zones are the nodes by zone when the verdicts were read (what the
	// table's first line says of the subnets crossed comes from them).
	Zones probe.Zones `json:"zones,omitempty" wire:"unknown"`
	// Table is the nodes' statement, then expected against observed for
	// every probe.
	Table string `json:"table" wire:"unknown"`
}

// CalicoDataplaneArgs are the CalicoDataplane's inputs: how to reach the
// cluster and what the stack asks of Calico.
type CalicoDataplaneArgs struct {
	// Kubeconfig (secret) is how the dataplane is read, not what it is: a
	// change of it alone reads nothing again.
	Kubeconfig string `json:"kubeconfig" wire:"secret,nodiff"`
	CalicoDesired
}

// CalicoDesired is what the stack asks of Calico's dataplane, and the
// Cluster's revision, so the dataplane is read again after every change kops
// makes (a roll among them) and not on runs that change nothing.
type CalicoDesired struct {
	Encapsulation  config.Encapsulation `json:"encapsulation"`
	AWSSrcDstCheck config.SrcDstCheck   `json:"awsSrcDstCheck"`
	// Mode (calicoDataplaneCheck) is enforce (a difference no patch fixes
	// fails up) or warn; with off the program registers no check.
	Mode            config.SGCheckMode `json:"mode"`
	ClusterRevision string             `json:"clusterRevision"`
}

// CalicoDataplaneState is the recorded reading (the kubeconfig is not kept):
// refresh reads it again, so a pool edited by hand shows as drift.
type CalicoDataplaneState struct {
	CalicoDesired
	// Summary is subject -> "ok: …", or what differs and its fix.
	Summary map[string]string `json:"summary" wire:"unknown"`
	// Report is the table of wanted against running, with the fixes.
	Report string `json:"report" wire:"unknown"`
	// Observed is the dataplane as read.
	Observed dataplane.Observed `json:"observed" wire:"unknown"`
	// Patched are the pool patches the last update made (what its preview
	// planned from the recorded reading).
	Patched []string `json:"patched,omitempty" wire:"unknown"`
}
