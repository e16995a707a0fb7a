package pluginapi

import "github.com/kopscalico/kopscalico/internal/config"

// CalicoDataplaneType is the check of Calico's dataplane as the cluster runs
// it (IP pools, calico_backend, Felix, the calico-node rollout).
const CalicoDataplaneType = Name + ":index:CalicoDataplane"

// CalicoDataplaneArgs are the CalicoDataplane's inputs: how to reach the
// cluster, what the stack asks of Calico, and the Cluster's revision, so
// the dataplane is read again after every change kops makes (a roll among
// them) and not on runs that change nothing.
type CalicoDataplaneArgs struct {
	// Kubeconfig (secret) is how the dataplane is read, not what it is: a
	// change of it alone reads nothing again.
	Kubeconfig     string               `json:"kubeconfig"`
	Encapsulation  config.Encapsulation `json:"encapsulation"`
	AWSSrcDstCheck config.SrcDstCheck   `json:"awsSrcDstCheck"`
	// Mode is enforce (a difference fails up) or warn, as the
	// security-group check's.
	Mode            config.SGCheckMode `json:"mode"`
	ClusterRevision string             `json:"clusterRevision,omitempty"`
}
