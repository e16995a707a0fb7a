package e2e_test

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/infra"
	"github.com/kopscalico/kopscalico/internal/testing/kubeconfigtest"
)

// localClusterConfig is the stack config that runs the Kubernetes half of
// infra.Program against cp: an existing cluster (kubeconfig), an existing
// state store (no bucket), and nothing that needs AWS.
func localClusterConfig(t *testing.T, cp *controlplane.ControlPlane) pulumitest.Config {
	t.Helper()
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	return pulumitest.Config{
		"kopscalico:manageCluster":      pulumitest.Plain("false"),
		"kopscalico:kubeconfig":         pulumitest.Secret(string(cp.KubeconfigBytes())),
		"kopscalico:clusterName":        pulumitest.Plain("calico.e2e.example.com"),
		"kopscalico:region":             pulumitest.Plain("us-east-1"),
		"kopscalico:zones":              pulumitest.Plain(`["us-east-1a"]`),
		"kopscalico:adminAccess":        pulumitest.Plain(`["203.0.113.0/24"]`),
		"kopscalico:kopsVersion":        pulumitest.Plain("1.34"),
		"kopscalico:stateStore":         pulumitest.Plain("file://" + store),
		"kopscalico:securityGroupCheck": pulumitest.Plain("off"),
		"kopscalico:probes":             pulumitest.Plain("false"),
		// The inline program runs in this test binary, whose working
		// directory is e2e/: point it at the repository's policies.
		"kopscalico:policiesDir": pulumitest.Plain(filepath.Join(root, "policies")),
		"kopscalico:namespaces":  pulumitest.Plain("ns-1"),
	}
}

// TestProgramUpPreviewDestroy runs infra.Program on the local control plane:
// up deploys ns-1 and its NetworkPolicies, a second preview wants no change,
// the state keeps the kubeconfig encrypted, and destroy removes ns-1.
func TestProgramUpPreviewDestroy(t *testing.T) {
	cp := controlplane.Start(t)
	cfg := localClusterConfig(t, cp)
	s := pulumitest.New(t, infra.Program, cfg)
	ctx := context.Background()

	s.Up()
	if _, err := cp.Client.CoreV1().Namespaces().Get(ctx, "ns-1", metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace ns-1 after up: %v", err)
	}
	nps, err := cp.Client.NetworkingV1().NetworkPolicies("ns-1").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nps.Items) == 0 {
		t.Errorf("no NetworkPolicy in ns-1 after up")
	}

	s.Preview(optpreview.ExpectNoChanges())

	state, err := os.ReadFile(s.ExportState())
	if err != nil {
		t.Fatal(err)
	}
	for _, secretPart := range kubeconfigSecrets(t, cp.KubeconfigBytes()) {
		if strings.Contains(string(state), secretPart) {
			t.Errorf("exported state holds kubeconfig material in plaintext (%.16s...)", secretPart)
		}
	}

	s.Destroy()
	if _, err := cp.Client.CoreV1().Namespaces().Get(ctx, "ns-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace ns-1 after destroy: err = %v, want NotFound", err)
	}
}

// kubeconfigSecrets returns the base64 blobs of a kubeconfig's client
// certificate and key, as they appear in the file.
func kubeconfigSecrets(t *testing.T, kubeconfig []byte) []string {
	t.Helper()
	var out []string
	user := kubeconfigtest.Parse(t, kubeconfig).User
	for _, b := range [][]byte{user.ClientCertificateData, user.ClientKeyData} {
		if len(b) > 0 {
			out = append(out, base64.StdEncoding.EncodeToString(b))
		}
	}
	return out
}
