package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

// instanceGroupLabel is the label kops's nodeup puts on every node.
const instanceGroupLabel = "kops.k8s.io/instancegroup"

// instanceID names instance i of group ig, as the roll logs it.
func instanceID(ig string, i int) string { return fmt.Sprintf("i-%s%02d", hashOf(ig)[:10], i) }

// registerNodes mirrors the cloud into kwok Node objects when a test turned
// it on (Store.SetNodeRegistration): one Node per instance, labelled with its
// group, on the kubelet of its template's version, named after the instance
// and its template (a replaced instance joins as a new Node); the Nodes of
// instances gone are deleted. A path of the test double only: real instances register
// themselves.
func (d *double) registerNodes(name string) error {
	if d.control == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(d.control, kopsdouble.NodeRegistrationFile)); err != nil {
		return nil
	}
	kc, err := os.ReadFile(filepath.Join(d.control, "kubeconfig"))
	if err != nil {
		return err
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kc)
	if err != nil {
		return err
	}
	client, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	api := nodeAPI{client: client, base: strings.TrimRight(cfg.Host, "/") + "/api/v1/nodes"}
	cloud := d.readCloud(name)
	want := map[string]bool{}
	for ig, inst := range cloud.Instances {
		for i, tmpl := range inst {
			id := instanceID(ig, i) + "-" + tmpl[:6]
			want[id] = true
			kubelet := "v" + strings.TrimPrefix(cloud.Versions[tmpl], "v")
			if err := api.put(ctx, id, ig, kubelet); err != nil {
				return err
			}
		}
	}
	var list struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		} `json:"items"`
	}
	if err := api.do(ctx, http.MethodGet, "?labelSelector="+url.QueryEscape(instanceGroupLabel), nil, &list); err != nil {
		return err
	}
	for _, n := range list.Items {
		if !want[n.Metadata.Name] {
			if err := api.do(ctx, http.MethodDelete, "/"+n.Metadata.Name, nil, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

type nodeAPI struct {
	client *http.Client
	base   string
}

// put registers the Node unless it is there, with its kubelet version in
// its status as a kubelet registers (the API server keeps a Node's status
// on create; kwok keeps a kubeletVersion it finds).
func (a nodeAPI) put(ctx context.Context, id, ig, kubelet string) error {
	node := map[string]any{"apiVersion": "v1", "kind": "Node", "metadata": map[string]any{
		"name":        id,
		"annotations": map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
		"labels":      map[string]string{"type": "kwok", instanceGroupLabel: ig, "kubernetes.io/hostname": id},
	}, "status": map[string]any{"nodeInfo": map[string]any{"kubeletVersion": kubelet}}}
	if err := a.do(ctx, http.MethodPost, "", node, nil); err != nil && !strings.Contains(err.Error(), ": 409 ") {
		return err
	}
	return nil
}

func (a nodeAPI) do(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("registering nodes: %s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}
