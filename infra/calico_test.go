package infra

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

func calicoConfig() config.Config {
	return config.Config{
		Cluster: config.Cluster{
			Manage:            true,
			Name:              "legacy.k8s.example.net",
			Region:            "eu-central-1",
			Zones:             []string{"eu-central-1a", "eu-central-1b", "eu-central-1c"},
			ControlPlaneCount: 3,
		},
		Calico: config.Calico{
			Encapsulation:   config.EncapIPIP,
			AWSSrcDstCheck:  config.SrcDstDisable,
			PodCIDR:         netip.MustParsePrefix("100.104.0.0/13"),
			UpgradeManifest: config.ManifestAuto,
		},
	}
}

// runCalico runs deployCalico under mocks with a provider and a resource to
// depend on, on kops kopsVersion, and returns the recorder.
func runCalico(t *testing.T, cfg config.Config, kopsVersion string) (*recorder, error) {
	t.Helper()
	cfg.Kops.Version = kopsrelease.MustParse(kopsVersion)
	rec := &recorder{}
	err := runMocked(t, "dev", nil, rec, func(ctx *pulumi.Context) error {
		provider, err := kubernetes.NewProvider(ctx, "cluster", &kubernetes.ProviderArgs{Kubeconfig: pulumi.String("kubeconfig")})
		if err != nil {
			return err
		}
		ready, err := corev1.NewNamespace(ctx, "ready", &corev1.NamespaceArgs{}, pulumi.Provider(provider))
		if err != nil {
			return err
		}
		_, err = deployCalico(ctx, cfg, provider, []pulumi.Resource{ready})
		return err
	})
	return rec, err
}

func calicoResources(rec *recorder) []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []recorded
	for _, r := range rec.resources {
		if strings.HasPrefix(r.Name, "calico-") {
			out = append(out, r)
		}
	}
	return out
}

func TestCalicoUpgradeManifestOnKops17(t *testing.T) {
	t.Parallel()
	cfg := calicoConfig()
	rec, err := runCalico(t, cfg, "1.7.1")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ token, name string }{
		{"kubernetes:core/v1:ConfigMap", "calico-configmap-kube-system-calico-config"},
		{"kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "calico-clusterrole-calico"},
		{"kubernetes:core/v1:ServiceAccount", "calico-serviceaccount-kube-system-calico"},
		{"kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "calico-clusterrolebinding-calico"},
		{"kubernetes:apps/v1:DaemonSet", "calico-daemonset-kube-system-calico-node"},
		{"kubernetes:apps/v1:Deployment", "calico-deployment-kube-system-calico-policy-controller"},
		{"kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "calico-clusterrole-k8s-ec2-srcdst"},
		{"kubernetes:core/v1:ServiceAccount", "calico-serviceaccount-kube-system-k8s-ec2-srcdst"},
		{"kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "calico-clusterrolebinding-k8s-ec2-srcdst"},
		{"kubernetes:apps/v1:Deployment", "calico-deployment-kube-system-k8s-ec2-srcdst"},
	}
	got := calicoResources(rec)
	if len(got) != len(want) {
		t.Fatalf("%d calico resources, want %d: %+v", len(got), len(want), got)
	}
	// Mocked registrations arrive concurrently: look them up by name.
	byName := map[string]recorded{}
	for _, r := range got {
		byName[r.Name] = r
	}
	provider := rec.one(t, "pulumi:providers:kubernetes")
	ready := rec.one(t, "kubernetes:core/v1:Namespace")
	for _, w := range want {
		r, ok := byName[w.name]
		if !ok || r.Token != w.token {
			t.Errorf("no %s %s (have %+v)", w.token, w.name, r)
			continue
		}
		if !strings.Contains(r.Provider, "::cluster::") || !strings.HasPrefix(r.Provider, "urn:pulumi:dev::kopscalico::pulumi:providers:kubernetes::cluster::") {
			t.Errorf("%s: provider = %q, want the cluster provider %s", r.Name, r.Provider, provider.Name)
		}
		if len(r.Deps) != 1 || !strings.HasSuffix(r.Deps[0], "::"+ready.Name) {
			t.Errorf("%s: depends on %v, want the cluster-ready resource", r.Name, r.Deps)
		}
		if propString(t, r.Inputs, "metadata", "annotations", "pulumi.com/patchForce") != "true" {
			t.Errorf("%s: no pulumi.com/patchForce annotation: the upgrade takes over kops 1.7's objects", r.Name)
		}
	}

	cm := byName["calico-configmap-kube-system-calico-config"]
	if e := propString(t, cm.Inputs, "data", "etcd_endpoints"); e != "http://etcd-a.internal.legacy.k8s.example.net:4001,http://etcd-b.internal.legacy.k8s.example.net:4001,http://etcd-c.internal.legacy.k8s.example.net:4001" {
		t.Errorf("etcd_endpoints = %q", e)
	}
	ds := byName["calico-daemonset-kube-system-calico-node"]
	if v := propString(t, ds.Inputs, "spec", "template", "spec", "containers", "0", "env", "2", "name"); v != "CALICO_IPV4POOL_CIDR" {
		t.Fatalf("env[2] = %q", v)
	}
	if v := propString(t, ds.Inputs, "spec", "template", "spec", "containers", "0", "env", "2", "value"); v != "100.104.0.0/13" {
		t.Errorf("CALICO_IPV4POOL_CIDR = %q", v)
	}
	if v := propString(t, ds.Inputs, "spec", "template", "spec", "containers", "0", "env", "3", "value"); v != "cross-subnet" {
		t.Errorf("CALICO_IPV4POOL_IPIP = %q", v)
	}
	if v := propString(t, ds.Inputs, "spec", "selector", "matchLabels", "k8s-app"); v != "calico-node" {
		t.Errorf("DaemonSet selector = %q", v)
	}
	srcdst := byName["calico-deployment-kube-system-k8s-ec2-srcdst"]
	if v := propString(t, srcdst.Inputs, "spec", "template", "spec", "containers", "0", "env", "0", "value"); v != "eu-central-1" {
		t.Errorf("AWS_REGION = %q", v)
	}

	// Nothing but this stack's values: every etcd domain is the cluster's,
	// every region is the configured one.
	var all strings.Builder
	for _, r := range got {
		b, _ := json.Marshal(r.Inputs.Mappable())
		all.Write(b)
	}
	for _, m := range regexp.MustCompile(`internal\.([a-z0-9.-]+):4001`).FindAllStringSubmatch(all.String(), -1) {
		if m[1] != cfg.Cluster.Name {
			t.Errorf("etcd endpoint for another cluster: %s", m[0])
		}
	}
	for _, m := range regexp.MustCompile(`\b[a-z]{2}-(north|south|east|west|central)[a-z]*-[0-9]\b`).FindAllString(all.String(), -1) {
		if m != cfg.Cluster.Region {
			t.Errorf("region other than %s: %s", cfg.Cluster.Region, m)
		}
	}
}

func TestCalicoSkippedOnModernKops(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"1.34", "1.28.2", "1.8.1"} {
		rec, err := runCalico(t, calicoConfig(), v)
		if err != nil {
			t.Fatalf("kops %s: %v", v, err)
		}
		if got := calicoResources(rec); len(got) != 0 {
			t.Errorf("kops %s: %d calico resources registered, want none", v, len(got))
		}
	}
	cfg := calicoConfig()
	cfg.Calico.UpgradeManifest = config.ManifestNever
	rec, err := runCalico(t, cfg, "1.7.1")
	if err != nil || len(calicoResources(rec)) != 0 {
		t.Errorf("never on kops 1.7: err %v, %d resources", err, len(calicoResources(rec)))
	}
	cfg.Calico.UpgradeManifest = config.ManifestAlways
	rec, err = runCalico(t, cfg, "1.34")
	if err != nil || len(calicoResources(rec)) != 10 {
		t.Errorf("always on kops 1.34: err %v, %d resources", err, len(calicoResources(rec)))
	}
}

func TestCalicoManifestFromConfig(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "calico.yaml")
	manifest := `apiVersion: v1
kind: ServiceAccount
metadata:
  name: calico-node
  namespace: kube-system
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: calico-node
  namespace: kube-system
spec:
  selector:
    matchLabels: {k8s-app: calico-node}
  template:
    metadata:
      labels: {k8s-app: calico-node}
    spec:
      containers:
      - name: calico-node
        image: quay.io/calico/node:v3.29.1
`
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := calicoConfig()
	cfg.Calico.ManifestPath = path
	rec, err := runCalico(t, cfg, "1.34")
	if err != nil {
		t.Fatal(err)
	}
	got := calicoResources(rec)
	if len(got) != 2 {
		t.Fatalf("resources = %+v", got)
	}
	if got[0].Token == "kubernetes:apps/v1:DaemonSet" {
		got[0], got[1] = got[1], got[0]
	}
	if got[0].Token != "kubernetes:core/v1:ServiceAccount" || got[0].Name != "calico-serviceaccount-kube-system-calico-node" ||
		got[1].Token != "kubernetes:apps/v1:DaemonSet" || got[1].Name != "calico-daemonset-kube-system-calico-node" {
		t.Fatalf("resources = %+v", got)
	}
	if v := propString(t, got[1].Inputs, "spec", "template", "spec", "containers", "0", "image"); v != "quay.io/calico/node:v3.29.1" {
		t.Errorf("image = %q", v)
	}
	if v := propString(t, got[1].Inputs, "metadata", "annotations"); v != "" {
		t.Errorf("the user's manifest is deployed as given, got annotations %q", v)
	}

	if err := os.WriteFile(path, []byte("apiVersion: v1\nkind: ConfigMap\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCalico(t, cfg, "1.34"); err == nil || !strings.Contains(err.Error(), "kopscalico:calicoManifestPath") || !strings.Contains(err.Error(), path) {
		t.Errorf("bad manifest: err = %v", err)
	}
}

func TestCalicoUpgradeManifestErrors(t *testing.T) {
	t.Parallel()
	cfg := calicoConfig()
	cfg.Calico.Encapsulation = config.EncapVXLAN
	if _, err := runCalico(t, cfg, "1.7.1"); err == nil || !strings.Contains(err.Error(), "kopscalico:encapsulation") || !strings.Contains(err.Error(), "calicoUpgradeManifest=never") {
		t.Errorf("vxlan: err = %v", err)
	}
	cfg = calicoConfig()
	cfg.Cluster.Region = ""
	if _, err := runCalico(t, cfg, "1.7.1"); err == nil || !strings.Contains(err.Error(), "kopscalico:region") {
		t.Errorf("no region: err = %v", err)
	}
}
