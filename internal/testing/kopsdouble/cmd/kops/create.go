package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kopscalico/kopscalico/internal/kopsrelease"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type createOptions struct {
	yes                  bool
	cloud                string
	zones                []string
	controlPlaneCount    int32
	nodeCount            int32
	controlPlaneSize     string
	nodeSize             string
	kubernetesVersion    string
	networking           string
	dnsZone, dns         string
	adminAccess          []string
	sshAccess            []string
	sshPublicKey         string
	topology             string
	controlPlaneZones    []string
	image, channel, vpc  string
	networkCIDR, out     string
	output               string
	associatePublicIP    bool
	dryRun               bool
	apiLoadBalancerType  string
	bastion              bool
	authorization        string
	controlPlaneImage    string
	nodeImage            string
	containerRuntime     string
	cloudLabels          string
	encryptEtcdStorage   bool
	target               string
	kubernetesFeatureGts []string
}

func (d *double) createCommand() *cobra.Command {
	create := &cobra.Command{Use: "create", Short: "Create a resource by command line, filename or stdin."}
	o := &createOptions{}
	cmd := &cobra.Command{
		Use:  "cluster [CLUSTER]",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := d.inject("create cluster", args); err != nil {
				return err
			}
			// pflag's deprecation note; real kops prints it to stderr.
			cmd.Flags().Visit(func(f *pflag.Flag) {
				if f.Deprecated != "" {
					fmt.Fprintf(d.stderr, "Flag --%s has been deprecated, %s\n", f.Name, f.Deprecated)
				}
			})
			return d.createCluster(o, args)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.yes, "yes", "y", false, "Specify --yes to immediately create the cluster")
	f.StringVar(&o.target, "target", "direct", "Valid targets: direct, terraform.")
	f.StringVar(&o.cloud, "cloud", "", "Cloud provider to use - aws, digitalocean, gce, hetzner, openstack, scaleway")
	f.StringSliceVar(&o.zones, "zones", nil, "Zones in which to run the cluster")
	f.StringVar(&o.kubernetesVersion, "kubernetes-version", "", "Version of Kubernetes to run (defaults to version in channel)")
	f.StringVar(&o.sshPublicKey, "ssh-public-key", "", "SSH public key to use")
	f.StringVar(&o.nodeSize, "node-size", "", "Machine type(s) for worker nodes")
	f.Int32Var(&o.nodeCount, "node-count", 0, "Total number of worker nodes. Defaults to one node per zone")
	f.StringVar(&o.networking, "networking", "", "Networking mode.  kubenet, external, weave, flannel-vxlan, flannel-udp, calico, canal, kube-router, amazonvpc, cilium, cilium-etcd, cni.")
	f.StringVar(&o.dnsZone, "dns-zone", "", "DNS hosted zone (defaults to longest matching zone)")
	f.StringSliceVar(&o.adminAccess, "admin-access", nil, "Restrict API access to this CIDR.  If not set, access will not be restricted by IP.")
	f.StringSliceVar(&o.sshAccess, "ssh-access", nil, "Restrict SSH access to this CIDR.  If not set, uses the value of the admin-access flag.")
	f.StringVarP(&o.topology, "topology", "t", "", "Network topology for the cluster: 'public' or 'private'.")
	f.StringVar(&o.dns, "dns", "", "DNS type to use")
	f.StringVar(&o.image, "image", "", "Machine image for all instances")
	f.StringVar(&o.nodeImage, "node-image", "", "Machine image for worker nodes. Takes precedence over --image")
	f.StringVar(&o.channel, "channel", "stable", "Channel for default versions and configuration to use")
	f.StringVar(&o.vpc, "vpc", "", "Shared Network or VPC to use")
	f.StringVar(&o.networkCIDR, "network-cidr", "", "Network CIDR(s) to use")
	f.StringVar(&o.out, "out", "", "Path to write any local output")
	f.StringVarP(&o.output, "output", "o", "", "Output format. One of json or yaml. Used with the --dry-run flag.")
	f.BoolVar(&o.dryRun, "dry-run", false, "If true, only print the object that would be sent, without sending it.")
	f.BoolVar(&o.associatePublicIP, "associate-public-ip", false, "Specify --associate-public-ip=[true|false] to enable/disable association of public IP for control-plane ASG and nodes. Default is 'true'.")
	f.StringVar(&o.apiLoadBalancerType, "api-loadbalancer-type", "", "Controls whether the API load balancer is public or internal")
	f.BoolVar(&o.bastion, "bastion", false, "Enable a bastion instance group.")
	f.StringVar(&o.authorization, "authorization", "RBAC", "Authorization mode: AlwaysAllow or RBAC")
	f.StringVar(&o.containerRuntime, "container-runtime", "", "Container runtime to use: containerd, docker")
	f.StringVar(&o.cloudLabels, "cloud-labels", "", "A list of key/value pairs used to tag all instance groups")
	f.BoolVar(&o.encryptEtcdStorage, "encrypt-etcd-storage", true, "Generate key in AWS KMS and use it for encrypt etcd volumes")
	if d.ver.AtLeast(kopsrelease.ControlPlaneFlags) {
		f.Int32Var(&o.controlPlaneCount, "control-plane-count", 0, "Number of control-plane nodes. Defaults to one control-plane node per control-plane-zone")
		f.StringVar(&o.controlPlaneSize, "control-plane-size", "", "Machine type(s) for control-plane nodes")
		f.StringSliceVar(&o.controlPlaneZones, "control-plane-zones", nil, "Zones in which to run control-plane nodes. (must be an odd number)")
		f.StringVar(&o.controlPlaneImage, "control-plane-image", "", "Machine image for control-plane nodes. Takes precedence over --image")
		f.StringSliceVar(&o.kubernetesFeatureGts, "kubernetes-feature-gates", nil, "List of Kubernetes feature gates to enable/disable")
		f.Int32Var(&o.controlPlaneCount, "master-count", 0, "Number of control-plane nodes. Defaults to one control-plane node per control-plane-zone")
		f.MarkDeprecated("master-count", "use --control-plane-count instead")
		f.StringVar(&o.controlPlaneSize, "master-size", "", "Machine type(s) for control-plane nodes")
		f.MarkDeprecated("master-size", "use --control-plane-size instead")
		f.StringSliceVar(&o.controlPlaneZones, "master-zones", nil, "Zones in which to run control-plane nodes. (must be an odd number)")
		f.MarkDeprecated("master-zones", "use --control-plane-zones instead")
	} else {
		f.Int32Var(&o.controlPlaneCount, "master-count", 0, "Number of masters. Defaults to one master per master-zone")
		f.StringVar(&o.controlPlaneSize, "master-size", "", "Set instance size for masters")
		f.StringSliceVar(&o.controlPlaneZones, "master-zones", nil, "Zones in which to run masters (must be an odd number)")
		f.StringVar(&o.controlPlaneImage, "master-image", "", "Machine image for masters. Takes precedence over --image")
	}
	create.AddCommand(cmd, d.createKeypairCommand())
	return create
}

// stableKubernetes is the Kubernetes version channels/stable (as shipped
// in the kops 1.36.2 module) gives a new cluster on kops minor release v.
func stableKubernetes(v kopsrelease.Version) string {
	for _, r := range []struct {
		minor int
		k8s   string
	}{{35, "1.35.5"}, {34, "1.34.8"}, {33, "1.33.12"}, {32, "1.32.13"}, {31, "1.31.14"}, {30, "1.30.14"},
		{29, "1.29.15"}, {28, "1.28.15"}, {27, "1.27.16"}, {26, "1.26.15"}} {
		if v.AtLeast(since(r.minor)) {
			return r.k8s
		}
	}
	return fmt.Sprintf("1.%d.0", v.Minor)
}

// imageFor is the amd64 AWS image channels/stable (kops 1.36.2) picks for
// Kubernetes version k8s.
func imageFor(k8s string) string {
	minor := 0
	if parts := strings.Split(strings.TrimPrefix(k8s, "v"), "."); len(parts) > 1 {
		minor, _ = strconv.Atoi(parts[1])
	}
	switch {
	case minor >= 32:
		return "099720109477/ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20260218"
	case minor >= 27:
		return "099720109477/ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20260410"
	default:
		return "099720109477/ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-20250624"
	}
}

// trimCommonPrefix names etcd members after their zones without the
// prefix the zones share ("a", "b"), as createEtcdCluster does
// (upup/pkg/fi/cloudup/new_cluster.go).
func trimCommonPrefix(names []string) []string {
	for len(names) != 0 && len(names[0]) > 1 {
		prefix := names[0][:1]
		for _, n := range names {
			if !strings.HasPrefix(n, prefix) {
				return digitsPrefixed(names)
			}
		}
		for i := range names {
			names[i] = strings.TrimPrefix(names[i], prefix)
		}
	}
	return digitsPrefixed(names)
}

func digitsPrefixed(names []string) []string {
	for i, n := range names {
		if n != "" && n[0] >= '0' && n[0] <= '9' {
			names[i] = "etcd-" + n
		}
	}
	return names
}

// subnetCIDRs splits the network CIDR 172.20.0.0/16 into 1, 2, 4 or 8
// blocks and hands them out in zone order (upup/pkg/fi/cloudup/subnets.go
// assignCIDRsToSubnets).
func subnetCIDRs(zones []string) map[string]string {
	bits := 0
	for 1<<bits < len(zones) && bits < 3 {
		bits++
	}
	sorted := append([]string(nil), zones...)
	sort.Strings(sorted)
	out := map[string]string{}
	for i, z := range sorted {
		out[z] = fmt.Sprintf("172.20.%d.0/%d", i*(256>>bits), 16+bits)
	}
	return out
}

func isGossip(name string) bool {
	return strings.HasSuffix(strings.TrimSuffix(name, "."), ".k8s.local")
}

func (d *double) createCluster(o *createOptions, args []string) error {
	if err := d.needStore(); err != nil {
		return err
	}
	name, err := d.name(args)
	if err != nil {
		return err
	}
	if d.exists(name) {
		return fmt.Errorf("cluster %q already exists; use 'kops update cluster' to apply changes", name)
	}
	if len(o.zones) == 0 {
		return fmt.Errorf("must specify at least one zone for the cluster (use --zones)")
	}
	if o.cloud == "" {
		// upup/pkg/fi/cloudup/new_cluster.go NewCluster guesses the cloud
		// from the store's path, and a local path says nothing.
		return fmt.Errorf("pass in the cloud provider explicitly using --cloud: cannot infer cloud provider from path: %q", filepath.Join(d.store, name))
	}
	if o.cloud != "aws" {
		return fmt.Errorf("the kops test double emulates AWS only, not --cloud=%s", o.cloud)
	}
	if o.sshPublicKey != "" {
		if _, err := os.ReadFile(o.sshPublicKey); err != nil {
			return fmt.Errorf("error reading SSH key file %q: %v", o.sshPublicKey, err)
		}
	}
	dnsType := ""
	switch strings.ToLower(o.dns) {
	case "":
		switch {
		// upup/pkg/fi/cloudup/new_cluster.go setupDNSTopology: from 1.29
		// no zone means DNS none; before, gossip names got Private.
		case o.dnsZone != "":
			dnsType = "Public"
		case d.ver.AtLeast(kopsrelease.GossipIsDNSNone):
			if isGossip(name) {
				d.klogWarn("Gossip is deprecated, using None DNS instead")
			}
			dnsType = "None"
		case isGossip(name):
			dnsType = "Private"
		default:
			dnsType = "Public"
		}
	case "public":
		dnsType = "Public"
	case "private":
		dnsType = "Private"
	case "none":
		if !d.ver.AtLeast(kopsrelease.ControlPlaneFlags) {
			return fmt.Errorf("unknown DNSType: %q", o.dns)
		}
		dnsType = "None"
	default:
		return fmt.Errorf("unknown DNSType: %q", o.dns)
	}
	if isGossip(name) && dnsType != "None" && d.ver.AtLeast(kopsrelease.GossipRemoved) {
		return fmt.Errorf("spec.networking.topology.dns.type: Forbidden: gossip DNS support was removed in kOps 1.37; migrate the cluster to dns=none or a hosted DNS zone using kOps 1.36 before upgrading (see https://kops.sigs.k8s.io/gossip/)")
	}

	networking := o.networking
	if networking == "" {
		networking = "kubenet"
		if d.ver.AtLeast(kopsrelease.ControlPlaneFlags) {
			networking = "cilium"
		}
	}
	netSpec := map[string]any{}
	switch networking {
	case "kubenet", "calico", "cilium", "cni", "flannel", "canal", "amazonvpc", "weave", "external", "kindnet":
		netSpec[networking] = map[string]any{}
	case "kube-router":
		netSpec["kuberouter"] = map[string]any{}
	default:
		return fmt.Errorf("unknown networking mode %q", networking)
	}

	adminAccess := o.adminAccess
	if len(adminAccess) == 0 {
		adminAccess = []string{"0.0.0.0/0", "::/0"}
	}
	sshAccess := o.sshAccess
	if len(sshAccess) == 0 {
		sshAccess = adminAccess
	}
	// The completed spec is validated before anything is written: both
	// lists are checked, so a bad --admin-access that --ssh-access
	// defaulted to is reported twice, as kops does.
	if errs := accessErrors(map[string]any{"sshAccess": toAny(sshAccess), "kubernetesApiAccess": toAny(adminAccess)}); len(errs) > 0 {
		return errors.New(formatErrs(errs))
	}
	k8sVersion := o.kubernetesVersion
	if k8sVersion == "" {
		k8sVersion = stableKubernetes(d.ver)
	}

	cpCount := int(o.controlPlaneCount)
	if cpCount == 0 {
		cpCount = 1
	}
	cpPrefix := "master"
	if d.ver.AtLeast(kopsrelease.ControlPlaneFlags) {
		cpPrefix = "control-plane"
	}
	cpZones := o.controlPlaneZones
	if len(cpZones) == 0 {
		cpZones = o.zones
	}
	var cpNames []string
	for i := 0; i < cpCount; i++ {
		z := cpZones[i%len(cpZones)]
		n := cpPrefix + "-" + z
		if cpCount > len(cpZones) {
			n = fmt.Sprintf("%s-%s-%d", cpPrefix, z, i/len(cpZones)+1)
		}
		cpNames = append(cpNames, n)
	}
	var memberNames []string
	for _, n := range cpNames {
		memberNames = append(memberNames, strings.TrimPrefix(n, cpPrefix+"-"))
	}
	memberNames = trimCommonPrefix(memberNames)
	etcdMembers := []any{}
	for i, n := range cpNames {
		etcdMembers = append(etcdMembers, map[string]any{"encryptedVolume": true, "instanceGroup": n, "name": memberNames[i]})
	}
	cidrs := subnetCIDRs(o.zones)
	var subnets []any
	zones := append([]string(nil), o.zones...)
	sort.Strings(zones) // NewCluster walks the zones as a sorted set
	for _, z := range zones {
		subnets = append(subnets, map[string]any{"cidr": cidrs[z], "name": z, "type": "Public", "zone": z})
	}
	spec := map[string]any{
		"authorization": map[string]any{"rbac": map[string]any{}},
		"channel":       o.channel,
		"cloudProvider": "aws",
		"configBase":    filepath.Join(d.store, name), // kops stores the store's path, not its URL
		"etcdClusters": []any{
			map[string]any{"cpuRequest": "200m", "etcdMembers": etcdMembers, "manager": map[string]any{"backupRetentionDays": 90}, "memoryRequest": "100Mi", "name": "main"},
			map[string]any{"cpuRequest": "100m", "etcdMembers": etcdMembers, "manager": map[string]any{"backupRetentionDays": 90}, "memoryRequest": "100Mi", "name": "events"},
		},
		"iam":                 map[string]any{"allowContainerRegistry": true, "legacy": false},
		"kubelet":             map[string]any{"anonymousAuth": false},
		"kubernetesApiAccess": toAny(adminAccess),
		"kubernetesVersion":   k8sVersion,
		"networkCIDR":         "172.20.0.0/16",
		"networking":          netSpec,
		"nonMasqueradeCIDR":   "100.64.0.0/10",
		"sshAccess":           toAny(sshAccess),
		"subnets":             subnets,
		"topology":            map[string]any{"dns": map[string]any{"type": dnsType}},
	}
	if dnsType == "None" {
		spec["api"] = map[string]any{"loadBalancer": map[string]any{"class": "Network", "type": "Public"}}
	} else {
		spec["api"] = map[string]any{"dns": map[string]any{}}
		spec["masterPublicName"] = "api." + name
	}
	if o.dnsZone != "" {
		spec["dnsZone"] = o.dnsZone
	}
	now := time.Now().UTC().Format(time.RFC3339)
	cluster := map[string]any{
		"apiVersion": "kops.k8s.io/v1alpha2",
		"kind":       "Cluster",
		"metadata":   map[string]any{"creationTimestamp": now, "name": name},
		"spec":       spec,
	}
	ig := func(igName, role, machineType string, size int, subnets []string) map[string]any {
		spec := map[string]any{
			"image":       imageFor(k8sVersion),
			"machineType": machineType,
			"maxSize":     size,
			"minSize":     size,
			"role":        role,
			"subnets":     toAny(subnets),
		}
		if d.ver.AtLeast(since(36)) { // kops 1.34 does not write nodeLabels, 1.36 does
			spec["nodeLabels"] = map[string]any{"kops.k8s.io/instancegroup": igName}
		}
		return map[string]any{
			"apiVersion": "kops.k8s.io/v1alpha2",
			"kind":       "InstanceGroup",
			"metadata": map[string]any{
				"creationTimestamp": now,
				"labels":            map[string]any{"kops.k8s.io/cluster": name},
				"name":              igName,
			},
			"spec": spec,
		}
	}
	cpSize := o.controlPlaneSize
	if cpSize == "" {
		cpSize = "t3.medium"
	}
	nodeSize := o.nodeSize
	if nodeSize == "" {
		nodeSize = "t3.medium"
	}
	var igs []map[string]any
	for i, n := range cpNames {
		igs = append(igs, ig(n, "Master", cpSize, 1, []string{cpZones[i%len(cpZones)]}))
	}
	nodeCount := int(o.nodeCount)
	if nodeCount == 0 {
		nodeCount = len(o.zones)
	}
	per, rem := nodeCount/len(o.zones), nodeCount%len(o.zones)
	for i, z := range o.zones {
		n := per
		if i < rem {
			n++
		}
		igs = append(igs, ig("nodes-"+z, "Node", nodeSize, n, []string{z}))
	}

	dir := d.clusterDir(name)
	if err := d.writeObj(filepath.Join(dir, "config"), cluster); err != nil {
		return err
	}
	for _, g := range igs {
		if err := d.writeObj(filepath.Join(dir, "instancegroup", objName(g)), g); err != nil {
			return err
		}
	}
	if o.yes {
		return d.apply(name, "")
	}
	// cmd/kops/create_cluster.go RunCreateCluster: the plan of a dry-run
	// update, then the suggestions.
	fmt.Fprint(d.stdout, "Previewing changes that will be made:\n\n")
	if err := d.planUpdate(name); err != nil {
		return err
	}
	fmt.Fprintf(d.stdout, "\nCluster configuration has been created.\n\nSuggestions:\n * list clusters with: kops get cluster\n * edit this cluster with: kops edit cluster %s\n * edit your node instance group: kops edit ig --name=%s nodes-%s\n * edit your control-plane instance group: kops edit ig --name=%s %s\n\nFinally configure your cluster with: kops update cluster --name %s --yes --admin\n\n", name, name, o.zones[0], name, cpNames[0], name)
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
