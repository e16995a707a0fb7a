// Package kubeapi is the plugin's one way to the Kubernetes API: GETs of
// JSON and server-side applies through the API server a kubeconfig names,
// authenticated as it says (client certificate, token or exec plugin), each
// body bounded.
package kubeapi

import (
	"bytes"
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
	return c.GetUpTo(ctx, path, maxBody)
}

// GetUpTo is Get with its own bound on the body, for lists the caller has
// bounded by count (limit=N).
func (c Client) GetUpTo(ctx context.Context, path string, max int64) ([]byte, error) {
	return c.do(ctx, http.MethodGet, path, "", nil, max)
}

// Apply server-side applies body (JSON) to the object at path as
// fieldManager, taking over the fields it sets from other managers (force):
// the caller owns those fields.
func (c Client) Apply(ctx context.Context, path string, body []byte, fieldManager string) ([]byte, error) {
	q := url.Values{"fieldManager": {fieldManager}, "force": {"true"}}
	return c.do(ctx, http.MethodPatch, path+"?"+q.Encode(), "application/apply-patch+yaml", body, maxBody)
}

func (c Client) do(ctx context.Context, method, path, contentType string, body []byte, max int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, max))
	if err != nil {
		return nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated:
		return out, nil
	case http.StatusNotFound:
		return nil, fmt.Errorf("%s %s: %s (%w): %s", method, path, resp.Status, ErrNotFound, strings.TrimSpace(string(out)))
	}
	return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(out)))
}

// MaxNodes bounds a list of the nodes: a cluster with more is an error,
// not a partial list.
const MaxNodes = 2000

// maxNodeList bounds the body of one list of MaxNodes nodes.
const maxNodeList = 64 << 20

// ListNodes lists the nodes of the cluster the kubeconfig reaches, within
// timeout (the exec credential plugin included).
func ListNodes(ctx context.Context, kubeconfig string, timeout time.Duration) ([]corev1.Node, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, err := New(kubeconfig)
	if err != nil {
		return nil, err
	}
	return client.Nodes(ctx)
}

// Nodes lists the cluster's Node objects, at most MaxNodes.
func (c Client) Nodes(ctx context.Context) ([]corev1.Node, error) {
	body, err := c.GetUpTo(ctx, fmt.Sprintf("/api/v1/nodes?limit=%d", MaxNodes), maxNodeList)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	var list corev1.NodeList
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, fmt.Errorf("list nodes: decode: %w", err)
	}
	if list.Continue != "" {
		return nil, fmt.Errorf("list nodes: the cluster has more than %d nodes", MaxNodes)
	}
	return list.Items, nil
}
