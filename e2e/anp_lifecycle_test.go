package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/rest"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/infra"
	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/policies"
	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

// The _cluster/ files of TestAdminPoliciesLifecycle: every field the CRDs
// default is written out, so the objects read back equal the files.
const (
	anpYAML = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: deny-metadata-service
spec:
  priority: 10
  subject:
    namespaces: {}
  egress:
    - name: no-instance-metadata
      action: Deny
      to:
        - networks: [169.254.169.254/32]
      ports:
        - portNumber: {protocol: TCP, port: 80}
  ingress:
    - action: Pass
      from:
        - pods:
            namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ns-1}}
            podSelector: {matchLabels: {app: busybox}}
`
	banpYAML = `apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata:
  name: default
spec:
  subject:
    namespaces: {matchLabels: {kubernetes.io/metadata.name: ns-1}}
  ingress:
    - name: deny-other-namespaces
      action: Deny
      from:
        - namespaces:
            matchExpressions:
              - {key: kubernetes.io/metadata.name, operator: NotIn, values: [ns-1]}
`
)

// TestAdminPoliciesLifecycle drives infra.Program on the local API server
// with the ANP and BANP CRDs kops installs with Calico (from kops's template),
// on an existing cluster (manageCluster=false), and a policies tree with a
// _cluster/ folder holding an AdminNetworkPolicy and the baseline:
//
//   - up creates both, and the objects read back match the files;
//   - a second preview changes nothing;
//   - removing the AdminNetworkPolicy's file deletes only it;
//   - destroy deletes the baseline.
func TestAdminPoliciesLifecycle(t *testing.T) {
	if os.Getenv(controlplane.EnvRequireE2E) != "1" {
		t.Skip("an end-to-end test: set KOPSCALICO_E2E=1")
	}
	cp := controlplane.Start(t)
	client := cp.Client.Discovery().RESTClient()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	installCRDs(ctx, t, client)
	anpPath, banpPath := clusterResources[policies.AdminNetworkPolicyKind], clusterResources[policies.BaselineAdminNetworkPolicyKind]

	dir := filepath.Join(t.TempDir(), "policies")
	testfs.Copy(t, filepath.Join("..", "policies", "ns-1"), filepath.Join(dir, "ns-1"))
	anpFile := filepath.Join(dir, policies.ClusterFolder, "deny-metadata-service.yaml")
	testfs.Write(t, anpFile, anpYAML)
	testfs.Write(t, filepath.Join(dir, policies.ClusterFolder, "baseline.yaml"), banpYAML)
	cfg := localClusterConfig(t, cp)
	cfg[config.FullKey(config.KeyPoliciesDir)] = pulumitest.Plain(dir)
	s := pulumitest.New(t, infra.Program, cfg)

	s.Up()
	set, err := policies.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.AdminPolicies) != 1 || set.Baseline == nil {
		t.Fatalf("the loader read %d AdminNetworkPolicies and baseline %v from _cluster/", len(set.AdminPolicies), set.Baseline)
	}
	assertServerSpec(ctx, t, client, anpPath+"/deny-metadata-service", set.AdminPolicies[0].Object.Spec)
	assertServerSpec(ctx, t, client, banpPath+"/default", set.Baseline.Object.Spec)

	s.Preview(optpreview.ExpectNoChanges())

	if err := os.Remove(anpFile); err != nil {
		t.Fatal(err)
	}
	assertUpChanges(t, "remove the AdminNetworkPolicy's file", s.Up(), map[string]int{"delete": 1})
	if err := client.Get().AbsPath(anpPath + "/deny-metadata-service").Do(ctx).Error(); !apierrors.IsNotFound(err) {
		t.Errorf("the AdminNetworkPolicy of the removed file: err = %v, want NotFound", err)
	}
	assertServerSpec(ctx, t, client, banpPath+"/default", set.Baseline.Object.Spec)

	s.Destroy()
	if err := client.Get().AbsPath(banpPath + "/default").Do(ctx).Error(); !apierrors.IsNotFound(err) {
		t.Errorf("the baseline after destroy: err = %v, want NotFound", err)
	}
}

// assertServerSpec reads the object at path and compares its spec, as JSON,
// with want (the file's, as the loader read it).
func assertServerSpec(ctx context.Context, t *testing.T, client rest.Interface, path string, want any) {
	t.Helper()
	raw, err := client.Get().AbsPath(path).Do(ctx).Raw()
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	var got struct{ Spec json.RawMessage }
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	// Both sides through the typed spec, so key order and omitted fields agree.
	spec := reflect.New(reflect.TypeOf(want)).Interface()
	if err := json.Unmarshal(got.Spec, spec); err != nil {
		t.Fatalf("%s: spec: %v", path, err)
	}
	g, _ := json.Marshal(spec)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s on the server differs from its file:\nserver: %s\nfile:   %s", path, g, w)
	}
}
