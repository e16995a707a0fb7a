package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kopscalico/kopscalico/internal/kopsrelease"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

// groupRoles is each instance group's role, and the spec's Kubernetes version.
func (d *double) groupRoles(name string) (map[string]string, string, error) {
	c, err := d.cluster(name)
	if err != nil {
		return nil, "", err
	}
	igs, err := d.instanceGroups(name)
	if err != nil {
		return nil, "", err
	}
	roles := map[string]string{}
	for _, ig := range igs {
		roles[objName(ig)] = str(get(ig, "spec", "role"))
	}
	return roles, str(get(c, "spec", "kubernetesVersion")), nil
}

// roleMatches is pkg/apis/kops/parse.go's lenient match of a group's role
// against --instance-group-roles; no roles match every group.
func roleMatches(role string, roles []string) bool {
	if len(roles) == 0 {
		return true
	}
	norm := func(r string) string {
		r = strings.ReplaceAll(strings.ToLower(r), "-", "")
		if r == "master" {
			r = "controlplane"
		}
		return strings.TrimSuffix(r, "s")
	}
	for _, r := range roles {
		if norm(r) == norm(role) {
			return true
		}
	}
	return false
}

func isControlPlane(role string) bool {
	return roleMatches(role, []string{"control-plane", "apiserver"})
}

// controlPlaneRunsOlder reports whether some control-plane instance runs a
// Kubernetes version older than the spec's.
func controlPlaneRunsOlder(cloud kopsdouble.Cloud, roles map[string]string, version string) bool {
	for ig, inst := range cloud.Instances {
		if !isControlPlane(roles[ig]) {
			continue
		}
		for _, t := range inst {
			if olderMinor(cloud.Versions[t], version) {
				return true
			}
		}
	}
	return false
}

// olderMinor reports whether Kubernetes version a is of an older minor than b.
func olderMinor(a, b string) bool {
	x, okA := kopsrelease.ParseKubeMinor(a)
	y, okB := kopsrelease.ParseKubeMinor(b)
	return okA && okB && (x.Major < y.Major || x.Major == y.Major && x.Minor < y.Minor)
}

// ---- reconcile ----

// reconcileCommand is cmd/kops/reconcile_cluster.go (kops 1.31 on): without
// --yes the update's dry run; with it, the control plane updated, the API
// awaited, the control plane rolled, then every group updated and rolled,
// then the prune, each headed as kops heads it.
func (d *double) reconcileCommand() *cobra.Command {
	reconcile := &cobra.Command{Use: "reconcile", Short: "Reconcile a cluster."}
	var yes bool
	cmd := &cobra.Command{
		Use:  "cluster [CLUSTER]",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, planned, err := d.updateOrPlan("reconcile cluster", args, yes)
			if err != nil || planned {
				return err
			}
			controlPlane := []string{"apiserver", "control-plane"}
			fmt.Fprintf(d.stdout, "Updating control plane configuration\n")
			if err := d.apply(name, controlPlane); err != nil {
				return err
			}
			fmt.Fprintf(d.stdout, "Waiting for the kubernetes API to be served\n")
			if err := d.restConfig(name); err != nil {
				return err
			}
			if err := d.reachAPI(name, ""); err != nil {
				return fmt.Errorf("waiting for kubernetes API to be served: validation failed: %v", err)
			}
			fmt.Fprintf(d.stdout, "Performing rolling-update for control plane\n")
			if err := d.rollingUpdate(name, true, false, false, nil, controlPlane); err != nil {
				return err
			}
			fmt.Fprintf(d.stdout, "Updating node configuration\n")
			if err := d.apply(name, nil); err != nil {
				return err
			}
			fmt.Fprintf(d.stdout, "Performing rolling-update for nodes\n")
			if err := d.rollingUpdate(name, true, false, false, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(d.stdout, "Pruning old resources that are no longer used\n")
			return d.apply(name, nil)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&yes, "yes", "y", false, "Create cloud resources, without --yes reconcile is in dry run mode")
	f.Bool("allow-kops-downgrade", false, "Allow an older version of kOps to update the cluster than last used")
	reconcile.AddCommand(cmd)
	return reconcile
}
