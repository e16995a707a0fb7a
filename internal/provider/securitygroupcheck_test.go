package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/provider"
	"github.com/kopscalico/kopscalico/internal/sgcheck"
	"github.com/kopscalico/kopscalico/internal/sgcheck/sgchecktest"
)

const (
	sgCluster = "calico.dev.example.com"
	sgRegion  = "us-east-2"
	sgURN     = resource.URN("urn:pulumi:dev::kopscalico::" + pluginapi.SecurityGroupCheckType + "::security-groups")
)

// logLine is one message the provider logged.
type logLine struct {
	sev diag.Severity
	urn resource.URN
	msg string
}

// recordedLogs is a provider.Logger that keeps every message.
type recordedLogs struct {
	mu    sync.Mutex
	lines []logLine
}

func (l *recordedLogs) Log(_ context.Context, sev diag.Severity, urn resource.URN, msg string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, logLine{sev, urn, msg})
	return nil
}

// only returns the single logged line, failing the test when there are
// others.
func (l *recordedLogs) only(t *testing.T) logLine {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.lines) != 1 {
		t.Fatalf("logged %d lines, want 1: %+v", len(l.lines), l.lines)
	}
	return l.lines[0]
}

// ec2Factory is Deps.NewEC2 handing out a fake: it counts the clients made
// and remembers the regions asked for.
type ec2Factory struct {
	fake    *sgchecktest.FakeEC2
	err     error
	regions []string
}

func (f *ec2Factory) new(_ context.Context, region string) (sgcheck.EC2API, error) {
	f.regions = append(f.regions, region)
	if f.err != nil {
		return nil, f.err
	}
	return f.fake, nil
}

// awsCalls is how many EC2 clients were made and describe calls sent.
func (f *ec2Factory) awsCalls() int {
	n := len(f.regions)
	if f.fake != nil {
		n += f.fake.Calls()
	}
	return n
}

func kopsCluster() *ec2Factory {
	return &ec2Factory{fake: sgchecktest.KopsCluster(sgCluster)}
}

func breakIPIP(f *sgchecktest.FakeEC2) {
	f.RemovePermissions(sgchecktest.MastersID, func(p types.IpPermission) bool { return aws.ToString(p.IpProtocol) == "4" })
}

func newProvider(newEC2 func(context.Context, string) (sgcheck.EC2API, error)) (*provider.Provider, *recordedLogs) {
	logs := &recordedLogs{}
	return provider.New(logs, provider.Deps{NewEC2: newEC2}), logs
}

// sgInputs are the program's inputs for a kops 1.34 cluster with its own
// Calico, with changes applied.
func sgInputs(mode config.SGCheckMode, changes map[string]any) resource.PropertyMap {
	in, err := pluginapi.Encode(pluginapi.SecurityGroupCheckArgs{
		ClusterName: sgCluster, Region: sgRegion, Encapsulation: config.EncapIPIP, AWSSrcDstCheck: config.SrcDstDisable,
		KopsBlocksEtcd: true, Mode: mode, ClusterRevision: "rev-1",
	})
	if err != nil {
		panic(err)
	}
	for k, v := range changes {
		in[resource.PropertyKey(k)] = resource.NewPropertyValue(v)
	}
	return in
}

func create(p *provider.Provider, inputs resource.PropertyMap, preview bool) (plugin.CreateResponse, error) {
	return p.Create(context.Background(), plugin.CreateRequest{
		URN: sgURN, Name: "security-groups", Type: pluginapi.SecurityGroupCheckType, Properties: inputs, Preview: preview,
	})
}

func summary(t *testing.T, props resource.PropertyMap) map[string]string {
	t.Helper()
	v, ok := props["summary"]
	if !ok || !v.IsObject() {
		t.Fatalf("no summary object in %v", props)
	}
	out := map[string]string{}
	for k, e := range v.ObjectValue() {
		out[string(k)] = e.StringValue()
	}
	return out
}

func TestSecurityGroupCheckPassesOnCompleteCluster(t *testing.T) {
	f := kopsCluster()
	p, logs := newProvider(f.new)
	resp, err := create(p, sgInputs(config.SGCheckEnforce, nil), false)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.regions, []string{sgRegion}) {
		t.Errorf("EC2 clients for regions %v, want [%s]", f.regions, sgRegion)
	}
	if f.fake.Calls() == 0 {
		t.Fatal("no describe call")
	}
	if resp.ID != sgCluster {
		t.Errorf("ID = %q, want the cluster name", resp.ID)
	}
	sum := summary(t, resp.Properties)
	if len(sum) != 10 {
		t.Fatalf("summary has %d entries, want 10: %v", len(sum), sum)
	}
	for id, v := range sum {
		if v != "ok" {
			t.Errorf("%s = %q", id, v)
		}
	}
	var state pluginapi.SecurityGroupCheckState
	if b, err := json.Marshal(resp.Properties.Mappable()); err != nil || json.Unmarshal(b, &state) != nil {
		t.Fatalf("outputs %v do not decode", resp.Properties)
	}
	wantArgs := pluginapi.SecurityGroupCheckArgs{
		ClusterName: sgCluster, Region: sgRegion, Encapsulation: "ipip", AWSSrcDstCheck: "Disable",
		KopsBlocksEtcd: true, Mode: config.SGCheckEnforce, ClusterRevision: "rev-1",
	}
	if state.SecurityGroupCheckArgs != wantArgs {
		t.Errorf("outputs record the inputs %+v, want %+v", state.SecurityGroupCheckArgs, wantArgs)
	}
	if l := logs.only(t); l.sev != diag.Info || l.urn != sgURN || !strings.Contains(l.msg, "10 checked, 0 missing") {
		t.Errorf("log = %+v", l)
	}
}

func TestSecurityGroupCheckWarnReportsMissing(t *testing.T) {
	f := kopsCluster()
	breakIPIP(f.fake)
	p, logs := newProvider(f.new)
	resp, err := create(p, sgInputs(config.SGCheckWarn, nil), false)
	if err != nil {
		t.Fatalf("warn mode failed: %v", err)
	}
	sum := summary(t, resp.Properties)
	got := sum["ipip-nodes-to-control-plane"]
	if !strings.HasPrefix(got, "missing in masters."+sgCluster+" ("+sgchecktest.MastersID+"): no ingress rule allows IP protocol 4") {
		t.Errorf("summary entry = %q", got)
	}
	if sum["all-nodes-to-nodes"] != "ok" {
		t.Errorf("summary = %v", sum)
	}
	if l := logs.only(t); l.sev != diag.Warning || !strings.Contains(l.msg, "MISSING") {
		t.Errorf("log = %+v", l)
	}
}

func TestSecurityGroupCheckEnforceFails(t *testing.T) {
	f := kopsCluster()
	breakIPIP(f.fake)
	p, logs := newProvider(f.new)
	_, err := create(p, sgInputs(config.SGCheckEnforce, nil), false)
	if err == nil || !strings.Contains(err.Error(), "cluster "+sgCluster+" misses 1 of 10 expectations") ||
		!strings.Contains(err.Error(), "kopscalico:securityGroupCheck=warn") {
		t.Fatalf("err = %v", err)
	}
	if l := logs.only(t); l.sev != diag.Error || !strings.Contains(l.msg, "ipip") {
		t.Errorf("the table is not logged as an error: %+v", l)
	}
}

func TestSecurityGroupCheckAWSErrors(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."}

	f := kopsCluster()
	f.fake.Err = denied
	p, logs := newProvider(f.new)
	resp, err := create(p, sgInputs(config.SGCheckWarn, nil), false)
	if err != nil {
		t.Fatalf("warn: %v", err)
	}
	if sum := summary(t, resp.Properties); len(sum) != 1 || !strings.Contains(sum["error"], "UnauthorizedOperation") {
		t.Errorf("warn: summary = %v", sum)
	}
	if l := logs.only(t); l.sev != diag.Warning || !strings.Contains(l.msg, "UnauthorizedOperation") {
		t.Errorf("warn: log = %+v", l)
	}

	p, _ = newProvider(f.new)
	_, err = create(p, sgInputs(config.SGCheckEnforce, nil), false)
	if err == nil || !errors.Is(err, denied) || !strings.Contains(err.Error(), "kopscalico:securityGroupCheck=warn") {
		t.Errorf("enforce, describe refused: err = %v", err)
	}

	noCreds := &ec2Factory{err: errors.New("no credentials")}
	p, _ = newProvider(noCreds.new)
	_, err = create(p, sgInputs(config.SGCheckEnforce, nil), false)
	if err == nil || !strings.Contains(err.Error(), "security-group check: no credentials") {
		t.Errorf("enforce, no client: err = %v", err)
	}
}

func TestSecurityGroupCheckPreviewMakesNoAWSCall(t *testing.T) {
	for _, mode := range []config.SGCheckMode{config.SGCheckEnforce, config.SGCheckWarn} {
		f := kopsCluster()
		breakIPIP(f.fake) // a run that checked would fail in enforce mode
		p, _ := newProvider(f.new)
		resp, err := create(p, sgInputs(mode, nil), true)
		if err != nil {
			t.Errorf("%s: create preview: %v", mode, err)
		} else if !resp.Properties["summary"].IsComputed() {
			t.Errorf("%s: create preview summary = %v, want unknown", mode, resp.Properties["summary"])
		}
		up, err := p.Update(context.Background(), plugin.UpdateRequest{
			URN: sgURN, Type: pluginapi.SecurityGroupCheckType, ID: sgCluster,
			OldInputs: sgInputs(mode, nil), NewInputs: sgInputs(mode, map[string]any{"clusterRevision": "rev-2"}), Preview: true,
		})
		if err != nil {
			t.Errorf("%s: update preview: %v", mode, err)
		} else if !up.Properties["summary"].IsComputed() {
			t.Errorf("%s: update preview summary = %v, want unknown", mode, up.Properties["summary"])
		}
		if n := f.awsCalls(); n != 0 {
			t.Errorf("%s: preview made %d AWS calls", mode, n)
		}
	}
}

func TestSecurityGroupCheckDiff(t *testing.T) {
	f := kopsCluster()
	p, _ := newProvider(f.new)
	diff := func(news resource.PropertyMap) plugin.DiffResponse {
		t.Helper()
		resp, err := p.Diff(context.Background(), plugin.DiffRequest{
			URN: sgURN, Type: pluginapi.SecurityGroupCheckType, ID: sgCluster,
			OldInputs: sgInputs(config.SGCheckEnforce, nil), NewInputs: news,
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if d := diff(sgInputs(config.SGCheckEnforce, nil)); d.Changes != plugin.DiffNone {
		t.Errorf("unchanged inputs: %+v", d)
	}
	for _, rev := range []resource.PropertyValue{resource.NewStringProperty("rev-2"), resource.MakeComputed(resource.NewStringProperty(""))} {
		news := sgInputs(config.SGCheckEnforce, nil)
		news["clusterRevision"] = rev
		d := diff(news)
		if d.Changes != plugin.DiffSome || len(d.ChangedKeys) != 1 || d.ChangedKeys[0] != "clusterRevision" ||
			d.DetailedDiff["clusterRevision"].Kind != plugin.DiffUpdate || len(d.ReplaceKeys) != 0 {
			t.Errorf("clusterRevision %v: want an update of clusterRevision, got %+v", rev, d)
		}
	}
	if n := f.awsCalls(); n != 0 {
		t.Errorf("diff made %d AWS calls", n)
	}
}

// A new cluster revision runs the check again; in enforce mode a failing
// check fails the update.
func TestSecurityGroupCheckUpdateChecksAgain(t *testing.T) {
	f := kopsCluster()
	p, _ := newProvider(f.new)
	old := sgInputs(config.SGCheckEnforce, nil)
	created, err := create(p, old, false)
	if err != nil {
		t.Fatal(err)
	}
	breakIPIP(f.fake)
	update := func(news resource.PropertyMap) (plugin.UpdateResponse, error) {
		return p.Update(context.Background(), plugin.UpdateRequest{
			URN: sgURN, Type: pluginapi.SecurityGroupCheckType, ID: created.ID,
			OldInputs: old, OldOutputs: created.Properties, NewInputs: news,
		})
	}
	calls := f.fake.Calls()
	if _, err := update(sgInputs(config.SGCheckEnforce, map[string]any{"clusterRevision": "rev-2"})); err == nil ||
		!strings.Contains(err.Error(), "misses 1 of 10 expectations") {
		t.Errorf("enforce update on a broken cluster: err = %v", err)
	}
	if f.fake.Calls() == calls {
		t.Error("the update did not check again")
	}
	resp, err := update(sgInputs(config.SGCheckWarn, map[string]any{"clusterRevision": "rev-2"}))
	if err != nil {
		t.Fatal(err)
	}
	sum := summary(t, resp.Properties)
	if !strings.HasPrefix(sum["ipip-nodes-to-control-plane"], "missing in ") || resp.Properties["clusterRevision"].StringValue() != "rev-2" {
		t.Errorf("warn update: %v", resp.Properties)
	}
}

func TestSecurityGroupCheckReadAndDeleteMakeNoAWSCall(t *testing.T) {
	f := kopsCluster()
	p, _ := newProvider(f.new)
	in := sgInputs(config.SGCheckEnforce, nil)
	state := in.Copy()
	state["summary"] = resource.NewObjectProperty(resource.NewPropertyMapFromMap(map[string]any{"group-nodes": "ok"}))

	read, err := p.Read(context.Background(), plugin.ReadRequest{URN: sgURN, Type: pluginapi.SecurityGroupCheckType, ID: sgCluster, Inputs: in, State: state})
	if err != nil {
		t.Fatal(err)
	}
	if read.ID != sgCluster || !read.Outputs.DeepEquals(state) || !read.Inputs.DeepEquals(in) {
		t.Errorf("read does not keep the recorded result: %+v", read.ReadResult)
	}
	if _, err := p.Delete(context.Background(), plugin.DeleteRequest{URN: sgURN, Type: pluginapi.SecurityGroupCheckType, ID: sgCluster, Inputs: in, Outputs: state}); err != nil {
		t.Fatal(err)
	}
	if n := f.awsCalls(); n != 0 {
		t.Errorf("read and delete made %d AWS calls", n)
	}
}

// The etcd expectation exists only for an etcd-backed Calico; on kops 1.20+
// it is reported as blocked by kops and does not fail enforce mode.
func TestSecurityGroupCheckEtcdExpectation(t *testing.T) {
	for _, tc := range []struct {
		etcd, kopsBlocks bool
		mode             config.SGCheckMode
		want             string // prefix of the entry, "" for none
	}{
		{false, true, config.SGCheckEnforce, ""},
		{false, false, config.SGCheckEnforce, ""},
		{true, false, config.SGCheckWarn, "missing in masters." + sgCluster + " (" + sgchecktest.MastersID + "): no ingress rule allows tcp 4001"},
		{true, true, config.SGCheckEnforce, "blocked by kops: kops 1.20+ never opens TCP 4001"},
	} {
		name := fmt.Sprintf("etcdDatastore=%v kopsBlocksEtcd=%v %s", tc.etcd, tc.kopsBlocks, tc.mode)
		f := kopsCluster()
		p, logs := newProvider(f.new)
		resp, err := create(p, sgInputs(tc.mode, map[string]any{"etcdDatastore": tc.etcd, "kopsBlocksEtcd": tc.kopsBlocks}), false)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got, has := summary(t, resp.Properties)["etcd-nodes-to-control-plane"]
		if has != (tc.want != "") || !strings.HasPrefix(got, tc.want) {
			t.Errorf("%s: etcd entry %q (present %v), want prefix %q", name, got, has, tc.want)
		}
		if wantSev := map[bool]diag.Severity{false: diag.Info, true: diag.Warning}[tc.etcd]; logs.only(t).sev != wantSev {
			t.Errorf("%s: logged as %v, want %v", name, logs.only(t).sev, wantSev)
		}
	}
}

func TestSecurityGroupCheckInputs(t *testing.T) {
	p, _ := newProvider(kopsCluster().new)
	check := func(news resource.PropertyMap) []plugin.CheckFailure {
		t.Helper()
		resp, err := p.Check(context.Background(), plugin.CheckRequest{URN: sgURN, Type: pluginapi.SecurityGroupCheckType, News: news})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Failures
	}
	if f := check(sgInputs(config.SGCheckWarn, nil)); len(f) != 0 {
		t.Errorf("good inputs: %v", f)
	}
	f := check(sgInputs("off", map[string]any{"region": ""}))
	if len(f) != 2 || f[0].Property != "mode" || !strings.Contains(f[0].Reason, "must be enforce or warn") || f[1].Property != "region" {
		t.Errorf("bad mode and no region: %+v", f)
	}
	unknown := sgInputs(config.SGCheckWarn, nil)
	unknown["mode"] = resource.MakeComputed(resource.NewStringProperty(""))
	unknown["clusterName"] = resource.MakeComputed(resource.NewStringProperty(""))
	if f := check(unknown); len(f) != 0 {
		t.Errorf("unknown inputs at preview: %v", f)
	}
}

// The provider's real client, sgcheck.NewEC2 configured from the
// environment as in the plugin process, reaches the fake over HTTP.
func TestSecurityGroupCheckOverTheWire(t *testing.T) {
	fake := sgchecktest.KopsCluster(sgCluster)
	fake.PageSize = 2
	srv := sgchecktest.Serve(fake, sgRegion)
	defer srv.Close()
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	for k, v := range srv.Env() {
		t.Setenv(k, v)
	}
	p, _ := newProvider(sgcheck.NewEC2)

	if _, err := create(p, sgInputs(config.SGCheckEnforce, nil), true); err != nil || srv.RequestCount() != 0 {
		t.Fatalf("preview: err %v, %d requests", err, srv.RequestCount())
	}
	resp, err := create(p, sgInputs(config.SGCheckEnforce, nil), false)
	if err != nil {
		t.Fatal(err)
	}
	if sum := summary(t, resp.Properties); len(sum) != 10 || sum["ipip-nodes-to-control-plane"] != "ok" {
		t.Errorf("summary = %v", sum)
	}
	reqs := srv.Requests()
	if len(reqs) != 3 { // groups in one page, instances in two
		t.Errorf("%d requests, want 3", len(reqs))
	}
	for _, r := range reqs {
		if r.Region != sgRegion {
			t.Errorf("%s signed for %s, want %s", r.Action, r.Region, sgRegion)
		}
	}

	fake.Err = &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."}
	resp, err = create(p, sgInputs(config.SGCheckWarn, nil), false)
	if err != nil {
		t.Fatal(err)
	}
	if sum := summary(t, resp.Properties); !strings.Contains(sum["error"], "api error UnauthorizedOperation: You are not authorized") {
		t.Errorf("refused describe: summary = %v", sum)
	}
}
