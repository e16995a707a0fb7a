package infra

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

// runProgram runs the whole program of the dev stack under mocks, as
// preview (dryRun) or up, and returns the stack outputs it produced.
func runProgram(t *testing.T, cfg map[string]string, dryRun bool) (*recorder, map[string]any, error) {
	t.Helper()
	return runProgramOn(t, "dev", cfg, dryRun)
}

func runProgramOn(t *testing.T, stack string, cfg map[string]string, dryRun bool) (*recorder, map[string]any, error) {
	t.Helper()
	rec := &recorder{}
	outputs := map[string]any{}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		c, err := LoadConfig(ctx)
		if err != nil {
			return err
		}
		outs, err := build(ctx, c)
		if err != nil {
			return err
		}
		for name, v := range outs {
			if dryRun && name != "reachability" && name != "stateStore" {
				continue // unknown at preview
			}
			outputs[name] = await[any](t, pulumi.ToOutput(v))
		}
		return nil
	}, pulumi.WithMocks("kopscalico", stack, rec), withConfig(cfg), func(info *pulumi.RunInfo) { info.DryRun = dryRun })
	return rec, outputs, err
}

func TestPreviewRegistersEveryStage(t *testing.T) {
	t.Parallel()
	cfg := devConfig()
	cfg[config.KeySecurityGroupCheck] = "enforce"
	rec, outputs, err := runProgram(t, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if outputs["stateStore"] != "s3://kops-state-calico-dev-example-com" {
		t.Errorf("stateStore = %v", outputs["stateStore"])
	}

	cluster := rec.one(t, pluginapi.ClusterType)
	if got := propString(t, cluster.Inputs, "clusterName"); got != "calico.dev.example.com" {
		t.Errorf("cluster name input = %q", got)
	}
	rec.one(t, pluginapi.SecurityGroupCheckType)

	prov := rec.one(t, "pulumi:providers:kubernetes")
	if got := propString(t, prov.Inputs, "clusterIdentifier"); got != "calico.dev.example.com" {
		t.Errorf("provider clusterIdentifier = %q", got)
	}

	ns := rec.one(t, "kubernetes:core/v1:Namespace")
	if !strings.Contains(ns.Provider, "pulumi:providers:kubernetes::cluster::") {
		t.Errorf("namespace not on the cluster's provider: %q", ns.Provider)
	}
	policies := rec.byType("kubernetes:networking.k8s.io/v1:NetworkPolicy")
	if len(policies) != 3 {
		t.Errorf("want the 3 shipped policies, got %d", len(policies))
	}
	if n := len(rec.byType("kubernetes:apps/v1:Deployment")); n != 2 {
		t.Errorf("want 2 demo Deployments, got %d", n)
	}
	if n := len(rec.byType("kubernetes:batch/v1:Job")); n == 0 {
		t.Error("no probe Jobs")
	}
	if n := len(rec.byType("kubernetes:apps/v1:DaemonSet")); n != 0 {
		t.Errorf("kops 1.34 manages Calico itself; the upgrade manifest must be skipped, got %d DaemonSets", n)
	}

	reach, _ := outputs["reachability"].(map[string]string)
	if reach["summary"] == "" || reach["digest"] == "" || reach["namespace/ns-1"] == "" || reach["namespace/kube-system"] == "" {
		t.Errorf("reachability = %v, want a summary, a digest and one per namespace", reach)
	}
}

// copyPolicies copies the shipped policies (their one folder, ns-1) into a
// temp dir a test may edit.
func copyPolicies(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	testfs.Copy(t, filepath.Join("..", "policies", DemoNamespace), filepath.Join(dst, DemoNamespace))
	return dst
}

func TestReachabilityOutputFollowsPolicyFiles(t *testing.T) {
	t.Parallel()
	dir := copyPolicies(t)
	cfg := devConfig()
	cfg[config.KeyPoliciesDir] = dir
	reachability := func() map[string]string {
		t.Helper()
		_, outputs, err := runProgram(t, cfg, true)
		if err != nil {
			t.Fatal(err)
		}
		return outputs["reachability"].(map[string]string)
	}
	before := reachability()
	if err := os.Remove(filepath.Join(dir, "ns-1", "allow.yaml")); err != nil {
		t.Fatal(err)
	}
	after := reachability()
	// allow.yaml decided which pods reach app=http-echo in ns-1: that
	// namespace's digest and the whole digest move, nothing else.
	var changed []string
	for k := range before {
		if before[k] != after[k] {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	if want := []string{"digest", "namespace/ns-1", "summary"}; !slices.Equal(changed, want) {
		t.Errorf("changed %v, want %v (before %v, after %v)", changed, want, before, after)
	}

	// A policy in a namespace where nothing of the program runs shows too,
	// as a namespace of its own; ns-1 does not move.
	if err := os.MkdirAll(filepath.Join(dir, "team-a"), 0o755); err != nil {
		t.Fatal(err)
	}
	web := "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: team-a}\n" +
		"spec:\n  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: api}}}]\n    ports: [{port: 8080}]\n"
	if err := os.WriteFile(filepath.Join(dir, "team-a", "web.yaml"), []byte(web), 0o644); err != nil {
		t.Fatal(err)
	}
	withTeam := reachability()
	if withTeam["namespace/team-a"] == "" || withTeam["namespace/ns-1"] != after["namespace/ns-1"] {
		t.Errorf("with team-a: %v; want team-a's digest and ns-1's as before (%s)", withTeam, after["namespace/ns-1"])
	}
}

// The output is bounded by the classes, not by pods x pods x ports: a tree
// of a hundred policies gives a hundred-odd entries.
func TestReachabilityOutputIsBounded(t *testing.T) {
	t.Parallel()
	dir := copyPolicies(t)
	for i := 0; i < 100; i++ {
		ns := fmt.Sprintf("team-%03d", i)
		web := fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: %s}\n"+
			"spec:\n  podSelector: {matchLabels: {app: web-%d}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {app: api}}}]\n    ports: [{port: %d}]\n", ns, i, 8000+i)
		testfs.Write(t, filepath.Join(dir, ns, "web.yaml"), web)
	}
	cfg := devConfig()
	cfg[config.KeyPoliciesDir] = dir
	_, outputs, err := runProgram(t, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if reach := outputs["reachability"].(map[string]string); len(reach) > 110 || reach["namespace/team-042"] == "" {
		t.Errorf("%d entries, want one per namespace class and two more", len(reach))
	}
}

func TestBadPolicyFileRefusedBeforeAnythingIsRegistered(t *testing.T) {
	t.Parallel()
	dir := copyPolicies(t)
	bad := "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: wrong-ns\n  namespace: ns-2\nspec:\n  podSelector: {}\n"
	if err := os.WriteFile(filepath.Join(dir, "ns-1", "wrong.yaml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := devConfig()
	cfg[config.KeyPoliciesDir] = dir
	rec, _, err := runProgram(t, cfg, true)
	if err == nil || !strings.Contains(err.Error(), "wrong.yaml") || !strings.Contains(err.Error(), "kopscalico:policiesDir") {
		t.Fatalf("err = %v", err)
	}
	if len(rec.resources) != 0 {
		t.Errorf("%d resources registered before the bad file was refused", len(rec.resources))
	}
}

func TestDemoNeedsItsNamespace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "team-a"), 0o755); err != nil {
		t.Fatal(err)
	}
	ns := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n"
	if err := os.WriteFile(filepath.Join(dir, "team-a", "namespace.yaml"), []byte(ns), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := devConfig()
	cfg[config.KeyPoliciesDir] = dir
	cfg[config.KeyNamespaces] = "team-a"
	rec, _, err := runProgram(t, cfg, true)
	if err == nil || !strings.Contains(err.Error(), "kopscalico:demoWorkloads") {
		t.Fatalf("err = %v", err)
	}
	if len(rec.resources) != 0 {
		t.Errorf("%d resources registered", len(rec.resources))
	}
	cfg[config.KeyDemoWorkloads] = "false"
	cfg[config.KeyProbes] = "false"
	rec, _, err = runProgram(t, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.byType("kubernetes:apps/v1:Deployment")); n != 0 {
		t.Errorf("demo off, still %d Deployments", n)
	}
}

// unmanagedConfig deploys onto an existing cluster: no kops, no EC2.
func unmanagedConfig() map[string]string {
	return map[string]string{
		config.KeyManageCluster:      "false",
		config.KeyKubeconfig:         "apiVersion: v1\nkind: Config\n# token: s3cr3t\n",
		config.KeyClusterName:        "local",
		config.KeyStateStore:         "file:///tmp/kops-state",
		config.KeySecurityGroupCheck: "off",
		config.KeyPoliciesDir:        "../policies",
		config.KeyNamespaces:         DemoNamespace,
	}
}

func TestUnmanagedClusterRunsNoKopsAndKeepsKubeconfigSecret(t *testing.T) {
	t.Parallel()
	cfg := unmanagedConfig()
	cfg[config.KeyProbes] = "false"
	rec, outputs, err := runProgram(t, cfg, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.byType(pluginapi.ClusterType)); n != 0 {
		t.Errorf("unmanaged cluster registered %d kops components", n)
	}
	if _, ok := outputs["kubeconfig"]; ok {
		t.Error("an unmanaged cluster's kubeconfig is the user's; it must not be exported")
	}
	prov := rec.one(t, "pulumi:providers:kubernetes")
	if !prov.Inputs["kubeconfig"].IsSecret() {
		t.Error("the provider's kubeconfig input is not secret")
	}
}
