package nodeversions

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kopscalico/kopscalico/internal/kops"
)

func node(name, group, kubelet string) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	if group != "" {
		n.Labels[kops.InstanceGroupLabel] = group
	}
	n.Status.NodeInfo.KubeletVersion = kubelet
	return n
}

func TestCount(t *testing.T) {
	t.Parallel()
	got := Count([]corev1.Node{
		node("a", "nodes-a", "v1.33.4"), node("b", "nodes-a", "v1.34.1"), node("c", "nodes-a", "v1.33.4"),
		node("cp", "control-plane-a", "v1.34.1"), node("x", "", "v1.34.1"),
	})
	want := []kops.NodeVersion{
		{Group: "control-plane-a", Kubelet: "v1.34.1", Nodes: 1},
		{Group: "nodes-a", Kubelet: "v1.33.4", Nodes: 2},
		{Group: "nodes-a", Kubelet: "v1.34.1", Nodes: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Count: %+v, want %+v", got, want)
	}
}

// The reader lists nodes through the API server the kubeconfig names, asks
// for at most kubeapi.MaxNodes, and refuses a longer list rather than count part.
func TestReaderOverHTTP(t *testing.T) {
	t.Parallel()
	more := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/nodes" || r.URL.Query().Get("limit") != "2000" {
			http.NotFound(w, r)
			return
		}
		list := corev1.NodeList{Items: []corev1.Node{node("a", "nodes-a", "v1.33.4")}}
		if more {
			list.Continue = "next"
		}
		_ = json.NewEncoder(w).Encode(list)
	}))
	defer srv.Close()
	kc := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: " + srv.URL + "\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user: {}\n"
	got, err := Reader{}.NodeVersions(context.Background(), kc)
	if err != nil || !reflect.DeepEqual(got, []kops.NodeVersion{{Group: "nodes-a", Kubelet: "v1.33.4", Nodes: 1}}) {
		t.Errorf("NodeVersions: %+v, %v", got, err)
	}
	more = true
	if _, err := (Reader{}).NodeVersions(context.Background(), kc); err == nil || !strings.Contains(err.Error(), "more than 2000 nodes") {
		t.Errorf("a cut list: %v", err)
	}
}
