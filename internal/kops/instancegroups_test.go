package kops

import (
	"strings"
	"testing"
)

func TestReconcileInstanceGroupsNoop(t *testing.T) {
	d := desired("1.34")
	conv, err := ReconcileInstanceGroups(fixture(t, "instancegroups-1.34.yaml"), d)
	if err != nil || conv.Changed() {
		t.Fatalf("changes %v, err %v; want none", conv.Changes, err)
	}
}

func TestReconcileInstanceGroupsResize(t *testing.T) {
	d := desired("1.34")
	d.NodeCount = 5
	d.NodeSize = "m6i.large"
	conv, err := ReconcileInstanceGroups(fixture(t, "instancegroups-1.34.yaml"), d)
	if err != nil {
		t.Fatal(err)
	}
	docs := SplitDocuments(conv.YAML)
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
		sizes[name] = intOf(path(m, "spec", "minSize"))
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
	d := desired("1.34")
	d.ControlPlaneCount = 3
	_, err := ReconcileInstanceGroups(fixture(t, "instancegroups-1.34.yaml"), d)
	if err == nil || !strings.Contains(err.Error(), "kopscalico:controlPlaneCount") {
		t.Errorf("err = %v; want a refusal naming kopscalico:controlPlaneCount", err)
	}
}
