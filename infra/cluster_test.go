package infra

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
)

func clusterConfig() config.Config {
	return config.Config{
		Project: "kopscalico", Stack: "dev",
		Cluster: config.Cluster{
			Manage: true, Name: "calico.dev.example.com", Region: "eu-west-1",
			Zones: []string{"eu-west-1a", "eu-west-1b"}, ControlPlaneCount: 1, NodeCount: 2,
			ControlPlaneSize: "t3.medium", NodeSize: "t3.medium",
			AdminAccess: []string{"203.0.113.0/24"},
		},
		Kops: config.Kops{Version: "1.34", Binary: "kops", CommandTimeout: 10 * time.Minute, ValidateTimeout: 15 * time.Minute,
			RollingUpdateTimeout: time.Hour, AdminCredentialTTL: 18 * time.Hour},
		StateStore: config.StateStore{Bucket: "dev-kops-state"},
		Calico:     config.Calico{Encapsulation: config.EncapIPIP, AWSSrcDstCheck: "Disable"},
	}
}

// fakeKops answers `kops export kubecfg` by writing a kubeconfig, and
// records every call.
type fakeKops struct {
	mu    sync.Mutex
	calls []string
	kc    string
}

func (f *fakeKops) Run(ctx context.Context, c kops.Command) ([]byte, error) {
	args := c.Args
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, strings.Join(args, " "))
	if len(args) > 1 && args[0] == "export" {
		for i, a := range args {
			if a == "--kubeconfig" {
				return nil, os.WriteFile(args[i+1], []byte(f.kc), 0o600)
			}
		}
	}
	return nil, fmt.Errorf("fakeKops: unexpected kops %s", strings.Join(args, " "))
}

func adminKubeconfig(t *testing.T, name string) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "admin"}, NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(18 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: %[1]s\n  cluster:\n    server: https://api.%[1]s\ncontexts:\n- name: %[1]s\n  context:\n    cluster: %[1]s\n    user: %[1]s\ncurrent-context: %[1]s\nusers:\n- name: %[1]s\n  user:\n    client-certificate-data: %[2]s\n    client-key-data: c2VjcmV0LWtleQ==\n", name, cert)
}

func clusterDryRun(info *pulumi.RunInfo) { info.DryRun = true }

func runCluster(t *testing.T, cfg config.Config, rec pulumi.MockResourceMonitor, runner kops.Runner, preview bool, check func(*KopsCluster)) error {
	t.Helper()
	opts := []pulumi.RunOption{pulumi.WithMocks("kopscalico", cfg.Stack, rec)}
	if preview {
		opts = append(opts, clusterDryRun)
	}
	return pulumi.RunErr(func(ctx *pulumi.Context) error {
		c, err := DeployCluster(ctx, cfg, pulumi.String("s3://dev-kops-state"), func(config.Config, func(string, string)) kops.Runner { return runner })
		if err != nil {
			return err
		}
		if check != nil {
			check(c)
		}
		return nil
	}, opts...)
}

func TestClusterComponentInputsAndHooks(t *testing.T) {
	t.Setenv(EnvWorkdir, t.TempDir())
	rec := &hookRecorder{recorder: &recorder{}}
	err := runCluster(t, clusterConfig(), rec, &fakeKops{}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := rec.one(t, ClusterType)
	if c.Name != "calico.dev.example.com" {
		t.Errorf("component name %q", c.Name)
	}
	for path, want := range map[string]string{
		"name":              "calico.dev.example.com",
		"stateStore":        "s3://dev-kops-state",
		"nodeCount":         "2",
		"controlPlaneCount": "1",
		"kopsVersion":       "1.34",
		"encapsulation":     "ipip",
		"networking":        "calico:\n  awsSrcDstCheck: Disable\n  encapsulationMode: ipip\n  ipipMode: CrossSubnet\n",
		"adminAccess.0":     "203.0.113.0/24",
		"createArgs.5":      "s3://dev-kops-state",
	} {
		if got := propString(t, c.Inputs, strings.Split(path, ".")...); got != want {
			t.Errorf("input %s = %q, want %q", path, got, want)
		}
	}
	args := c.Inputs["createArgs"].ArrayValue()
	var joined []string
	for _, a := range args {
		joined = append(joined, a.StringValue())
	}
	if s := strings.Join(joined, " "); !strings.Contains(s, "--control-plane-count 1") || !strings.Contains(s, "--networking calico") {
		t.Errorf("createArgs = %s", s)
	}
	// The hooks are bound by name (how --run-program finds the delete hook).
	hooks := rec.hooks[ClusterType]
	want := []string{hookBeforeCreate, hookBeforeUpdate, hookBeforeDelete}
	if strings.Join(hooks, ",") != strings.Join(want, ",") {
		t.Errorf("hooks = %v, want %v", hooks, want)
	}
}

func TestClusterPreviewRunsNoKops(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(EnvWorkdir, dir)
	cfg := clusterConfig()
	f := &fakeKops{kc: adminKubeconfig(t, cfg.Cluster.Name)}
	var known bool
	err := runCluster(t, cfg, &recorder{}, f, true, func(c *KopsCluster) {
		c.Kubeconfig.ApplyT(func(s string) string { known = true; return s })
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.calls) != 0 || known {
		t.Errorf("preview without a cached kubeconfig: kops calls %v, kubeconfig known %v; want none and unknown", f.calls, known)
	}
	// With a cached kubeconfig the preview shows it (still no kops).
	path := KubeconfigPath(cfg)
	os.MkdirAll(dir+"/dev", 0o700)
	os.WriteFile(path, []byte(f.kc), 0o600)
	var got string
	var secret bool
	err = runCluster(t, cfg, &recorder{}, f, true, func(c *KopsCluster) {
		got = await[string](t, c.Kubeconfig)
		secret = isSecret(t, c.Kubeconfig)
	})
	if err != nil || got != f.kc || !secret || len(f.calls) != 0 {
		t.Errorf("cached preview: err %v, same %v, secret %v, calls %v", err, got == f.kc, secret, f.calls)
	}
}

func TestClusterKubeconfigExportedOnceThenReused(t *testing.T) {
	t.Setenv(EnvWorkdir, t.TempDir())
	cfg := clusterConfig()
	f := &fakeKops{kc: adminKubeconfig(t, cfg.Cluster.Name)}
	var first, second string
	for i, dst := range []*string{&first, &second} {
		err := runCluster(t, cfg, &recorder{}, f, false, func(c *KopsCluster) {
			if !isSecret(t, c.Kubeconfig) {
				t.Error("kubeconfig output is not secret")
			}
			*dst = await[string](t, c.Kubeconfig)
		})
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	if first != f.kc || second != first {
		t.Error("kubeconfig content differs from the export or between runs")
	}
	if len(f.calls) != 1 || !strings.HasPrefix(f.calls[0], "export kubecfg calico.dev.example.com --admin=18h0m0s --kubeconfig ") {
		t.Errorf("kops calls %q; want one export", f.calls)
	}
}

func TestClusterRefusesWorldOpenAccess(t *testing.T) {
	cfg := clusterConfig()
	cfg.Cluster.SSHAccess = []string{"0.0.0.0/0"}
	rec := &recorder{}
	err := runCluster(t, cfg, rec, &fakeKops{}, true, nil)
	if err == nil || !strings.Contains(err.Error(), "kopscalico:allowWorldAccess") {
		t.Errorf("err = %v", err)
	}
	if len(rec.byType(ClusterType)) != 0 {
		t.Error("component registered despite the bad config")
	}
}

func isSecret(t *testing.T, o pulumi.Output) bool {
	t.Helper()
	return pulumi.IsSecret(o)
}

// hookRecorder is the recorder plus the hook names bound to each resource.
type hookRecorder struct {
	*recorder
	mu    sync.Mutex
	hooks map[string][]string
}

func (h *hookRecorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	if rpc := args.RegisterRPC; rpc != nil && rpc.GetHooks() != nil {
		hb := rpc.GetHooks()
		h.mu.Lock()
		if h.hooks == nil {
			h.hooks = map[string][]string{}
		}
		h.hooks[args.TypeToken] = append(append(append([]string{}, hb.GetBeforeCreate()...), hb.GetBeforeUpdate()...), hb.GetBeforeDelete()...)
		h.mu.Unlock()
	}
	return h.recorder.NewResource(args)
}

func TestDesiredFromInputsUnwrapsSecrets(t *testing.T) {
	props := resource.PropertyMap{
		"name":       resource.NewStringProperty("calico.dev.example.com"),
		"stateStore": resource.MakeSecret(resource.NewStringProperty("s3://dev-kops-state")),
		"nodeCount":  resource.NewNumberProperty(3),
		"zones":      resource.NewArrayProperty([]resource.PropertyValue{resource.NewStringProperty("eu-west-1a")}),
	}
	d, err := desiredFromInputs(props)
	if err != nil {
		t.Fatal(err)
	}
	if d.StateStore != "s3://dev-kops-state" || d.NodeCount != 3 || len(d.Zones) != 1 || d.Name != "calico.dev.example.com" {
		t.Errorf("decoded %+v", d)
	}
	if _, err := desiredFromInputs(nil); err == nil {
		t.Error("nil inputs accepted")
	}
}
