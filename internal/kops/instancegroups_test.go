package kops_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
)

func TestReconcileInstanceGroupsNoop(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	conv, err := kops.ReconcileInstanceGroups(kopstest.Fixture(t, "instancegroups-1.34.yaml"), d)
	if err != nil || conv.Changed() {
		t.Fatalf("changes %v, err %v; want none", conv.Changes, err)
	}
}

func TestReconcileInstanceGroupsResize(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	d.NodeCount = 5
	d.NodeSize = "m6i.large"
	conv, err := kops.ReconcileInstanceGroups(kopstest.Fixture(t, "instancegroups-1.34.yaml"), d)
	if err != nil {
		t.Fatal(err)
	}
	docs := kops.SplitDocuments(conv.YAML)
	if len(docs) != 2 {
		t.Fatalf("%d documents to replace, want the 2 node groups only:\n%s", len(docs), conv.YAML)
	}
	sizes := map[string]int{}
	for _, doc := range docs {
		m := parse(t, doc)
		name := path(m, "metadata", "name").(string)
		if path(m, "spec", "machineType") != "m6i.large" {
			t.Errorf("%s machineType = %v", name, path(m, "spec", "machineType"))
		}
		if path(m, "spec", "minSize") != path(m, "spec", "maxSize") {
			t.Errorf("%s min != max", name)
		}
		sizes[name] = kops.IntOf(path(m, "spec", "minSize"))
		if path(m, "spec", "image") == nil || path(m, "metadata", "labels") == nil {
			t.Errorf("%s lost fields it did not change", name)
		}
	}
	// kops create cluster spreads 5 nodes over 2 zones as 3+2.
	if sizes["nodes-eu-west-1a"] != 3 || sizes["nodes-eu-west-1b"] != 2 {
		t.Errorf("sizes = %v, want 3 and 2", sizes)
	}
}

func TestReconcileInstanceGroupsRefusesControlPlaneCount(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	d.ControlPlaneCount = 3
	_, err := kops.ReconcileInstanceGroups(kopstest.Fixture(t, "instancegroups-1.34.yaml"), d)
	if err == nil || !strings.Contains(err.Error(), "kopscalico:controlPlaneCount") {
		t.Errorf("err = %v; want a refusal naming kopscalico:controlPlaneCount", err)
	}
}

// A Node group deleted behind the program's back is created again for its
// zone, cloned from a surviving Node group, and only it is created.
func TestReconcileInstanceGroupsRestoresAZonesNodeGroup(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	var kept [][]byte
	for _, doc := range kops.SplitDocuments(kopstest.Fixture(t, "instancegroups-1.34.yaml")) {
		if !strings.Contains(string(doc), "name: nodes-eu-west-1b") {
			// kops labels a group's nodes with its name (from kops 1.36 too).
			labelled := strings.Replace(string(doc), "  role: Node\n", "  nodeLabels:\n    kops.k8s.io/instancegroup: nodes-eu-west-1a\n  role: Node\n", 1)
			kept = append(kept, []byte(labelled))
		}
	}
	conv, err := kops.ReconcileInstanceGroups(kops.JoinDocuments(kept), d)
	if err != nil {
		t.Fatal(err)
	}
	if got := conv.CreatedNames(); len(got) != 1 || got[0] != "nodes-eu-west-1b" {
		t.Fatalf("restored %v", got)
	}
	restored := kops.SplitDocuments(conv.Create)
	if len(restored) != 1 {
		t.Fatalf("restore %q", conv.Create)
	}
	obj := parse(t, restored[0])
	if path(obj, "metadata", "name") != "nodes-eu-west-1b" || path(obj, "metadata", "creationTimestamp") != nil ||
		!reflect.DeepEqual(path(obj, "spec", "subnets"), []any{"eu-west-1b"}) || path(obj, "spec", "role") != "Node" {
		t.Errorf("restored group %v", obj)
	}
	if got := path(obj, "spec", "nodeLabels", "kops.k8s.io/instancegroup"); got != "nodes-eu-west-1b" {
		t.Errorf("restored group's nodes labelled %v, want its own name", got)
	}
	if len(conv.YAML) != 0 {
		t.Errorf("replaced existing groups too: %s", conv.YAML)
	}
	// The node count is spread over the restored group as well.
	d.NodeCount = 4
	conv, err = kops.ReconcileInstanceGroups(kops.JoinDocuments(kept), d)
	if err != nil {
		t.Fatal(err)
	}
	if got := path(parse(t, kops.SplitDocuments(conv.Create)[0]), "spec", "minSize"); got != float64(2) {
		t.Errorf("restored group minSize = %v, want 2", got)
	}
}
