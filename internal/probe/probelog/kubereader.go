// Package probelog reads the probe verdicts from the finished probe pods'
// logs through the Kubernetes API. It is the plugin's: the program never
// links a Kubernetes client.
package probelog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/kopscalico/kopscalico/internal/kubeapi"
	"github.com/kopscalico/kopscalico/internal/probe"
)

var _ probe.ResultReader = KubeReader{}

// KubeReader is the real probe.ResultReader: it reads each probe pod's log through
// the Kubernetes REST API, authenticating as the kubeconfig says (client
// certificate, token or exec plugin).
type KubeReader struct {
	// Timeout bounds the whole read; zero means DefaultReadTimeout.
	Timeout time.Duration
}

// DefaultReadTimeout bounds reading every probe's log.
const DefaultReadTimeout = 2 * time.Minute

// maxLogBytes caps a probe's log: the verdict line is the last of a handful.
const maxLogBytes = 64 << 10

// ReadResults reads each probe's log (see Read) through the API server the
// kubeconfig names.
func (r KubeReader) ReadResults(ctx context.Context, kubeconfig, namespace string, probeNames []string) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()

	client, err := kubeapi.New(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("read probe results: %w", err)
	}
	api := kubeAPI{client}
	return Read(ctx, api, namespace, probeNames)
}

// NodeZones counts the cluster's nodes by zone (at most kubeapi.MaxNodes),
// through the API server the kubeconfig names.
func (r KubeReader) NodeZones(ctx context.Context, kubeconfig string) (probe.Zones, error) {
	nodes, err := kubeapi.ListNodes(ctx, kubeconfig, r.timeout())
	if err != nil {
		return nil, fmt.Errorf("read the nodes' zones: %w", err)
	}
	return probe.CountZones(nodes), nil
}

func (r KubeReader) timeout() time.Duration {
	if r.Timeout == 0 {
		return DefaultReadTimeout
	}
	return r.Timeout
}

// PodSource is where Read finds the probe pods and their logs: the
// Kubernetes API here, recorded logs in tests that have no kubelet.
type PodSource interface {
	// JobPods lists the pods of a Job (label job-name=<job>).
	JobPods(ctx context.Context, namespace, job string) ([]corev1.Pod, error)
	// ProbeLog is the log of a pod's probe container.
	ProbeLog(ctx context.Context, pod *corev1.Pod) (string, error)
	// NodeZone is the zone label of a node ("" when it has none).
	NodeZone(ctx context.Context, node string) (string, error)
}

// Read returns the log of the newest finished pod of each probe's Job (a Job
// is named after its probe). A probe it cannot read has no entry; the error
// names each such Job and wraps probe.ErrNoPod where no pod is left.
func Read(ctx context.Context, src PodSource, namespace string, probeNames []string) (map[string]string, error) {
	results := make(map[string]string, len(probeNames))
	var errs []error
	for _, name := range probeNames {
		out, err := readOne(ctx, src, namespace, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("probe Job %s/%s: %w", namespace, name, err))
			continue
		}
		results[name] = out
	}
	if len(errs) > 0 {
		return results, fmt.Errorf("read probe results: %w", errors.Join(errs...))
	}
	return results, nil
}

func readOne(ctx context.Context, src PodSource, namespace, job string) (string, error) {
	pods, err := src.JobPods(ctx, namespace, job)
	if err != nil {
		return "", fmt.Errorf("list pods: %w", err)
	}
	pod, err := NewestFinished(pods)
	if err != nil {
		return "", err
	}
	log, err := src.ProbeLog(ctx, pod)
	if err != nil {
		return "", fmt.Errorf("log of pod %s: %w", pod.Name, err)
	}
	// Where it ran, for the table; a node gone since (a roll) leaves its
	// zone unknown, which is no reason to lose the verdict.
	zone, err := src.NodeZone(ctx, pod.Spec.NodeName)
	if err != nil {
		zone = "unknown: " + err.Error()
	}
	return log + probe.NodeLine(pod.Spec.NodeName, zone), nil
}

// NewestFinished picks the most recent pod of a Job that ran to its end; a
// replaced Job's pods may linger while they are deleted. No pod at all is
// probe.ErrNoPod.
func NewestFinished(pods []corev1.Pod) (*corev1.Pod, error) {
	var best *corev1.Pod
	phases := make([]string, 0, len(pods))
	for i := range pods {
		p := &pods[i]
		phases = append(phases, fmt.Sprintf("%s=%s", p.Name, p.Status.Phase))
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			continue
		}
		if best == nil || best.CreationTimestamp.Before(&p.CreationTimestamp) {
			best = p
		}
	}
	switch {
	case len(pods) == 0:
		return nil, fmt.Errorf("%w (label job-name)", probe.ErrNoPod)
	case best == nil:
		return nil, fmt.Errorf("no finished pod (%s)", strings.Join(phases, ", "))
	}
	return best, nil
}

// kubeAPI is the PodSource of the Kubernetes REST API.
type kubeAPI struct{ kubeapi.Client }

func (k kubeAPI) JobPods(ctx context.Context, namespace, job string) ([]corev1.Pod, error) {
	path := fmt.Sprintf("/api/v1/namespaces/%s/pods?labelSelector=%s", url.PathEscape(namespace), url.QueryEscape("job-name="+job))
	body, err := k.Get(ctx, path)
	if err != nil {
		return nil, err
	}
	var pods corev1.PodList
	if err := json.Unmarshal(body, &pods); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return pods.Items, nil
}

func (k kubeAPI) NodeZone(ctx context.Context, node string) (string, error) {
	if node == "" {
		return "", nil
	}
	body, err := k.Get(ctx, "/api/v1/nodes/"+url.PathEscape(node))
	if err != nil {
		return "", err
	}
	var n corev1.Node
	if err := json.Unmarshal(body, &n); err != nil {
		return "", fmt.Errorf("decode node %s: %w", node, err)
	}
	return n.Labels[probe.ZoneLabel], nil
}

func (k kubeAPI) ProbeLog(ctx context.Context, pod *corev1.Pod) (string, error) {
	path := fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/log?container=probe&limitBytes=%d",
		url.PathEscape(pod.Namespace), url.PathEscape(pod.Name), maxLogBytes)
	log, err := k.Get(ctx, path)
	return string(log), err
}
