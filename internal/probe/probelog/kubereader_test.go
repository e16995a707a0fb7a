package probelog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kopscalico/kopscalico/internal/probe"
	"github.com/kopscalico/kopscalico/internal/testing/kubeconfigtest"
)

// fakeAPI serves the two calls the reader makes: list pods by label and
// read a pod's log, over TLS with a bearer token, like the API server.
type fakeAPI struct {
	pods  map[string][]corev1.Pod // by job name
	logs  map[string]string       // by pod name
	zones map[string]string       // by node name

	mu       sync.Mutex
	requests []string
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.RequestURI())
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer probe-token" {
		http.Error(w, `{"kind":"Status","message":"Unauthorized"}`, http.StatusUnauthorized)
		return
	}
	const prefix = "/api/v1/namespaces/ns-1/pods"
	switch {
	case r.URL.Path == "/api/v1/nodes" && r.URL.Query().Get("limit") == "2000":
		var list corev1.NodeList
		for name, zone := range f.zones {
			list.Items = append(list.Items, corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{probe.ZoneLabel: zone}}})
		}
		json.NewEncoder(w).Encode(list)
	case strings.HasPrefix(r.URL.Path, "/api/v1/nodes/"):
		name := strings.TrimPrefix(r.URL.Path, "/api/v1/nodes/")
		zone, ok := f.zones[name]
		if !ok {
			http.Error(w, `{"kind":"Status","message":"nodes \"`+name+`\" not found"}`, http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{probe.ZoneLabel: zone}}})
	case r.URL.Path == prefix:
		job := strings.TrimPrefix(r.URL.Query().Get("labelSelector"), "job-name=")
		json.NewEncoder(w).Encode(corev1.PodList{Items: f.pods[job]})
	case strings.HasPrefix(r.URL.Path, prefix+"/") && strings.HasSuffix(r.URL.Path, "/log"):
		pod := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix+"/"), "/log")
		if r.URL.Query().Get("container") != "probe" {
			http.Error(w, "container?", http.StatusBadRequest)
			return
		}
		log, ok := f.logs[pod]
		if !ok {
			http.Error(w, `{"kind":"Status","message":"pods \"`+pod+`\" not found"}`, http.StatusNotFound)
			return
		}
		fmt.Fprint(w, log)
	default:
		http.NotFound(w, r)
	}
}

// recorded is a probe log recorded from the probe script (internal/probe
// holds the recordings to it).
func recorded(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// demoPlan is the demo's probes under the shipped policies: only the busybox
// client reaches http-echo.
func demoPlan(t *testing.T) []probe.Probe {
	t.Helper()
	probes, err := probe.Plan(func(from, _ string, _ int, _ string) (bool, error) { return from == "ns-1/probe-busybox", nil },
		probe.DemoSources("ns-1"), probe.DemoTargets("ns-1"))
	if err != nil {
		t.Fatal(err)
	}
	return probes
}

func pod(name string, phase corev1.PodPhase, created time.Time) corev1.Pod {
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns-1", CreationTimestamp: metav1.NewTime(created)},
		Spec:       corev1.PodSpec{NodeName: "node-" + name},
		Status:     corev1.PodStatus{Phase: phase},
	}
}

func kubeconfigFor(t *testing.T, srv *httptest.Server) string {
	return string(kubeconfigtest.Token(t, srv.URL, srv.Certificate(), "probe-token"))
}

func TestKubeReaderReadsTheNewestFinishedPodOfEachJob(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	api := &fakeAPI{
		pods: map[string][]corev1.Pod{
			"probe-busybox-to-http-echo": {
				pod("busybox-old", corev1.PodSucceeded, t0),
				pod("busybox-new", corev1.PodSucceeded, t0.Add(time.Minute)),
				pod("busybox-pending", corev1.PodPending, t0.Add(2*time.Minute)),
			},
			"probe-stranger-to-http-echo": {pod("stranger", corev1.PodSucceeded, t0)},
		},
		logs: map[string]string{
			"busybox-old": "PROBE probe-busybox-to-http-echo blocked \n",
			"busybox-new": recorded(t, "busybox-allowed.log"),
			"stranger":    recorded(t, "stranger-blocked.log"),
		},
		// The stranger's node is gone (a roll): its zone is unknown.
		zones: map[string]string{"node-busybox-new": "us-east-1a"},
	}
	srv := httptest.NewTLSServer(api)
	defer srv.Close()

	got, err := KubeReader{}.ReadResults(context.Background(), kubeconfigFor(t, srv), "ns-1",
		[]string{"probe-busybox-to-http-echo", "probe-stranger-to-http-echo"})
	if err != nil {
		t.Fatalf("ReadResults: %v", err)
	}
	want := map[string]string{
		"probe-busybox-to-http-echo":  recorded(t, "busybox-allowed.log") + "\nPROBE-NODE node-busybox-new us-east-1a\n",
		"probe-stranger-to-http-echo": recorded(t, "stranger-blocked.log") + "\nPROBE-NODE node-stranger unknown: GET /api/v1/nodes/node-stranger: 404 Not Found (no such object or kind): {\"kind\":\"Status\",\"message\":\"nodes \\\"node-stranger\\\" not found\"}\n",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("result of %s = %q, want %q", k, got[k], v)
		}
	}
	if _, err := probe.Compare(demoPlan(t), got); err != nil {
		t.Errorf("the read results do not compare as agreeing: %v", err)
	}
	if want := "/api/v1/namespaces/ns-1/pods?labelSelector=job-name%3Dprobe-busybox-to-http-echo"; api.requests[0] != want {
		t.Errorf("first request = %q, want %q", api.requests[0], want)
	}
	api.zones["node-x"] = "us-east-1a"
	api.zones["node-y"] = ""
	zones, err := KubeReader{}.NodeZones(context.Background(), kubeconfigFor(t, srv))
	if want := (probe.Zones{"us-east-1a": 2, "": 1}); err != nil || !reflect.DeepEqual(zones, want) {
		t.Errorf("NodeZones = %v, %v; want %v", zones, err, want)
	}
}

func TestKubeReaderErrorsNameTheJob(t *testing.T) {
	t.Parallel()
	api := &fakeAPI{pods: map[string][]corev1.Pod{
		"probe-running": {pod("p1", corev1.PodRunning, time.Now())},
		"probe-nolog":   {pod("p2", corev1.PodSucceeded, time.Now())},
	}}
	srv := httptest.NewTLSServer(api)
	defer srv.Close()

	got, err := KubeReader{}.ReadResults(context.Background(), kubeconfigFor(t, srv), "ns-1",
		[]string{"probe-gone", "probe-running", "probe-nolog"})
	if err == nil {
		t.Fatal("ReadResults succeeded without any result")
	}
	for _, want := range []string{
		"probe Job ns-1/probe-gone: no pod found",
		"probe Job ns-1/probe-running: no finished pod (p1=Running)",
		"probe Job ns-1/probe-nolog: log of pod p2: GET",
		"404 Not Found",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if len(got) != 0 {
		t.Errorf("results = %v, want none", got)
	}
	if !errors.Is(err, probe.ErrNoPod) {
		t.Errorf("a Job without pods is not probe.ErrNoPod: %v", err)
	}
	_, err = KubeReader{}.ReadResults(context.Background(), kubeconfigFor(t, srv), "ns-1", []string{"probe-running"})
	if err == nil || errors.Is(err, probe.ErrNoPod) {
		t.Errorf("a Job whose pod still runs: err = %v, want an error other than probe.ErrNoPod", err)
	}
}

// NewestFinished is what a reader that cannot fetch logs (the end-to-end
// tests, no kubelet) shares with KubeReader: which pod counts, and when
// there is none.
func TestNewestFinished(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	got, err := NewestFinished([]corev1.Pod{
		pod("failed-old", corev1.PodFailed, t0),
		pod("ok-new", corev1.PodSucceeded, t0.Add(time.Minute)),
		pod("running", corev1.PodRunning, t0.Add(2*time.Minute)),
	})
	if err != nil || got.Name != "ok-new" {
		t.Errorf("NewestFinished = %v, %v; want ok-new", got, err)
	}
	if _, err := NewestFinished(nil); !errors.Is(err, probe.ErrNoPod) {
		t.Errorf("no pods: err = %v, want probe.ErrNoPod", err)
	}
}

func TestKubeReaderUsesTheKubeconfigCredentials(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(&fakeAPI{})
	defer srv.Close()
	bad := string(kubeconfigtest.Token(t, srv.URL, srv.Certificate(), "wrong"))
	_, err := KubeReader{}.ReadResults(context.Background(), bad, "ns-1", []string{"probe-a"})
	if err == nil || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Errorf("wrong token: err = %v, want 401", err)
	}
	if _, err := (KubeReader{}).ReadResults(context.Background(), "not: [a kubeconfig", "ns-1", []string{"probe-a"}); err == nil || !strings.Contains(err.Error(), "parse kubeconfig") {
		t.Errorf("bad kubeconfig: err = %v", err)
	}
}
