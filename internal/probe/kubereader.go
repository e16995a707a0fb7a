package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

var _ ResultReader = KubeReader{}

// KubeReader is the real ResultReader: it reads each probe pod's log through
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

// ReadResults returns the log of the newest finished pod of each probe's Job
// (a Job is named after its probe; its pods carry job-name=<name>).
func (r KubeReader) ReadResults(ctx context.Context, kubeconfig, namespace string, probeNames []string) (map[string]string, error) {
	timeout := r.Timeout
	if timeout == 0 {
		timeout = DefaultReadTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	if err != nil {
		return nil, fmt.Errorf("read probe results: parse kubeconfig: %w", err)
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("read probe results: client for %s: %w", cfg.Host, err)
	}
	api := kubeAPI{client: client, base: strings.TrimRight(cfg.Host, "/") + strings.TrimRight(cfg.APIPath, "/")}
	if !strings.Contains(api.base, "://") {
		api.base = "https://" + api.base
	}

	results := make(map[string]string, len(probeNames))
	var errs []error
	for _, name := range probeNames {
		out, err := api.probeLog(ctx, namespace, name)
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

type kubeAPI struct {
	client *http.Client
	base   string
}

func (k kubeAPI) probeLog(ctx context.Context, namespace, job string) (string, error) {
	path := fmt.Sprintf("/api/v1/namespaces/%s/pods?labelSelector=%s", url.PathEscape(namespace), url.QueryEscape("job-name="+job))
	body, err := k.get(ctx, path)
	if err != nil {
		return "", fmt.Errorf("list pods: %w", err)
	}
	var pods corev1.PodList
	if err := json.Unmarshal(body, &pods); err != nil {
		return "", fmt.Errorf("list pods: decode: %w", err)
	}
	pod, err := newestFinished(pods.Items)
	if err != nil {
		return "", err
	}
	logPath := fmt.Sprintf("/api/v1/namespaces/%s/pods/%s/log?container=probe&limitBytes=%d",
		url.PathEscape(namespace), url.PathEscape(pod.Name), maxLogBytes)
	log, err := k.get(ctx, logPath)
	if err != nil {
		return "", fmt.Errorf("log of pod %s: %w", pod.Name, err)
	}
	return string(log), nil
}

// newestFinished picks the most recent pod that ran to its end; a replaced
// Job's pods may linger while they are deleted.
func newestFinished(pods []corev1.Pod) (*corev1.Pod, error) {
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
		return nil, errors.New("no pod found (label job-name): the Job or its pod was deleted outside Pulumi; `pulumi up --refresh` recreates the Job")
	case best == nil:
		return nil, fmt.Errorf("no finished pod (%s)", strings.Join(phases, ", "))
	}
	return best, nil
}

func (k kubeAPI) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}
