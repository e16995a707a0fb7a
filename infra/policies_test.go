package infra

import (
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/policies"
	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

// k8sMocks records each registration with its dependencies and parent, which
// the shared recorder does not keep.
type k8sMocks struct {
	mu  sync.Mutex
	reg []k8sRegistration
}

type k8sRegistration struct {
	Token, Name, Provider, Parent string
	Inputs                        resource.PropertyMap
	Deps                          []string // URNs
}

func (m *k8sMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r := k8sRegistration{Token: args.TypeToken, Name: args.Name, Provider: args.Provider, Inputs: args.Inputs}
	if rpc := args.RegisterRPC; rpc != nil {
		r.Parent = rpc.GetParent()
		r.Deps = rpc.GetDependencies()
	}
	m.mu.Lock()
	m.reg = append(m.reg, r)
	m.mu.Unlock()
	return args.Name + "-id", args.Inputs, nil
}

func (m *k8sMocks) Call(pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return resource.PropertyMap{}, nil
}

func (m *k8sMocks) byToken(token string) []k8sRegistration {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []k8sRegistration
	for _, r := range m.reg {
		if r.Token == token {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (m *k8sMocks) named(t *testing.T, token, name string) k8sRegistration {
	t.Helper()
	for _, r := range m.byToken(token) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no %s named %q among %v", token, name, names(m.byToken(token)))
	return k8sRegistration{}
}

func names(rs []k8sRegistration) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}

const (
	tokNamespace     = "kubernetes:core/v1:Namespace"
	tokNetworkPolicy = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
	tokDeployment    = "kubernetes:apps/v1:Deployment"
	tokService       = "kubernetes:core/v1:Service"
	tokJob           = "kubernetes:batch/v1:Job"
	tokK8sProvider   = "pulumi:providers:kubernetes"
)

// withProvider runs fn with a Kubernetes provider under mocks.
func withProvider(t *testing.T, m pulumi.MockResourceMonitor, opts []pulumi.RunOption, fn func(ctx *pulumi.Context, p pulumi.ProviderResource) error) error {
	t.Helper()
	opts = append([]pulumi.RunOption{pulumi.WithMocks("kopscalico", "stack", m)}, opts...)
	return pulumi.RunErr(func(ctx *pulumi.Context) error {
		p, err := kubernetes.NewProvider(ctx, "cluster", &kubernetes.ProviderArgs{})
		if err != nil {
			return err
		}
		return fn(ctx, p)
	}, opts...)
}

func providerRef() string {
	return "urn:pulumi:stack::kopscalico::pulumi:providers:kubernetes::cluster::cluster-id"
}

func loadSet(t *testing.T, dir string) *policies.Set {
	t.Helper()
	set, err := policies.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestDeployPoliciesShipped(t *testing.T) {
	t.Parallel()
	m := &k8sMocks{}
	set := loadSet(t, filepath.Join("..", "policies"))
	var got *policyResources
	err := withProvider(t, m, nil, func(ctx *pulumi.Context, p pulumi.ProviderResource) error {
		var err error
		got, err = deployPolicies(ctx, set, p, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	ns := m.named(t, tokNamespace, "ns-1")
	if ns.Provider != providerRef() {
		t.Errorf("namespace provider = %q, want %q", ns.Provider, providerRef())
	}
	if got := propString(t, ns.Inputs, "metadata", "name"); got != "ns-1" {
		t.Errorf("namespace metadata.name = %q", got)
	}

	pols := m.byToken(tokNetworkPolicy)
	if want := []string{"ns-1/allow", "ns-1/deny-all-by-default", "ns-1/deny-egress-except-dns-and-namespace"}; !reflect.DeepEqual(names(pols), want) {
		t.Fatalf("policies = %v, want %v (stable namespace/name Pulumi names)", names(pols), want)
	}
	nsURN := "urn:pulumi:stack::kopscalico::kubernetes:core/v1:Namespace::ns-1"
	for _, p := range pols {
		if p.Provider != providerRef() {
			t.Errorf("%s provider = %q", p.Name, p.Provider)
		}
		if !contains(p.Deps, nsURN) {
			t.Errorf("%s depends on %v, want its namespace %s (created first, deleted last)", p.Name, p.Deps, nsURN)
		}
		if got := propString(t, p.Inputs, "metadata", "namespace"); got != "ns-1" {
			t.Errorf("%s metadata.namespace = %q", p.Name, got)
		}
	}

	// The inputs are the YAML: the empty podSelector stays (every pod), and
	// the egress rule keeps its DNS ports.
	deny := m.named(t, tokNetworkPolicy, "ns-1/deny-all-by-default")
	sel, ok := deny.Inputs["spec"].ObjectValue()["podSelector"]
	if !ok || !sel.IsObject() || len(sel.ObjectValue()) != 0 {
		t.Errorf("deny-all-by-default podSelector = %v, want {} (every pod)", sel)
	}
	egress := m.named(t, tokNetworkPolicy, "ns-1/deny-egress-except-dns-and-namespace")
	if got := propString(t, egress.Inputs, "spec", "egress", "0", "ports", "0", "protocol"); got != "UDP" {
		t.Errorf("egress DNS port protocol = %q, want UDP", got)
	}
	if got := propString(t, egress.Inputs, "spec", "egress", "0", "to", "0", "podSelector", "matchLabels", "k8s-app"); got != "kube-dns" {
		t.Errorf("egress DNS peer = %q", got)
	}
	allow := m.named(t, tokNetworkPolicy, "ns-1/allow")
	if got := propString(t, allow.Inputs, "spec", "ingress", "0", "from", "0", "podSelector", "matchLabels", "app"); got != "busybox" {
		t.Errorf("allow from = %q", got)
	}
	if _, ok := allow.Inputs["status"]; ok {
		t.Error("status must not be an input")
	}

	if len(got.All()) != 4 || got.NamespaceDeps("ns-1") == nil || got.NamespaceDeps("elsewhere") != nil {
		t.Errorf("policyResources: all=%d deps(ns-1)=%v deps(elsewhere)=%v", len(got.All()), got.NamespaceDeps("ns-1"), got.NamespaceDeps("elsewhere"))
	}
}

// TestDeployPoliciesUnownedNamespace: a folder without a Namespace object
// deploys its policies into the existing namespace, creating no Namespace.
func TestDeployPoliciesUnownedNamespace(t *testing.T) {
	t.Parallel()
	m := &k8sMocks{}
	set := loadSet(t, filepath.Join("..", "internal", "policies", "testdata", "good"))
	err := withProvider(t, m, nil, func(ctx *pulumi.Context, p pulumi.ProviderResource) error {
		_, err := deployPolicies(ctx, set, p, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(m.byToken(tokNamespace)); !reflect.DeepEqual(got, []string{"ns-a"}) {
		t.Errorf("namespaces = %v, want only the owned ns-a", got)
	}
	dns := m.named(t, tokNetworkPolicy, "kube-system/allow-dns")
	for _, d := range dns.Deps {
		if strings.Contains(d, "Namespace") {
			t.Errorf("kube-system/allow-dns depends on %s; kube-system is not owned", d)
		}
	}
	web := m.named(t, tokNetworkPolicy, "ns-a/web-ingress")
	if !contains(web.Deps, "urn:pulumi:stack::kopscalico::kubernetes:core/v1:Namespace::ns-a") {
		t.Errorf("ns-a/web-ingress deps = %v", web.Deps)
	}
}

func TestDeployDemo(t *testing.T) {
	t.Parallel()
	m := &k8sMocks{}
	err := withProvider(t, m, nil, func(ctx *pulumi.Context, p pulumi.ProviderResource) error {
		pr, err := deployPolicies(ctx, loadSet(t, filepath.Join("..", "policies")), p, nil)
		if err != nil {
			return err
		}
		res, err := deployDemo(ctx, "ns-1", p, pr.NamespaceDeps("ns-1"))
		if len(res) != 3 {
			t.Errorf("deployDemo returned %d resources, want 3", len(res))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	nsURN := "urn:pulumi:stack::kopscalico::kubernetes:core/v1:Namespace::ns-1"
	for _, r := range []k8sRegistration{
		m.named(t, tokDeployment, "ns-1/http-echo"),
		m.named(t, tokDeployment, "ns-1/busybox"),
		m.named(t, tokService, "ns-1/http-echo"),
	} {
		if r.Provider != providerRef() || !contains(r.Deps, nsURN) {
			t.Errorf("%s %s: provider %q deps %v", r.Token, r.Name, r.Provider, r.Deps)
		}
		if got := propString(t, r.Inputs, "metadata", "namespace"); got != "ns-1" {
			t.Errorf("%s namespace = %q", r.Name, got)
		}
	}
	svc := m.named(t, tokService, "ns-1/http-echo")
	if got := propString(t, svc.Inputs, "spec", "ports", "0", "port"); got != "80" {
		t.Errorf("service port = %s", got)
	}
	echo := m.named(t, tokDeployment, "ns-1/http-echo")
	if got := propString(t, echo.Inputs, "spec", "template", "metadata", "labels", "app"); got != "http-echo" {
		t.Errorf("echo pod label = %q", got)
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

const (
	tokAdminPolicy    = "kubernetes:policy.networking.k8s.io/v1alpha1:AdminNetworkPolicy"
	tokBaselinePolicy = "kubernetes:policy.networking.k8s.io/v1alpha1:BaselineAdminNetworkPolicy"
)

// TestDeployAdminPolicies: each AdminNetworkPolicy and the baseline are
// registered cluster-scoped on the cluster's provider, after what makes their
// CRDs exist; a set without them registers none.
func TestDeployAdminPolicies(t *testing.T) {
	t.Parallel()
	set := loadSet(t, filepath.Join("..", "policies"))
	set.AdminPolicies = []policies.AdminPolicy{{File: "_cluster/deny.yaml", Object: anpv1alpha1.AdminNetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "deny-kube-system"},
		Spec: anpv1alpha1.AdminNetworkPolicySpec{
			Priority: 10,
			Subject:  anpv1alpha1.AdminNetworkPolicySubject{Namespaces: &metav1.LabelSelector{}},
			Egress: []anpv1alpha1.AdminNetworkPolicyEgressRule{{Action: "Deny", To: []anpv1alpha1.AdminNetworkPolicyEgressPeer{{
				Namespaces: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
			}}}},
		},
	}}}
	set.Baseline = &policies.BaselinePolicy{File: "_cluster/baseline.yaml", Object: anpv1alpha1.BaselineAdminNetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: anpv1alpha1.BaselineAdminNetworkPolicySpec{
			Subject: anpv1alpha1.AdminNetworkPolicySubject{Namespaces: &metav1.LabelSelector{}},
			Ingress: []anpv1alpha1.BaselineAdminNetworkPolicyIngressRule{{Action: "Deny", From: []anpv1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: &metav1.LabelSelector{}}}}},
		},
	}}
	m := &k8sMocks{}
	var got *policyResources
	err := withProvider(t, m, nil, func(ctx *pulumi.Context, p pulumi.ProviderResource) error {
		crds, err := deployObject(ctx, "calico-crds", map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "crds"}}, pulumi.Provider(p))
		if err != nil {
			return err
		}
		got, err = deployPolicies(ctx, set, p, []pulumi.Resource{crds})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	crdURN := "urn:pulumi:stack::kopscalico::kubernetes:core/v1:ConfigMap::calico-crds"
	anp := m.named(t, tokAdminPolicy, "deny-kube-system")
	banp := m.named(t, tokBaselinePolicy, "default")
	for _, r := range []k8sRegistration{anp, banp} {
		if r.Provider != providerRef() || !contains(r.Deps, crdURN) {
			t.Errorf("%s %s: provider %q deps %v, want the cluster's provider and %s", r.Token, r.Name, r.Provider, r.Deps, crdURN)
		}
		if ns := propString(t, r.Inputs, "metadata", "namespace"); ns != "" {
			t.Errorf("%s: metadata.namespace = %q: the admin policies are cluster-scoped", r.Name, ns)
		}
		if propString(t, r.Inputs, "apiVersion") != "policy.networking.k8s.io/v1alpha1" {
			t.Errorf("%s: apiVersion = %q", r.Name, propString(t, r.Inputs, "apiVersion"))
		}
		if _, ok := r.Inputs["status"]; ok {
			t.Errorf("%s: status must not be an input", r.Name)
		}
	}
	if propString(t, anp.Inputs, "spec", "priority") != "10" || propString(t, anp.Inputs, "spec", "egress", "0", "to", "0", "namespaces", "matchLabels", "kubernetes.io/metadata.name") != "kube-system" {
		t.Errorf("AdminNetworkPolicy inputs = %v", anp.Inputs)
	}
	if propString(t, banp.Inputs, "metadata", "name") != "default" || propString(t, banp.Inputs, "spec", "ingress", "0", "action") != "Deny" {
		t.Errorf("BaselineAdminNetworkPolicy inputs = %v", banp.Inputs)
	}
	if n := len(got.All()); n != 6 {
		t.Errorf("All() has %d resources, want the namespace, 3 policies and the 2 admin policies (the probes wait for them)", n)
	}

	// The shipped policies declare none: nothing is registered.
	none := &k8sMocks{}
	err = withProvider(t, none, nil, func(ctx *pulumi.Context, p pulumi.ProviderResource) error {
		_, err := deployPolicies(ctx, loadSet(t, filepath.Join("..", "policies")), p, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(none.byToken(tokAdminPolicy)) + len(none.byToken(tokBaselinePolicy)); n != 0 {
		t.Errorf("%d admin policies registered for a set that declares none", n)
	}
}

// TestAdminPoliciesWaitForTheirCRDs runs the whole program on a policies tree
// with a _cluster/ folder: the admin policies depend on what brings their
// CRDs, the Cluster when the program manages it and the Calico manifest when
// it deploys one, and on nothing of the kind otherwise.
func TestAdminPoliciesWaitForTheirCRDs(t *testing.T) {
	t.Parallel()
	dir := copyPolicies(t)
	testfs.Copy(t, filepath.Join("..", "internal", "policies", "testdata", "good", policies.ClusterFolder), filepath.Join(dir, policies.ClusterFolder))
	admin := func(rec *recorder) []recorded {
		return append(rec.byType(tokAdminPolicy), rec.byType(tokBaselinePolicy)...)
	}

	managed := devConfig()
	managed[config.KeyPoliciesDir] = dir
	managed[config.KeyCalicoManifest] = string(config.ManifestAlways)
	rec, _, err := runProgram(t, managed, true)
	if err != nil {
		t.Fatal(err)
	}
	cluster := rec.one(t, pluginapi.ClusterType)
	var calico []string
	for _, r := range calicoResources(rec) {
		calico = append(calico, r.Token+"::"+r.Name)
	}
	if len(calico) == 0 {
		t.Fatal("calicoUpgradeManifest=always deployed no Calico object")
	}
	got := admin(rec)
	if len(got) != 3 {
		t.Fatalf("%d admin policies registered, want the 2 AdminNetworkPolicies and the baseline of _cluster/", len(got))
	}
	for _, r := range got {
		want := append([]string{pluginapi.ClusterType + "::" + cluster.Name}, calico...)
		for _, w := range want {
			if !slices.ContainsFunc(r.Deps, func(d string) bool { return strings.HasSuffix(d, "::"+w) }) {
				t.Errorf("%s %s does not depend on %s (deps %v)", r.Token, r.Name, w, r.Deps)
			}
		}
		if !strings.Contains(r.Provider, "pulumi:providers:kubernetes::cluster::") {
			t.Errorf("%s %s: provider %q, want the cluster's", r.Token, r.Name, r.Provider)
		}
	}

	// An existing cluster whose kops brings Calico: the CRDs are there.
	existing := devConfig()
	existing[config.KeyPoliciesDir] = dir
	existing[config.KeyManageCluster] = "false"
	existing[config.KeyKubeconfig] = "apiVersion: v1\nkind: Config\n"
	rec, _, err = runProgram(t, existing, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := admin(rec); len(got) != 3 || len(got[0].Deps) != 0 {
		t.Errorf("existing cluster: %d admin policies, the first depending on %v; want 3 depending on nothing", len(got), got[0].Deps)
	}

	// The shipped tree declares none: nothing is registered.
	rec, _, err = runProgram(t, devConfig(), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := admin(rec); len(got) != 0 {
		t.Errorf("%d admin policies registered for a tree without _cluster/", len(got))
	}
}
