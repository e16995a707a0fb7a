package kops_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
)

// gpuGroup is a GPU group an adopted cluster brings: autoscaled, tainted,
// with fields the program never sets.
func gpuGroup(t *testing.T) string { return string(kopstest.Fixture(t, "instancegroup-gpu.yaml")) }

func withGPU(t *testing.T) []byte {
	return kops.JoinDocuments(append(kops.SplitDocuments(kopstest.Fixture(t, "instancegroups-1.34.yaml")), []byte(gpuGroup(t))))
}

func names(t *testing.T, stream []byte) []string {
	var out []string
	for _, doc := range kops.SplitDocuments(stream) {
		out = append(out, path(parse(t, doc), "metadata", "name").(string))
	}
	return out
}

// With the shorthand, an adopted cluster's GPU group is neither resized nor
// retyped, and is listed as undeclared.
func TestShorthandLeavesOtherNodeGroups(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	d.NodeCount, d.NodeSize = 6, "m6i.large"
	conv, err := kops.ReconcileInstanceGroups(withGPU(t), d)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, conv.YAML); !reflect.DeepEqual(got, []string{"nodes-eu-west-1a", "nodes-eu-west-1b"}) {
		t.Errorf("replaced %v, want the two nodes-<zone> groups only", got)
	}
	for _, c := range conv.Changes {
		if strings.Contains(c, "gpu") {
			t.Errorf("change to the GPU group: %s", c)
		}
	}
	if u, err := kops.UndeclaredInstanceGroups(withGPU(t), d); err != nil || !reflect.DeepEqual(u, []string{"gpu"}) {
		t.Errorf("undeclared %v, %v", u, err)
	}
	live, err := kops.Describe(kops.Observed{Spec: kopstest.Fixture(t, "calico-1.34.yaml"), InstanceGroups: withGPU(t)})
	if err != nil || live.NodeCount != 2 || live.NodeSize != "t3.medium" {
		t.Errorf("described node count %d, size %q (%v): the GPU group counted", live.NodeCount, live.NodeSize, err)
	}
}

func TestShorthandWithoutKopsNamedGroupsIsRefused(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	d.ControlPlaneCount = 0 // the stream holds the GPU group only
	_, err := kops.ReconcileInstanceGroups([]byte(gpuGroup(t)), d)
	if err == nil || !strings.Contains(err.Error(), "declare the groups to drive in kopscalico:instanceGroups") {
		t.Errorf("err = %v", err)
	}
}

func declared(groups ...config.InstanceGroup) func(*kops.Desired) {
	return func(d *kops.Desired) { d.InstanceGroups = groups }
}

// The list: groups created, rewritten in the declared fields only, deleted
// only when allowed; undeclared ones never written.
func TestDeclaredGroups(t *testing.T) {
	t.Parallel()
	spot := config.InstanceGroup{Name: "spot", MachineType: "m6i.large", MinSize: 1, MaxSize: 5, MaxPrice: "0.05",
		Zones: []string{"eu-west-1b"}, NodeLabels: map[string]string{"lifecycle": "spot"}, Taints: []string{"spot=true:PreferNoSchedule"},
		MaxSurge: "1", MaxUnavailable: "25%"}
	nodesA := config.InstanceGroup{Name: "nodes-eu-west-1a", MachineType: "t3.medium", MinSize: 1, MaxSize: 3, Zones: []string{"eu-west-1a"}}
	for _, c := range []struct {
		name     string
		in       []byte
		desired  func(*kops.Desired)
		replaced []string
		created  []string
		deleted  []string
		changes  []string
		wantErr  string
	}{
		{name: "add a group; the undeclared ones untouched", in: withGPU(t), desired: declared(spot), created: []string{"spot"},
			changes: []string{"instancegroup spot: created (m6i.large 1..5)"}},
		{name: "declare a group kops made: min != max kept, marked", in: withGPU(t), desired: declared(nodesA), replaced: []string{"nodes-eu-west-1a"},
			changes: []string{"instancegroup nodes-eu-west-1a: maxSize 1 -> 3", "instancegroup nodes-eu-west-1a: metadata.annotations[kopscalico.io/declared-by]: instanceGroups"}},
		{name: "a control-plane name refused", in: withGPU(t), desired: declared(config.InstanceGroup{Name: "control-plane-eu-west-1a", MachineType: "t3.medium", MinSize: 1, MaxSize: 1}),
			wantErr: "which is a Master group"},
	} {
		d := kopstest.Desired("1.34")
		c.desired(&d)
		conv, err := kops.ReconcileInstanceGroups(c.in, d)
		if c.wantErr != "" || err != nil {
			if c.wantErr == "" || err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: err = %v, want %q", c.name, err, c.wantErr)
			}
			continue
		}
		if got := names(t, conv.YAML); !reflect.DeepEqual(got, c.replaced) || !reflect.DeepEqual(conv.CreatedNames(), c.created) ||
			!reflect.DeepEqual(conv.Delete, c.deleted) || !reflect.DeepEqual(conv.Changes, c.changes) {
			t.Errorf("%s:\n replaced %q created %q deleted %q\n changes %q\nwant\n replaced %q created %q deleted %q\n changes %q",
				c.name, got, conv.CreatedNames(), conv.Delete, conv.Changes, c.replaced, c.created, c.deleted, c.changes)
		}
	}
}

// A created group is what the list says, labelled for its cluster as kops
// replace needs; resizing it later rewrites only the declared fields, and
// dropping it from the list is refused until allowInstanceGroupRemoval names it.
func TestDeclaredGroupLifecycle(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	spot := config.InstanceGroup{Name: "spot", MachineType: "m6i.large", MinSize: 1, MaxSize: 5, MaxPrice: "0.05",
		Zones: []string{"eu-west-1b"}, NodeLabels: map[string]string{"lifecycle": "spot"}, Taints: []string{"spot=true:PreferNoSchedule"},
		MaxSurge: "1", MaxUnavailable: "25%"}
	d.InstanceGroups = []config.InstanceGroup{spot}
	conv, err := kops.ReconcileInstanceGroups(withGPU(t), d)
	if err != nil {
		t.Fatal(err)
	}
	created := parse(t, conv.Create)
	for _, f := range []struct {
		keys []string
		want any
	}{
		{[]string{"metadata", "labels", "kops.k8s.io/cluster"}, "demo.example.com"},
		{[]string{"metadata", "annotations", kops.DeclaredAnnotation}, "instanceGroups"},
		{[]string{"spec", "role"}, "Node"},
		{[]string{"spec", "machineType"}, "m6i.large"},
		{[]string{"spec", "minSize"}, float64(1)},
		{[]string{"spec", "maxSize"}, float64(5)},
		{[]string{"spec", "maxPrice"}, "0.05"},
		{[]string{"spec", "subnets"}, []any{"eu-west-1b"}},
		{[]string{"spec", "nodeLabels"}, map[string]any{"lifecycle": "spot", "kops.k8s.io/instancegroup": "spot"}},
		{[]string{"spec", "taints"}, []any{"spot=true:PreferNoSchedule"}},
		{[]string{"spec", "rollingUpdate"}, map[string]any{"maxSurge": float64(1), "maxUnavailable": "25%"}},
	} {
		if got := path(created, f.keys...); !reflect.DeepEqual(got, f.want) {
			t.Errorf("created %v = %v, want %v", f.keys, got, f.want)
		}
	}

	// The cluster now has it, with a field kops added: a resize keeps it.
	withSpot := kops.JoinDocuments([][]byte{withGPU(t), []byte(strings.Replace(string(conv.Create), "spec:\n", "spec:\n  image: kops-filled\n", 1))})
	d.InstanceGroups[0].MaxSize = 8
	conv, err = kops.ReconcileInstanceGroups(withSpot, d)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(conv.Changes, []string{"instancegroup spot: maxSize 5 -> 8"}) || len(conv.Create) != 0 {
		t.Errorf("resize changes %q, create %q", conv.Changes, conv.Create)
	}
	resized := parse(t, conv.YAML)
	if path(resized, "spec", "image") != "kops-filled" || path(resized, "spec", "maxSize") != float64(8) {
		t.Errorf("resized group %v", resized)
	}

	// Dropped from the list: refused, naming both keys; nothing else decided.
	d.InstanceGroups = []config.InstanceGroup{{Name: "other", MachineType: "m6i.large", MinSize: 1, MaxSize: 1}}
	_, err = kops.ReconcileInstanceGroups(withSpot, d)
	if err == nil || !strings.Contains(err.Error(), "kopscalico:instanceGroups no longer declares instance group(s) spot") ||
		!strings.Contains(err.Error(), "add spot to kopscalico:allowInstanceGroupRemoval") {
		t.Errorf("err = %v", err)
	}
	d.AllowInstanceGroupRemoval = []string{"spot", "gpu"}
	conv, err = kops.ReconcileInstanceGroups(withSpot, d)
	if err != nil {
		t.Fatal(err)
	}
	// The GPU group, never declared, is not deleted even when named.
	if !reflect.DeepEqual(conv.Delete, []string{"spot"}) {
		t.Errorf("delete %v, want spot only", conv.Delete)
	}
}

// An undeclared group is never in what is written: the state store keeps
// its bytes as they are.
func TestUndeclaredGroupNeverWritten(t *testing.T) {
	t.Parallel()
	for _, desired := range []func(*kops.Desired){
		func(d *kops.Desired) { d.NodeCount, d.NodeSize = 7, "m6i.large" },
		declared(config.InstanceGroup{Name: "nodes-eu-west-1a", MachineType: "m6i.large", MinSize: 2, MaxSize: 9}),
	} {
		d := kopstest.Desired("1.34")
		desired(&d)
		conv, err := kops.ReconcileInstanceGroups(withGPU(t), d)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(conv.YAML)+string(conv.Create), "name: gpu") || len(conv.Delete) != 0 {
			t.Errorf("the GPU group is written: %s", conv.YAML)
		}
	}
}

// Ensure with a removal: the refused one runs no write at all; the allowed
// one deletes the group after the update, under the roll's timeout.
func TestEnsureDeletesOnlyAllowedGroups(t *testing.T) {
	t.Parallel()
	marked := strings.Replace(gpuGroup(t), "  name: gpu\n", "  name: gpu\n  annotations:\n    kopscalico.io/declared-by: instanceGroups\n", 1)
	groups := kops.JoinDocuments(append(kops.SplitDocuments(kopstest.Fixture(t, "instancegroups-1.34.yaml")), []byte(marked)))
	runner := func() *kopstest.Runner {
		return &kopstest.Runner{T: t, Kubeconfig: "kubeconfig", Answers: map[string]kopstest.Answer{
			"version":            kopstest.OK("Client version: 1.34.1 (git-v1.34.1)\n"),
			"get cluster":        kopstest.OK(string(kopstest.Fixture(t, "calico-1.34.yaml"))),
			"get instancegroups": kopstest.OK(string(groups)),
			"replace":            kopstest.OK(""),
			"update cluster":     kopstest.OK(""),
			"delete instancegroup gpu --name demo.example.com --yes": kopstest.OK("Deleted InstanceGroup: \"gpu\"\n"),
			"export kubecfg":         kopstest.OK(""),
			"rolling-update cluster": kopstest.OK(string(kopstest.Fixture(t, "rolling-update-not-needed.txt"))),
			"validate cluster":       kopstest.OK(""),
		}}
	}
	d := kopstest.Desired("1.34")
	d.InstanceGroups = []config.InstanceGroup{{Name: "nodes-eu-west-1a", MachineType: "t3.medium", MinSize: 1, MaxSize: 1, Zones: []string{"eu-west-1a"}}}
	k := runner()
	if _, err := newManager(t, k).Ensure(context.Background(), d); err == nil || !strings.Contains(err.Error(), "kopscalico:allowInstanceGroupRemoval") {
		t.Fatalf("err = %v", err)
	}
	if got, want := k.Commands(), []string{"version", "get cluster --name demo.example.com -o yaml", "get instancegroups --name demo.example.com -o yaml"}; !reflect.DeepEqual(got, want) {
		t.Errorf("refused removal ran %q", got)
	}

	d.AllowInstanceGroupRemoval = []string{"gpu"}
	k = runner()
	o, err := newManager(t, k).Ensure(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	var writes []string
	for _, c := range k.Calls() {
		if strings.HasPrefix(c.Args, "replace") || strings.HasPrefix(c.Args, "delete") || strings.Contains(c.Args, "--yes") {
			writes = append(writes, c.Args)
		}
		if strings.HasPrefix(c.Args, "delete") && c.Deadline.Sub(time.Now()) < 50*time.Minute {
			t.Errorf("kops %s under %s, want the roll's hour", c.Args, time.Until(c.Deadline))
		}
	}
	want := []string{"replace -f -", "update cluster --name demo.example.com --yes --create-kube-config=false", "delete instancegroup gpu --name demo.example.com --yes"}
	if !reflect.DeepEqual(writes, want) || !o.Resized {
		t.Errorf("writes %q, outcome %+v; want %q", writes, o, want)
	}
}

// A new cluster gets its declared groups before the first `update --yes`.
func TestEnsureCreatesDeclaredGroups(t *testing.T) {
	t.Parallel()
	gets := 0
	k := &kopstest.Runner{T: t, Kubeconfig: "kubeconfig", Answers: map[string]kopstest.Answer{
		"version": kopstest.OK("Client version: 1.34.1 (git-v1.34.1)\n"),
		"get cluster --name demo.example.com -o yaml": func([]byte) ([]byte, error) {
			if gets++; gets == 1 {
				return nil, &kops.CommandError{ExitCode: 1, Stderr: `Error: cluster not found "demo.example.com"`}
			}
			return kopstest.Fixture(t, "calico-1.34.yaml"), nil
		},
		"create cluster":     kopstest.OK(""),
		"get instancegroups": kopstest.OK(string(kopstest.Fixture(t, "instancegroups-1.34.yaml"))),
		"replace":            kopstest.OK(""),
		"update cluster":     kopstest.OK(""),
		"export kubecfg":     kopstest.OK(""),
		"validate cluster":   kopstest.OK(""),
	}}
	d := kopstest.Desired("1.34")
	d.InstanceGroups = kops.DeclaredGroups{{Name: "gpu", MachineType: "g5.xlarge", MinSize: 0, MaxSize: 2}}
	if _, err := newManager(t, k).Ensure(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range k.Calls() {
		if strings.HasPrefix(c.Args, "replace --force") || strings.HasPrefix(c.Args, "update cluster") {
			order = append(order, c.Args)
			if strings.HasPrefix(c.Args, "replace --force") && !strings.Contains(c.Stdin, "name: gpu") {
				t.Errorf("created %s", c.Stdin)
			}
		}
	}
	if len(order) != 2 || !strings.HasPrefix(order[0], "replace --force -f -") {
		t.Errorf("create then update, got %q", order)
	}
}
