package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil/rpcerror"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/provider"
)

const clusterURN = resource.URN("urn:pulumi:dev::kopscalico::" + pluginapi.ClusterType + "::cluster")

const kopsVersionOut = "Client version: 1.34.1 (git-v1.34.1)\n"

// testStack is the owner mark of the stack the provider is configured for.
const testStack = "organization/kopscalico/dev"

// newClusterProvider is a provider of stack testStack whose kops is the
// scripted runner.
func newClusterProvider(t *testing.T, k *kopstest.Runner) *provider.Provider {
	t.Helper()
	return newStackProvider(t, k, pluginapi.ProviderArgs{Stack: testStack})
}

// newStackProvider is a provider configured with args whose kops is the
// scripted runner.
func newStackProvider(t *testing.T, k *kopstest.Runner, args pluginapi.ProviderArgs) *provider.Provider {
	t.Helper()
	p := provider.New(&recordedLogs{}, provider.Deps{
		NewKopsRunner: func(string, func(string, string)) kops.Runner { return k },
	})
	if _, err := p.Configure(context.Background(), plugin.ConfigureRequest{Inputs: props(t, args)}); err != nil {
		t.Fatal(err)
	}
	return p
}

func clusterInputs(t *testing.T, mutate func(*pluginapi.ClusterArgs)) resource.PropertyMap {
	t.Helper()
	args := pluginapi.ClusterArgs{Desired: kopstest.Desired("1.34")}
	if mutate != nil {
		mutate(&args)
	}
	return props(t, args)
}

func props(t *testing.T, v any) resource.PropertyMap {
	t.Helper()
	m, err := pluginapi.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// markedFixture is a kops fixture carrying an owner mark.
func markedFixture(t *testing.T, name, mark string) string {
	t.Helper()
	b, err := kops.MarkOwner(kopstest.Fixture(t, name), mark)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// recordedState is what a create of the fixture cluster records.
func recordedState(t *testing.T, inputs resource.PropertyMap, spec string) resource.PropertyMap {
	t.Helper()
	out := inputs.Copy()
	out["spec"] = resource.NewStringProperty(spec)
	out["liveInstanceGroups"] = resource.NewStringProperty(string(kopstest.Fixture(t, "instancegroups-1.34.yaml")))
	out["kubeconfig"] = resource.NewStringProperty("kubeconfig")
	out["owner"] = resource.NewStringProperty(testStack)
	return out
}

func TestClusterDiffRefusesIdentityChanges(t *testing.T) {
	t.Parallel()
	p := newClusterProvider(t, &kopstest.Runner{T: t})
	old := clusterInputs(t, nil)
	state := recordedState(t, old, string(kopstest.Fixture(t, "calico-1.34.yaml")))
	diff := func(news resource.PropertyMap) (plugin.DiffResponse, error) {
		return p.Diff(context.Background(), plugin.DiffRequest{URN: clusterURN, Type: pluginapi.ClusterType, ID: "demo.example.com",
			OldInputs: old, OldOutputs: state, NewInputs: news})
	}

	res, err := diff(old)
	if err != nil || res.Changes != plugin.DiffNone {
		t.Errorf("unchanged: %+v, %v", res, err)
	}

	renamed := clusterInputs(t, func(a *pluginapi.ClusterArgs) { a.Name = "other.example.com"; a.Zones = []string{"eu-west-1a"} })
	_, err = diff(renamed)
	if err == nil || !strings.Contains(err.Error(), "clusterName: demo.example.com -> other.example.com") ||
		!strings.Contains(err.Error(), "zones:") || !strings.Contains(err.Error(), "kopscalico:allowClusterReplacement") {
		t.Errorf("rename: err = %v", err)
	}

	allowed := clusterInputs(t, func(a *pluginapi.ClusterArgs) { a.Name = "other.example.com"; a.AllowReplacement = true })
	res, err = diff(allowed)
	if err != nil || len(res.ReplaceKeys) != 1 || res.ReplaceKeys[0] != "clusterName" {
		t.Errorf("rename with allowReplacement: %+v, %v", res, err)
	}

	// An unknown identity field (preview, from a resource still to be made)
	// is neither refused nor replaced: Diff runs again once it is known.
	unknown := clusterInputs(t, nil)
	unknown["stateStore"] = resource.MakeComputed(resource.NewStringProperty(""))
	if res, err = diff(unknown); err != nil || len(res.ReplaceKeys) != 0 || res.Changes != plugin.DiffSome {
		t.Errorf("unknown store: %+v, %v", res, err)
	}

	// The switches alone change nothing.
	switched := clusterInputs(t, func(a *pluginapi.ClusterArgs) { a.AdoptExisting = true })
	if res, err = diff(switched); err != nil || res.Changes != plugin.DiffNone {
		t.Errorf("adoptExisting alone: %+v, %v", res, err)
	}
}

// A spec that drifted (found by refresh) is an update even with the same
// inputs.
func TestClusterDiffShowsDrift(t *testing.T) {
	t.Parallel()
	p := newClusterProvider(t, &kopstest.Runner{T: t})
	inputs := clusterInputs(t, nil)
	drifted := strings.Replace(string(kopstest.Fixture(t, "calico-1.34.yaml")), "ipipMode: CrossSubnet", "ipipMode: Always", 1)
	res, err := p.Diff(context.Background(), plugin.DiffRequest{URN: clusterURN, Type: pluginapi.ClusterType,
		OldInputs: inputs, OldOutputs: recordedState(t, inputs, drifted), NewInputs: inputs})
	if err != nil || res.Changes != plugin.DiffSome || res.DetailedDiff["spec"].Kind != plugin.DiffUpdate {
		t.Errorf("drift: %+v, %v", res, err)
	}
}

// createRunner answers a create of demo.example.com, absent at first, with
// validate's answer given and export writing kubeconfig.
func createRunner(t *testing.T, validate kopstest.Answer, kubeconfig string) *kopstest.Runner {
	gets := 0
	spec := strings.ReplaceAll(string(kopstest.Fixture(t, "kubenet-1.36.yaml")), "kubenet: {}", "calico: {}")
	return &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"version": kopstest.OK(kopsVersionOut),
		"get cluster": func([]byte) ([]byte, error) {
			gets++
			if gets == 1 {
				return kopstest.Fail(1, `Error: cluster not found "demo.example.com"`)(nil)
			}
			return []byte(spec), nil
		},
		"create cluster":     kopstest.OK(""),
		"replace -f -":       kopstest.OK(""),
		"update cluster":     kopstest.OK(""),
		"export kubecfg":     kopstest.OK(""),
		"get instancegroups": kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
		"validate cluster":   validate,
	}, Kubeconfig: kubeconfig}
}

// kops made the cluster, then validate failed: the error carries the ID and
// the state, so the engine records the cluster and destroy can delete it.
func TestClusterCreateRecordsAPartialFailure(t *testing.T) {
	t.Parallel()
	k := createRunner(t, kopstest.Fail(1, "Error: validation failed: wait time exceeded during validation"), "apiVersion: v1\nkind: Config\n")
	p := newClusterProvider(t, k)
	_, err := p.Create(context.Background(), plugin.CreateRequest{URN: clusterURN, Type: pluginapi.ClusterType, Properties: clusterInputs(t, nil)})
	if err == nil {
		t.Fatal("create passed")
	}
	var initErr *pulumirpc.ErrorResourceInitFailed
	for _, d := range rpcerror.Convert(err).Details() {
		if e, ok := d.(*pulumirpc.ErrorResourceInitFailed); ok {
			initErr = e
		}
	}
	if initErr == nil {
		t.Fatalf("err = %v: not a partial failure, the engine would not record the cluster", err)
	}
	if initErr.GetId() != "demo.example.com" || !strings.Contains(strings.Join(initErr.GetReasons(), " "), "wait time exceeded") {
		t.Errorf("partial failure id %q reasons %v", initErr.GetId(), initErr.GetReasons())
	}
	state := initErr.GetProperties().AsMap()
	if state["stateStore"] != "s3://demo-kops-state" || state["clusterName"] != "demo.example.com" || state["owner"] == "" {
		t.Errorf("recorded state %v", state)
	}
}

// A create exports the kubeconfig once: validate and the recorded output
// share the operation's export.
func TestClusterCreateExportsTheKubeconfigOnce(t *testing.T) {
	t.Parallel()
	kubeconfig := "apiVersion: v1\nkind: Config\n# exported\n"
	k := createRunner(t, kopstest.OK("Your cluster demo.example.com is ready\n"), kubeconfig)
	res, err := newClusterProvider(t, k).Create(context.Background(), plugin.CreateRequest{URN: clusterURN, Type: pluginapi.ClusterType, Properties: clusterInputs(t, nil)})
	if err != nil {
		t.Fatal(err)
	}
	exports := 0
	for _, c := range k.Commands() {
		if strings.HasPrefix(c, "export kubecfg") {
			exports++
		}
	}
	if got := res.Properties["kubeconfig"]; exports != 1 || !got.IsString() || got.StringValue() != kubeconfig {
		t.Errorf("%d exports, kubeconfig output %v; want one export, recorded as written", exports, got)
	}
}

// A cluster already in the store is not taken over unless asked; nothing
// mutating runs.
func TestClusterCreateRefusesAnExistingCluster(t *testing.T) {
	t.Parallel()
	k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"version":     kopstest.OK(kopsVersionOut),
		"get cluster": kopstest.OK(string(kopstest.Fixture(t, "calico-1.34.yaml"))),
	}}
	_, err := newClusterProvider(t, k).Create(context.Background(), plugin.CreateRequest{URN: clusterURN, Type: pluginapi.ClusterType, Properties: clusterInputs(t, nil)})
	if err == nil || !strings.Contains(err.Error(), "kopscalico:adoptExistingCluster") || !strings.Contains(err.Error(), "kopscalico:importExistingCluster") {
		t.Errorf("err = %v", err)
	}
	if got := k.Commands(); len(got) != 2 {
		t.Errorf("commands %v", got)
	}
}

func TestClusterCreatePreviewRunsNoKops(t *testing.T) {
	t.Parallel()
	k := &kopstest.Runner{T: t}
	res, err := newClusterProvider(t, k).Create(context.Background(), plugin.CreateRequest{URN: clusterURN, Type: pluginapi.ClusterType,
		Properties: clusterInputs(t, nil), Preview: true})
	if err != nil || !res.Properties["kubeconfig"].IsComputed() || len(k.Calls()) != 0 {
		t.Errorf("preview: %+v, %v, calls %v", res, err, k.Commands())
	}
}

// Refresh reads the cluster as kops reports it, in the terms of the inputs;
// a cluster gone from the store reads as gone.
func TestClusterRead(t *testing.T) {
	t.Parallel()
	inputs := clusterInputs(t, nil)
	state := recordedState(t, inputs, string(kopstest.Fixture(t, "calico-1.34.yaml")))
	opened := strings.Replace(markedFixture(t, "calico-1.34.yaml", testStack), "  kubernetesApiAccess:\n", "  sshAccess:\n  - 0.0.0.0/0\n  kubernetesApiAccess:\n", 1)
	k := appliedRunner(t, map[string]kopstest.Answer{
		"get cluster":        kopstest.OK(opened),
		"get instancegroups": kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
	})
	res, err := newClusterProvider(t, k).Read(context.Background(), plugin.ReadRequest{URN: clusterURN, Type: pluginapi.ClusterType,
		ID: "demo.example.com", Inputs: inputs, State: state})
	if err != nil || res.Outputs == nil {
		t.Fatalf("read: %+v, %v", res, err)
	}
	if got := res.Inputs["sshAccess"].ArrayValue(); len(got) != 1 || got[0].StringValue() != "0.0.0.0/0" {
		t.Errorf("refreshed sshAccess %v", res.Inputs["sshAccess"])
	}
	if res.Outputs["kubeconfig"].StringValue() != "kubeconfig" || res.Outputs["owner"].StringValue() != testStack {
		t.Errorf("refresh lost recorded outputs: %v", res.Outputs)
	}
	if _, ok := res.Outputs["unapplied"]; ok {
		t.Errorf("an applied cluster read as unapplied: %v", res.Outputs["unapplied"])
	}

	gone := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{"get cluster": kopstest.Fail(1, `Error: cluster not found "demo.example.com"`)}}
	res, err = newClusterProvider(t, gone).Read(context.Background(), plugin.ReadRequest{URN: clusterURN, Type: pluginapi.ClusterType,
		ID: "demo.example.com", Inputs: inputs, State: state})
	if err != nil || res.Outputs != nil {
		t.Errorf("a deleted cluster: %+v, %v", res, err)
	}
}

// appliedRunner answers answers, and the dry runs with nothing left to
// apply or roll.
func appliedRunner(t *testing.T, answers map[string]kopstest.Answer) *kopstest.Runner {
	t.Helper()
	answers["update cluster --name demo.example.com"] = kopstest.OK("\nNo changes need to be applied\n")
	answers["export kubecfg"] = kopstest.OK("")
	answers["rolling-update cluster --name demo.example.com"] = kopstest.OK(string(kopstest.Fixture(t, "rolling-update-not-needed.txt")))
	return &kopstest.Runner{T: t, Answers: answers, Kubeconfig: "kubeconfig"}
}

// A refresh after a run stopped between `replace` and `update --yes` (the
// store holds the desired spec, the cloud runs the old one) records what is
// unapplied, and Diff makes it an update with the same inputs.
func TestClusterReadRecordsWhatIsUnapplied(t *testing.T) {
	t.Parallel()
	inputs := clusterInputs(t, nil)
	state := recordedState(t, inputs, markedFixture(t, "calico-1.34.yaml", testStack))
	k := appliedRunner(t, map[string]kopstest.Answer{
		"get cluster":        kopstest.OK(markedFixture(t, "calico-1.34.yaml", testStack)),
		"get instancegroups": kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
	})
	k.Set("update cluster --name demo.example.com", kopstest.OK("Will modify resources:\n\nMust specify --yes to apply changes\n"))
	p := newClusterProvider(t, k)
	res, err := p.Read(context.Background(), plugin.ReadRequest{URN: clusterURN, Type: pluginapi.ClusterType,
		ID: "demo.example.com", Inputs: inputs, State: state})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Outputs["unapplied"]; !got.IsArray() || len(got.ArrayValue()) != 1 {
		t.Fatalf("unapplied %v", got)
	}
	for _, c := range k.Commands() {
		if strings.Contains(c, "--yes") || strings.HasPrefix(c, "replace") {
			t.Errorf("refresh ran kops %s", c)
		}
	}
	diff, err := p.Diff(context.Background(), plugin.DiffRequest{URN: clusterURN, Type: pluginapi.ClusterType, ID: "demo.example.com",
		OldInputs: res.Inputs, OldOutputs: res.Outputs, NewInputs: res.Inputs})
	if err != nil || diff.Changes != plugin.DiffSome || len(diff.ChangedKeys) != 1 || diff.ChangedKeys[0] != "unapplied" {
		t.Errorf("diff after the refresh: %+v, %v", diff, err)
	}
}

// Delete runs from the recorded state: the name and store kops was driven
// with, whatever the inputs say now.
func TestClusterDeleteUsesTheRecordedState(t *testing.T) {
	t.Parallel()
	k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"get cluster":    kopstest.OK(markedFixture(t, "calico-1.34.yaml", testStack)),
		"delete cluster": kopstest.OK(""),
	}}
	state := recordedState(t, clusterInputs(t, nil), "spec")
	_, err := newClusterProvider(t, k).Delete(context.Background(), plugin.DeleteRequest{URN: clusterURN, Type: pluginapi.ClusterType,
		ID: "demo.example.com", Inputs: clusterInputs(t, func(a *pluginapi.ClusterArgs) { a.Name = "renamed.example.com" }), Outputs: state})
	if err != nil {
		t.Fatal(err)
	}
	calls := k.Calls()
	if len(calls) != 3 || calls[2].Args != "delete cluster --name demo.example.com --yes" || calls[2].Env["KOPS_STATE_STORE"] != "s3://demo-kops-state" {
		t.Errorf("calls %+v", calls)
	}
}

func TestClusterCheckNamesTheProblem(t *testing.T) {
	t.Parallel()
	res, err := newClusterProvider(t, &kopstest.Runner{T: t}).Check(context.Background(), plugin.CheckRequest{URN: clusterURN, Type: pluginapi.ClusterType,
		News: clusterInputs(t, func(a *pluginapi.ClusterArgs) { a.AdminAccess = config.MustParseAccessList("0.0.0.0/0") })})
	if err != nil || len(res.Failures) != 1 || !strings.Contains(res.Failures[0].Reason, "allowWorldAccess") {
		t.Errorf("check: %+v, %v", res, err)
	}
}

// A stack whose state recorded the switches under their former names
// (adoptExisting, allowReplacement) sees no change after the upgrade, keeps
// its permission to replace, and previews and refreshes under the new names.
func TestClusterReadsFormerInputNames(t *testing.T) {
	t.Parallel()
	rename := func(m resource.PropertyMap) resource.PropertyMap {
		out := m.Copy()
		out["adoptExisting"], out["allowReplacement"] = out["adoptExistingCluster"], out["allowClusterReplacement"]
		delete(out, "adoptExistingCluster")
		delete(out, "allowClusterReplacement")
		return out
	}
	switches := func(a *pluginapi.ClusterArgs) { a.AdoptExisting, a.AllowReplacement = true, true }
	news := clusterInputs(t, switches)
	oldInputs := rename(news)
	oldState := rename(recordedState(t, news, string(kopstest.Fixture(t, "calico-1.34.yaml"))))
	p := newClusterProvider(t, &kopstest.Runner{T: t})

	res, err := p.Diff(context.Background(), plugin.DiffRequest{URN: clusterURN, Type: pluginapi.ClusterType, ID: "demo.example.com",
		OldInputs: oldInputs, OldOutputs: oldState, NewInputs: news})
	if err != nil || res.Changes != plugin.DiffNone {
		t.Errorf("same cluster, switches under their former names: %+v, %v", res, err)
	}

	preview, err := p.Update(context.Background(), plugin.UpdateRequest{URN: clusterURN, Type: pluginapi.ClusterType, ID: "demo.example.com",
		OldInputs: oldInputs, OldOutputs: oldState, NewInputs: clusterInputs(t, func(a *pluginapi.ClusterArgs) { switches(a); a.NodeCount = 3 }), Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, former := range []resource.PropertyKey{"adoptExisting", "allowReplacement"} {
		if _, ok := preview.Properties[former]; ok {
			t.Errorf("update preview keeps %s: %v", former, preview.Properties)
		}
	}
	if !preview.Properties["allowClusterReplacement"].BoolValue() || preview.Properties["kubeconfig"].StringValue() != "kubeconfig" {
		t.Errorf("update preview: %v", preview.Properties)
	}

	k := appliedRunner(t, map[string]kopstest.Answer{
		"get cluster":        kopstest.OK(markedFixture(t, "calico-1.34.yaml", testStack)),
		"get instancegroups": kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
	})
	read, err := newClusterProvider(t, k).Read(context.Background(), plugin.ReadRequest{URN: clusterURN, Type: pluginapi.ClusterType,
		ID: "demo.example.com", Inputs: oldInputs, State: oldState})
	if err != nil {
		t.Fatal(err)
	}
	if !read.Inputs["adoptExistingCluster"].BoolValue() || !read.Outputs["allowClusterReplacement"].BoolValue() {
		t.Errorf("refresh: inputs %v outputs %v", read.Inputs, read.Outputs)
	}
	if _, ok := read.Inputs["adoptExisting"]; ok {
		t.Errorf("refresh keeps the former name: %v", read.Inputs)
	}
}

// GetSchema answers the wire structs' schema: every resource, its inputs
// and its outputs.
func TestGetSchemaNamesEveryResource(t *testing.T) {
	t.Parallel()
	res, err := newClusterProvider(t, &kopstest.Runner{T: t}).GetSchema(context.Background(), plugin.GetSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Name      string
		Resources map[string]struct {
			InputProperties map[string]any
			Properties      map[string]any
		}
	}
	if err := json.Unmarshal(res.Schema, &schema); err != nil {
		t.Fatal(err)
	}
	if schema.Name != pluginapi.Name {
		t.Errorf("name %q", schema.Name)
	}
	for _, r := range pluginapi.Resources {
		got := schema.Resources[r.Token]
		if len(got.InputProperties) != len(r.Inputs) || len(got.Properties) != len(r.State) {
			t.Errorf("%s: %d inputs and %d outputs, want %d and %d", r.Token, len(got.InputProperties), len(got.Properties), len(r.Inputs), len(r.State))
		}
	}
	if _, ok := schema.Resources[pluginapi.ClusterType].InputProperties["allowClusterReplacement"]; !ok {
		t.Error("the Cluster has no allowClusterReplacement input")
	}
}

// Delete and refresh trust the cluster only when its live mark is the one
// recorded: a foreign or missing mark is refused with the way out, and
// nothing is deleted.
func TestClusterDeleteAndReadRefuseAForeignMark(t *testing.T) {
	t.Parallel()
	const other = "organization/kopscalico/other"
	for _, live := range []string{other, ""} {
		spec := string(kopstest.Fixture(t, "calico-1.34.yaml"))
		if live != "" {
			spec = markedFixture(t, "calico-1.34.yaml", live)
		}
		k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
			"get cluster":        kopstest.OK(spec),
			"get instancegroups": kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
		}}
		p := newClusterProvider(t, k)
		inputs := clusterInputs(t, nil)
		state := recordedState(t, inputs, spec)
		_, err := p.Delete(context.Background(), plugin.DeleteRequest{URN: clusterURN, Type: pluginapi.ClusterType, ID: "demo.example.com", Inputs: inputs, Outputs: state})
		var oe *kops.OwnerError
		if !errors.As(err, &oe) || oe.Live != live || !strings.Contains(err.Error(), "pulumi state delete '"+string(clusterURN)+"'") {
			t.Errorf("delete, live mark %q: err = %v", live, err)
		}
		for _, c := range k.Commands() {
			if strings.HasPrefix(c, "delete") {
				t.Errorf("delete, live mark %q: ran kops %s", live, c)
			}
		}
		_, err = p.Read(context.Background(), plugin.ReadRequest{URN: clusterURN, Type: pluginapi.ClusterType, ID: "demo.example.com", Inputs: inputs, State: state})
		if !errors.As(err, &oe) || oe.Live != live {
			t.Errorf("refresh, live mark %q: err = %v", live, err)
		}
	}
}

// An import reads only; another stack's mark refuses it unless the config
// names that stack to take over; the recorded owner is then not this
// stack's, so diff asks for the update that writes the mark.
func TestClusterImportRespectsTheMark(t *testing.T) {
	t.Parallel()
	const other = "organization/kopscalico/other"
	for _, tc := range []struct {
		name, live, takeOver string
		wantErr              string
		wantOwner            string
	}{
		{name: "unmarked", live: "", wantOwner: ""},
		{name: "own", live: testStack, wantOwner: testStack},
		{name: "foreign", live: other, wantErr: "kopscalico:takeOverClusterFrom=" + other},
		{name: "foreign, taken over", live: other, takeOver: other, wantOwner: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := string(kopstest.Fixture(t, "calico-1.34.yaml"))
			if tc.live != "" {
				spec = markedFixture(t, "calico-1.34.yaml", tc.live)
			}
			k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
				"version":            kopstest.OK(kopsVersionOut),
				"get cluster":        kopstest.OK(spec),
				"get instancegroups": kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
				"export kubecfg":     kopstest.OK(""),
			}, Kubeconfig: "apiVersion: v1\nkind: Config\n"}
			p := newStackProvider(t, k, pluginapi.ProviderArgs{Stack: testStack, StateStore: "s3://demo-kops-state", TakeOverClusterFrom: tc.takeOver})
			res, err := p.Read(context.Background(), plugin.ReadRequest{URN: clusterURN, Type: pluginapi.ClusterType, ID: "demo.example.com"})
			for _, c := range k.Commands() {
				if strings.HasPrefix(c, "replace") || strings.Contains(c, "--yes") {
					t.Errorf("import wrote: kops %s", c)
				}
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var state pluginapi.ClusterState
			if err := pluginapi.Decode(res.Outputs, &state); err != nil || state.Owner != tc.wantOwner {
				t.Errorf("recorded owner %q, %v; want %q", state.Owner, err, tc.wantOwner)
			}
			diff, err := p.Diff(context.Background(), plugin.DiffRequest{URN: clusterURN, Type: pluginapi.ClusterType, ID: "demo.example.com",
				OldInputs: res.Inputs, OldOutputs: res.Outputs, NewInputs: res.Inputs})
			if _, flagged := diff.DetailedDiff["owner"]; err != nil || flagged != (tc.wantOwner != testStack) {
				t.Errorf("diff after import: %+v, %v", diff, err)
			}
		})
	}
}
