// Package kubeapi is the plugin's one way to read the Kubernetes API: GETs
// of JSON through the API server a kubeconfig names, authenticated as it
// says (client certificate, token or exec plugin), each body bounded.
package kubeapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ErrNotFound is wrapped in Get's error when the API answers 404: the
// object, or its kind (a CRD not installed), does not exist.
var ErrNotFound = errors.New("no such object or kind")

// maxBody bounds what one GET reads.
const maxBody = 4 << 20

// Client reads one API server.
type Client struct {
	http *http.Client
	base string
}

// New is a client of the API server the kubeconfig names.
func New(kubeconfig string) (Client, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig))
	if err != nil {
		return Client{}, fmt.Errorf("parse kubeconfig: %w", err)
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return Client{}, fmt.Errorf("client for %s: %w", cfg.Host, err)
	}
	base := strings.TrimRight(cfg.Host, "/") + strings.TrimRight(cfg.APIPath, "/")
	if !strings.Contains(base, "://") {
		base = "https://" + base
	}
	return Client{http: client, base: base}, nil
}

// Get returns the body of GET path (from /api or /apis on), at most 4 MiB.
func (c Client) Get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return body, nil
	case http.StatusNotFound:
		return nil, fmt.Errorf("GET %s: %s (%w): %s", path, resp.Status, ErrNotFound, strings.TrimSpace(string(body)))
	}
	return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
}
