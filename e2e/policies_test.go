package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/infra"
	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/policies"
	"github.com/kopscalico/kopscalico/internal/probe/probetest"
	"github.com/kopscalico/kopscalico/internal/provider"
	"github.com/kopscalico/kopscalico/internal/sgcheck"
	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

// TestPoliciesLifecycle drives infra.Program against the real API server of
// the local control plane, on an existing cluster (manageCluster=false), with
// a temp copy of policies/ so the test can edit and remove files:
//
//   - a bad policy file fails `up` before anything is created;
//   - up creates the namespace, the demo workloads and the policies, and the
//     objects read back from the API server match the YAML;
//   - a second up changes nothing;
//   - editing one policy file updates only that policy;
//   - removing a file deletes only that policy;
//   - destroy removes the namespace.
//
// Probes are off: without a kubelet no probe Job can run here (their
// rendering and verdicts are tested in internal/probe and infra).
func TestPoliciesLifecycle(t *testing.T) {
	cp := controlplane.Start(t)
	ctx := context.Background()

	work := t.TempDir()
	policiesDir := filepath.Join(work, "policies")
	testfs.Copy(t, filepath.Join("..", "policies", "ns-1"), filepath.Join(policiesDir, "ns-1"))
	badDir := filepath.Join(work, "bad-policies")
	testfs.Copy(t, filepath.Join("..", "policies", "ns-1"), filepath.Join(badDir, "ns-1"))
	testfs.Write(t, filepath.Join(badDir, "ns-1", "allow.yaml"),
		strings.Replace(testfs.Read(t, filepath.Join(badDir, "ns-1", "allow.yaml")), "namespace: ns-1", "namespace: ns-2", 1))

	cfg := localClusterConfig(t, cp)
	cfg[config.FullKey(config.KeyPoliciesDir)] = pulumitest.Plain(badDir)
	s := pulumitest.New(t, infra.Program, cfg)

	// A bad policy file: refused, naming the file and the field, and
	// nothing created.
	if _, err := s.TryUp(); err == nil {
		t.Fatal("up accepted a policy whose namespace does not match its folder")
	} else if want := `allow.yaml": metadata.namespace "ns-2" does not match its folder "ns-1"`; !strings.Contains(err.Error(), want) {
		t.Errorf("up error does not name the file and field (%q):\n%v", want, err)
	}
	if _, err := cp.Client.CoreV1().Namespaces().Get(ctx, "ns-1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace ns-1 after the refused up: err = %v, want NotFound", err)
	}
	if n := kubernetesResourcesInState(t, s); n != 0 {
		t.Errorf("the refused up left %d Kubernetes resources in the state, want 0", n)
	}

	// First up: namespace, workloads, policies.
	s.SetConfig(pulumitest.Config{config.FullKey(config.KeyPoliciesDir): pulumitest.Plain(policiesDir)})
	s.Up()
	if _, err := cp.Client.CoreV1().Namespaces().Get(ctx, "ns-1", metav1.GetOptions{}); err != nil {
		t.Fatalf("namespace ns-1: %v", err)
	}
	for _, d := range []string{"http-echo", "busybox"} {
		if _, err := cp.Client.AppsV1().Deployments("ns-1").Get(ctx, d, metav1.GetOptions{}); err != nil {
			t.Errorf("Deployment ns-1/%s: %v", d, err)
		}
	}
	if svc, err := cp.Client.CoreV1().Services("ns-1").Get(ctx, "http-echo", metav1.GetOptions{}); err != nil {
		t.Errorf("Service ns-1/http-echo: %v", err)
	} else if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 80 {
		t.Errorf("Service ports = %+v, want 80", svc.Spec.Ports)
	}
	assertPoliciesMatchYAML(t, cp.Client, policiesDir)
	versions := policyVersions(t, cp.Client)

	// Second up: nothing to do.
	s.Preview(optpreview.ExpectNoChanges())
	assertUpChanges(t, "second up", s.Up(), map[string]int{})

	// Edit one policy: only it is updated.
	allow := filepath.Join(policiesDir, "ns-1", "allow.yaml")
	testfs.Write(t, allow, testfs.Read(t, allow)+"      ports:\n        - protocol: TCP\n          port: 5678\n")
	assertUpChanges(t, "edit allow.yaml", s.Up(), map[string]int{"update": 1})
	assertPoliciesMatchYAML(t, cp.Client, policiesDir)
	after := policyVersions(t, cp.Client)
	for name, v := range versions {
		if changed := after[name] != v; changed != (name == "allow") {
			t.Errorf("after editing allow.yaml, %s changed=%v (resourceVersion %s -> %s)", name, changed, v, after[name])
		}
	}

	// Remove one file: only its policy is deleted.
	if err := os.Remove(filepath.Join(policiesDir, "ns-1", "deny-egress-except-dns-and-namespace.yaml")); err != nil {
		t.Fatal(err)
	}
	assertUpChanges(t, "remove a file", s.Up(), map[string]int{"delete": 1})
	if _, err := cp.Client.NetworkingV1().NetworkPolicies("ns-1").Get(ctx, "deny-egress-except-dns-and-namespace", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("removed policy still there: err = %v", err)
	}
	assertPoliciesMatchYAML(t, cp.Client, policiesDir)

	// Destroy: the namespace goes, with everything in it.
	s.Destroy()
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err := wait.PollUntilContextCancel(waitCtx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := cp.Client.CoreV1().Namespaces().Get(ctx, "ns-1", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Errorf("namespace ns-1 still exists after destroy: %v", err)
	}
}

// assertPoliciesMatchYAML loads dir with the program's own loader and checks
// the API server holds exactly those policies, with those specs.
func assertPoliciesMatchYAML(t *testing.T, client kubernetes.Interface, dir string) {
	t.Helper()
	set, err := policies.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, n := range set.Namespaces {
		got, err := client.CoreV1().Namespaces().Get(ctx, n.Object.Name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("%s: namespace %s: %v", n.File, n.Object.Name, err)
			continue
		}
		for k, v := range n.Object.Labels {
			if got.Labels[k] != v {
				t.Errorf("%s: namespace label %s = %q on the server, want %q", n.File, k, got.Labels[k], v)
			}
		}
	}
	want := map[string]networkingv1.NetworkPolicy{}
	for _, p := range set.Policies {
		want[p.Object.Name] = p.Object
	}
	list, err := client.NetworkingV1().NetworkPolicies("ns-1").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != len(want) {
		var names []string
		for _, p := range list.Items {
			names = append(names, p.Name)
		}
		t.Errorf("server has policies %v, the YAML %d", names, len(want))
	}
	for _, got := range list.Items {
		w, ok := want[got.Name]
		if !ok {
			t.Errorf("server has policy %s that no file defines", got.Name)
			continue
		}
		if g, e := policySpecJSON(t, got.Spec), policySpecJSON(t, w.Spec); g != e {
			t.Errorf("policy %s on the server differs from its YAML:\nserver: %s\nyaml:   %s", got.Name, g, e)
		}
		for k, v := range w.Labels {
			if got.Labels[k] != v {
				t.Errorf("policy %s label %s = %q, want %q", got.Name, k, got.Labels[k], v)
			}
		}
	}
}

func policySpecJSON(t *testing.T, spec networkingv1.NetworkPolicySpec) string {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func policyVersions(t *testing.T, client kubernetes.Interface) map[string]string {
	t.Helper()
	list, err := client.NetworkingV1().NetworkPolicies("ns-1").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range list.Items {
		out[p.Name] = p.ResourceVersion
	}
	return out
}

// assertChanges checks an up's summary: want lists the non-"same" operations
// expected (e.g. {"update": 1}); any other operation fails.
func assertUpChanges(t *testing.T, what string, res auto.UpResult, want map[string]int) {
	t.Helper()
	if res.Summary.ResourceChanges == nil {
		t.Errorf("%s: no resource changes in the summary", what)
		return
	}
	got := map[string]int{}
	for op, n := range *res.Summary.ResourceChanges {
		if op != "same" && n != 0 {
			got[op] = n
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s: changes %v, want %v", what, got, want)
		return
	}
	for op, n := range want {
		if got[op] != n {
			t.Errorf("%s: changes %v, want %v", what, got, want)
			return
		}
	}
}

// kubernetesResourcesInState counts the Kubernetes objects (not providers)
// in the stack's state.
func kubernetesResourcesInState(t *testing.T, s *pulumitest.Stack) int {
	t.Helper()
	n := 0
	for _, typ := range typesInState(t, s) {
		if strings.HasPrefix(typ, "kubernetes:") {
			n++
		}
	}
	return n
}

// typesInState is the type of each resource in the stack's state.
func typesInState(t *testing.T, s *pulumitest.Stack) []string {
	t.Helper()
	var dep struct {
		Deployment struct {
			Resources []struct {
				Type string `json:"type"`
			} `json:"resources"`
		} `json:"deployment"`
	}
	if err := json.Unmarshal([]byte(testfs.Read(t, s.ExportState())), &dep); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range dep.Deployment.Resources {
		out = append(out, r.Type)
	}
	return out
}

// TestProbesThroughTheEngine: probes on, through the real engine, the
// Kubernetes provider and the kopscalico provider served in this process.
// kwok completes the probe Jobs (no container runs here, so there is no
// log); the probe reader finds their pods through the API server and plays
// recorded logs. In turn:
//
//   - a disagreeing verdict fails `up` with the table, and nothing is
//     recorded;
//   - the probe pods gone before any verdict was recorded: `up` fails with the
//     `pulumi up --replace` of the probe Jobs, and following it passes;
//   - an unchanged stack previews no change, in resources or outputs;
//   - the probe pods gone after a passing up (issue 14: a roll, pod GC): the
//     next up passes, changes nothing and reads nothing;
//   - a policy edit replaces the probe Jobs, so they run and are read again.
func TestProbesThroughTheEngine(t *testing.T) {
	cp := controlplane.Start(t)
	ctx := context.Background()
	work := t.TempDir()
	policiesDir := filepath.Join(work, "policies")
	testfs.Copy(t, filepath.Join("..", "policies", "ns-1"), filepath.Join(policiesDir, "ns-1"))

	const busybox, stranger = "probe-busybox-to-http-echo", "probe-stranger-to-http-echo"
	const busyboxDNS, strangerDNS = "probe-busybox-to-kube-dns", "probe-stranger-to-kube-dns"
	dnsLogs := map[string]string{busyboxDNS: "busybox-to-kube-dns-allowed.log", strangerDNS: "probe-stranger-to-kube-dns-allowed.log"}
	withDNS := func(logs map[string]string) map[string]string {
		maps.Copy(logs, dnsLogs)
		return logs
	}
	reader := probetest.NewReader(func(ctx context.Context, namespace, job string) ([]corev1.Pod, error) {
		list, err := cp.Client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "job-name=" + job})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	}, withDNS(map[string]string{busybox: "busybox-allowed.log", stranger: "stranger-allowed.log"}))
	reader.Nodes = listNodes(cp)
	cfg := localClusterConfig(t, cp)
	cfg[config.FullKey(config.KeyPoliciesDir)] = pulumitest.Plain(policiesDir)
	cfg[config.FullKey(config.KeyProbes)] = pulumitest.Plain("true")
	s := pulumitest.New(t, infra.Program, cfg, pulumitest.Options{ProviderDeps: &provider.Deps{ProbeReader: reader, NewKopsRunner: noKops(t), NewEC2: noEC2(t)}})

	_, err := s.TryUp()
	if err == nil {
		t.Fatal("up passed although the stranger got through")
	}
	for _, want := range []string{stranger, "blocked", "<- differs", "kopscalico:probes=false"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("up error lacks %q:\n%v", want, err)
		}
	}
	if jobs, err := cp.Client.BatchV1().Jobs("ns-1").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list probe Jobs: %v", err)
	} else if len(jobs.Items) != 4 {
		t.Errorf("probe Jobs in ns-1: %d, want 4 (created and completed before the verdicts were read)", len(jobs.Items))
	}
	if types := typesInState(t, s); slices.Contains(types, pluginapi.ProbeVerdictsType) {
		t.Errorf("the disagreeing verdicts were recorded: %v", types)
	}

	// The CNI fixed, but the pods went meanwhile: the error says what runs
	// the probes again, and doing so passes.
	reader.SetLogs(withDNS(map[string]string{busybox: "busybox-allowed.log", stranger: "stranger-blocked.log"}))
	deleteProbePods(t, cp)
	_, err = s.TryUp()
	if err == nil {
		t.Fatal("up passed with no probe pod to read")
	}
	replace := regexp.MustCompile(`--replace '([^']+)'`).FindAllStringSubmatch(err.Error(), -1)
	var urns []string
	for _, m := range replace {
		urns = append(urns, m[1])
	}
	wantJobs := []string{busybox, busyboxDNS, stranger, strangerDNS}
	gave := len(urns) == len(wantJobs)
	for i := 0; gave && i < len(urns); i++ {
		gave = strings.HasSuffix(urns[i], "kubernetes:batch/v1:Job::ns-1/"+wantJobs[i])
	}
	if !gave {
		t.Fatalf("the pods-gone error does not give the probe Jobs to replace (%q):\n%v", urns, err)
	}
	calls := reader.Calls()
	res := s.Up(optup.Replace(urns))
	assertUpChanges(t, "up --replace of the probe Jobs", res, map[string]int{"replace": 4, "create": 1})
	table, _ := res.Outputs["probes"].Value.(string)
	if !strings.Contains(table, stranger) || strings.Contains(table, "differs") || res.Outputs["probes"].Secret {
		t.Errorf("probes output = %+v", res.Outputs["probes"])
	}
	if want := "nodes: 1 node, in one zone, us-east-1a (us-east-1a: 1): no probe crossed a subnet"; !strings.HasPrefix(table, want) {
		t.Errorf("the table of a cluster of one zone does not say so (%q):\n%s", want, table)
	}
	if reader.Calls() != calls+1 {
		t.Errorf("the verdicts were read %d times by the up that recorded them, want once", reader.Calls()-calls)
	}

	// Unchanged: no resource changes and the same outputs as the up.
	assertPreviewUnchanged(t, s)

	// Issue 14: the pods go after the verdicts are recorded; nothing needs
	// them any more.
	deleteProbePods(t, cp)
	calls = reader.Calls()
	res = s.Up()
	assertUpChanges(t, "up after the probe pods went", res, map[string]int{})
	if got, _ := res.Outputs["probes"].Value.(string); got != table {
		t.Errorf("probes output after the pods went:\n%s\nwant the recorded\n%s", got, table)
	}
	assertPreviewUnchanged(t, s)
	if reader.Calls() != calls {
		t.Errorf("up and preview read the probe pods %d times, want none", reader.Calls()-calls)
	}

	// A policy edit reruns the probes: the Jobs are replaced, and the
	// verdicts read again. A node in a second zone meanwhile: the config
	// still lists one, so the table says, from the nodes, that the probes
	// were not placed across them.
	cp.AddNode(t, "kwok-node-1", "us-east-1b")
	allow := filepath.Join(policiesDir, "ns-1", "allow.yaml")
	testfs.Write(t, allow, testfs.Read(t, allow)+"      ports:\n        - protocol: TCP\n          port: 5678\n")
	res = s.Up()
	assertUpChanges(t, "edit allow.yaml with probes on", res, map[string]int{"update": 2, "replace": 4})
	table, _ = res.Outputs["probes"].Value.(string)
	if want := "nodes: 2 nodes in 2 zones (us-east-1a: 1, us-east-1b: 1), but the probes are not placed by zone"; !strings.HasPrefix(table, want) {
		t.Errorf("the table with nodes in two zones and unplaced probes (%q):\n%s", want, table)
	}
	if reader.Calls() != calls+1 {
		t.Errorf("the policy edit read the verdicts %d times, want once", reader.Calls()-calls)
	}
	s.Destroy()
}

// noKops and noEC2 fail the test if the provider runs kops or calls EC2: a
// cluster the program does not manage needs neither.
func noKops(t *testing.T) func(string, func(string, string)) kops.Runner {
	return func(string, func(string, string)) kops.Runner { return failingKops{t} }
}

type failingKops struct{ t *testing.T }

func (f failingKops) Run(_ context.Context, c kops.Command) ([]byte, error) {
	f.t.Errorf("kops %v ran for a cluster the program does not manage", c.Args)
	return nil, errors.New("no kops here")
}

func noEC2(t *testing.T) func(context.Context, string) (sgcheck.EC2API, error) {
	return func(_ context.Context, region string) (sgcheck.EC2API, error) {
		t.Errorf("an EC2 client for %s was made with the security-group check off", region)
		return nil, errors.New("no EC2 here")
	}
}

// deleteProbePods deletes the pods of the probe Jobs, as a node roll or pod
// garbage collection does, and waits until they are gone.
func deleteProbePods(t *testing.T, cp *controlplane.ControlPlane) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pods := cp.Client.CoreV1().Pods("ns-1")
	sel := metav1.ListOptions{LabelSelector: "job-name"}
	list, err := pods.List(ctx, sel)
	if err != nil || len(list.Items) != 4 {
		t.Fatalf("probe pods before deleting: %d, %v; want 4", len(list.Items), err)
	}
	zero := int64(0)
	if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, sel); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		list, err := pods.List(ctx, sel)
		return err == nil && len(list.Items) == 0, nil
	})
	if err != nil {
		t.Fatalf("probe pods still there: %v", err)
	}
}

// assertPreviewUnchanged previews s and checks that nothing changes: every
// resource step is "same" (ExpectNoChanges), and the stack's outputs as the
// preview computes them equal the recorded ones. The engine reports them in
// the preview's outputs event of the Stack resource (old: recorded, new: the
// program's); a value that differs, or is not known yet (the table of a
// probe run still to come), shows there.
func assertPreviewUnchanged(t *testing.T, s *pulumitest.Stack) {
	t.Helper()
	ch := make(chan events.EngineEvent)
	var stack *apitype.StepEventMetadata
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range ch {
			if e.ResOutputsEvent != nil && e.ResOutputsEvent.Metadata.Type == "pulumi:pulumi:Stack" {
				m := e.ResOutputsEvent.Metadata
				stack = &m
			}
		}
	}()
	s.Preview(optpreview.ExpectNoChanges(), optpreview.EventStreams(ch))
	<-done
	if stack == nil || stack.Old == nil || stack.New == nil {
		t.Fatalf("the preview reported no outputs of the stack: %+v", stack)
	}
	recorded := s.Outputs()
	if stack.Op != apitype.OpSame || len(stack.New.Outputs) != len(recorded) || len(stack.Old.Outputs) != len(recorded) {
		t.Errorf("preview: stack step %s, outputs %v (before %v), recorded %d", stack.Op, keysOf(stack.New.Outputs), keysOf(stack.Old.Outputs), len(recorded))
	}
	for name, want := range recorded {
		got := stack.New.Outputs[name]
		if !reflect.DeepEqual(got, stack.Old.Outputs[name]) || (!want.Secret && !reflect.DeepEqual(got, want.Value)) {
			t.Errorf("preview: output %s = %v (before %v), recorded %v", name, got, stack.Old.Outputs[name], want.Value)
		}
	}
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
