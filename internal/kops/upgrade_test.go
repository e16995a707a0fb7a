package kops_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
)

// upgradeRunner scripts a Calico cluster on Kubernetes 1.33.4 driven by
// kops of the given minor.
func upgradeRunner(t *testing.T, kopsMinor string) *kopstest.Runner {
	spec := strings.Replace(string(kopstest.Fixture(t, "calico-1.34.yaml")), "kubernetesVersion: 1.34.2", "kubernetesVersion: 1.33.4", 1)
	return &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"version": kopstest.OK("Client version: " + kopsMinor + ".1 (git-v" + kopsMinor + ".1)\n"),
		"get cluster --name demo.example.com -o yaml":                           kopstest.OK(spec),
		"get instancegroups":                                                    kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
		"replace -f -":                                                          kopstest.OK(""),
		"update cluster --name demo.example.com":                                kopstest.OK("\nNo changes need to be applied\n"),
		"update cluster --name demo.example.com --yes":                          kopstest.OK(""),
		"update cluster --name demo.example.com --instance-group-roles":         kopstest.OK(""),
		"reconcile cluster --name demo.example.com --yes":                       kopstest.OK("Updating control plane configuration\n"),
		"rolling-update cluster --name demo.example.com":                        kopstest.OK(string(kopstest.Fixture(t, "rolling-update-not-needed.txt"))),
		"rolling-update cluster --name demo.example.com --yes":                  kopstest.OK(""),
		"rolling-update cluster --name demo.example.com --instance-group-roles": kopstest.OK(""),
		"validate cluster":                                                      kopstest.OK("Your cluster demo.example.com is ready\n"),
	}}
}

// A Kubernetes version change runs what the pinned kops documents
// (docs/tutorial/upgrading-kubernetes.md): reconcile cluster from 1.31, the
// control plane updated and rolled first by hand before.
func TestEnsureUpgradesInKopsOrder(t *testing.T) {
	t.Parallel()
	const (
		get      = "get cluster --name demo.example.com -o yaml"
		igs      = "get instancegroups --name demo.example.com -o yaml"
		validate = "validate cluster --name demo.example.com --wait 10m0s"
		dryRoll  = "rolling-update cluster --name demo.example.com"
	)
	for _, c := range []struct {
		kops string
		want []string
	}{
		{"1.36", []string{"version", get, igs, "replace -f -",
			"reconcile cluster --name demo.example.com --yes", dryRoll, validate}},
		{"1.31", []string{"version", get, igs, "replace -f -",
			"reconcile cluster --name demo.example.com --yes", dryRoll, validate}},
		{"1.30", []string{"version", get, igs, "replace -f -",
			"update cluster --name demo.example.com --instance-group-roles control-plane,apiserver --yes --create-kube-config=false",
			"rolling-update cluster --name demo.example.com --instance-group-roles control-plane,apiserver --yes",
			"update cluster --name demo.example.com --yes --create-kube-config=false", dryRoll, validate}},
		{"1.28", []string{"version", get, igs, "replace -f -",
			"update cluster --name demo.example.com --yes --create-kube-config=false",
			"rolling-update cluster --name demo.example.com --instance-group-roles control-plane,apiserver --yes",
			"update cluster --name demo.example.com --yes --create-kube-config=false", dryRoll, validate}},
		{"1.25", []string{"version", get, igs, "replace -f -",
			"update cluster --name demo.example.com --yes --create-kube-config=false",
			"rolling-update cluster --name demo.example.com --instance-group-roles master --yes",
			"update cluster --name demo.example.com --yes --create-kube-config=false", dryRoll, validate}},
	} {
		t.Run(c.kops, func(t *testing.T) {
			t.Parallel()
			d := kopstest.Desired(c.kops)
			d.KubernetesVersion = "1.34.1"
			k := upgradeRunner(t, c.kops)
			m := newManager(t, k)
			writeKubeconfig(t, m.Kubeconfig)
			o, err := m.Ensure(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			if got := k.Commands(); !reflect.DeepEqual(got, c.want) {
				t.Errorf("commands:\n got %q\nwant %q", got, c.want)
			}
			if !o.Applied || !o.Rolled {
				t.Errorf("outcome %+v", o)
			}
		})
	}
}

// Nodes left on the old kubelet by an earlier run make the next run an
// upgrade though the spec has the version already: it finishes the job.
func TestEnsureFinishesAnUpgradeNodesLag(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.36")
	d.KubernetesVersion = "1.33.4"
	k := upgradeRunner(t, "1.36")
	m := newManager(t, k)
	writeKubeconfig(t, m.Kubeconfig)
	m.Nodes = []kops.NodeVersion{{Group: "control-plane-eu-west-1a", Kubelet: "v1.33.4", Nodes: 1}, {Group: "nodes-eu-west-1a", Kubelet: "v1.32.9", Nodes: 2}}
	if _, err := m.Ensure(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if got := k.Commands(); !contains(got, "reconcile cluster --name demo.example.com --yes") || contains(got, "replace -f -") {
		t.Errorf("commands %q: want a reconcile and no rewrite", got)
	}
	m.Nodes[1].Kubelet = "v1.33.4"
	k2 := upgradeRunner(t, "1.36")
	m.Runner = k2
	if _, err := m.Ensure(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	for _, c := range k2.Commands() {
		if strings.Contains(c, "--yes") {
			t.Errorf("nodes on the version: kops %s", c)
		}
	}
}

// Skipping a minor, or kubelets past the skew policy, is refused before any
// command that changes the cluster.
func TestEnsureRefusesUnsupportedUpgrades(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		to    string
		nodes []kops.NodeVersion
		want  string
	}{
		{"1.35.0", nil, `kopscalico:kubernetesVersion = "1.35.0" on cluster demo.example.com: Kubernetes 1.33.4 to 1.35.0 skips 1 minor release(s)`},
		{"1.34.1", []kops.NodeVersion{{Group: "nodes-eu-west-1a", Kubelet: "v1.30.1", Nodes: 2}}, "nodes still run kubelet v1.30.1, more than 3 minors behind"},
	} {
		k := upgradeRunner(t, "1.36")
		m := newManager(t, k)
		m.Nodes = c.nodes
		d := kopstest.Desired("1.36")
		d.KubernetesVersion = c.to
		_, err := m.Ensure(context.Background(), d)
		var se *kops.StepError
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.As(err, &se) || se.Step != kops.StepWriteSpec {
			t.Errorf("to %s with %v: %v, want %q", c.to, c.nodes, err, c.want)
		}
		if got, want := k.Commands(), []string{"version", "get cluster --name demo.example.com -o yaml", "get instancegroups --name demo.example.com -o yaml"}; !reflect.DeepEqual(got, want) {
			t.Errorf("to %s: commands %q, want the reads only, %q", c.to, got, want)
		}
	}
}

func TestBehind(t *testing.T) {
	t.Parallel()
	nodes := []kops.NodeVersion{{Group: "nodes-b", Kubelet: "v1.33.4", Nodes: 1}, {Group: "nodes-a", Kubelet: "v1.33.4", Nodes: 2}, {Group: "control-plane-a", Kubelet: "v1.34.1", Nodes: 1}}
	if got, want := kops.Behind(nodes, "1.34.1"), []string{"3 nodes still on v1.33.4 (nodes-a, nodes-b)"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Behind: %q, want %q", got, want)
	}
	if got := kops.Behind(nodes, ""); got != nil {
		t.Errorf("Behind with no version: %q", got)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
