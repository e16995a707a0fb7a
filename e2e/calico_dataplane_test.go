package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
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
	"github.com/kopscalico/kopscalico/internal/dataplane"
	"github.com/kopscalico/kopscalico/internal/sgcheck/sgchecktest"
	"github.com/kopscalico/kopscalico/internal/testing/calicomanifest"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

// dataplaneURN is the CalicoDataplane's URN in the e2e stack.
const dataplaneURN = "urn:pulumi:e2e::kopscalico::kopscalico:index:CalicoDataplane::calico-dataplane"

var (
	ippools      = schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "ippools"}
	felixConfigs = schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "felixconfigurations"}
	configmaps   = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
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
	waitRolledOut(t, cp)
	return dyn
}

// waitRolledOut waits until calico-node runs and is available on the kwok
// node. kwok does not mark a pod Ready again once the node lifecycle
// controller marked it NotReady (a node heartbeat late on a loaded machine),
// so a pod not available within 20s is restarted once, as a kubelet would
// report it again.
func waitRolledOut(t *testing.T, cp *controlplane.ControlPlane) {
	t.Helper()
	rolledOut := func(ctx context.Context) (bool, error) {
		ds, err := cp.Client.AppsV1().DaemonSets("kube-system").Get(ctx, "calico-node", metav1.GetOptions{})
		return err == nil && ds.Status.DesiredNumberScheduled == 1 && ds.Status.NumberAvailable == 1 && ds.Status.UpdatedNumberScheduled == 1, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, rolledOut) == nil {
		return
	}
	bg := context.Background()
	if err := cp.Client.CoreV1().Pods("kube-system").DeleteCollection(bg, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "k8s-app=calico-node"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(bg, time.Minute)
	defer cancel()
	if err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, rolledOut); err != nil {
		t.Fatalf("calico-node never rolled out on the kwok node: %v", err)
	}
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
//   - warn: up records the pool's Always against CrossSubnet with its fix,
//     and the next preview shows it and the pool patch the update makes;
//   - enforce: that up patches the pool (server-side apply, field manager
//     kopscalico) and passes;
//   - the pool edited back by hand: refresh shows the drift, the next
//     preview plans the patch again, and up makes it;
//   - calico_backend switched by hand: no patch fixes it, enforce fails with
//     the table;
//   - a FelixConfiguration turning IP-in-IP off: broken, enforce fails
//     naming the setting and its fix;
//   - encapsulation vxlan asked: the pool is not patched across overlays,
//     the report gives the order (the pool first while BIRD carries both).
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
	const patch = "ippools.crd.projectcalico.org default-ipv4-ippool: ipipMode=Always vxlanMode=Never -> ipipMode=CrossSubnet vxlanMode=Never"
	s.Up()
	got := dataplaneOutput(t, s)
	wantRow(t, "adopted Always, warn", got, pool, "ipipMode=Always vxlanMode=Never, want ipipMode=CrossSubnet vxlanMode=Never",
		"pulumi up patches it once calico-node has rolled out",
		`kubectl patch ippools.crd.projectcalico.org default-ipv4-ippool --type=merge -p '{"spec":{"ipipMode":"CrossSubnet","vxlanMode":"Never"}}'`)
	wantRow(t, "adopted Always, warn", got, "calico-config calico_backend", "ok: bird")
	wantRow(t, "adopted Always, warn", got, "felix awsSrcDstCheck", "ok: Disable (env FELIX_AWSSRCDSTCHECK of ds/calico-node)")
	wantRow(t, "adopted Always, warn", got, "felix ipipMTU", "ok: 0 (env FELIX_IPINIPMTU of ds/calico-node, from calico-config veth_mtu)")
	wantRow(t, "adopted Always, warn", got, "felix ipipEnabled", "ok: (none) (Felix's default)")
	wantRow(t, "adopted Always, warn", got, "felix bpfEnabled", "ok: false (env FELIX_BPFENABLED of ds/calico-node)")
	wantRow(t, "adopted Always, warn", got, "felix chainInsertMode", "ok: insert (env FELIX_CHAININSERTMODE of ds/calico-node)")
	wantRow(t, "adopted Always, warn", got, "felix wireguardEnabled", "ok: false (env FELIX_WIREGUARDENABLED of ds/calico-node)")
	wantRow(t, "adopted Always, warn", got, "daemonset calico-node", "ok: 1 of 1 updated and available")
	if mode := poolMode(t, dyn); mode != "Always" {
		t.Errorf("create patched the pool (ipipMode %s): only an update its preview showed may", mode)
	}

	cfg[config.FullKey(config.KeySecurityGroupCheck)] = pulumitest.Plain("enforce")
	s.SetConfig(cfg)
	preview := s.Preview().StdOut
	for _, want := range []string{"calico dataplane as last read", "pool default-ipv4-ippool      ipipMode=CrossSubnet vxlanMode=Never  ipipMode=Always vxlanMode=Never",
		"the update patches (server-side apply, field manager kopscalico; calico-node has rolled out)", patch} {
		if !strings.Contains(preview, want) {
			t.Errorf("the preview lacks %q:\n%s", want, preview)
		}
	}
	t.Logf("preview of the adopted Always cluster:\n%s", preview)
	// The patch waits for calico-node's rollout (enforce fails until then).
	waitRolledOut(t, cp)
	s.Up()
	wantRow(t, "pool patched", dataplaneOutput(t, s), pool, "ok: ipipMode=CrossSubnet vxlanMode=Never")
	if mode := poolMode(t, dyn); mode != "CrossSubnet" {
		t.Errorf("the pool's ipipMode after up = %s, want CrossSubnet", mode)
	}
	if !appliedBy(t, dyn, "kopscalico") {
		t.Error("the pool has no server-side apply entry of field manager kopscalico")
	}

	// A pool edited by hand back to Always: refresh reads it (the state's
	// outputs change), the next preview plans the patch again, up makes it.
	mergePatch(t, dyn, ippools, "", "default-ipv4-ippool", map[string]any{"spec": map[string]any{"ipipMode": "Always"}})
	// Only the check: a refresh of the demo Deployments on kwok can record
	// them unavailable, and the next up would wait for them.
	// The patch is planned only from a reading with calico-node rolled out.
	waitRolledOut(t, cp)
	refreshed := s.Refresh(optrefresh.Target([]string{dataplaneURN}))
	if n := (*refreshed.Summary.ResourceChanges)["update"]; n != 1 {
		t.Errorf("refresh after the hand edit: changes %v, want the dataplane check updated", *refreshed.Summary.ResourceChanges)
	}
	if summary := dataplaneInState(t, s)[pool]; !strings.HasPrefix(summary, "ipipMode=Always vxlanMode=Never, want ipipMode=CrossSubnet") {
		t.Errorf("refreshed pool row = %q", summary)
	}
	if preview := s.Preview().StdOut; !regexp.MustCompile(`ipipMode=Always vxlanMode=Never +<- differs`).MatchString(preview) || !strings.Contains(preview, patch) {
		t.Errorf("the preview after refresh does not warn with the hand edit and plan its patch:\n%s", preview)
	}
	waitRolledOut(t, cp)
	s.Up()
	if mode := poolMode(t, dyn); mode != "CrossSubnet" {
		t.Errorf("the pool's ipipMode after the hand edit and up = %s, want CrossSubnet", mode)
	}

	// kops's backend switched under the IP-in-IP pool: no patch fixes it.
	// The check reads again when kops changes the cluster (its revision);
	// here nothing tells it, so the replace the record's docs name.
	replace := optup.Replace([]string{dataplaneURN})
	mergePatch(t, dyn, configmaps, "kube-system", "calico-config", map[string]any{"data": map[string]any{"calico_backend": "vxlan"}})
	// kwok's calico-node pod may read unavailable on a loaded machine (a
	// late node heartbeat), which the error then lists after the rows that
	// matter here.
	waitRolledOut(t, cp)
	_, err := s.TryUp(replace)
	if err == nil {
		t.Fatal("enforce passed with calico_backend vxlan under an IP-in-IP pool")
	}
	for _, want := range []string{"the cluster's Calico is not the one asked for (pool default-ipv4-ippool, calico-config calico_backend", "<- broken", "fix calico-config calico_backend"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("enforce error lacks %q:\n%v", want, err)
		}
	}
	mergePatch(t, dyn, configmaps, "kube-system", "calico-config", map[string]any{"data": map[string]any{"calico_backend": "bird"}})

	// Felix's own object turns IP-in-IP off, where calico-node's env sets
	// nothing: broken, and no patch of the plugin's fixes it.
	off := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "crd.projectcalico.org/v1", "kind": "FelixConfiguration",
		"metadata": map[string]any{"name": "default"}, "spec": map[string]any{"ipipEnabled": false}}}
	if _, err := dyn.Resource(felixConfigs).Create(context.Background(), off, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitRolledOut(t, cp)
	_, err = s.TryUp(replace)
	if err == nil {
		t.Fatal("enforce passed with the FelixConfiguration's ipipEnabled false")
	}
	for _, want := range []string{"the cluster's Calico is not the one asked for (felix ipipEnabled", "<- broken", `fix felix ipipEnabled: kubectl patch felixconfigurations.crd.projectcalico.org default --type=json -p '[{"op":"remove","path":"/spec/ipipEnabled"}]'`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("enforce error lacks %q:\n%v", want, err)
		}
	}
	if err := dyn.Resource(felixConfigs).Delete(context.Background(), "default", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// vxlan asked of this IP-in-IP cluster: another overlay is a migration,
	// never a patch.
	cfg[config.FullKey(config.KeySecurityGroupCheck)] = pulumitest.Plain("warn")
	cfg[config.FullKey(config.KeyEncapsulation)] = pulumitest.Plain("vxlan")
	s.SetConfig(cfg)
	s.Up(replace)
	got = dataplaneOutput(t, s)
	wantRow(t, "vxlan asked, BIRD running", got, pool, "want ipipMode=Never vxlanMode=CrossSubnet",
		"first the pool, while calico_backend bird carries both", "then the backend: kops update cluster --yes writes calico_backend vxlan")
	if mode := poolMode(t, dyn); mode != "CrossSubnet" {
		t.Errorf("vxlan asked: the pool's ipipMode = %s, want it left CrossSubnet", mode)
	}
	s.Destroy()
}

// poolMode is the default pool's ipipMode as the API server has it.
func poolMode(t *testing.T, dyn dynamic.Interface) string {
	t.Helper()
	p, err := dyn.Resource(ippools).Get(context.Background(), "default-ipv4-ippool", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mode, _, _ := unstructured.NestedString(p.Object, "spec", "ipipMode")
	return mode
}

// appliedBy says whether a field manager server-side applied the default
// pool.
func appliedBy(t *testing.T, dyn dynamic.Interface, manager string) bool {
	t.Helper()
	p, err := dyn.Resource(ippools).Get(context.Background(), "default-ipv4-ippool", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range p.GetManagedFields() {
		if m.Manager == manager && m.Operation == metav1.ManagedFieldsOperationApply {
			return true
		}
	}
	return false
}

// TestCalicoDataplaneOverlayMigrationRefused: a cluster the stack made with
// IP-in-IP (kops, the double), then encapsulation vxlan asked. Calico
// documents no order for that migration (dataplane.OverlayDocs), so preview
// and up refuse it before anything runs (no mutating kops command), naming
// the steps by hand and the page.
func TestCalicoDataplaneOverlayMigrationRefused(t *testing.T) {
	cp := controlplane.Start(t)
	store := kopsdouble.NewStore(t, "1.34.2")
	store.SetKubeconfig(t, cp.KubeconfigBytes())
	cfg := localClusterConfig(t, cp)
	delete(cfg, "kopscalico:manageCluster")
	delete(cfg, "kopscalico:kubeconfig")
	cfg["kopscalico:clusterName"] = pulumitest.Plain(kopsClusterName)
	cfg["kopscalico:zones"] = pulumitest.Plain(`["us-east-1a","us-east-1b"]`)
	cfg["kopscalico:kopsBinary"] = pulumitest.Plain(store.Bin)
	cfg["kopscalico:stateStore"] = pulumitest.Plain(store.URL())
	cfg["kopscalico:clusterProtect"] = pulumitest.Plain("false")
	s := pulumitest.New(t, infra.Program, cfg, pulumitest.Options{Env: map[string]string{"PATH": filepath.Dir(store.Bin) + string(os.PathListSeparator) + "/usr/bin:/bin"}})
	s.Up()

	cfg[config.FullKey(config.KeyEncapsulation)] = pulumitest.Plain("vxlan")
	s.SetConfig(cfg)
	before := len(store.Calls(t))
	_, previewErr := s.TryPreview()
	_, upErr := s.TryUp()
	for what, err := range map[string]error{"preview": previewErr, "up": upErr} {
		if err == nil {
			t.Errorf("%s: ipip -> vxlan not refused", what)
			continue
		}
		for _, want := range []string{"has Calico encapsulationMode ipip in its spec: refusing to switch it to vxlan", "1. the pool, while BIRD carries both", "2. the backend: kops edit cluster", dataplane.OverlayDocs} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: the refusal lacks %q:\n%v", what, want, err)
			}
		}
	}
	if m := kopsdouble.Mutating(store.Calls(t)[before:]); len(m) != 0 {
		t.Errorf("the refused change ran kops: %v", kopsdouble.Commands(m))
	}
	cfg[config.FullKey(config.KeyEncapsulation)] = pulumitest.Plain("ipip")
	s.SetConfig(cfg)
	s.Destroy()
}
