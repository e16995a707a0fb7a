// Package probetest is the probe reader of tests that have no kubelet to
// serve logs: it finds the probe pods where the test says (a list in memory,
// or a real API server) and plays recorded logs, through probelog.Read, the
// real reader's loop, pod choice and errors.
package probetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/kopscalico/kopscalico/internal/probe"
	"github.com/kopscalico/kopscalico/internal/probe/probelog"
)

var _ probe.ResultReader = (*Reader)(nil)

// Reader is a probe.ResultReader over recorded logs.
type Reader struct {
	// Pods lists a Job's pods (label job-name=<job>).
	Pods func(ctx context.Context, namespace, job string) ([]corev1.Pod, error)
	// Zones gives a node's zone; nil: every zone is "".
	Zones func(ctx context.Context, node string) (string, error)
	// Nodes lists the cluster's nodes, for NodeZones; nil: an error.
	Nodes func(ctx context.Context) ([]corev1.Node, error)

	mu      sync.Mutex
	logs    map[string]string // probe name -> recorded log file
	calls   int
	configs []string
}

// NewReader reads the pods Pods lists, each with the log recorded for its
// probe in logs (probe name -> file in internal/probe/testdata).
func NewReader(pods func(ctx context.Context, namespace, job string) ([]corev1.Pod, error), logs map[string]string) *Reader {
	return &Reader{Pods: pods, logs: logs}
}

// SetLogs replaces the recorded log of each probe.
func (r *Reader) SetLogs(logs map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = logs
}

// Calls is how many times ReadResults ran.
func (r *Reader) Calls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// Kubeconfigs are the kubeconfigs ReadResults was given, in order.
func (r *Reader) Kubeconfigs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.configs...)
}

// ReadResults implements probe.ResultReader.
func (r *Reader) ReadResults(ctx context.Context, kubeconfig, namespace string, probeNames []string) (map[string]string, error) {
	r.mu.Lock()
	r.calls++
	r.configs = append(r.configs, kubeconfig)
	r.mu.Unlock()
	return probelog.Read(ctx, source{r}, namespace, probeNames)
}

// NodeZones implements probe.ResultReader: the nodes Nodes lists, counted
// as the real reader counts them.
func (r *Reader) NodeZones(ctx context.Context, _ string) (probe.Zones, error) {
	if r.Nodes == nil {
		return nil, errors.New("the test lists no nodes")
	}
	nodes, err := r.Nodes(ctx)
	if err != nil {
		return nil, err
	}
	return probe.CountZones(nodes), nil
}

type source struct{ r *Reader }

func (s source) JobPods(ctx context.Context, namespace, job string) ([]corev1.Pod, error) {
	return s.r.Pods(ctx, namespace, job)
}

func (s source) NodeZone(ctx context.Context, node string) (string, error) {
	if s.r.Zones == nil {
		return "", nil
	}
	return s.r.Zones(ctx, node)
}

// ProbeLog plays the log recorded for the pod's probe (its job-name label).
func (s source) ProbeLog(_ context.Context, pod *corev1.Pod) (string, error) {
	job := pod.Labels["job-name"]
	s.r.mu.Lock()
	file, ok := s.r.logs[job]
	s.r.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("no log recorded for probe %q", job)
	}
	return Recorded(file)
}

// Recorded is a probe log in internal/probe/testdata, recorded from the
// probe script (internal/probe's tests hold the recordings to it).
func Recorded(file string) (string, error) {
	_, self, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(self), "..", "testdata", file))
	return string(b), err
}
