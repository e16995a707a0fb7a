package e2e_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/infra"
	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/probe"
	"github.com/kopscalico/kopscalico/internal/probe/probetest"
	"github.com/kopscalico/kopscalico/internal/provider"
	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

// TestProbesCrossZones runs the probes on a cluster of two zones (two kwok
// nodes): the scheduler puts each cross-zone probe in the other zone than
// http-echo's pod and each same-zone probe in its zone, as their required
// (anti-)affinity says; the recorded verdicts table says, from the nodes
// read, that subnets were crossed, where each probe ran, and the blocked
// ones name the control that proves them.
func TestProbesCrossZones(t *testing.T) {
	cp := controlplane.Start(t)
	cp.AddNode(t, "kwok-node-1", "us-east-1b")
	ctx := context.Background()
	work := t.TempDir()
	policiesDir := filepath.Join(work, "policies")
	testfs.Copy(t, filepath.Join("..", "policies", "ns-1"), filepath.Join(policiesDir, "ns-1"))

	// The cluster DNS kops runs (CoreDNS, k8s-app=kube-dns), which the DNS
	// probes are placed against.
	coredns := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"k8s-app": "kube-dns"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "coredns", Image: "example.invalid/coredns:1"}}},
			},
		},
	}
	if _, err := cp.Client.AppsV1().Deployments("kube-system").Create(ctx, coredns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	logs := map[string]string{
		"probe-busybox-to-http-echo-cross-zone":  "busybox-cross-zone-allowed.log",
		"probe-busybox-to-http-echo-same-zone":   "busybox-same-zone-allowed.log",
		"probe-stranger-to-http-echo-cross-zone": "stranger-cross-zone-blocked.log",
		"probe-stranger-to-http-echo-same-zone":  "stranger-same-zone-blocked.log",
	}
	for _, name := range []string{"probe-busybox-to-kube-dns-cross-zone", "probe-busybox-to-kube-dns-same-zone", "probe-stranger-to-kube-dns-cross-zone", "probe-stranger-to-kube-dns-same-zone"} {
		logs[name] = name + "-allowed.log"
	}
	reader := probetest.NewReader(func(ctx context.Context, namespace, job string) ([]corev1.Pod, error) {
		list, err := cp.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	}, logs)
	zoneOf := func(ctx context.Context, node string) (string, error) {
		n, err := cp.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		return n.Labels[probe.ZoneLabel], nil
	}
	reader.Zones = zoneOf
	reader.Nodes = listNodes(cp)
	cfg := localClusterConfig(t, cp)
	cfg[config.FullKey(config.KeyPoliciesDir)] = pulumitest.Plain(policiesDir)
	cfg[config.FullKey(config.KeyProbes)] = pulumitest.Plain("true")
	cfg[config.FullKey(config.KeyZones)] = pulumitest.Plain(`["us-east-1a","us-east-1b"]`)
	s := pulumitest.New(t, infra.Program, cfg, pulumitest.Options{ProviderDeps: &provider.Deps{ProbeReader: reader, NewKopsRunner: noKops(t), NewEC2: noEC2(t)}})

	res := s.Up()
	table, _ := res.Outputs["probes"].Value.(string)
	t.Logf("probes output:\n%s", table)

	targetZone := map[string]string{}
	for _, target := range []struct{ name, namespace, selector string }{{"http-echo", "ns-1", "app=http-echo"}, {"kube-dns", "kube-system", "k8s-app=kube-dns"}} {
		pods, err := cp.Client.CoreV1().Pods(target.namespace).List(ctx, metav1.ListOptions{LabelSelector: target.selector})
		if err != nil || len(pods.Items) != 1 {
			t.Fatalf("%s pods: %v, %v", target.name, pods, err)
		}
		if targetZone[target.name], err = zoneOf(ctx, pods.Items[0].Spec.NodeName); err != nil {
			t.Fatal(err)
		}
	}
	for name := range logs {
		echoZone := targetZone["http-echo"]
		if strings.Contains(name, "kube-dns") {
			echoZone = targetZone["kube-dns"]
		}
		pods, err := cp.Client.CoreV1().Pods("ns-1").List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + name})
		if err != nil || len(pods.Items) != 1 {
			t.Fatalf("pods of %s: %v, %v", name, pods, err)
		}
		node := pods.Items[0].Spec.NodeName
		zone, err := zoneOf(ctx, node)
		if err != nil {
			t.Fatal(err)
		}
		if cross := strings.HasSuffix(name, "-cross-zone"); cross == (zone == echoZone) {
			t.Errorf("%s ran on %s in %s, its target in %s", name, node, zone, echoZone)
		}
		if !strings.Contains(table, name) || !strings.Contains(table, node+" ("+zone+")") {
			t.Errorf("the table does not say %s ran on %s (%s):\n%s", name, node, zone, table)
		}
	}
	for _, want := range []string{"nodes: 2 nodes in 2 zones (us-east-1a: 1, us-east-1b: 1): each cross-zone probe ran in another zone than its target", "other zone than target", "same zone as target", "kube-dns.kube-system.svc.cluster.local:53/UDP", "blocked (control probe-busybox-to-http-echo-cross-zone allowed)", "blocked (control probe-busybox-to-http-echo-same-zone allowed)"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table lacks %q:\n%s", want, table)
		}
	}
	s.Destroy()
}

// listNodes lists the control plane's nodes, for the probe reader's zones.
func listNodes(cp *controlplane.ControlPlane) func(context.Context) ([]corev1.Node, error) {
	return func(ctx context.Context) ([]corev1.Node, error) {
		list, err := cp.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	}
}
