package main

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kopscalico/kopscalico/internal/kopsrelease"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

// ---- rolling-update ----

func (d *double) rollingUpdateCommand() *cobra.Command {
	ru := &cobra.Command{Use: "rolling-update", Short: "Rolling update a cluster."}
	var yes, force, cloudOnly bool
	var igFilter, roleFilter []string
	cmd := &cobra.Command{
		Use:  "cluster [CLUSTER]",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := d.prepare("rolling-update cluster", args)
			if err != nil {
				return err
			}
			if err := d.mustGetCluster(name); err != nil {
				return err
			}
			if !cloudOnly {
				// cmd/kops/rolling-update_cluster.go: credentials first,
				// then the node list.
				if err := d.restConfig(name); err != nil {
					return err
				}
				if err := d.reachAPI(name, ""); err != nil {
					fmt.Fprint(d.stderr, "Unable to reach the kubernetes API.\nUse --cloudonly to do a rolling-update without confirming progress with the k8s API\n\n")
					return fmt.Errorf("error listing nodes in cluster: %v", err)
				}
			}
			return d.rollingUpdate(name, yes, force, cloudOnly, igFilter, roleFilter)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&yes, "yes", "y", false, "Perform rolling update immediately; without --yes rolling-update executes a dry-run")
	f.BoolVar(&force, "force", false, "Force rolling update, even if no changes")
	f.BoolVar(&cloudOnly, "cloudonly", false, "Perform rolling update without confirming progress with Kubernetes")
	f.Duration("validation-timeout", 15*time.Minute, "Maximum time to wait for a cluster to validate")
	// --validate-count from kops 1.18, --drain-timeout from 1.23
	// (cmd/kops/rollingupdatecluster.go, rolling-update_cluster.go).
	if d.ver.AtLeast(kopsrelease.RollingUpdateDrainTimeout) {
		f.Duration("drain-timeout", 15*time.Minute, "Maximum time to wait for a node to drain")
	}
	if d.ver.AtLeast(kopsrelease.RollingUpdateValidateCount) {
		f.Int32("validate-count", 2, "Number of times that a cluster needs to be validated after single node update")
	}
	f.Duration("master-interval", 15*time.Second, "Time to wait between restarting control plane nodes")
	if d.ver.AtLeast(kopsrelease.ControlPlaneFlags) {
		f.Duration("control-plane-interval", 15*time.Second, "Time to wait between restarting control plane nodes")
	}
	f.Duration("node-interval", 15*time.Second, "Time to wait between restarting worker nodes")
	f.Duration("bastion-interval", 15*time.Second, "Time to wait between restarting bastions")
	f.Duration("post-drain-delay", 5*time.Second, "Time to wait after draining each node")
	f.BoolP("interactive", "i", false, "Prompt to continue after each instance is updated")
	f.StringSliceVar(&igFilter, "instance-group", nil, "Instance groups to update (defaults to all if not specified)")
	f.StringSliceVar(&roleFilter, "instance-group-roles", nil, "Instance group roles to update")
	f.Bool("fail-on-drain-error", true, "Fail if draining a node fails")
	f.Bool("fail-on-validate-error", true, "Fail if the cluster fails to validate")
	// cmd/kops/rolling-update_cluster.go: --admin from kops 1.32 (v1.31.0
	// has none; its credential lives one hour, cmd/kops/util/factory.go).
	if d.ver.AtLeast(kopsrelease.RollingUpdateAdminLifetime) {
		f.Duration("admin", 18*time.Hour, "a cluster admin user credential with the specified lifetime")
	}
	ru.AddCommand(cmd)
	return ru
}

func (d *double) rollingUpdate(name string, yes, force, cloudOnly bool, filter, roles []string) error {
	igs, err := d.instanceGroups(name)
	if err != nil {
		return err
	}
	// cmd/kops/rolling-update_cluster.go: every named group must exist.
	for _, n := range filter {
		if !slices.ContainsFunc(igs, func(ig map[string]any) bool { return objName(ig) == n }) {
			return fmt.Errorf("InstanceGroup %q not found", n)
		}
	}
	cloud := d.readCloud(name)
	w := tabwriter.NewWriter(d.stdout, 0, 8, 1, '\t', tabwriter.StripEscape)
	cols := []string{"NAME", "STATUS", "NEEDUPDATE", "READY", "MIN", "TARGET", "MAX"}
	if !cloudOnly {
		cols = append(cols, "NODES")
	}
	fmt.Fprintln(w, strings.Join(cols, "\t"))
	needs := map[string]int{}
	anyNeed := false
	// Rows are the groups found in the cloud (GetCloudGroups), sorted by
	// their cells, so by name (util/pkg/tables).
	sort.SliceStable(igs, func(i, j int) bool { return objName(igs[i]) < objName(igs[j]) })
	for _, ig := range igs {
		n := objName(ig)
		if len(filter) > 0 && !contains(filter, n) || !roleMatches(str(get(ig, "spec", "role")), roles) {
			continue
		}
		if _, inCloud := cloud.Templates[n]; !inCloud {
			continue
		}
		need := 0
		for _, h := range cloud.Instances[n] {
			if h != cloud.Templates[n] || force {
				need++
			}
		}
		needs[n] = need
		if need > 0 {
			anyNeed = true
		}
		status := "Ready"
		if need > 0 {
			status = "NeedsUpdate"
		}
		count := len(cloud.Instances[n])
		row := []string{n, status, fmt.Sprint(need), fmt.Sprint(count - need), fmt.Sprint(num(get(ig, "spec", "minSize"))), fmt.Sprint(cloud.Sizes[n]), fmt.Sprint(num(get(ig, "spec", "maxSize")))}
		if !cloudOnly {
			row = append(row, fmt.Sprint(count))
		}
		fmt.Fprintln(w, strings.Join(row, "\t"))
	}
	w.Flush()
	if !anyNeed && !force {
		fmt.Fprint(d.stdout, "\nNo rolling-update required.\n")
		return nil
	}
	if !yes {
		fmt.Fprint(d.stdout, "\nMust specify --yes to rolling-update.\n")
		return nil
	}
	// --yes, a path real kops cannot take offline: each stale instance is
	// drained, stopped and replaced, then the cluster validated, logged as
	// pkg/instancegroups/instancegroups.go (RollingUpdateCluster) logs it.
	delay := d.rollingUpdateDelay()
	for _, ig := range igs {
		n := objName(ig)
		if needs[n] == 0 {
			continue
		}
		inst := cloud.Instances[n]
		for i := range inst {
			id := instanceID(n, i)
			if !cloudOnly {
				d.klog("Draining the node: %q.", id)
			}
			d.klog("Stopping instance %q, node %q, in group %q (this may take a while).", id, id, n+"."+name)
			time.Sleep(delay)
			inst[i] = cloud.Templates[n]
			d.klog("waiting for 15s after terminating instance")
			if !cloudOnly {
				d.klog("Cluster validated.")
			}
		}
		cloud.Instances[n] = inst
		// Persist per group: an interrupted roll leaves later groups pending.
		if err := d.writeCloud(name, cloud); err != nil {
			return err
		}
		if err := d.registerNodes(name); err != nil {
			return err
		}
	}
	return nil
}

// rollingUpdateDelay is the test knob Store.SetRollingUpdateDelay sets: how
// long replacing each instance takes (0 when unset), so a test can
// interrupt a roll midway. It models no kops behaviour.
func (d *double) rollingUpdateDelay() time.Duration {
	if d.control == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(d.control, kopsdouble.RollingUpdateDelayFile))
	if err != nil {
		return 0
	}
	delay, _ := time.ParseDuration(strings.TrimSpace(string(b)))
	return delay
}

// ---- validate ----

func (d *double) validateCommand() *cobra.Command {
	validate := &cobra.Command{Use: "validate", Short: "Validate a kOps cluster."}
	var output, kubeconfig string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:  "cluster [CLUSTER]",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := d.prepare("validate cluster", args)
			if err != nil {
				return err
			}
			// Like kops: every error comes back as "validation failed: ...",
			// exit 1 (cmd/kops/validate_cluster.go).
			if err := d.mustGetCluster(name); err != nil {
				return fmt.Errorf("validation failed: %v", err)
			}
			// cmd/kops/validate_cluster.go RunValidateCluster: the
			// heading, credentials, then the API (retried until --wait).
			if !d.ver.AtLeast(kopsrelease.MintedAdminCredential) {
				if _, err := d.kubeconfigFor(kubeconfig); err != nil {
					return fmt.Errorf("validation failed: cannot load kubecfg settings for %q: %v", name, err)
				}
			}
			fmt.Fprintf(d.stdout, "Validating cluster %s\n\n", name)
			if err := d.restConfig(name); err != nil {
				return fmt.Errorf("validation failed: %v", err)
			}
			if err := d.reachAPI(name, kubeconfig); err != nil {
				if wait > 0 {
					d.klogWarnAt("validate_cluster.go:193", "(will retry): unexpected error during validation: error listing nodes: %v", err)
					return errors.New("validation failed: wait time exceeded during validation")
				}
				return fmt.Errorf("validation failed: unexpected error during validation: error listing nodes: %v", err)
			}
			igs, err := d.instanceGroups(name)
			if err != nil {
				return err
			}
			cloud := d.readCloud(name)
			w := tabwriter.NewWriter(d.stdout, 0, 8, 1, '\t', tabwriter.StripEscape)
			fmt.Fprintln(w, "INSTANCE GROUPS")
			fmt.Fprintln(w, "NAME\tROLE\tMACHINETYPE\tMIN\tMAX\tSUBNETS")
			var failures []string
			for _, ig := range igs {
				n := objName(ig)
				role := str(get(ig, "spec", "role"))
				if role == "Master" {
					role = "ControlPlane"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%s\n", n, role, str(get(ig, "spec", "machineType")), num(get(ig, "spec", "minSize")), num(get(ig, "spec", "maxSize")), strings.Join(asStrings(get(ig, "spec", "subnets")), ","))
				if have, want := len(cloud.Instances[n]), num(get(ig, "spec", "minSize")); !cloud.Applied || have < want {
					failures = append(failures, fmt.Sprintf("InstanceGroup\t%s\tInstanceGroup %q did not have enough nodes %d vs %d", n, n, have, want))
				}
			}
			w.Flush()
			if len(failures) > 0 {
				fmt.Fprintf(d.stdout, "\nVALIDATION ERRORS\nKIND\tNAME\tMESSAGE\n%s\n\nValidation Failed\n", strings.Join(failures, "\n"))
				if wait > 0 {
					d.klogWarn("(will retry): cluster not yet healthy")
					return errors.New("validation failed: wait time exceeded during validation")
				}
				return errors.New("validation failed: cluster not yet healthy")
			}
			// A healthy cluster, which real kops cannot reach offline:
			// cmd/kops/validate_cluster.go validateClusterOutputTable.
			fmt.Fprintf(d.stdout, "\nYour cluster %s is ready\n", name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&output, "output", "o", "table", "Output format. One of json|yaml|table.")
	f.DurationVar(&wait, "wait", 0, "Amount of time to wait for the cluster to become ready")
	f.Int32("count", 0, "Number of consecutive successful validations required")
	if d.ver.AtLeast(since(33)) {
		f.Duration("interval", 10*time.Second, "Time in duration to wait between validation attempts")
	}
	f.StringVar(&kubeconfig, "kubeconfig", "", "Path to the kubeconfig file")
	validate.AddCommand(cmd)
	return validate
}

// restConfig is where rolling-update and validate get their credentials.
// From kops 1.31 they make them from the state store, as `export kubecfg
// --admin` does, so the cluster CA must exist (cmd/kops/util/factory.go
// RESTConfig, read in kops 1.31.0, 1.33.1 and 1.36.2; v1.30.x's commands
// load the kubeconfig, ToRESTConfig). Before, they loaded the kubeconfig.
func (d *double) restConfig(name string) error {
	if !d.ver.AtLeast(kopsrelease.MintedAdminCredential) {
		return nil
	}
	if _, err := d.loadCA(name); err != nil {
		return fmt.Errorf("getting rest config: %v", err)
	}
	return nil
}

// reachAPI stands for the Kubernetes API call. From kops 1.31 it answers
// when a test handed out a kubeconfig (a local control plane); else the
// API's name does not resolve, as offline. Before, the kubeconfig kops
// loads must exist.
func (d *double) reachAPI(name, kubeconfigFlag string) error {
	if !d.ver.AtLeast(kopsrelease.MintedAdminCredential) {
		_, err := d.kubeconfigFor(kubeconfigFlag)
		return err
	}
	if _, err := os.Stat(filepath.Join(d.control, "kubeconfig")); err != nil {
		return fmt.Errorf("Get \"https://api.%s/api/v1/nodes\": dial tcp: lookup api.%s: no such host", name, name)
	}
	return nil
}

// kubeconfigFor is the kubeconfig kops before 1.31 would load: --kubeconfig,
// else the first KUBECONFIG entry. The double never falls back to
// ~/.kube/config.
func (d *double) kubeconfigFor(flag string) (string, error) {
	path := flag
	if path == "" {
		path = strings.Split(os.Getenv("KUBECONFIG"), string(os.PathListSeparator))[0]
	}
	if path == "" {
		return "", errors.New("KUBECONFIG is not set (the kops test double never reads ~/.kube/config)")
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable (%v)", err)
	}
	return path, nil
}

// ---- export kubecfg ----

func (d *double) exportCommand() *cobra.Command {
	export := &cobra.Command{Use: "export", Short: "Export configuration."}
	var kubeconfig, user string
	var admin time.Duration
	var authPlugin bool
	cmd := &cobra.Command{
		Use:     "kubeconfig [CLUSTER | --all]",
		Aliases: []string{"kubecfg"},
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := d.prepare("export kubecfg", args)
			if err != nil {
				return err
			}
			if err := d.mustGetCluster(name); err != nil {
				return err
			}
			ttl := time.Duration(0)
			if cmd.Flags().Changed("admin") {
				ttl = admin
			} else if user == "" && !authPlugin {
				d.klog("Exported kubeconfig with no user authentication; use --admin, --user or --auth-plugin flags with `kops export kubeconfig`")
			}
			return d.exportKubeconfig(name, kubeconfig, ttl, authPlugin)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "the location of the kubeconfig file to create.")
	f.Bool("all", false, "export all clusters from the kOps state store")
	f.DurationVar(&admin, "admin", 0, "export a cluster admin user credential with the given lifetime and add it to the cluster context")
	f.Lookup("admin").NoOptDefVal = (18 * time.Hour).String()
	f.StringVar(&user, "user", "", "re-use an existing user in kubeconfig.  Also exports the cluster's kubeconfig")
	f.Bool("internal", false, "use the cluster's internal DNS name")
	f.BoolVar(&authPlugin, "auth-plugin", false, "use the kOps authentication plugin")
	export.AddCommand(cmd)
	return export
}

type kubeconfigFile struct {
	APIVersion     string         `json:"apiVersion"`
	Kind           string         `json:"kind"`
	Clusters       []namedEntry   `json:"clusters"`
	Contexts       []namedEntry   `json:"contexts"`
	CurrentContext string         `json:"current-context"`
	Preferences    map[string]any `json:"preferences"`
	Users          []namedEntry   `json:"users"`
}

type namedEntry struct {
	Name    string         `json:"name"`
	Cluster map[string]any `json:"cluster,omitempty"`
	Context map[string]any `json:"context,omitempty"`
	User    map[string]any `json:"user,omitempty"`
}

// exportKubeconfig writes the cluster's kubeconfig into path or KUBECONFIG,
// merged into what the file already holds, with cluster, context and user
// named after the kops cluster, as kubeconfig.BuildKubecfg
// (pkg/kubeconfig/create_kubecfg.go) builds it: it needs the cluster CA;
// --admin adds a client certificate valid for ttl, --auth-plugin the kops
// exec plugin instead. A kubeconfig handed out by a test (<store>/
// .kopsdouble/kubeconfig, a local control plane's) gives the server and the
// admin credential in their place.
func (d *double) exportKubeconfig(name, path string, ttl time.Duration, authPlugin bool) error {
	ca, err := d.loadCA(name)
	if err != nil {
		return err
	}
	if path == "" {
		path = strings.Split(os.Getenv("KUBECONFIG"), string(os.PathListSeparator))[0]
	}
	if path == "" {
		return errors.New("KUBECONFIG is not set (the kops test double never writes ~/.kube/config)")
	}
	cluster := map[string]any{
		"server":                     "https://api." + name,
		"tls-server-name":            "api.internal." + name,
		"certificate-authority-data": base64.StdEncoding.EncodeToString(ca.pem),
	}
	var user map[string]any
	if ttl > 0 {
		certPEM, keyPEM, err := ca.adminCredential(ttl)
		if err != nil {
			return err
		}
		user = map[string]any{"client-certificate-data": base64.StdEncoding.EncodeToString(certPEM), "client-key-data": base64.StdEncoding.EncodeToString(keyPEM)}
	}
	var src kubeconfigFile
	if b, err := os.ReadFile(filepath.Join(d.control, "kubeconfig")); err == nil {
		if err := yaml.Unmarshal(b, &src); err != nil {
			return fmt.Errorf("kops test double: handed-out kubeconfig: %v", err)
		}
	}
	for _, c := range src.Contexts {
		if c.Name != src.CurrentContext {
			continue
		}
		for _, cl := range src.Clusters {
			if cl.Name == str(c.Context["cluster"]) {
				cluster = cl.Cluster
			}
		}
		for _, u := range src.Users {
			if u.Name == str(c.Context["user"]) && ttl > 0 {
				user = u.User
			}
		}
	}
	if authPlugin {
		user = map[string]any{"exec": map[string]any{
			"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "kops",
			"args": toAny([]string{"helpers", "kubectl-auth", "--cluster=" + name, "--state=" + d.state}),
		}}
	}
	var dst kubeconfigFile
	if b, err := os.ReadFile(path); err == nil {
		_ = yaml.Unmarshal(b, &dst)
	}
	upsert := func(list []namedEntry, e namedEntry) []namedEntry {
		for i := range list {
			if list[i].Name == e.Name {
				list[i] = e
				return list
			}
		}
		return append(list, e)
	}
	dst.APIVersion, dst.Kind = "v1", "Config"
	if dst.Preferences == nil {
		dst.Preferences = map[string]any{}
	}
	dst.Clusters = upsert(dst.Clusters, namedEntry{Name: name, Cluster: cluster})
	ctx := map[string]any{"cluster": name}
	if user != nil {
		dst.Users = upsert(dst.Users, namedEntry{Name: name, User: user})
		ctx["user"] = name
	}
	dst.Contexts = upsert(dst.Contexts, namedEntry{Name: name, Context: ctx})
	dst.CurrentContext = name
	b, err := yaml.Marshal(dst)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(d.stdout, "kOps has set your kubectl context to %s\n", name)
	return nil
}

// ---- delete ----

func (d *double) deleteCommand() *cobra.Command {
	del := &cobra.Command{Use: "delete", Short: "Delete clusters, instancegroups, instances, and secrets."}
	var yes, unregister bool
	cmd := &cobra.Command{
		Use:  "cluster [CLUSTER]",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := d.prepare("delete cluster", args)
			if err != nil {
				return err
			}
			if name == "" {
				return errors.New("--name is required (for safety)")
			}
			if err := d.mustGetCluster(name); err != nil {
				return err
			}
			// cmd/kops/delete_cluster.go RunDeleteCluster: the cloud
			// resources (none for a cluster that never ran), then the
			// cluster is unregistered from the store.
			cloud := d.readCloud(name)
			d.klogAt('I', "delete_cluster.go:143", "Looking for cloud resources to delete")
			if len(cloud.Instances) == 0 {
				fmt.Fprint(d.stdout, "No cloud resources to delete\n")
				if !yes {
					fmt.Fprint(d.stdout, "\nMust specify --yes to unregister the cluster\n")
					return nil
				}
			} else {
				w := tabwriter.NewWriter(d.stdout, 0, 8, 1, '\t', tabwriter.StripEscape)
				fmt.Fprintln(w, "TYPE\tNAME\tID")
				for _, ig := range sortedKeys(cloud.Instances) {
					fmt.Fprintf(w, "autoscaling-config\t%s.%s\tlt-%s\n", ig, name, hashOf(ig)[:12])
					fmt.Fprintf(w, "autoscaling-group\t%s.%s\t%s.%s\n", ig, name, ig, name)
				}
				w.Flush()
				if !yes {
					fmt.Fprint(d.stdout, "\nMust specify --yes to delete cluster\n")
					return nil
				}
				fmt.Fprint(d.stdout, "\n")
				for _, ig := range sortedKeys(cloud.Instances) {
					fmt.Fprintf(d.stdout, "autoscaling-group:%s.%s\tok\n", ig, name)
				}
			}
			if err := os.RemoveAll(d.clusterDir(name)); err != nil {
				return err
			}
			fmt.Fprintf(d.stdout, "\nDeleted cluster: %q\n", name)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "Specify --yes to delete the cluster")
	cmd.Flags().BoolVar(&unregister, "unregister", false, "Don't delete cloud resources, just unregister the cluster")
	cmd.Flags().Bool("external", false, "Delete an external cluster")
	cmd.Flags().String("region", "", "External cluster's region")
	if d.ver.AtLeast(since(33)) {
		cmd.Flags().Duration("wait", 0, "Amount of time to wait for the cloud resources to de-allocate")
		cmd.Flags().Int("count", 0, "Number of consecutive failures to tolerate when trying to delete resources")
		cmd.Flags().Duration("interval", 10*time.Second, "Time in duration to wait between deletion attempts")
	}
	del.AddCommand(cmd, d.deleteInstanceGroupCommand())
	return del
}

// deleteInstanceGroupCommand is cmd/kops/delete_instancegroup.go: one group,
// --name required; without --yes kops asks on stdin (util/pkg/ui GetConfirm,
// default no); then the group's cloud instances go (pkg/instancegroups/
// delete.go: no drain), and the group leaves the store.
func (d *double) deleteInstanceGroupCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:     "instancegroup INSTANCE_GROUP",
		Aliases: []string{"instancegroups", "ig"},
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := d.prepare("delete instancegroup", nil)
			if err != nil {
				return err
			}
			switch {
			case name == "":
				return errors.New("--name is required")
			case len(args) == 0:
				return errors.New("must specify the name of the instance group to delete")
			case len(args) != 1:
				return errors.New("can only delete one instance group at a time")
			}
			group := args[0]
			if !yes {
				fmt.Fprintf(d.stdout, "Do you really want to delete instance group %q? This action cannot be undone. (y/N)\n", group)
				answer, err := bufio.NewReader(os.Stdin).ReadString('\n')
				if err != nil {
					return fmt.Errorf("error reading from input: %v", err)
				}
				if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
					return &silentExit{code: 1}
				}
			}
			if err := d.mustGetCluster(name); err != nil {
				return err
			}
			path := filepath.Join(d.clusterDir(name), "instancegroup", group)
			ig, err := d.readObj(path)
			if err != nil {
				return fmt.Errorf("error reading InstanceGroup %q: InstanceGroup.kops.k8s.io %q not found", group, group)
			}
			fmt.Fprintf(d.stdout, "InstanceGroup %q found for deletion\n", group)
			if roleOrder(ig) == 0 {
				igs, err := d.instanceGroups(name)
				if err != nil {
					return err
				}
				others := 0
				for _, o := range igs {
					if objName(o) != group && roleOrder(o) == 0 {
						others++
					}
				}
				if others == 0 {
					return errors.New("cannot delete the only control plane instance group")
				}
			}
			cloud := d.readCloud(name)
			if _, ok := cloud.Instances[group]; ok {
				d.klogAt('I', "delete.go:53", "Deleting %q", group)
				delete(cloud.Instances, group)
				if err := d.writeCloud(name, cloud); err != nil {
					return err
				}
			}
			if err := os.Remove(path); err != nil {
				return err
			}
			fmt.Fprintf(d.stdout, "\nDeleted InstanceGroup: %q\n", group)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "Specify --yes to immediately delete the instance group")
	return cmd
}
