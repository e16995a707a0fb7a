package kops

import (
	"encoding/json"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

// Desired is the cluster the program wants kops to run, in typed values
// checked at the edge (config.Parse for the program, config.CheckCluster
// for the plugin's inputs). Its JSON form is the provider's Cluster inputs:
// the names are the kopscalico config keys, and a replace tag says why kops
// cannot change that field on a running cluster (pluginapi.Field).
type Desired struct {
	Name              string   `json:"clusterName" replace:"kops cannot rename a cluster"`
	StateStore        string   `json:"stateStore" replace:"a cluster does not move between state stores (copy the store with kops tooling instead)"`
	Region            string   `json:"region" replace:"a kops cluster cannot move regions"`
	Zones             []string `json:"zones" replace:"subnets are made with the cluster; add zones with 'kops create instancegroup' by hand"`
	ControlPlaneCount int      `json:"controlPlaneCount" replace:"changing it changes etcd membership (kops docs: operations/etcd_administration)"`
	NodeCount         int      `json:"nodeCount"`
	ControlPlaneSize  string   `json:"controlPlaneSize,omitempty"`
	NodeSize          string   `json:"nodeSize,omitempty"`
	// InstanceGroups, when set, are the Node groups in place of the
	// shorthand NodeCount and NodeSize (instancegroups.go).
	InstanceGroups            DeclaredGroups       `json:"instanceGroups,omitempty"`
	AllowInstanceGroupRemoval []string             `json:"allowInstanceGroupRemoval,omitempty"`
	KubernetesVersion         string               `json:"kubernetesVersion,omitempty"`
	DNSZone                   string               `json:"dnsZone,omitempty" replace:"the DNS zone is chosen at creation"`
	SSHAccess                 config.AccessList    `json:"sshAccess"`
	AdminAccess               config.AccessList    `json:"adminAccess"`
	AllowWorldAccess          bool                 `json:"allowWorldAccess,omitempty"`
	SSHPublicKey              string               `json:"sshPublicKey,omitempty"` // the key itself, not a path
	Encapsulation             config.Encapsulation `json:"encapsulation"`
	AWSSrcDstCheck            config.SrcDstCheck   `json:"awsSrcDstCheck"`
	// KopsVersion is the pinned kops release everything is rendered for; its
	// JSON form is the minor ("1.34").
	KopsVersion kopsrelease.Version `json:"kopsVersion"`
}

// DeclaredGroups are the Node groups kopscalico:instanceGroups declares;
// nil: the shorthand nodeCount and nodeSize.
type DeclaredGroups []config.InstanceGroup

// UnmarshalJSON reads the list, and a string as nil: states recorded before
// the key existed hold kops's instance groups as YAML under this name.
func (g *DeclaredGroups) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		*g = nil
		return nil
	}
	return json.Unmarshal(b, (*[]config.InstanceGroup)(g))
}

// DesiredFromConfig is the desired cluster of a parsed config, with the
// state store URL (known only once the bucket exists) passed separately.
func DesiredFromConfig(cfg config.Config, stateStore string) Desired {
	c := cfg.Cluster
	return Desired{
		Name:                      c.Name,
		StateStore:                stateStore,
		Region:                    c.Region,
		Zones:                     append([]string(nil), c.Zones...),
		ControlPlaneCount:         c.ControlPlaneCount,
		NodeCount:                 c.NodeCount,
		ControlPlaneSize:          c.ControlPlaneSize,
		NodeSize:                  c.NodeSize,
		InstanceGroups:            append(DeclaredGroups(nil), c.InstanceGroups...),
		AllowInstanceGroupRemoval: append([]string(nil), c.AllowGroupRemoval...),
		KubernetesVersion:         c.KubernetesVersion,
		DNSZone:                   c.DNSZone,
		SSHAccess:                 append(config.AccessList{}, c.SSHAccess...),
		AdminAccess:               append(config.AccessList{}, c.AdminAccess...),
		AllowWorldAccess:          c.AllowWorldAccess,
		SSHPublicKey:              c.SSHPublicKey,
		Encapsulation:             cfg.Calico.Encapsulation,
		AWSSrcDstCheck:            cfg.Calico.AWSSrcDstCheck,
		KopsVersion:               cfg.Kops.Version,
	}
}

// IsGossip reports whether the name is a gossip (.k8s.local) cluster name.
func (d Desired) IsGossip() bool { return config.IsGossipName(d.Name) }
