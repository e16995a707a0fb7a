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
	sets                 []string
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
	// cmd/kops/create_cluster.go: --set, applied by commands.SetClusterFields.
	f.StringSliceVar(&o.sets, "set", nil, "Directly set values in the spec")
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

// setClusterFields applies --set values of the one field the program sets,
// metadata.annotations=KEY=VALUE, as kops's map[string]string setter does
// (util/pkg/reflectutils SetString: the value cut at its first "=");
// any other field is refused, as one kops does not know would be.
func setClusterFields(cluster map[string]any, sets []string) error {
	for _, field := range sets {
		path, value, ok := strings.Cut(field, "=")
		if !ok {
			return fmt.Errorf("unhandled field: %q", field)
		}
		if strings.TrimPrefix(path, "cluster.") != "metadata.annotations" {
			return fmt.Errorf("the kops test double sets only metadata.annotations, not %s", path)
		}
		meta := cluster["metadata"].(map[string]any)
		annotations, _ := meta["annotations"].(map[string]any)
		if annotations == nil {
			annotations = map[string]any{}
		}
		k, v, _ := strings.Cut(value, "=")
		annotations[k] = v
		meta["annotations"] = annotations
	}
	return nil
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

// createCluster is cmd/kops/create_cluster.go RunCreateCluster: the cluster
// and its instance groups written to the store, then applied (--yes) or
// previewed.
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
	c, err := d.newCluster(o, name)
	if err != nil {
		return err
	}
	if err := setClusterFields(c.cluster, o.sets); err != nil {
		return err
	}
	dir := d.clusterDir(name)
	if err := d.writeObj(filepath.Join(dir, "config"), c.cluster); err != nil {
		return err
	}
	for _, g := range c.instanceGroups {
		if err := d.writeObj(filepath.Join(dir, "instancegroup", objName(g)), g); err != nil {
			return err
		}
	}
	if o.yes {
		return d.apply(name, nil)
	}
	// The plan of a dry-run update, then the suggestions.
	fmt.Fprint(d.stdout, "Previewing changes that will be made:\n\n")
	if err := d.planUpdate(name); err != nil {
		return err
	}
	fmt.Fprintf(d.stdout, "\nCluster configuration has been created.\n\nSuggestions:\n * list clusters with: kops get cluster\n * edit this cluster with: kops edit cluster %s\n * edit your node instance group: kops edit ig --name=%s nodes-%s\n * edit your control-plane instance group: kops edit ig --name=%s %s\n\nFinally configure your cluster with: kops update cluster --name %s --yes --admin\n\n", name, name, o.zones[0], name, objName(c.instanceGroups[0]), name)
	return nil
}

// newClusterResult is what newCluster makes: the Cluster object and its
// instance groups, control plane first.
type newClusterResult struct {
	cluster        map[string]any
	instanceGroups []map[string]any
}

// newCluster is upup/pkg/fi/cloudup/new_cluster.go NewCluster for AWS: the
// completed spec, validated before anything is written.
func (d *double) newCluster(o *createOptions, name string) (newClusterResult, error) {
	dnsType, err := d.setupDNSTopology(o, name)
	if err != nil {
		return newClusterResult{}, err
	}
	netSpec, err := d.setupNetworking(o)
	if err != nil {
		return newClusterResult{}, err
	}
	adminAccess, sshAccess, err := setupAccess(o)
	if err != nil {
		return newClusterResult{}, err
	}
	k8sVersion := o.kubernetesVersion
	if k8sVersion == "" {
		k8sVersion = stableKubernetes(d.ver)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	controlPlane := d.setupControlPlane(o, name, k8sVersion, now)
	spec := map[string]any{
		"authorization":       map[string]any{"rbac": map[string]any{}},
		"channel":             o.channel,
		"cloudProvider":       "aws",
		"configBase":          filepath.Join(d.store, name), // kops stores the store's path, not its URL
		"etcdClusters":        []any{createEtcdCluster("main", controlPlane), createEtcdCluster("events", controlPlane)},
		"iam":                 map[string]any{"allowContainerRegistry": true, "legacy": false},
		"kubelet":             map[string]any{"anonymousAuth": false},
		"kubernetesApiAccess": toAny(adminAccess),
		"kubernetesVersion":   k8sVersion,
		"networkCIDR":         "172.20.0.0/16",
		"networking":          netSpec,
		"nonMasqueradeCIDR":   "100.64.0.0/10",
		"sshAccess":           toAny(sshAccess),
		"subnets":             setupZones(o.zones),
		"topology":            map[string]any{"dns": map[string]any{"type": dnsType}},
	}
	setupAPI(spec, name, dnsType)
	if o.dnsZone != "" {
		spec["dnsZone"] = o.dnsZone
	}
	cluster := map[string]any{
		"apiVersion": "kops.k8s.io/v1alpha2",
		"kind":       "Cluster",
		"metadata":   map[string]any{"creationTimestamp": now, "name": name},
		"spec":       spec,
	}
	return newClusterResult{cluster: cluster, instanceGroups: append(controlPlane, d.setupNodes(o, name, k8sVersion, now)...)}, nil
}

// setupDNSTopology is new_cluster.go's: from 1.29 no zone means DNS none;
// before, gossip names got Private. 1.37 refuses gossip.
func (d *double) setupDNSTopology(o *createOptions, name string) (string, error) {
	dnsType := ""
	switch strings.ToLower(o.dns) {
	case "":
		switch {
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
			return "", fmt.Errorf("unknown DNSType: %q", o.dns)
		}
		dnsType = "None"
	default:
		return "", fmt.Errorf("unknown DNSType: %q", o.dns)
	}
	if isGossip(name) && dnsType != "None" && d.ver.AtLeast(kopsrelease.GossipRemoved) {
		return "", fmt.Errorf("spec.networking.topology.dns.type: Forbidden: gossip DNS support was removed in kOps 1.37; migrate the cluster to dns=none or a hosted DNS zone using kOps 1.36 before upgrading (see https://kops.sigs.k8s.io/gossip/)")
	}
	return dnsType, nil
}

// setupNetworking is new_cluster.go's: the provider --networking names, by
// default kubenet, cilium from kops 1.26.
func (d *double) setupNetworking(o *createOptions) (map[string]any, error) {
	networking := o.networking
	if networking == "" {
		networking = "kubenet"
		if d.ver.AtLeast(kopsrelease.ControlPlaneFlags) {
			networking = "cilium"
		}
	}
	switch networking {
	case "kubenet", "calico", "cilium", "cni", "flannel", "canal", "amazonvpc", "weave", "external", "kindnet":
		return map[string]any{networking: map[string]any{}}, nil
	case "kube-router":
		return map[string]any{"kuberouter": map[string]any{}}, nil
	}
	return nil, fmt.Errorf("unknown networking mode %q", networking)
}

// setupAccess is RunCreateCluster's: the API open to all without
// --admin-access, SSH as the API without --ssh-access. Both lists of the
// completed spec are validated, so a bad --admin-access that --ssh-access
// defaulted to is reported twice, as kops does.
func setupAccess(o *createOptions) (adminAccess, sshAccess []string, err error) {
	adminAccess = o.adminAccess
	if len(adminAccess) == 0 {
		adminAccess = []string{"0.0.0.0/0", "::/0"}
	}
	sshAccess = o.sshAccess
	if len(sshAccess) == 0 {
		sshAccess = adminAccess
	}
	if errs := accessErrors(map[string]any{"sshAccess": toAny(sshAccess), "kubernetesApiAccess": toAny(adminAccess)}); len(errs) > 0 {
		return nil, nil, errors.New(formatErrs(errs))
	}
	return adminAccess, sshAccess, nil
}

// setupZones is assignCIDRsToSubnets's subnets: one public subnet a zone,
// walked as a sorted set.
func setupZones(zones []string) []any {
	cidrs := subnetCIDRs(zones)
	sorted := append([]string(nil), zones...)
	sort.Strings(sorted)
	var subnets []any
	for _, z := range sorted {
		subnets = append(subnets, map[string]any{"cidr": cidrs[z], "name": z, "type": "Public", "zone": z})
	}
	return subnets
}

// setupAPI is new_cluster.go's: a load balancer for a DNS-none cluster, else
// the API's DNS name.
func setupAPI(spec map[string]any, name, dnsType string) {
	if dnsType == "None" {
		spec["api"] = map[string]any{"loadBalancer": map[string]any{"class": "Network", "type": "Public"}}
		return
	}
	spec["api"] = map[string]any{"dns": map[string]any{}}
	spec["masterPublicName"] = "api." + name
}

// setupControlPlane is new_cluster.go's: one group per control-plane node,
// spread over the control-plane zones (the zones by default).
func (d *double) setupControlPlane(o *createOptions, cluster, k8sVersion, now string) []map[string]any {
	count := int(o.controlPlaneCount)
	if count == 0 {
		count = 1
	}
	prefix := "master"
	if d.ver.AtLeast(kopsrelease.ControlPlaneFlags) {
		prefix = "control-plane"
	}
	zones := o.controlPlaneZones
	if len(zones) == 0 {
		zones = o.zones
	}
	size := o.controlPlaneSize
	if size == "" {
		size = "t3.medium"
	}
	var igs []map[string]any
	for i := 0; i < count; i++ {
		z := zones[i%len(zones)]
		name := prefix + "-" + z
		if count > len(zones) {
			name = fmt.Sprintf("%s-%s-%d", prefix, z, i/len(zones)+1)
		}
		igs = append(igs, d.newInstanceGroup(cluster, name, "Master", size, 1, z, k8sVersion, now))
	}
	return igs
}

// createEtcdCluster is new_cluster.go's: one member per control-plane
// group, named after its zone without the prefix the zones share; main
// requests 200m of CPU, the others 100m.
func createEtcdCluster(name string, controlPlane []map[string]any) map[string]any {
	cpuRequest := "100m"
	if name == "main" {
		cpuRequest = "200m"
	}
	var groups, members []string
	for _, g := range controlPlane {
		groups = append(groups, objName(g))
		members = append(members, strings.TrimPrefix(strings.TrimPrefix(objName(g), "control-plane-"), "master-"))
	}
	members = trimCommonPrefix(members)
	etcdMembers := []any{}
	for i, g := range groups {
		etcdMembers = append(etcdMembers, map[string]any{"encryptedVolume": true, "instanceGroup": g, "name": members[i]})
	}
	return map[string]any{"cpuRequest": cpuRequest, "etcdMembers": etcdMembers, "manager": map[string]any{"backupRetentionDays": 90}, "memoryRequest": "100Mi", "name": name}
}

// setupNodes is new_cluster.go's: one Node group a zone, the node count
// (one a zone by default) spread over them.
func (d *double) setupNodes(o *createOptions, cluster, k8sVersion, now string) []map[string]any {
	size := o.nodeSize
	if size == "" {
		size = "t3.medium"
	}
	count := int(o.nodeCount)
	if count == 0 {
		count = len(o.zones)
	}
	per, rem := count/len(o.zones), count%len(o.zones)
	var igs []map[string]any
	for i, z := range o.zones {
		n := per
		if i < rem {
			n++
		}
		igs = append(igs, d.newInstanceGroup(cluster, "nodes-"+z, "Node", size, n, z, k8sVersion, now))
	}
	return igs
}

// newInstanceGroup is an InstanceGroup as NewCluster writes it.
func (d *double) newInstanceGroup(cluster, name, role, machineType string, size int, zone, k8sVersion, now string) map[string]any {
	spec := map[string]any{
		"image":       imageFor(k8sVersion),
		"machineType": machineType,
		"maxSize":     size,
		"minSize":     size,
		"role":        role,
		"subnets":     toAny([]string{zone}),
	}
	if d.ver.AtLeast(since(36)) { // kops 1.34 does not write nodeLabels, 1.36 does
		spec["nodeLabels"] = map[string]any{"kops.k8s.io/instancegroup": name}
	}
	return map[string]any{
		"apiVersion": "kops.k8s.io/v1alpha2",
		"kind":       "InstanceGroup",
		"metadata": map[string]any{
			"creationTimestamp": now,
			"labels":            map[string]any{"kops.k8s.io/cluster": cluster},
			"name":              name,
		},
		"spec": spec,
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
