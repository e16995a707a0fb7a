package infra

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/probe"
	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

const (
	tokProbeVerdicts = pluginapi.ProbeVerdictsType
	testTable        = "PROBE  FROM  TO  EXPECTED  OBSERVED\n"
	probesURN        = "urn:pulumi:stack::kopscalico::" + probesType + "::probes"
)

// probeMocks are k8sMocks that keep unknown inputs (the engine's view at
// preview) and whose ProbeVerdicts answer with a table, as the plugin does
// once the verdicts agree.
type probeMocks struct {
	k8sMocks
	deleteFirst map[string]bool // by name: DeleteBeforeReplace
}

func (m *probeMocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	m.mu.Lock()
	if m.deleteFirst == nil {
		m.deleteFirst = map[string]bool{}
	}
	m.deleteFirst[args.Name] = args.RegisterRPC.GetDeleteBeforeReplace()
	m.mu.Unlock()
	if obj := args.RegisterRPC.GetObject(); obj != nil {
		in, err := plugin.UnmarshalProperties(obj, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, KeepResources: true})
		if err != nil {
			return "", nil, err
		}
		args.Inputs = in
	}
	id, outs, err := m.k8sMocks.NewResource(args)
	if args.TypeToken == tokProbeVerdicts {
		outs = outs.Copy()
		outs["table"] = resource.NewStringProperty(testTable)
	}
	return id, outs, err
}

// runProbes deploys the policies of policiesDir, the demo and the probes
// under mocks, on a cluster of the given revision, and returns the table
// output's value.
func runProbes(t *testing.T, m *probeMocks, policiesDir string, clusterRevision pulumi.StringInput, opts ...pulumi.RunOption) (string, error) {
	t.Helper()
	var table string
	err := withProvider(t, m, opts, func(ctx *pulumi.Context, p pulumi.ProviderResource) error {
		kops := &kopsProvider{}
		if err := ctx.RegisterResource("pulumi:providers:"+pluginapi.Name, "kops", pulumi.Map{}, kops); err != nil {
			return err
		}
		set := loadSet(t, policiesDir)
		pr, err := deployPolicies(ctx, set, p, nil)
		if err != nil {
			return err
		}
		demoRes, err := deployDemo(ctx, "ns-1", p, pr.NamespaceDeps("ns-1"))
		if err != nil {
			return err
		}
		expect, err := policyExpect(set, "ns-1")
		if err != nil {
			return err
		}
		out, err := deployProbes(ctx, probeArgs{
			Namespace:       "ns-1",
			Set:             set,
			Expect:          expect,
			Kubeconfig:      pulumi.ToSecret(pulumi.String("apiVersion: v1\nkind: Config\n")).(pulumi.StringOutput),
			ClusterRevision: clusterRevision,
			DependsOn:       append(pr.All(), demoRes...),
		}, p, kops)
		if err != nil {
			return err
		}
		out.ApplyT(func(s string) string { table = s; return s })
		return nil
	})
	return table, err
}

func dryRun(info *pulumi.RunInfo) { info.DryRun = true }

func jobRevisionOf(t *testing.T, m *probeMocks, name string) resource.PropertyValue {
	t.Helper()
	v := m.named(t, tokJob, "ns-1/"+name).Inputs["spec"].ObjectValue()["template"].ObjectValue()["metadata"].ObjectValue()["annotations"]
	return v.ObjectValue()[probe.RevisionAnnotation]
}

// The Jobs run after every policy and workload; ProbeVerdicts, on the
// kopscalico provider, after the Jobs, with the plan, their URNs and their
// revision; the table is its output.
func TestDeployProbesJobsThenVerdicts(t *testing.T) {
	t.Parallel()
	m := &probeMocks{}
	table, err := runProbes(t, m, filepath.Join("..", "policies"), pulumi.String("rev-1"))
	if err != nil {
		t.Fatal(err)
	}
	if table != testTable {
		t.Errorf("table = %q, want the ProbeVerdicts' table output", table)
	}

	jobs := m.byToken(tokJob)
	if len(jobs) != 4 {
		t.Fatalf("jobs = %v, want 4 (busybox and stranger to http-echo and to kube-dns)", names(jobs))
	}
	var jobURNs []string
	for _, j := range jobs {
		if j.Parent != probesURN || j.Provider != providerRef() {
			t.Errorf("%s parent %q provider %q", j.Name, j.Parent, j.Provider)
		}
		if !m.deleteFirst[j.Name] {
			t.Errorf("%s is not deleted before it is replaced: `pulumi up --replace` would delete the new Job of the same name", j.Name)
		}
		for _, dep := range []string{
			"urn:pulumi:stack::kopscalico::kubernetes:networking.k8s.io/v1:NetworkPolicy::ns-1/allow",
			"urn:pulumi:stack::kopscalico::kubernetes:apps/v1:Deployment::ns-1/http-echo",
			"urn:pulumi:stack::kopscalico::kubernetes:core/v1:Service::ns-1/http-echo",
		} {
			if !contains(j.Deps, dep) {
				t.Errorf("%s does not depend on %s: %v", j.Name, dep, j.Deps)
			}
		}
		jobURNs = append(jobURNs, "urn:pulumi:stack::kopscalico::"+probesType+"$"+tokJob+"::"+j.Name)
	}
	stranger := m.named(t, tokJob, "ns-1/probe-stranger-to-http-echo")
	if got := propString(t, stranger.Inputs, "spec", "template", "metadata", "labels", "app"); got != "stranger" {
		t.Errorf("stranger probe pod label app = %q", got)
	}
	if got := propString(t, stranger.Inputs, "spec", "backoffLimit"); got != "0" {
		t.Errorf("backoffLimit = %s", got)
	}
	if got := propString(t, stranger.Inputs, "metadata", "name"); got != "probe-stranger-to-http-echo" {
		t.Errorf("job name = %q", got)
	}

	v := m.named(t, tokProbeVerdicts, "probes")
	if v.Parent != probesURN || !strings.HasPrefix(v.Provider, "urn:pulumi:stack::kopscalico::pulumi:providers:"+pluginapi.Name+"::kops::") {
		t.Errorf("ProbeVerdicts parent %q provider %q", v.Parent, v.Provider)
	}
	for _, u := range jobURNs {
		if !contains(v.Deps, u) {
			t.Errorf("ProbeVerdicts does not wait for %s: %v", u, v.Deps)
		}
	}
	if !v.Inputs["kubeconfig"].IsSecret() {
		t.Error("the kubeconfig input is not secret")
	}
	var args pluginapi.ProbeVerdictsArgs
	if err := decodeInputs(v.Inputs, &args); err != nil {
		t.Fatal(err)
	}
	if args.Namespace != "ns-1" || !strings.Contains(args.Kubeconfig, "kind: Config") || len(args.Probes) != 4 {
		t.Fatalf("inputs = %+v", args)
	}
	want := map[string]probe.Outcome{"probe-busybox-to-http-echo": probe.Allowed, "probe-stranger-to-http-echo": probe.Blocked,
		"probe-busybox-to-kube-dns": probe.Allowed, "probe-stranger-to-kube-dns": probe.Allowed}
	address := map[string]string{"http-echo": "http-echo.ns-1.svc.cluster.local:80", "kube-dns": "kube-dns.kube-system.svc.cluster.local:53/UDP"}
	for i, p := range args.Probes {
		if p.Expect != want[p.Name] || p.To.Address() != address[p.To.Name] || p.From.Namespace != "ns-1" {
			t.Errorf("probe %d = %+v", i, p)
		}
		if got, wantURN := args.Jobs[p.Name], "urn:pulumi:stack::kopscalico::"+probesType+"$"+tokJob+"::ns-1/"+p.Name; got != wantURN {
			t.Errorf("job URN of %s = %q, want %q", p.Name, got, wantURN)
		}
		if rev := jobRevisionOf(t, m, p.Name); !rev.IsString() || rev.StringValue() != args.Revision || args.Revision == "" {
			t.Errorf("%s: Job revision %v, ProbeVerdicts revision %q: want the same, set", p.Name, rev, args.Revision)
		}
	}
}

// decodeInputs reads registered inputs as the plugin does: through their
// JSON form, secrets unwrapped.
func decodeInputs(props resource.PropertyMap, v any) error {
	plain := props.Copy()
	for k, p := range plain {
		if p.IsSecret() {
			plain[k] = p.SecretValue().Element
		}
	}
	b, err := json.Marshal(plain.Mappable())
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// A new cluster revision (a roll of the nodes) gives new Jobs and a new
// ProbeVerdicts revision; the same one gives the same; at a preview where the
// cluster's revision is known, the Jobs' is known too (no change shown), and
// where it is not (the cluster is being updated), so is theirs.
func TestProbeRevisionFollowsTheCluster(t *testing.T) {
	t.Parallel()
	shipped := filepath.Join("..", "policies")
	revision := func(cluster pulumi.StringInput, opts ...pulumi.RunOption) (resource.PropertyValue, resource.PropertyValue) {
		t.Helper()
		m := &probeMocks{}
		if _, err := runProbes(t, m, shipped, cluster, opts...); err != nil {
			t.Fatal(err)
		}
		return jobRevisionOf(t, m, "probe-busybox-to-http-echo"), m.named(t, tokProbeVerdicts, "probes").Inputs["revision"]
	}
	a, va := revision(pulumi.String("rev-1"))
	b, _ := revision(pulumi.String("rev-1"))
	c, vc := revision(pulumi.String("rev-2"))
	unmanaged, _ := revision(nil)
	if !a.DeepEquals(b) || !a.DeepEquals(va) || !c.DeepEquals(vc) {
		t.Errorf("revisions: %v, %v (ProbeVerdicts %v), %v (ProbeVerdicts %v)", a, b, va, c, vc)
	}
	if a.DeepEquals(c) || a.DeepEquals(unmanaged) {
		t.Errorf("cluster rev-1 %v, rev-2 %v, unmanaged %v: want all different", a, c, unmanaged)
	}
	if p, _ := revision(pulumi.String("rev-1"), dryRun); !p.DeepEquals(a) {
		t.Errorf("preview revision %v, up %v: a preview of an unchanged cluster would show the Jobs replaced", p, a)
	}
	updating := pulumi.UnsafeUnknownOutput(nil).ApplyT(func(any) string { return "" }).(pulumi.StringOutput)
	if p, v := revision(updating, dryRun); !p.ContainsUnknowns() || !v.ContainsUnknowns() {
		t.Errorf("cluster revision unknown at preview: Job revision %v, ProbeVerdicts revision %v, want unknown", p, v)
	}
}

// TestProbeRevisionFollowsThePolicies: a policy edit changes the Jobs' pod
// template (so they are replaced and run again); an identical run does not.
func TestProbeRevisionFollowsThePolicies(t *testing.T) {
	t.Parallel()
	revision := func(dir string) string {
		m := &probeMocks{}
		if _, err := runProbes(t, m, dir, pulumi.String("rev-1")); err != nil {
			t.Fatal(err)
		}
		return jobRevisionOf(t, m, "probe-busybox-to-http-echo").StringValue()
	}
	shipped := filepath.Join("..", "policies")
	a, b := revision(shipped), revision(shipped)
	if a == "" || a != b {
		t.Fatalf("revision of the same policies: %q then %q, want equal and set", a, b)
	}

	edited := t.TempDir()
	testfs.Copy(t, filepath.Join(shipped, "ns-1"), filepath.Join(edited, "ns-1"))
	f := filepath.Join(edited, "ns-1", "deny-egress-except-dns-and-namespace.yaml")
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, []byte(strings.Replace(string(data), "port: 53\n", "port: 5353\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	moved := t.TempDir()
	testfs.Copy(t, filepath.Join(shipped, "ns-1"), filepath.Join(moved, "ns-1"))
	if c := revision(moved); c != a {
		t.Errorf("revision changed (%q -> %q) when the same files moved to another folder", a, c)
	}
	if c := revision(edited); c == a {
		t.Errorf("revision unchanged (%q) after a policy edit", c)
	}
}

// Probes need the plugin whether or not the program manages the cluster:
// on an existing cluster (no kops, no security-group check) the kopscalico
// provider is still registered, and the verdicts are read with the user's
// kubeconfig; on a managed one, with the Cluster's, after its revision.
func TestProbesUseTheKopsProvider(t *testing.T) {
	t.Parallel()
	unmanaged := unmanagedConfig()
	rec, _, err := runProgram(t, unmanaged, true)
	if err != nil {
		t.Fatal(err)
	}
	kops := rec.one(t, tokKopsProvider)
	v := rec.one(t, tokProbeVerdicts)
	if !strings.Contains(v.Provider, tokKopsProvider+"::kops::") || kops.Name != "kops" {
		t.Errorf("ProbeVerdicts provider %q", v.Provider)
	}
	if got := propString(t, v.Inputs, "kubeconfig"); !strings.Contains(got, "# token: s3cr3t") || !v.Inputs["kubeconfig"].IsSecret() {
		t.Errorf("kubeconfig input %q (secret %v), want the user's, secret", got, v.Inputs["kubeconfig"].IsSecret())
	}
	if n := len(rec.byType(pluginapi.ClusterType)); n != 0 {
		t.Errorf("%d Clusters on an unmanaged cluster", n)
	}

	unmanaged[config.KeyProbes] = "false"
	rec, _, err = runProgram(t, unmanaged, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.byType(tokKopsProvider)) + len(rec.byType(tokProbeVerdicts)); n != 0 {
		t.Errorf("probes off, nothing else of the plugin: %d kopscalico registrations", n)
	}

	managed := func(clusterRevision string) recorded {
		t.Helper()
		rec := &recorder{outputs: func(token string, _ resource.PropertyMap) resource.PropertyMap {
			if token != pluginapi.ClusterType {
				return nil
			}
			return resource.PropertyMap{
				"kubeconfig": resource.NewStringProperty("apiVersion: v1\n# exec: kops helpers kubectl-auth\n"),
				"revision":   resource.NewStringProperty(clusterRevision),
			}
		}}
		if err := runMocked(t, "dev", devConfig(), rec, Program); err != nil {
			t.Fatal(err)
		}
		return rec.one(t, tokProbeVerdicts)
	}
	v = managed("cluster-rev-1")
	if got := propString(t, v.Inputs, "kubeconfig"); !strings.Contains(got, "kubectl-auth") {
		t.Errorf("kubeconfig input %q, want the Cluster's", got)
	}
	if !contains(v.Deps, "urn:pulumi:dev::kopscalico::"+pluginapi.ClusterType+"::cluster") {
		t.Errorf("ProbeVerdicts does not follow the Cluster: %v", v.Deps)
	}
	same, rolled := managed("cluster-rev-1"), managed("cluster-rev-2")
	if r := propString(t, v.Inputs, "revision"); r != propString(t, same.Inputs, "revision") || r == propString(t, rolled.Inputs, "revision") {
		t.Errorf("probe revision %q, again %q, after a roll %q: want it to follow the Cluster's revision only",
			r, propString(t, same.Inputs, "revision"), propString(t, rolled.Inputs, "revision"))
	}
}
