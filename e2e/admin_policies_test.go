package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/internal/policies"
	"github.com/kopscalico/kopscalico/internal/testing/calicocrds"
)

// beyondTheAPIServer are the loader's bad cases (internal/policies/testdata/bad)
// that kube-apiserver, with the CRDs kops installs, accepts: the loader
// refuses them on purpose, each for its reason.
var beyondTheAPIServer = map[string]string{
	"anp-networks-host-bits":   "the CRD checks networks only for ':' xor '.'; the loader holds them to the ipBlock rule",
	"anp-networks-not-cidr":    "the CRD checks networks only for ':' xor '.'; upstream asks implementations to parse them",
	"anp-port-range-backwards": "the CRD has no rule on start < end, which its documentation states",
	"anp-protocol":             "the CRD takes any protocol string; Calico knows TCP, UDP and SCTP",
	"anp-named-port-name":      "the CRD takes any namedPort string; no container port can have that name",
	"anp-selector-operator":    "the CRD does not validate selectors; the evaluator must read them",
	"anp-nodes":                "the reachability model has no nodes",
	"anp-namespace":            "the API server clears the namespace of a cluster-scoped object; a file should not pretend",
	"anp-status":               "the API server drops status on create (status subresource); a file should not hold it",
	"anp-written-by-cluster":   "the API server takes finalizers; a file should not hold them",
	"anp-same-priority":        "upstream leaves the order of equal priorities undefined; the evaluator could not decide",
	"anp-outside-cluster":      "a place in the tree: cluster-scoped objects live in _cluster",
	"cluster-folder-name":      "a place in the tree: _Cluster is neither _cluster nor a namespace",
}

// TestAdminPoliciesAsTheAPIServer installs the CRDs kops installs with Calico
// on the local API server, then creates the objects of each good and each bad
// AdminNetworkPolicy case of the loader's testdata, as the files hold them
// (YAML, strict field validation), deleting them after each case: the API
// server accepts exactly what the loader accepts, but beyondTheAPIServer.
func TestAdminPoliciesAsTheAPIServer(t *testing.T) {
	if os.Getenv(controlplane.EnvRequireE2E) != "1" {
		t.Skip("an end-to-end test: set KOPSCALICO_E2E=1")
	}
	cp := controlplane.Start(t)
	client := cp.Client.Discovery().RESTClient()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	installCRDs(ctx, t, client)

	testdata := filepath.Join("..", "internal", "policies", "testdata")
	if err := createAll(ctx, t, client, filepath.Join(testdata, "good")); err != nil {
		t.Errorf("the API server refused the good tree's cluster policies: %v", err)
	}
	cases, err := os.ReadDir(filepath.Join(testdata, "bad"))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, c := range cases {
		dir := filepath.Join(testdata, "bad", c.Name())
		if len(adminDocuments(t, dir)) == 0 {
			continue // no AdminNetworkPolicy here: the API server has no say
		}
		seen++
		if _, err := policies.Load(dir); err == nil {
			t.Errorf("%s: the loader accepts a bad case", c.Name())
		}
		apiErr := createAll(ctx, t, client, dir)
		reason, beyond := beyondTheAPIServer[c.Name()]
		switch {
		case beyond && apiErr != nil:
			t.Errorf("%s: the API server refuses it too (%v); remove it from beyondTheAPIServer (%s)", c.Name(), apiErr, reason)
		case !beyond && apiErr == nil:
			t.Errorf("%s: the API server accepts what the loader refuses; make the loader accept it, or say why in beyondTheAPIServer", c.Name())
		case apiErr != nil:
			t.Logf("%s: refused by the API server too: %v", c.Name(), apiErr)
		}
	}
	for name := range beyondTheAPIServer {
		if _, err := os.Stat(filepath.Join(testdata, "bad", name)); err != nil {
			t.Errorf("beyondTheAPIServer names %s, which testdata/bad does not have", name)
		}
	}
	if seen < 30 {
		t.Errorf("only %d bad cases with AdminNetworkPolicies; the testdata moved?", seen)
	}
}

// clusterResources are the API paths of the kinds the loader takes in _cluster.
var clusterResources = map[string]string{
	policies.AdminNetworkPolicyKind:         "/apis/policy.networking.k8s.io/v1alpha1/adminnetworkpolicies",
	policies.BaselineAdminNetworkPolicyKind: "/apis/policy.networking.k8s.io/v1alpha1/baselineadminnetworkpolicies",
}

// installCRDs creates every CRD of the template and waits until the API
// server serves AdminNetworkPolicies and BaselineAdminNetworkPolicies.
func installCRDs(ctx context.Context, t *testing.T, client rest.Interface) {
	t.Helper()
	for _, crd := range calicocrds.All(t) {
		body, err := json.Marshal(crd.Object)
		if err != nil {
			t.Fatal(err)
		}
		if err := client.Post().AbsPath("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").
			SetHeader("Content-Type", "application/json").Body(body).Do(ctx).Error(); err != nil {
			t.Fatalf("install the CRD %s: %v", crd.GetName(), err)
		}
	}
	for _, path := range clusterResources {
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			return client.Get().AbsPath(path).Do(ctx).Error() == nil, nil
		})
		if err != nil {
			t.Fatalf("the API server does not serve %s: %v", path, err)
		}
	}
}

// adminDoc is a document of a file, and its kind.
type adminDoc struct{ kind, text string }

// adminDocuments are the documents of the files under dir (in file order)
// that hold an AdminNetworkPolicy or a BaselineAdminNetworkPolicy.
func adminDocuments(t *testing.T, dir string) []adminDoc {
	t.Helper()
	var docs []adminDoc
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, doc := range strings.Split(string(data), "\n---\n") {
			var tm struct{ Kind string }
			if yaml.Unmarshal([]byte(doc), &tm) == nil && clusterResources[tm.Kind] != "" {
				docs = append(docs, adminDoc{tm.Kind, doc})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// createAll creates the AdminNetworkPolicies and BaselineAdminNetworkPolicies
// under dir, in file order, then deletes what it created; it returns the
// API server's refusals.
func createAll(ctx context.Context, t *testing.T, client rest.Interface, dir string) error {
	t.Helper()
	var refused []error
	var created []string
	for _, doc := range adminDocuments(t, dir) {
		path := clusterResources[doc.kind]
		raw, err := client.Post().AbsPath(path).Param("fieldValidation", "Strict").
			SetHeader("Content-Type", "application/yaml").Body([]byte(doc.text)).Do(ctx).Raw()
		if err != nil {
			var status metav1.Status // the API server's reason, beyond the client's summary
			if json.Unmarshal(raw, &status) == nil && status.Message != "" {
				err = errors.New(status.Message)
			}
			refused = append(refused, err)
			continue
		}
		var obj struct{ Metadata struct{ Name string } }
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatal(err)
		}
		created = append(created, path+"/"+obj.Metadata.Name)
	}
	for _, p := range created {
		// Finalizers first, or the object would outlive the case.
		if err := client.Patch(types.MergePatchType).AbsPath(p).Body([]byte(`{"metadata":{"finalizers":null}}`)).Do(ctx).Error(); err != nil {
			t.Fatalf("clear the finalizers of %s: %v", p, err)
		}
		if err := client.Delete().AbsPath(p).Do(ctx).Error(); err != nil && !apierrors.IsNotFound(err) {
			t.Fatalf("delete %s: %v", p, err)
		}
	}
	return errors.Join(refused...)
}
