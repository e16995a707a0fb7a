package probetest

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kopscalico/kopscalico/internal/probe"
)

// The reader plays the recording of each probe whose Job has a finished
// pod, and fails as the real one does for the others.
func TestReaderPlaysRecordingsOfFinishedPods(t *testing.T) {
	pods := map[string][]corev1.Pod{
		"probe-a": {{ObjectMeta: metav1.ObjectMeta{Name: "a-1", Labels: map[string]string{"job-name": "probe-a"}}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}},
		"probe-b": {{ObjectMeta: metav1.ObjectMeta{Name: "b-1", Labels: map[string]string{"job-name": "probe-b"}}, Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}},
	}
	r := NewReader(func(_ context.Context, _, job string) ([]corev1.Pod, error) { return pods[job], nil },
		map[string]string{"probe-a": "busybox-allowed.log"})
	got, err := r.ReadResults(context.Background(), "kc", "ns-1", []string{"probe-a", "probe-b", "probe-gone"})
	want, rerr := Recorded("busybox-allowed.log")
	if rerr != nil {
		t.Fatal(rerr)
	}
	if len(got) != 1 || got["probe-a"] != want+probe.NodeLine("", "") {
		t.Errorf("results = %q, want probe-a's recording %q", got, want)
	}
	if err == nil || !errors.Is(err, probe.ErrNoPod) || !strings.Contains(err.Error(), `probe Job ns-1/probe-b: log of pod b-1: no log recorded for probe "probe-b"`) {
		t.Errorf("err = %v", err)
	}
	if r.Calls() != 1 || r.Kubeconfigs()[0] != "kc" {
		t.Errorf("calls %d, kubeconfigs %q", r.Calls(), r.Kubeconfigs())
	}
}
