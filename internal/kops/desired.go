package kops

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/kopscalico/kopscalico/internal/kopsrelease"

	"github.com/kopscalico/kopscalico/internal/config"
)

// Desired is the cluster the program wants kops to run. Its JSON form is the
// provider's Cluster inputs; the names are the kopscalico config keys.
type Desired struct {
	Name              string   `json:"clusterName"`
	StateStore        string   `json:"stateStore"`
	Region            string   `json:"region"`
	Zones             []string `json:"zones"`
	ControlPlaneCount int      `json:"controlPlaneCount"`
	NodeCount         int      `json:"nodeCount"`
	ControlPlaneSize  string   `json:"controlPlaneSize,omitempty"`
	NodeSize          string   `json:"nodeSize,omitempty"`
	KubernetesVersion string   `json:"kubernetesVersion,omitempty"`
	DNSZone           string   `json:"dnsZone,omitempty"`
	SSHAccess         []string `json:"sshAccess"`
	AdminAccess       []string `json:"adminAccess"`
	AllowWorldAccess  bool     `json:"allowWorldAccess,omitempty"`
	SSHPublicKey      string   `json:"sshPublicKey,omitempty"` // the key itself, not a path
	Encapsulation     string   `json:"encapsulation"`
	AWSSrcDstCheck    string   `json:"awsSrcDstCheck"`
	// KopsVersion is the pinned kops minor ("1.34") everything is rendered for.
	KopsVersion string `json:"kopsVersion"`
}

// Timeouts bound each kind of kops command.
type Timeouts struct {
	Command       time.Duration // every command but validate and rolling-update
	Validate      time.Duration // `kops validate cluster --wait`
	RollingUpdate time.Duration // `kops rolling-update cluster --yes`
}

// DesiredFromConfig is the desired cluster of a validated config, with the
// state store URL (known only once the bucket exists) passed separately.
func DesiredFromConfig(cfg config.Config, stateStore string) Desired {
	c := cfg.Cluster
	return Desired{
		Name:              c.Name,
		StateStore:        stateStore,
		Region:            c.Region,
		Zones:             append([]string(nil), c.Zones...),
		ControlPlaneCount: c.ControlPlaneCount,
		NodeCount:         c.NodeCount,
		ControlPlaneSize:  c.ControlPlaneSize,
		NodeSize:          c.NodeSize,
		KubernetesVersion: c.KubernetesVersion,
		DNSZone:           c.DNSZone,
		SSHAccess:         append([]string{}, c.SSHAccess...),
		AdminAccess:       append([]string{}, c.AdminAccess...),
		AllowWorldAccess:  c.AllowWorldAccess,
		SSHPublicKey:      c.SSHPublicKey,
		Encapsulation:     cfg.Calico.Encapsulation,
		AWSSrcDstCheck:    cfg.Calico.AWSSrcDstCheck,
		KopsVersion:       cfg.Kops.Version,
	}
}

// TimeoutsFromConfig picks the kops timeouts out of the config.
func TimeoutsFromConfig(k config.Kops) Timeouts {
	return Timeouts{Command: k.CommandTimeout, Validate: k.ValidateTimeout, RollingUpdate: k.RollingUpdateTimeout}
}

// Version is the parsed pinned kops version.
func (d Desired) Version() (kopsrelease.Version, error) {
	v, err := kopsrelease.Parse(d.KopsVersion)
	if err != nil {
		return kopsrelease.Version{}, fmt.Errorf("kopscalico:kopsVersion: %w", err)
	}
	return v, nil
}

// IsGossip reports whether the name is a gossip (.k8s.local) cluster name.
func (d Desired) IsGossip() bool {
	return strings.HasSuffix(strings.TrimSuffix(d.Name, "."), ".k8s.local")
}

// Validate checks what kops would refuse, or what would open the cluster to
// the world, before any command runs. Errors name the config key to fix.
func (d Desired) Validate() error {
	v, err := d.Version()
	if err != nil {
		return err
	}
	var errs []string
	add := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if d.Name == "" {
		add("kopscalico:clusterName is empty")
	}
	if d.StateStore == "" {
		add("the kops state store URL is empty (kopscalico:stateStoreBucket or kopscalico:stateStore)")
	}
	if len(d.Zones) == 0 {
		add("kopscalico:zones is empty: kops needs at least one availability zone")
	}
	if d.ControlPlaneCount < 1 || d.NodeCount < 1 {
		add("kopscalico:controlPlaneCount and kopscalico:nodeCount must be at least 1 (got %d and %d)", d.ControlPlaneCount, d.NodeCount)
	}
	switch d.Encapsulation {
	case config.EncapIPIP:
	case config.EncapVXLAN:
		if !v.AtLeast(kopsrelease.CalicoModes) {
			add("kopscalico:encapsulation=vxlan needs kops 1.22 or later (kopscalico:kopsVersion is %s): before 1.22 kops only offers calico.crossSubnet with IP-in-IP", d.KopsVersion)
		}
	default:
		add("kopscalico:encapsulation %q: want %q or %q", d.Encapsulation, config.EncapIPIP, config.EncapVXLAN)
	}
	switch d.AWSSrcDstCheck {
	case "Disable", "Enable", "DoNothing":
	default:
		add("kopscalico:awsSrcDstCheck %q: want Disable, Enable or DoNothing", d.AWSSrcDstCheck)
	}
	if d.IsGossip() && v.AtLeast(kopsrelease.GossipRemoved) {
		add("kopscalico:clusterName %q is a gossip (.k8s.local) name, and kops %s removed gossip DNS (from 1.37): "+
			"use a name inside a Route53 zone and set kopscalico:dnsZone, or pin kops 1.36 or older to create a DNS-none cluster", d.Name, d.KopsVersion)
	}
	if len(d.AdminAccess) == 0 && !d.AllowWorldAccess {
		add("kopscalico:adminAccess is empty, and kops would then open the Kubernetes API to 0.0.0.0/0: list the CIDRs allowed to reach the API, or set kopscalico:allowWorldAccess=true")
	}
	for _, list := range []struct {
		key   string
		cidrs []string
	}{{"kopscalico:sshAccess", d.SSHAccess}, {"kopscalico:adminAccess", d.AdminAccess}} {
		for _, c := range list.cidrs {
			if strings.HasPrefix(c, "pl-") { // AWS managed prefix list
				continue
			}
			p, err := netip.ParsePrefix(c)
			if err != nil {
				add("%s: %q is not a CIDR (e.g. 203.0.113.0/24) or an AWS prefix list (pl-...)", list.key, c)
				continue
			}
			if p.Bits() == 0 && !d.AllowWorldAccess {
				add("%s: %s opens the cluster to the whole internet: narrow it, or set kopscalico:allowWorldAccess=true to accept that", list.key, c)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("kops cluster %q: %s", d.Name, strings.Join(errs, "; "))
	}
	return nil
}

// adminAccess is the API access list to write: the configured CIDRs, or the
// world when that is explicitly allowed and nothing narrower is given.
func (d Desired) adminAccess() []string {
	if len(d.AdminAccess) == 0 && d.AllowWorldAccess {
		return []string{"0.0.0.0/0", "::/0"}
	}
	return d.AdminAccess
}
