// Package dataplane is Calico's dataplane as the cluster runs it, against the
// one the stack asks for: the IP pools (where calico-node keeps the
// encapsulation once it has created the default pool), calico_backend in the
// calico-config ConfigMap, Felix's settings and the calico-node rollout. It
// holds no client: the plugin reads the cluster (dataplanekube) and this
// package says what differs and how to fix it.
package dataplane

import (
	"github.com/kopscalico/kopscalico/internal/config"
)

// Pool encapsulation modes, as an IPPool spells them (an empty mode is Never).
const (
	ModeAlways      = "Always"
	ModeCrossSubnet = "CrossSubnet"
	ModeNever       = "Never"
)

// Backends of calico_backend: kops writes bird for ipip and the
// encapsulation's name otherwise (k8s-1.25.yaml.template, line 82).
const (
	BackendBIRD  = "bird"
	BackendVXLAN = "vxlan"
)

// Names of the objects kops's Calico manifest installs, and of the pool
// calico-node creates at its first start.
const (
	Namespace         = "kube-system"
	ConfigMapName     = "calico-config"
	BackendKey        = "calico_backend"
	DaemonSetName     = "calico-node"
	ContainerName     = "calico-node"
	FelixConfigName   = "default"
	DefaultPoolName   = "default-ipv4-ippool"
	CalicoGroup       = "crd.projectcalico.org"
	CalicoVersion     = "v1"
	EnvPoolIPIP       = "CALICO_IPV4POOL_IPIP"
	EnvPoolVXLAN      = "CALICO_IPV4POOL_VXLAN"
	EnvPoolCIDR       = "CALICO_IPV4POOL_CIDR"
	EnvAWSSrcDstCheck = "FELIX_AWSSRCDSTCHECK"
)

// Desired is what the stack's configuration asks of Calico (Felix's settings
// derive from it by the table FelixSettings).
type Desired struct {
	Encapsulation  config.Encapsulation
	AWSSrcDstCheck config.SrcDstCheck
}

// Expected is the dataplane that carries Desired: what every enabled IPv4
// pool and calico-config must say.
type Expected struct {
	IPIPMode  string `json:"ipipMode"`
	VXLANMode string `json:"vxlanMode"`
	Backend   string `json:"backend"`
}

// Expect is the dataplane of a desired configuration: the overlay of the
// chosen encapsulation across subnets only, the other one off, and the
// backend kops renders for it.
func Expect(d Desired) Expected {
	e := Expected{IPIPMode: ModeCrossSubnet, VXLANMode: ModeNever, Backend: BackendBIRD}
	if d.Encapsulation == config.EncapVXLAN {
		e = Expected{IPIPMode: ModeNever, VXLANMode: ModeCrossSubnet, Backend: BackendVXLAN}
	}
	return e
}

// Pool is an IPPool's spec as Calico stores it.
type Pool struct {
	Name        string `json:"name"`
	CIDR        string `json:"cidr"`
	IPIPMode    string `json:"ipipMode"`
	VXLANMode   string `json:"vxlanMode"`
	NATOutgoing bool   `json:"natOutgoing"`
	BlockSize   int    `json:"blockSize,omitempty"`
	Disabled    bool   `json:"disabled,omitempty"`
}

// Setting is a value Felix runs with and where it comes from: an environment
// variable of calico-node wins over the FelixConfiguration, which wins over
// Felix's default (felix/config's sources, highest last).
type Setting struct {
	Value  string `json:"value"`
	Source string `json:"source"`
}

// Rollout is the calico-node DaemonSet's status.
type Rollout struct {
	Found              bool  `json:"found"`
	Generation         int64 `json:"generation"`
	ObservedGeneration int64 `json:"observedGeneration"`
	Desired            int32 `json:"desired"`
	Updated            int32 `json:"updated"`
	Available          int32 `json:"available"`
}

// Done says every calico-node pod runs the DaemonSet's current template.
func (r Rollout) Done() bool {
	return r.Found && r.ObservedGeneration >= r.Generation && r.Updated == r.Desired && r.Available == r.Desired
}

// Observed is the dataplane as the cluster reports it.
type Observed struct {
	// PoolsInstalled is false when the IPPool CRD is missing: no Calico.
	PoolsInstalled bool   `json:"poolsInstalled"`
	Pools          []Pool `json:"pools"`
	// Backend is calico-config's calico_backend; "" when there is none.
	Backend string `json:"backend"`
	// Felix is Felix's effective value of each setting of FelixSettings, by
	// FelixConfiguration field.
	Felix map[string]Setting `json:"felix"`
	// NodeEnv is what kops hands calico-node for the pool it creates
	// (CALICO_IPV4POOL_*): used only when no pool exists yet.
	NodeEnv map[string]string `json:"nodeEnv,omitempty"`
	Rollout Rollout           `json:"rollout"`
}

// mode is an IPPool mode with the empty one spelled out.
func mode(m string) string {
	if m == "" {
		return ModeNever
	}
	return m
}
