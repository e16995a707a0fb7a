package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/probe"
	"github.com/kopscalico/kopscalico/internal/probe/probetest"
	"github.com/kopscalico/kopscalico/internal/provider"
)

const (
	pvURN       = resource.URN("urn:pulumi:dev::kopscalico::kopscalico:probes:Probes$" + pluginapi.ProbeVerdictsType + "::probes")
	pvNamespace = "ns-1"
	pvBusybox   = "probe-busybox-to-http-echo"
	pvStranger  = "probe-stranger-to-http-echo"
	jobURN      = "urn:pulumi:dev::kopscalico::kopscalico:probes:Probes$kubernetes:batch/v1:Job::ns-1/"
	kubeconfig  = "apiVersion: v1\nkind: Config\n# token: s3cr3t\n"
)

// cluster is the probe pods of a fake cluster: finished ones, which a test
// deletes as a node roll or pod garbage collection would.
type cluster struct {
	mu   sync.Mutex
	pods map[string][]corev1.Pod // by Job name
}

func ranProbes() *cluster {
	c := &cluster{pods: map[string][]corev1.Pod{}}
	for _, job := range []string{pvBusybox, pvStranger} {
		c.pods[job] = []corev1.Pod{finishedPod(job, corev1.PodSucceeded)}
	}
	return c
}

func finishedPod(job string, phase corev1.PodPhase) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: job + "-x7k2p", Namespace: pvNamespace, Labels: map[string]string{"job-name": job},
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))},
		Status: corev1.PodStatus{Phase: phase},
	}
}

func (c *cluster) jobPods(ctx context.Context, namespace, job string) ([]corev1.Pod, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if namespace != pvNamespace {
		return nil, nil
	}
	return c.pods[job], nil
}

func (c *cluster) set(job string, pods ...corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pods[job] = pods
}

// agreeing are the logs of probes that saw what the shipped policies say.
func agreeing() map[string]string {
	return map[string]string{pvBusybox: "busybox-allowed.log", pvStranger: "stranger-blocked.log"}
}

func newProbeProvider(c *cluster, logs map[string]string) (*provider.Provider, *probetest.Reader, *recordedLogs) {
	reader := probetest.NewReader(c.jobPods, logs)
	l := &recordedLogs{}
	return provider.New(l, provider.Deps{ProbeReader: reader}), reader, l
}

// pvInputs are the program's inputs for the demo's probes, revision rev.
func pvInputs(t *testing.T, rev string) resource.PropertyMap {
	t.Helper()
	probes, err := probe.Plan(func(from, _ string, _ int, _ string) (bool, error) { return from == "ns-1/probe-busybox", nil },
		probe.DemoSources(pvNamespace), probe.DemoTargets(pvNamespace))
	if err != nil {
		t.Fatal(err)
	}
	props, err := pluginapi.Encode(pluginapi.ProbeVerdictsArgs{Kubeconfig: kubeconfig, ProbeRun: pluginapi.ProbeRun{
		Namespace: pvNamespace, Probes: probes, Revision: rev,
		Jobs: map[string]string{pvBusybox: jobURN + pvBusybox, pvStranger: jobURN + pvStranger},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return props
}

func createVerdicts(p *provider.Provider, inputs resource.PropertyMap, preview bool) (plugin.CreateResponse, error) {
	return p.Create(context.Background(), plugin.CreateRequest{
		URN: pvURN, Name: "probes", Type: pluginapi.ProbeVerdictsType, Properties: inputs, Preview: preview,
	})
}

func updateVerdicts(p *provider.Provider, old plugin.CreateResponse, olds, news resource.PropertyMap, preview bool) (plugin.UpdateResponse, error) {
	return p.Update(context.Background(), plugin.UpdateRequest{
		URN: pvURN, Name: "probes", Type: pluginapi.ProbeVerdictsType, ID: old.ID,
		OldInputs: olds, OldOutputs: old.Properties, NewInputs: news, Preview: preview,
	})
}

func verdictsState(t *testing.T, props resource.PropertyMap) pluginapi.ProbeVerdictsState {
	t.Helper()
	var s pluginapi.ProbeVerdictsState
	b, err := json.Marshal(props.Mappable())
	if err == nil {
		err = json.Unmarshal(b, &s)
	}
	if err != nil {
		t.Fatalf("state %v: %v", props, err)
	}
	return s
}

func TestProbeVerdictsRecordsAgreeingVerdicts(t *testing.T) {
	t.Parallel()
	p, reader, logs := newProbeProvider(ranProbes(), agreeing())
	resp, err := createVerdicts(p, pvInputs(t, "rev-1"), false)
	if err != nil {
		t.Fatal(err)
	}
	if reader.Calls() != 1 || reader.Kubeconfigs()[0] != kubeconfig {
		t.Errorf("reads %d, kubeconfigs %q: want one read with the input kubeconfig", reader.Calls(), reader.Kubeconfigs())
	}
	if resp.ID != pvNamespace {
		t.Errorf("ID = %q", resp.ID)
	}
	if _, ok := resp.Properties["kubeconfig"]; ok {
		t.Error("the kubeconfig is recorded in the outputs")
	}
	s := verdictsState(t, resp.Properties)
	if s.Verdicts[pvBusybox] != "allowed" || s.Verdicts[pvStranger] != "blocked" || len(s.Verdicts) != 2 {
		t.Errorf("verdicts = %v", s.Verdicts)
	}
	if s.Revision != "rev-1" || s.Namespace != pvNamespace || len(s.Probes) != 2 || s.Jobs[pvStranger] != jobURN+pvStranger {
		t.Errorf("the state does not keep what ran: %+v", s.ProbeRun)
	}
	for _, want := range []string{"EXPECTED", "OBSERVED", pvBusybox, pvStranger, "http-echo.ns-1.svc.cluster.local:80"} {
		if !strings.Contains(s.Table, want) {
			t.Errorf("table lacks %q:\n%s", want, s.Table)
		}
	}
	if strings.Contains(s.Table, "differs") {
		t.Errorf("agreeing table marks a row:\n%s", s.Table)
	}
	if l := logs.only(t); l.sev != diag.Info || l.urn != pvURN || !strings.Contains(l.msg, s.Table) {
		t.Errorf("log = %+v", l)
	}
}

// The table's first line is the nodes' to say, as read with the verdicts:
// one zone says no subnet was crossed, whatever the config listed; nodes
// that cannot be listed are said so, and the verdicts still recorded.
func TestProbeVerdictsSayWhatTheNodesCrossed(t *testing.T) {
	t.Parallel()
	node := func(name, zone string) corev1.Node {
		n := corev1.Node{}
		n.Name, n.Labels = name, map[string]string{probe.ZoneLabel: zone}
		return n
	}
	for _, tc := range []struct {
		name  string
		nodes []corev1.Node
		err   error
		want  string
		zones probe.Zones
	}{
		{"one zone", []corev1.Node{node("a", "us-east-1a"), node("b", "us-east-1a")}, nil,
			"nodes: 2 nodes, in one zone, us-east-1a (us-east-1a: 2): no probe crossed a subnet", probe.Zones{"us-east-1a": 2}},
		{"two zones, probes not placed", []corev1.Node{node("a", "us-east-1a"), node("b", "us-east-1b")}, nil,
			"nodes: 2 nodes in 2 zones (us-east-1a: 1, us-east-1b: 1), but the probes are not placed by zone", probe.Zones{"us-east-1a": 1, "us-east-1b": 1}},
		{"unreadable", nil, errors.New("403 Forbidden"), "nodes: the nodes' zones were not read (403 Forbidden)", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, reader, _ := newProbeProvider(ranProbes(), agreeing())
			reader.Nodes = func(context.Context) ([]corev1.Node, error) { return tc.nodes, tc.err }
			resp, err := createVerdicts(p, pvInputs(t, "rev-1"), false)
			if err != nil {
				t.Fatal(err)
			}
			s := verdictsState(t, resp.Properties)
			if !strings.HasPrefix(s.Table, tc.want) {
				t.Errorf("table starts %q, want %q", strings.SplitN(s.Table, "\n", 2)[0], tc.want)
			}
			if !reflect.DeepEqual(s.Zones, tc.zones) {
				t.Errorf("zones = %v, want %v", s.Zones, tc.zones)
			}
		})
	}
}

func TestProbeVerdictsDisagreeingFailsWithTheTable(t *testing.T) {
	t.Parallel()
	logs := agreeing()
	logs[pvStranger] = "stranger-allowed.log" // a hole: the policies are not enforced
	p, _, _ := newProbeProvider(ranProbes(), logs)
	_, err := createVerdicts(p, pvInputs(t, "rev-1"), false)
	if err == nil {
		t.Fatal("create passed although a probe disagrees with the policies")
	}
	msg := err.Error()
	for _, want := range []string{
		"1 of 2 probes disagree with the network policies",
		pvStranger + "  ns-1 app=stranger  http-echo.ns-1.svc.cluster.local:80  any (not placed by zone)  -              blocked   allowed",
		"<- differs",
		"pulumi up --replace '" + jobURN + pvStranger + "'\n",
		"kopscalico:probes=false",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "--replace '"+jobURN+pvBusybox) {
		t.Errorf("the advice replaces the agreeing probe too:\n%s", msg)
	}
}

// Pods gone before the verdicts were recorded: the error gives the command
// that runs exactly those Jobs again.
func TestProbeVerdictsPodsGoneAdvisesReplacingTheirJobs(t *testing.T) {
	t.Parallel()
	c := ranProbes()
	c.set(pvStranger)
	p, _, _ := newProbeProvider(c, agreeing())
	_, err := createVerdicts(p, pvInputs(t, "rev-1"), false)
	if err == nil || !errors.Is(err, probe.ErrNoPod) {
		t.Fatalf("err = %v, want probe.ErrNoPod", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"probe Job ns-1/" + pvStranger + ": no pod found",
		"went before their verdicts were recorded",
		"pulumi up --replace '" + jobURN + pvStranger + "'",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, jobURN+pvBusybox) {
		t.Errorf("the advice replaces the Job whose pod is there:\n%s", msg)
	}

	// A pod not finished yet is another failure: nothing to replace, the
	// next up reads again.
	c.set(pvStranger, finishedPod(pvStranger, corev1.PodRunning))
	_, err = createVerdicts(p, pvInputs(t, "rev-1"), false)
	if err == nil || errors.Is(err, probe.ErrNoPod) || strings.Contains(err.Error(), "--replace") ||
		!strings.Contains(err.Error(), "no finished pod") || !strings.Contains(err.Error(), "the next `pulumi up` reads the verdicts again") {
		t.Errorf("running pod: err = %v", err)
	}
}

func TestProbeVerdictsPreviewReadsNothing(t *testing.T) {
	t.Parallel()
	p, reader, _ := newProbeProvider(&cluster{}, nil)
	resp, err := createVerdicts(p, pvInputs(t, "rev-1"), true)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Properties["table"].IsComputed() || !resp.Properties["verdicts"].IsComputed() {
		t.Errorf("create preview: table %v verdicts %v, want unknown", resp.Properties["table"], resp.Properties["verdicts"])
	}
	if _, ok := resp.Properties["kubeconfig"]; ok {
		t.Error("create preview outputs the kubeconfig")
	}
	news := pvInputs(t, "")
	news["revision"] = resource.MakeComputed(resource.NewStringProperty(""))
	up, err := updateVerdicts(p, resp, pvInputs(t, "rev-1"), news, true)
	if err != nil {
		t.Fatal(err)
	}
	if !up.Properties["table"].IsComputed() || !up.Properties["revision"].IsComputed() {
		t.Errorf("update preview: table %v revision %v, want unknown", up.Properties["table"], up.Properties["revision"])
	}
	if reader.Calls() != 0 {
		t.Errorf("preview read the probes %d times", reader.Calls())
	}
}

func TestProbeVerdictsDiff(t *testing.T) {
	t.Parallel()
	p, _, _ := newProbeProvider(&cluster{}, nil)
	olds := pvInputs(t, "rev-1")
	diff := func(news resource.PropertyMap) plugin.DiffResponse {
		t.Helper()
		resp, err := p.Diff(context.Background(), plugin.DiffRequest{URN: pvURN, Type: pluginapi.ProbeVerdictsType, ID: pvNamespace, OldInputs: olds, NewInputs: news})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if d := diff(pvInputs(t, "rev-1")); d.Changes != plugin.DiffNone {
		t.Errorf("unchanged: %+v", d)
	}
	renewed := pvInputs(t, "rev-1")
	renewed["kubeconfig"] = resource.MakeSecret(resource.NewStringProperty(kubeconfig + "# renewed\n"))
	if d := diff(renewed); d.Changes != plugin.DiffNone {
		t.Errorf("a new kubeconfig alone: %+v, want no change (nothing to read again)", d)
	}
	unknown := pvInputs(t, "rev-1")
	unknown["revision"] = resource.MakeComputed(resource.NewStringProperty(""))
	fewer := pvInputs(t, "rev-1")
	fewer["probes"] = resource.NewArrayProperty(fewer["probes"].ArrayValue()[:1])
	for name, tc := range map[string]struct {
		news resource.PropertyMap
		key  resource.PropertyKey
	}{
		"new revision":     {pvInputs(t, "rev-2"), "revision"},
		"unknown revision": {unknown, "revision"},
		"other probes":     {fewer, "probes"},
	} {
		d := diff(tc.news)
		if d.Changes != plugin.DiffSome || len(d.ChangedKeys) != 1 || d.ChangedKeys[0] != tc.key ||
			d.DetailedDiff[string(tc.key)].Kind != plugin.DiffUpdate || len(d.ReplaceKeys) != 0 {
			t.Errorf("%s: want an update of %s, got %+v", name, tc.key, d)
		}
	}
}

// Issue 14: once recorded, the verdicts outlive the pods. An unchanged run
// (diff none, refresh) reads nothing; a new revision (the Jobs replaced and
// run again) reads the new pods.
func TestProbeVerdictsOutliveThePods(t *testing.T) {
	t.Parallel()
	c := ranProbes()
	p, reader, _ := newProbeProvider(c, agreeing())
	in := pvInputs(t, "rev-1")
	created, err := createVerdicts(p, in, false)
	if err != nil {
		t.Fatal(err)
	}
	c.set(pvBusybox)
	c.set(pvStranger)

	d, err := p.Diff(context.Background(), plugin.DiffRequest{URN: pvURN, Type: pluginapi.ProbeVerdictsType, ID: created.ID, OldInputs: in, OldOutputs: created.Properties, NewInputs: pvInputs(t, "rev-1")})
	if err != nil || d.Changes != plugin.DiffNone {
		t.Errorf("diff after the pods went: %+v, %v", d, err)
	}
	read, err := p.Read(context.Background(), plugin.ReadRequest{URN: pvURN, Type: pluginapi.ProbeVerdictsType, ID: created.ID, Inputs: in, State: created.Properties})
	if err != nil || !read.Outputs.DeepEquals(created.Properties) || !read.Inputs.DeepEquals(in) || read.ID != created.ID {
		t.Errorf("refresh does not keep the recorded verdicts: %+v, %v", read.ReadResult, err)
	}
	if _, err := p.Delete(context.Background(), plugin.DeleteRequest{URN: pvURN, Type: pluginapi.ProbeVerdictsType, ID: created.ID, Inputs: in, Outputs: created.Properties}); err != nil {
		t.Fatal(err)
	}
	if reader.Calls() != 1 {
		t.Errorf("%d reads, want only the create's", reader.Calls())
	}

	// New Jobs ran (a roll, a policy change): the update reads them.
	c.set(pvBusybox, finishedPod(pvBusybox, corev1.PodSucceeded))
	c.set(pvStranger, finishedPod(pvStranger, corev1.PodSucceeded))
	reader.SetLogs(map[string]string{pvBusybox: "busybox-dns-error.log", pvStranger: "stranger-blocked.log"})
	if _, err := updateVerdicts(p, created, in, pvInputs(t, "rev-2"), false); err == nil || !strings.Contains(err.Error(), "<- differs") {
		t.Errorf("update with a failing probe: err = %v", err)
	}
	reader.SetLogs(agreeing())
	up, err := updateVerdicts(p, created, in, pvInputs(t, "rev-2"), false)
	if err != nil {
		t.Fatal(err)
	}
	if s := verdictsState(t, up.Properties); s.Revision != "rev-2" || s.Verdicts[pvBusybox] != "allowed" {
		t.Errorf("update state = %+v", s)
	}
	if reader.Calls() != 3 {
		t.Errorf("%d reads, want one per update", reader.Calls())
	}
}

func TestProbeVerdictsInputs(t *testing.T) {
	t.Parallel()
	p, _, _ := newProbeProvider(&cluster{}, nil)
	check := func(news resource.PropertyMap) []plugin.CheckFailure {
		t.Helper()
		resp, err := p.Check(context.Background(), plugin.CheckRequest{URN: pvURN, Type: pluginapi.ProbeVerdictsType, News: news})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Failures
	}
	if f := check(pvInputs(t, "rev-1")); len(f) != 0 {
		t.Errorf("good inputs: %v", f)
	}
	bad := pvInputs(t, "rev-1")
	bad["namespace"] = resource.NewStringProperty("")
	bad["kubeconfig"] = resource.MakeSecret(resource.NewStringProperty(""))
	bad["jobs"] = resource.NewObjectProperty(resource.PropertyMap{pvBusybox: resource.NewStringProperty(jobURN + pvBusybox)})
	f := check(bad)
	if len(f) != 3 || f[0].Property != "jobs" || !strings.Contains(f[0].Reason, pvStranger) || f[1].Property != "kubeconfig" || f[2].Property != "namespace" {
		t.Errorf("no namespace, no kubeconfig, a Job URN missing: %+v", f)
	}
	none := pvInputs(t, "rev-1")
	none["probes"] = resource.NewArrayProperty(nil)
	if f := check(none); len(f) != 1 || f[0].Property != "probes" {
		t.Errorf("no probes: %+v", f)
	}
	unknown := pvInputs(t, "rev-1")
	for _, k := range []resource.PropertyKey{"kubeconfig", "jobs", "revision"} {
		unknown[k] = resource.MakeComputed(resource.NewStringProperty(""))
	}
	if f := check(unknown); len(f) != 0 {
		t.Errorf("unknown inputs at preview: %v", f)
	}
}

// The engine's cancellation stops a running read; the next run reads again
// (a provider served apart from the engine serves every run of a test).
func TestProbeVerdictsCancellation(t *testing.T) {
	t.Parallel()
	reading := make(chan struct{})
	var once sync.Once
	reader := probetest.NewReader(func(ctx context.Context, _, _ string) ([]corev1.Pod, error) {
		once.Do(func() { close(reading) })
		<-ctx.Done()
		return nil, ctx.Err()
	}, agreeing())
	p := provider.New(nil, provider.Deps{ProbeReader: reader})
	failed := make(chan error)
	go func() {
		_, err := createVerdicts(p, pvInputs(t, "rev-1"), false)
		failed <- err
	}()
	<-reading
	if err := p.SignalCancellation(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-failed:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled read: err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the read did not stop on cancellation")
	}

	c := ranProbes()
	reader.Pods = c.jobPods
	if _, err := createVerdicts(p, pvInputs(t, "rev-1"), false); err != nil {
		t.Errorf("the run after a cancelled one: %v", err)
	}
}
