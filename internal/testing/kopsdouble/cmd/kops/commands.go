package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kopscalico/kopscalico/internal/kopsrelease"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// ---- get ----

func (d *double) getCommand() *cobra.Command {
	var output string
	getCmd := &cobra.Command{Use: "get", Short: "Get one or many resources."}
	getCmd.PersistentFlags().StringVarP(&output, "output", "o", "table", "output format. One of: table, yaml, json")
	clusters := &cobra.Command{
		Use:     "clusters [CLUSTER]...",
		Aliases: []string{"cluster"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := d.inject("get cluster", args); err != nil {
				return err
			}
			if err := d.needStore(); err != nil {
				return err
			}
			// cmd/kops/get_cluster.go: --name (KOPS_CLUSTER_NAME) selects
			// one cluster, and cannot be mixed with positional names.
			names := args
			if len(names) > 0 && d.clusterName != "" {
				return errors.New("cannot mix --name for cluster with positional arguments")
			}
			if len(names) == 0 && d.clusterName != "" {
				names = []string{d.clusterName}
			}
			if len(names) == 0 {
				entries, _ := os.ReadDir(d.store)
				for _, e := range entries {
					if d.exists(e.Name()) {
						names = append(names, e.Name())
					}
				}
				if len(names) == 0 {
					return errors.New("no clusters found")
				}
			}
			var objs []map[string]any
			for _, n := range names {
				if !d.exists(n) {
					return fmt.Errorf("cluster not found %q", n)
				}
				c, err := d.cluster(n)
				if err != nil {
					return err
				}
				objs = append(objs, c)
			}
			return d.print(output, objs, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tCLOUD\tZONES")
				for _, c := range objs {
					var zones []string
					for _, s := range asList(get(c, "spec", "subnets")) {
						zones = append(zones, str(get(s.(map[string]any), "zone")))
					}
					fmt.Fprintf(w, "%s\taws\t%s\n", objName(c), strings.Join(zones, ","))
				}
			})
		},
	}
	igs := &cobra.Command{
		Use:     "instancegroups [NAME]...",
		Aliases: []string{"instancegroup", "ig"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := d.inject("get instancegroups", args); err != nil {
				return err
			}
			if err := d.needStore(); err != nil {
				return err
			}
			name, err := d.name(nil)
			if err != nil {
				return err
			}
			if !d.exists(name) {
				return fmt.Errorf("error fetching cluster %q: Cluster.kops.k8s.io %q not found", name, name)
			}
			all, err := d.instanceGroups(name)
			if err != nil {
				return err
			}
			var objs []map[string]any
			for _, ig := range all {
				if len(args) == 0 || contains(args, objName(ig)) {
					objs = append(objs, ig)
				}
			}
			if len(objs) == 0 {
				return errors.New("no InstanceGroup objects found")
			}
			return d.print(output, objs, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tROLE\tMACHINETYPE\tMIN\tMAX\tZONES")
				for _, ig := range objs {
					fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\n", objName(ig), str(get(ig, "spec", "role")), str(get(ig, "spec", "machineType")),
						num(get(ig, "spec", "minSize")), num(get(ig, "spec", "maxSize")), strings.Join(asStrings(get(ig, "spec", "subnets")), ","))
				}
			})
		},
	}
	getCmd.AddCommand(clusters, igs)
	return getCmd
}

func (d *double) print(output string, objs []map[string]any, table func(*tabwriter.Writer)) error {
	switch output {
	case "yaml":
		for i, o := range objs {
			if i > 0 {
				fmt.Fprint(d.stdout, "\n---\n\n")
			}
			b, err := yaml.Marshal(o)
			if err != nil {
				return err
			}
			d.stdout.Write(b)
		}
	case "json":
		for _, o := range objs {
			b, err := yaml.YAMLToJSON(mustYAML(o))
			if err != nil {
				return err
			}
			d.stdout.Write(append(b, '\n'))
		}
	case "table", "":
		w := tabwriter.NewWriter(d.stdout, 0, 8, 1, '\t', tabwriter.StripEscape)
		table(w)
		w.Flush()
	default:
		return fmt.Errorf("unknown output format: %q", output)
	}
	return nil
}

func mustYAML(o any) []byte { b, _ := yaml.Marshal(o); return b }

func asList(v any) []any { l, _ := v.([]any); return l }

func asStrings(v any) []string {
	var out []string
	for _, x := range asList(v) {
		out = append(out, str(x))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ---- replace ----

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

func (d *double) replaceCommand() *cobra.Command {
	var files []string
	var force bool
	cmd := &cobra.Command{
		Use: "replace {-f FILENAME}...",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := d.inject("replace", args); err != nil {
				return err
			}
			if err := d.needStore(); err != nil {
				return err
			}
			for _, f := range files {
				var data []byte
				var err error
				if f == "-" {
					data, err = readAllStdin()
				} else {
					data, err = os.ReadFile(f)
				}
				if err != nil {
					return fmt.Errorf("error reading file %q: %v", f, err)
				}
				if err := d.replace(data, force); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, "A list of one or more files separated by a comma.")
	cmd.MarkFlagRequired("filename")
	cmd.Flags().BoolVar(&force, "force", false, "Force any changes, which will also create any non-existing resource")
	return cmd
}

func readAllStdin() ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(os.Stdin)
	return b.Bytes(), err
}

func (d *double) replace(data []byte, force bool) error {
	// Validate every document before writing any, like a single API call.
	type write struct {
		path string
		obj  map[string]any
	}
	var writes []write
	for _, doc := range docSep.Split(string(data), -1) {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return fmt.Errorf("error parsing file: %v", err)
		}
		name := objName(obj)
		switch kind := str(obj["kind"]); kind {
		case "Cluster":
			if !d.exists(name) && !force {
				return fmt.Errorf("cluster %v does not exist (try adding --force flag)", name)
			}
			if errs := d.validateCluster(obj); len(errs) > 0 {
				return fmt.Errorf("error replacing cluster: %s", formatErrs(errs))
			}
			writes = append(writes, write{filepath.Join(d.clusterDir(name), "config"), obj})
		case "InstanceGroup":
			clusterName := str(get(obj, "metadata", "labels", "kops.k8s.io/cluster"))
			if clusterName == "" {
				clusterName, _ = d.name(nil)
			}
			if clusterName == "" {
				return fmt.Errorf("must specify the cluster of InstanceGroup %q (label kops.k8s.io/cluster or --name)", name)
			}
			if !d.exists(clusterName) {
				return fmt.Errorf("cluster %q not found", clusterName)
			}
			path := filepath.Join(d.clusterDir(clusterName), "instancegroup", name)
			if _, err := os.Stat(path); err != nil && !force {
				return fmt.Errorf("instanceGroup: %v does not exist (try adding --force flag)", name)
			}
			if errs := validateIG(obj); len(errs) > 0 {
				return fmt.Errorf("error replacing instanceGroup: %s", formatErrs(errs))
			}
			writes = append(writes, write{path, obj})
		default:
			return fmt.Errorf("unhandled kind %q in replace", kind)
		}
	}
	for _, w := range writes {
		// A changed spec bumps the generation (pkg/client/simple/
		// vfsclientset, Update of clusters and instance groups).
		if old, err := d.readObj(w.path); err == nil && !reflect.DeepEqual(old["spec"], w.obj["spec"]) {
			meta, _ := w.obj["metadata"].(map[string]any)
			if meta == nil {
				meta = map[string]any{}
				w.obj["metadata"] = meta
			}
			meta["generation"] = num(get(old, "metadata", "generation")) + 1
		}
		if err := d.writeObj(w.path, w.obj); err != nil {
			return err
		}
	}
	return nil
}

func formatErrs(errs []string) string {
	if len(errs) == 1 {
		return errs[0]
	}
	return "[" + strings.Join(errs, ", ") + "]"
}

var networkingProviders = []string{"amazonvpc", "calico", "canal", "cilium", "classic", "cni", "external", "flannel", "gce", "kindnet", "kopeio", "kubenet", "kuberouter", "lyftvpc", "romana", "weave"}

// validateCluster mirrors the parts of kops's pkg/apis/kops/validation the
// program's specs exercise, with its messages.
func (d *double) validateCluster(obj map[string]any) []string {
	var errs []string
	spec, _ := obj["spec"].(map[string]any)
	net, _ := spec["networking"].(map[string]any)
	var found []string
	for _, p := range networkingProviders {
		if _, ok := net[p]; ok {
			found = append(found, p)
		}
	}
	if len(found) > 1 {
		for _, p := range found {
			errs = append(errs, fmt.Sprintf("spec.networking.%s: Forbidden: only one networking option permitted, found %s", p, strings.Join(found, ", ")))
		}
	}
	if len(found) == 0 {
		errs = append(errs, "spec.networking: Required value: no networking mode set")
	}
	if calico, ok := net["calico"].(map[string]any); ok && d.ver.AtLeast(kopsrelease.CalicoModes) {
		path := "spec.networking.calico"
		oneOf := func(field string, valid ...string) string {
			v, ok := calico[field]
			if !ok {
				return ""
			}
			s := str(v)
			if !contains(valid, s) {
				errs = append(errs, fmt.Sprintf("%s.%s: Unsupported value: %q: supported values: %q", path, field, s, strings.Join(valid, `", "`)))
			}
			return s
		}
		oneOf("awsSrcDstCheck", "Enable", "Disable", "DoNothing")
		encap := oneOf("encapsulationMode", "ipip", "vxlan", "none")
		if encap == "none" {
			errs = append(errs, path+`.encapsulationMode: Forbidden: encapsulationMode "none" is only supported for IPv6 clusters`)
		}
		if m := oneOf("ipipMode", "CrossSubnet", "Always", "Never"); m != "" && m != "Never" && encap != "" && encap != "ipip" {
			errs = append(errs, path+`.ipipMode: Forbidden: IP-in-IP encapsulation requires use of Calico's "ipip" encapsulation mode`)
		}
		if m := oneOf("vxlanMode", "CrossSubnet", "Always", "Never"); m != "" && m != "Never" && encap != "" && encap != "vxlan" {
			errs = append(errs, path+`.vxlanMode: Forbidden: VXLAN encapsulation requires use of Calico's "vxlan" encapsulation mode`)
		}
	}
	errs = append(errs, accessErrors(spec)...)
	if isGossip(objName(obj)) && d.ver.AtLeast(kopsrelease.GossipRemoved) && str(get(spec, "topology", "dns", "type")) != "None" {
		errs = append(errs, "spec.networking.topology.dns.type: Forbidden: gossip DNS support was removed in kOps 1.37; migrate the cluster to dns=none or a hosted DNS zone using kOps 1.36 before upgrading (see https://kops.sigs.k8s.io/gossip/)")
	}
	return errs
}

// accessErrors checks the access lists as pkg/apis/kops/validation does,
// under the internal field names it reports (kubernetesAPIAccess).
func accessErrors(spec map[string]any) []string {
	var errs []string
	for _, f := range []struct{ key, field string }{{"sshAccess", "sshAccess"}, {"kubernetesApiAccess", "kubernetesAPIAccess"}} {
		for i, c := range asStrings(spec[f.key]) {
			if !validCIDR(c) {
				errs = append(errs, fmt.Sprintf("spec.%s[%d]: Invalid value: %q: Could not be parsed as a CIDR", f.field, i, c))
			}
		}
	}
	return errs
}

func validateIG(obj map[string]any) []string {
	var errs []string
	min, max := num(get(obj, "spec", "minSize")), num(get(obj, "spec", "maxSize"))
	if min > max {
		errs = append(errs, fmt.Sprintf("spec.maxSize: Forbidden: maxSize must be greater than or equal to minSize."))
	}
	if str(get(obj, "spec", "role")) == "" {
		errs = append(errs, "spec.role: Required value: Role must be set")
	}
	return errs
}

// ---- update ----

func (d *double) updateCommand() *cobra.Command {
	update := &cobra.Command{Use: "update", Short: "Update a cluster."}
	var yes, createKubeConfig bool
	var admin time.Duration
	var user, target, out string
	var roles []string
	cmd := &cobra.Command{
		Use:  "cluster [CLUSTER]",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, planned, err := d.updateOrPlan("update cluster", args, yes)
			if err != nil || planned {
				return err
			}
			ttl := time.Duration(0)
			if cmd.Flags().Changed("admin") {
				ttl = admin
				d.klog("--admin implies --create-kube-config")
			}
			if err := d.apply(name, roles); err != nil {
				return err
			}
			if ttl > 0 || createKubeConfig {
				return d.exportKubeconfig(name, "", ttl, false)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&yes, "yes", "y", false, "Create cloud resources, without --yes update is in dry run mode")
	f.StringVar(&target, "target", "direct", "Target - direct, terraform")
	f.StringVar(&out, "out", "", "Path to write any local output")
	f.BoolVar(&createKubeConfig, "create-kube-config", true, "Will control automatically creating the kube config file on your local filesystem")
	f.DurationVar(&admin, "admin", 0, "Also export a cluster admin user credential with the specified lifetime and add it to the cluster context")
	f.Lookup("admin").NoOptDefVal = (18 * time.Hour).String()
	f.StringVar(&user, "user", "", "Re-use an existing user in kubeconfig.  Also exports the cluster's kubeconfig")
	f.Bool("internal", false, "Use the cluster's internal DNS name. Implies --create-kube-config")
	f.Bool("allow-kops-downgrade", false, "Allow an older version of kOps to update the cluster than last used")
	f.StringSlice("phase", nil, "Subset of tasks to run")
	f.StringSlice("lifecycle-overrides", nil, "comma separated list of phase overrides")
	f.String("ssh-public-key", "", "SSH public key to use (deprecated: use kops create secret instead)")
	if d.ver.AtLeast(since(30)) {
		f.StringSlice("instance-group", nil, "Instance groups to update (defaults to all if not specified)")
		f.StringSliceVar(&roles, "instance-group-roles", nil, "Instance group roles to update (control-plane,apiserver,node,bastion)")
		f.String("prune", "", "Delete old revisions of cloud resources that were needed during an upgrade")
	}
	update.AddCommand(cmd)
	return update
}

// updateOrPlan is how update and reconcile start (cmd/kops/update_cluster.go
// RunCoreUpdateCluster): the cluster read and completed, then, without
// --yes, the dry run's plan printed (planned).
func (d *double) updateOrPlan(command string, args []string, yes bool) (name string, planned bool, err error) {
	if name, err = d.prepare(command, args); err != nil {
		return "", false, err
	}
	if err := d.mustGetCluster(name); err != nil {
		return "", false, err
	}
	if err := d.validateCompleted(name); err != nil {
		return "", false, err
	}
	if !yes {
		return name, true, d.planUpdate(name)
	}
	return name, false, nil
}

func (d *double) pending(name string) (pending []string, err error) {
	tmpl, sizes, access, err := d.templates(name)
	if err != nil {
		return nil, err
	}
	cloud := d.readCloud(name)
	if !cloud.Applied {
		for _, ig := range sortedKeys(tmpl) {
			pending = append(pending, "  AutoscalingGroup/"+ig+"."+name, "  LaunchTemplate/"+ig+"."+name)
		}
		return pending, nil
	}
	for _, ig := range sortedKeys(tmpl) {
		if cloud.Templates[ig] != tmpl[ig] {
			pending = append(pending, "  LaunchTemplate/"+ig+"."+name)
		}
		if cloud.Sizes[ig] != sizes[ig] {
			pending = append(pending, fmt.Sprintf("  AutoscalingGroup/%s.%s\n  \tMinSize\t%d -> %d\n  \tMaxSize\t%d -> %d", ig, name, cloud.Sizes[ig], sizes[ig], cloud.Sizes[ig], sizes[ig]))
		}
	}
	for ig := range cloud.Templates {
		if _, ok := tmpl[ig]; !ok {
			pending = append(pending, "  AutoscalingGroup/"+ig+"."+name+" (delete)")
		}
	}
	if cloud.Access != access {
		pending = append(pending, "  SecurityGroupRule/ssh-and-api-access."+name)
	}
	return pending, nil
}

// validateCompleted validates the cluster as `update` completes it
// (upup/pkg/fi/cloudup/populate_cluster_spec.go): with kops's defaults, of
// which the program's specs meet one, Calico's encapsulationMode "ipip"
// (pkg/model/components/calico.go), so a vxlanMode without
// encapsulationMode vxlan is refused here though replace stored it.
func (d *double) validateCompleted(name string) error {
	c, err := d.cluster(name)
	if err != nil {
		return err
	}
	if calico, ok := get(c, "spec", "networking", "calico").(map[string]any); ok && str(calico["encapsulationMode"]) == "" {
		calico["encapsulationMode"] = "ipip"
	}
	if errs := d.validateCluster(c); len(errs) > 0 {
		return fmt.Errorf("completed cluster failed validation: %s", formatErrs(errs))
	}
	return nil
}

// planUpdate prints a dry run's plan the way cmd/kops/update_cluster.go
// ends it; the tasks are the double's own model, headed as kops heads them.
func (d *double) planUpdate(name string) error {
	p, err := d.pending(name)
	if err != nil {
		return err
	}
	if !d.hasCA(name) {
		d.klogWarnAt("vfs_keystorereader.go:163", "CA private key was not found")
	}
	if len(p) == 0 {
		fmt.Fprint(d.stdout, "\nNo changes need to be applied\n")
		return nil
	}
	heading := "Will modify resources:"
	if !d.readCloud(name).Applied {
		heading = "Will create resources:"
	}
	fmt.Fprintf(d.stdout, "%s\n%s\n\nMust specify --yes to apply changes\n", heading, strings.Join(p, "\n"))
	return nil
}

// apply is `update cluster --yes`, a path real kops cannot take offline:
// launch templates and group sizes take the spec's values; running
// instances keep the template they started with (a roll replaces them); new
// instances start from the new template. What it prints follows
// cmd/kops/update_cluster.go RunUpdateCluster: the first run's "Cluster is
// starting", later runs' "Cluster changes have been applied" and, on every
// later run, the rolling-update hint.
func (d *double) apply(name string, roles []string) error {
	tmpl, sizes, access, err := d.templates(name)
	if err != nil {
		return err
	}
	igRoles, version, err := d.groupRoles(name)
	if err != nil {
		return err
	}
	if !d.hasCA(name) { // the PKI tasks of the first apply
		if _, err := d.addCA(name, true); err != nil {
			return err
		}
	}
	cloud := d.readCloud(name)
	first := !cloud.Applied
	for ig := range cloud.Instances {
		if _, ok := tmpl[ig]; !ok {
			delete(cloud.Instances, ig)
			delete(cloud.Templates, ig)
			delete(cloud.Sizes, ig)
		}
	}
	// From 1.31 node groups keep the kubelet the control plane runs until
	// it runs the spec's version (cmd/kops/update_cluster.go
	// checkControlPlaneRunningVersion, IgnoreKubeletVersionSkew).
	holdNodes := d.ver.AtLeast(kopsrelease.ReconcileCluster) && cloud.Applied && controlPlaneRunsOlder(cloud, igRoles, version)
	for ig, t := range tmpl {
		if !roleMatches(igRoles[ig], roles) {
			continue
		}
		if holdNodes && !isControlPlane(igRoles[ig]) && cloud.Templates[ig] != "" {
			t = cloud.Templates[ig]
		} else {
			cloud.Versions[t] = version
		}
		inst := cloud.Instances[ig]
		for len(inst) < sizes[ig] {
			inst = append(inst, t)
		}
		inst = inst[:sizes[ig]]
		cloud.Instances[ig] = inst
		cloud.Templates[ig] = t
		cloud.Sizes[ig] = sizes[ig]
	}
	cloud.Applied = true
	cloud.Access = access
	if err := d.writeCloud(name, cloud); err != nil {
		return err
	}
	if err := d.registerNodes(name); err != nil {
		return err
	}
	if first {
		fmt.Fprint(d.stdout, "\nCluster is starting.  It should be ready in a few minutes.\n\nSuggestions:\n * validate cluster: kops validate cluster --wait 10m\n * list nodes: kubectl get nodes --show-labels\n\n")
		return nil
	}
	fmt.Fprint(d.stdout, "\nCluster changes have been applied to the cloud.\n\n\nChanges may require instances to restart: kops rolling-update cluster\n\n")
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
