package config

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

// The desired kops cluster has one set of rules, checked at both edges where
// it comes in: Parse (the stack's config) and CheckCluster (the plugin's
// Cluster inputs, whose property names are these keys).

const gossipSuffix = ".k8s.local"

var (
	dnsLabel      = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$`)
	instanceType  = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	k8sVersion    = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+$`)
	zoneSuffix    = regexp.MustCompile(`^(-[a-z0-9-]+)?[a-z]$`)
)

// readCluster reads the keys of the desired cluster into c: c.Cluster (but
// the SSH key, a path in config and the key itself in the plugin), the kops
// version (required when c.Cluster.Manage) and Calico's encapsulation and
// src/dst check.
func (r *reader) readCluster(c *Config) {
	c.Cluster.Name = r.str(KeyClusterName, "")
	c.Cluster.DNSZone = r.str(KeyDNSZone, "")
	c.Cluster.Region = r.str(KeyRegion, "")
	c.Cluster.Zones = r.list(KeyZones)
	c.Cluster.ControlPlaneCount = r.integer(KeyControlPlaneCount, DefaultControlPlaneCount)
	c.Cluster.NodeCount = r.integer(KeyNodeCount, DefaultNodeCount)
	c.Cluster.ControlPlaneSize = r.str(KeyControlPlaneSize, DefaultInstanceSize)
	c.Cluster.NodeSize = r.str(KeyNodeSize, DefaultInstanceSize)
	c.Cluster.InstanceGroups = r.instanceGroups(KeyInstanceGroups)
	c.Cluster.AllowGroupRemoval = r.list(KeyAllowGroupRemoval)
	c.Cluster.KubernetesVersion = r.str(KeyKubernetesVersion, "")
	c.Cluster.SSHAccess = r.access(KeySSHAccess)
	c.Cluster.AdminAccess = r.access(KeyAdminAccess)
	c.Cluster.AllowWorldAccess = r.boolean(KeyAllowWorldAccess, false)
	c.Kops.Version = r.kopsVersion(KeyKopsVersion, c.Cluster.Manage)
	c.Calico.Encapsulation = readMode(r, encapsulationKey, EncapIPIP)
	c.Calico.AWSSrcDstCheck = readMode(r, srcDstCheckKey, SrcDstDisable)
}

// clusterRules are the rules of a cluster the program drives with kops,
// over its parsed values: what kops would refuse, and what would open the
// cluster to the world.
func clusterRules(c Config) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	v := c.Kops.Version
	add(clusterNameRule(c.Cluster.Name, c.Cluster.DNSZone, v))
	if !regionPattern.MatchString(c.Cluster.Region) {
		add(keyErr(KeyRegion, c.Cluster.Region, "must be an AWS region such as us-east-1 or eu-west-2"))
	}
	errs = append(errs, zonesRule(c.Cluster.Region, c.Cluster.Zones)...)
	errs = append(errs, countsRule(c.Cluster)...)
	errs = append(errs, instanceGroupsRule(c.Cluster)...)
	errs = append(errs, removalRule(c.Cluster.AllowGroupRemoval)...)
	for _, k := range []struct{ key, v string }{{KeyControlPlaneSize, c.Cluster.ControlPlaneSize}, {KeyNodeSize, c.Cluster.NodeSize}} {
		if !instanceType.MatchString(k.v) {
			add(keyErr(k.key, k.v, "must be an EC2 instance type such as t3.medium or m6i.large"))
		}
	}
	if kv := c.Cluster.KubernetesVersion; kv != "" && !k8sVersion.MatchString(kv) {
		add(keyErr(KeyKubernetesVersion, kv, "must be a full Kubernetes release such as 1.32.4, or unset for kops's default"))
	}
	errs = append(errs, accessRule(c.Cluster)...)
	if c.Calico.Encapsulation == EncapVXLAN && !v.IsZero() && !v.AtLeast(kopsrelease.CalicoModes) {
		add(keyErr(KeyEncapsulation, string(EncapVXLAN), "needs kops %s or later (%s is %s): before it kops only offers calico.crossSubnet with IP-in-IP; use ipip",
			kopsrelease.CalicoModes.MinorString(), FullKey(KeyKopsVersion), v.MinorString()))
	}
	return errs
}

// CheckCluster applies the cluster's rules to the plugin's Cluster inputs:
// get answers by property name (the config keys; lists as JSON text), and
// stateStore is the store's URL. Every problem is a *KeyError.
func CheckCluster(get Lookup) []*KeyError {
	r := reader{get: get}
	c := Config{Cluster: Cluster{Manage: true}}
	r.readCluster(&c)
	errs := append(r.errs, clusterRules(c)...)
	if url := r.str(KeyStateStore, ""); url == "" {
		errs = append(errs, keyErr(KeyStateStore, "", "is required: the kops state store URL, s3://<bucket>[/prefix] (or file:///<path> for local testing)"))
	} else if err := stateStoreURLRule(url); err != nil {
		errs = append(errs, err)
	}
	out := make([]*KeyError, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.(*KeyError))
	}
	return out
}

func clusterNameRule(name, zone string, kops kopsrelease.Version) error {
	if name == "" {
		return keyErr(KeyClusterName, "", "is required: a DNS name such as calico.dev.example.com (kops names the cluster's AWS resources after it)")
	}
	if name != strings.ToLower(name) {
		return keyErr(KeyClusterName, name, "must be lowercase: kops refuses upper-case cluster names; use %q", strings.ToLower(name))
	}
	if len(name) > 253 {
		return keyErr(KeyClusterName, name, "is longer than 253 characters, the limit of a DNS name")
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return keyErr(KeyClusterName, name, "must be a fully-qualified DNS name with at least one dot, such as %s.example.com (kops requires it)", name)
	}
	for _, l := range labels {
		if !dnsLabel.MatchString(l) {
			return keyErr(KeyClusterName, name, "label %q is not a DNS label: use a-z, 0-9 and '-', 1 to 63 characters, not starting or ending with '-'", l)
		}
	}
	if IsGossipName(name) {
		if zone != "" {
			return keyErr(KeyDNSZone, zone, "must be unset for a gossip (.k8s.local) cluster name, or rename the cluster into the zone")
		}
		if !kops.IsZero() && kops.AtLeast(kopsrelease.GossipRemoved) {
			return keyErr(KeyClusterName, name, "gossip (.k8s.local) names are refused by kops %s and later: use a name in a Route53 zone and set %s, or pin a kops release before %[1]s to create a DNS-none cluster",
				kopsrelease.GossipRemoved.MinorString(), FullKey(KeyDNSZone))
		}
		return nil
	}
	if zone != "" && name != zone && !strings.HasSuffix(name, "."+strings.TrimSuffix(zone, ".")) {
		return keyErr(KeyDNSZone, zone, "cluster name %q is not inside this zone: use a zone that is a suffix of the name", name)
	}
	return nil
}

// IsGossipName reports whether a cluster name is a gossip (.k8s.local) name.
func IsGossipName(name string) bool {
	return strings.HasSuffix(strings.TrimSuffix(name, "."), gossipSuffix)
}

func zonesRule(region string, zones []string) []error {
	var errs []error
	if len(zones) < 2 {
		errs = append(errs, keyErr(KeyZones, strings.Join(zones, ","), "must list two or more availability zones of %s, e.g. %sa,%sb: kops makes one subnet per zone, and Calico cross-subnet encapsulates only between subnets, so one zone leaves nothing to cross",
			orDefault(region, "the region"), orDefault(region, "us-east-1"), orDefault(region, "us-east-1")))
	}
	seen := map[string]bool{}
	for _, z := range zones {
		if seen[z] {
			errs = append(errs, keyErr(KeyZones, z, "is listed twice"))
			continue
		}
		seen[z] = true
		rest, ok := strings.CutPrefix(z, region)
		if region == "" || !ok || rest == "" || !zoneSuffix.MatchString(rest) {
			errs = append(errs, keyErr(KeyZones, z, "is not an availability zone of region %q: zones are the region plus a letter, e.g. %sa", region, orDefault(region, "us-east-1")))
		}
	}
	return errs
}

// countsRule bounds the instance counts: etcd quorum for the control plane,
// and a typo guard for the nodes (every node is billed and rolled).
func countsRule(c Cluster) []error {
	var errs []error
	if n := c.ControlPlaneCount; n < 1 || n > MaxControlPlaneCount || n%2 == 0 {
		errs = append(errs, keyErr(KeyControlPlaneCount, strconv.Itoa(n),
			"must be 1, 3, 5 or 7: etcd needs a majority to keep quorum, so an even count tolerates no more failures than the odd count below it, and etcd advises against more than 7 members (every write waits for a majority)"))
	}
	if n := c.NodeCount; n < 1 || n > MaxNodeCount {
		errs = append(errs, keyErr(KeyNodeCount, strconv.Itoa(n),
			"must be 1 to %d: the workloads need a node to run on, and the cap guards against a typo (every node is billed, and a rolling update replaces the nodes one at a time, minutes each)", MaxNodeCount))
	}
	return errs
}

// accessRule: the API is never left open by omission (kops would open it
// to 0.0.0.0/0 and ::/0), and a /0 prefix, however it is spelled (0.0.0.0/0,
// ::/0, 0::/0), is the whole internet, accepted only with allowWorldAccess.
func accessRule(c Cluster) []error {
	var errs []error
	if len(c.AdminAccess) == 0 {
		errs = append(errs, keyErr(KeyAdminAccess, "", "must list the CIDRs (or AWS prefix lists) allowed to reach the Kubernetes API, e.g. [\"203.0.113.0/24\"]: kops would open it to the whole internet; to mean that, list 0.0.0.0/0 and ::/0 and set %s=true", FullKey(KeyAllowWorldAccess)))
	}
	for _, k := range []struct {
		key  string
		list AccessList
	}{{KeyAdminAccess, c.AdminAccess}, {KeySSHAccess, c.SSHAccess}} {
		for _, a := range k.list {
			if a.World() && !c.AllowWorldAccess {
				errs = append(errs, keyErr(k.key, a.String(), "is a /0 prefix, which opens the cluster to the whole internet: list your own CIDRs, or set %s=true to accept this deliberately", FullKey(KeyAllowWorldAccess)))
			}
		}
	}
	return errs
}
