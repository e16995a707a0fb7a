// Package pluginapi is what the program and the provider plugin
// (pulumi-resource-kopscalico) agree on: the package and resource type
// tokens, the provider's configuration keys, and each resource's inputs.
// The program imports this, not the plugin, so it links neither kops's
// runner nor the AWS SDK's EC2 client.
package pluginapi

import (
	"github.com/kopscalico/kopscalico/internal/config"
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
)

// Provider configuration keys.
const (
	ConfigKopsBinary           = "kopsBinary"
	ConfigCommandTimeout       = "kopsTimeout"
	ConfigValidateTimeout      = "validateTimeout"
	ConfigRollingUpdateTimeout = "rollingUpdateTimeout"
	ConfigStateStore           = "stateStore"
)

// ClusterArgs are the Cluster's inputs: the desired cluster (property names
// are the kopscalico config keys) and two switches that are not part of the
// cluster itself.
type ClusterArgs struct {
	kops.Desired
	// AdoptExisting lets create take over a cluster that is already in the
	// state store (it is converted, and this stack's destroy deletes it).
	AdoptExisting bool `json:"adoptExisting,omitempty"`
	// AllowReplacement lets a change of an identity field replace the
	// cluster: a new one is created and the old one deleted.
	AllowReplacement bool `json:"allowReplacement,omitempty"`
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
	EtcdDatastore  bool                 `json:"etcdDatastore,omitempty"`
	KopsBlocksEtcd bool                 `json:"kopsBlocksEtcd,omitempty"`
	// Mode is enforce (a missing expectation fails) or warn; with off the
	// program registers no check.
	Mode            config.SGCheckMode `json:"mode"`
	ClusterRevision string             `json:"clusterRevision,omitempty"`
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
	Kubeconfig string `json:"kubeconfig"`
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
