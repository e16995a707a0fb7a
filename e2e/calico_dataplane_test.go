package e2e_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/infra"
	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/sgcheck/sgchecktest"
	"github.com/kopscalico/kopscalico/internal/testing/calicomanifest"
	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

var (
	ippools    = schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "ippools"}
	configmaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
)

// installKopsCalico puts on the API server what kops's Calico leaves on a
// cluster made with spec: Calico's CRDs, calico-config, the calico-node
// DaemonSet (rolled out on the kwok node) and the pool calico-node creates
// at its first start from the environment kops gave it.
func installKopsCalico(t *testing.T, cp *controlplane.ControlPlane, spec calicomanifest.Spec) dynamic.Interface {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	installCRDs(ctx, t, cp.Client.CoreV1().RESTClient())
	dyn, err := dynamic.NewForConfig(cp.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	objs := calicomanifest.Render(t, spec)
	for _, o := range []struct {
		gvr        schema.GroupVersionResource
		obj        *unstructured.Unstructured
		namespaced bool
	}{
		{schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, calicomanifest.Find(t, objs, "ServiceAccount", "calico-node"), true},
		{configmaps, calicomanifest.Find(t, objs, "ConfigMap", "calico-config"), true},
		{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, calicomanifest.Find(t, objs, "DaemonSet", "calico-node"), true},
		{ippools, calicomanifest.CreatedPool(t, objs), false},
	} {
		var client dynamic.ResourceInterface = dyn.Resource(o.gvr)
		if o.namespaced {
			client = dyn.Resource(o.gvr).Namespace(o.obj.GetNamespace())
		}
		if _, err := client.Create(ctx, o.obj.DeepCopy(), metav1.CreateOptions{}); err != nil {
			t.Fatalf("create %s %s: %v", o.obj.GetKind(), o.obj.GetName(), err)
		}
	}
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		ds, err := cp.Client.AppsV1().DaemonSets("kube-system").Get(ctx, "calico-node", metav1.GetOptions{})
		return err == nil && ds.Status.DesiredNumberScheduled == 1 && ds.Status.NumberAvailable == 1 && ds.Status.UpdatedNumberScheduled == 1, nil
	})
	if err != nil {
		t.Fatalf("calico-node never rolled out on the kwok node: %v", err)
	}
	return dyn
}

// mergePatch applies a JSON merge patch to an object (namespace "" for a
// cluster-scoped one), as the fixes the report names do with kubectl patch.
func mergePatch(t *testing.T, dyn dynamic.Interface, gvr schema.GroupVersionResource, namespace, name string, patch map[string]any) {
	t.Helper()
	body, err := json.Marshal(patch)
	if err != nil {
		t.Fatal(err)
	}
	var res dynamic.ResourceInterface = dyn.Resource(gvr)
	if namespace != "" {
		res = dyn.Resource(gvr).Namespace(namespace)
	}
	if _, err := res.Patch(context.Background(), name, types.MergePatchType, body, metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch %s %s: %v", gvr.Resource, name, err)
	}
}

func dataplaneOutput(t *testing.T, s *pulumitest.Stack) map[string]string {
	t.Helper()
	raw, ok := s.Outputs()["calicoDataplane"]
	if !ok {
		t.Fatal("no calicoDataplane output")
	}
	out := map[string]string{}
	m, _ := raw.Value.(map[string]any)
	for k, v := range m {
		out[k], _ = v.(string)
	}
	return out
}

// dataplaneInState is the CalicoDataplane's recorded summary in the state
// (refresh changes it; the stack outputs change only on up).
func dataplaneInState(t *testing.T, s *pulumitest.Stack) map[string]string {
	t.Helper()
	var dep struct {
		Deployment struct {
			Resources []struct {
				Type    string `json:"type"`
				Outputs struct {
					Summary map[string]string `json:"summary"`
				} `json:"outputs"`
			} `json:"resources"`
		} `json:"deployment"`
	}
	if err := json.Unmarshal([]byte(testfs.Read(t, s.ExportState())), &dep); err != nil {
		t.Fatal(err)
	}
	for _, r := range dep.Deployment.Resources {
		if r.Type == "kopscalico:index:CalicoDataplane" {
			return r.Outputs.Summary
		}
	}
	t.Fatal("no CalicoDataplane in the state")
	return nil
}

func wantRow(t *testing.T, what string, got map[string]string, subject string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(got[subject], want) {
			t.Errorf("%s: calicoDataplane[%q] = %q, lacks %q", what, subject, got[subject], want)
		}
	}
}

// TestCalicoDataplaneThroughTheEngine: a cluster whose Calico kops made
// with ipipMode Always, adopted by a stack that asks for cross-subnet; its
// dataplane read through the API server with Calico's real CRDs. In turn:
//
//   - warn: up records the pool's Always against CrossSubnet with the patch
//     that fixes it, and a preview shows it from the recorded state;
//   - enforce: up fails with the table and the fix, and records nothing;
//   - the pool patched as the fix says: up passes, the pool row is ok;
//   - the pool edited back by hand: refresh shows the drift, and the next
//     preview warns with it;
//   - encapsulation vxlan asked while BIRD runs: the pool first, then the
//     backend; kops's backend switched first (the pool still IP-in-IP):
//     broken, the pool now.
func TestCalicoDataplaneThroughTheEngine(t *testing.T) {
	cp := controlplane.Start(t)
	dyn := installKopsCalico(t, cp, calicomanifest.Spec{EncapsulationMode: "ipip", IPIPMode: "Always", AWSSrcDstCheck: "Disable", ClusterCIDR: controlplane.PodCIDR})

	cfg := localClusterConfig(t, cp)
	cfg[config.FullKey(config.KeySecurityGroupCheck)] = pulumitest.Plain("warn")
	// The built plugin, so its messages reach the engine's output as a
	// user's; EC2 is the security-group check's fake, served.
	ec2 := sgchecktest.Serve(sgchecktest.KopsCluster("calico.e2e.example.com"), "us-east-1")
	t.Cleanup(ec2.Close)
	s := pulumitest.New(t, infra.Program, cfg, pulumitest.Options{Env: ec2.Env()})

	const pool = "pool default-ipv4-ippool"
	s.Up()
	got := dataplaneOutput(t, s)
	wantRow(t, "adopted Always, warn", got, pool, "ipipMode=Always vxlanMode=Never, want ipipMode=CrossSubnet vxlanMode=Never",
		`kubectl patch ippools.crd.projectcalico.org default-ipv4-ippool --type=merge -p '{"spec":{"ipipMode":"CrossSubnet","vxlanMode":"Never"}}'`)
	wantRow(t, "adopted Always, warn", got, "calico-config calico_backend", "ok: bird")
	wantRow(t, "adopted Always, warn", got, "felix awsSrcDstCheck", "ok: Disable (env FELIX_AWSSRCDSTCHECK of ds/calico-node)")
	wantRow(t, "adopted Always, warn", got, "daemonset calico-node", "ok: 1 of 1 updated and available")

	preview := s.Preview().StdOut
	for _, want := range []string{"calico dataplane as last read", "pool default-ipv4-ippool      ipipMode=CrossSubnet vxlanMode=Never  ipipMode=Always vxlanMode=Never", "fix pool default-ipv4-ippool: Calico changes this live"} {
		if !strings.Contains(preview, want) {
			t.Errorf("the preview lacks %q:\n%s", want, preview)
		}
	}
	t.Logf("preview of the adopted Always cluster:\n%s", preview)

	cfg[config.FullKey(config.KeySecurityGroupCheck)] = pulumitest.Plain("enforce")
	s.SetConfig(cfg)
	_, err := s.TryUp()
	if err == nil {
		t.Fatal("enforce passed with the pool on Always")
	}
	for _, want := range []string{"the cluster's Calico is not the one asked for (pool default-ipv4-ippool)", "<- differs", "fix pool default-ipv4-ippool: Calico changes this live"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("enforce error lacks %q:\n%v", want, err)
		}
	}

	mergePatch(t, dyn, ippools, "", "default-ipv4-ippool", map[string]any{"spec": map[string]any{"ipipMode": "CrossSubnet"}})
	s.Up()
	wantRow(t, "pool patched", dataplaneOutput(t, s), pool, "ok: ipipMode=CrossSubnet vxlanMode=Never")

	// A pool edited by hand back to Always: refresh reads it (the state's
	// outputs change), and the next preview warns with it.
	mergePatch(t, dyn, ippools, "", "default-ipv4-ippool", map[string]any{"spec": map[string]any{"ipipMode": "Always"}})
	refreshed := s.Refresh()
	if n := (*refreshed.Summary.ResourceChanges)["update"]; n != 1 {
		t.Errorf("refresh after the hand edit: changes %v, want the dataplane check updated", *refreshed.Summary.ResourceChanges)
	}
	if summary := dataplaneInState(t, s)["pool default-ipv4-ippool"]; !strings.HasPrefix(summary, "ipipMode=Always vxlanMode=Never, want ipipMode=CrossSubnet") {
		t.Errorf("refreshed pool row = %q", summary)
	}
	if preview := s.Preview().StdOut; !strings.Contains(preview, "ipipMode=Always vxlanMode=Never                       <- differs") {
		t.Errorf("the preview after refresh does not warn with the hand edit:\n%s", preview)
	}
	mergePatch(t, dyn, ippools, "", "default-ipv4-ippool", map[string]any{"spec": map[string]any{"ipipMode": "CrossSubnet"}})

	cfg[config.FullKey(config.KeySecurityGroupCheck)] = pulumitest.Plain("warn")
	cfg[config.FullKey(config.KeyEncapsulation)] = pulumitest.Plain("vxlan")
	s.SetConfig(cfg)
	s.Up()
	got = dataplaneOutput(t, s)
	wantRow(t, "vxlan asked, BIRD running", got, pool, "want ipipMode=Never vxlanMode=CrossSubnet",
		"first the pool, while calico_backend bird carries both", "then the backend: kops update cluster --yes writes calico_backend vxlan")
	if strings.HasPrefix(got[pool], "BROKEN") {
		t.Errorf("an IP-in-IP pool under BIRD is reported broken: %s", got[pool])
	}

	// kops's order: the backend switched, the pool left on IP-in-IP.
	mergePatch(t, dyn, configmaps, "kube-system", "calico-config", map[string]any{"data": map[string]any{"calico_backend": "vxlan"}})
	// The check reads again when kops changes the cluster (its revision);
	// here nothing tells it, so the replace the record's docs name.
	s.Up(optup.Replace([]string{"urn:pulumi:e2e::kopscalico::kopscalico:index:CalicoDataplane::calico-dataplane"}))
	got = dataplaneOutput(t, s)
	wantRow(t, "backend switched first", got, pool, "BROKEN: ", "cross-node pod traffic is dropped", "the pool, now: kubectl patch ippools.crd.projectcalico.org default-ipv4-ippool")
	wantRow(t, "backend switched first", got, "calico-config calico_backend", "ok: vxlan")
	s.Destroy()
}
