package kops

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

// CreateClusterArgs renders `kops create cluster` for the desired cluster on
// the pinned kops version (without --ssh-public-key: the Manager writes the
// key to a file and adds it). The command only writes the spec to the state
// store (no --yes); the program then sets Calico cross-subnet and access in
// the spec and applies it with `kops update cluster --yes`.
//
// Flags by version: --control-plane-count/--control-plane-size from kops
// 1.26, --master-count/--master-size before. A gossip (.k8s.local) name gets
// --dns none from kops 1.29 (what kops turns it into anyway) and is refused
// from 1.37, where gossip DNS is gone (the cluster's rules refuse it).
func CreateClusterArgs(d Desired) []string {
	return append(append([]string(nil), steps[StepCreateCluster].command...), createClusterFlags(d)...)
}

// createClusterFlags are CreateClusterArgs without the command.
func createClusterFlags(d Desired) []string {
	v := d.KopsVersion
	cp := "control-plane"
	if !v.AtLeast(kopsrelease.ControlPlaneFlags) {
		cp = "master"
	}
	args := []string{
		"--name", d.Name,
		"--state", d.StateStore,
		"--cloud", "aws",
		"--zones", strings.Join(d.Zones, ","),
		"--networking", "calico",
		"--" + cp + "-count", strconv.Itoa(d.ControlPlaneCount),
		"--node-count", strconv.Itoa(d.NodeCount),
	}
	if d.ControlPlaneSize != "" {
		args = append(args, "--"+cp+"-size", d.ControlPlaneSize)
	}
	if d.NodeSize != "" {
		args = append(args, "--node-size", d.NodeSize)
	}
	if d.KubernetesVersion != "" {
		args = append(args, "--kubernetes-version", d.KubernetesVersion)
	}
	switch {
	case d.IsGossip() && v.AtLeast(kopsrelease.GossipIsDNSNone):
		args = append(args, "--dns", "none")
	case d.DNSZone != "":
		args = append(args, "--dns-zone", d.DNSZone)
	}
	args = append(args, "--admin-access", strings.Join(d.AdminAccess.Strings(), ","))
	// kops has no flag for "no SSH": an empty --ssh-access falls back to
	// --admin-access. The spec rewrite before the first `update --yes`
	// removes sshAccess, so SSH is never opened.
	if len(d.SSHAccess) > 0 {
		args = append(args, "--ssh-access", strings.Join(d.SSHAccess.Strings(), ","))
	}
	return args
}

// GossipNote explains what kops does with a gossip name on the pinned
// version; empty when the name is not a gossip name.
func GossipNote(d Desired) string {
	if !d.IsGossip() {
		return ""
	}
	v, removed, zone := d.KopsVersion.MinorString(), kopsrelease.GossipRemoved.MinorString(), config.FullKey(config.KeyDNSZone)
	if d.KopsVersion.AtLeast(kopsrelease.GossipIsDNSNone) {
		return fmt.Sprintf("%s is a gossip (.k8s.local) name: kops %s creates it as a DNS-none cluster (the API behind a load balancer); gossip is removed in kops %s, so prefer a name in a Route53 zone (%s)", d.Name, v, removed, zone)
	}
	return fmt.Sprintf("%s is a gossip (.k8s.local) name: kops %s creates it with legacy gossip DNS, which kops %s removes; prefer a name in a Route53 zone (%s)", d.Name, v, removed, zone)
}
