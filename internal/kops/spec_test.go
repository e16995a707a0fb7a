package kops_test

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

func parse(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("converted spec is not YAML: %v\n%s", err, b)
	}
	return m
}

func path(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func TestCalicoNetworkingByVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		version string
		encap   config.Encapsulation
		want    map[string]any
	}{
		{"1.7", "ipip", map[string]any{"crossSubnet": true}},
		{"1.21", "ipip", map[string]any{"crossSubnet": true}},
		{"1.22", "ipip", map[string]any{"encapsulationMode": "ipip", "ipipMode": "CrossSubnet", "awsSrcDstCheck": "Disable"}},
		{"1.34", "ipip", map[string]any{"encapsulationMode": "ipip", "ipipMode": "CrossSubnet", "awsSrcDstCheck": "Disable"}},
		{"1.34", "vxlan", map[string]any{"encapsulationMode": "vxlan", "vxlanMode": "CrossSubnet", "awsSrcDstCheck": "Disable"}},
	} {
		got := kops.CalicoNetworking(kopsrelease.MustParse(tc.version), tc.encap, config.SrcDstDisable)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("CalicoNetworking(%s, %s) = %v; want %v", tc.version, tc.encap, got, tc.want)
		}
	}
}

func TestConvertKubenetClusters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, version string }{
		{"kubenet-1.28.yaml", "1.28"},
		// Printed by a real kops 1.34.3 (`kops create cluster --networking
		// kubenet --dns none`, then `kops get cluster -o yaml`); only the
		// local channel and store paths were replaced.
		{"kubenet-1.34-real.yaml", "1.34"},
		// The newest supported release: bumping kopsrelease.Newest asks for
		// its fixture here.
		{"kubenet-" + kopsrelease.Newest.MinorString() + ".yaml", kopsrelease.Newest.MinorString()},
	} {
		t.Run(tc.file, func(t *testing.T) {
			in := kopstest.Fixture(t, tc.file)
			d := kopstest.Desired(tc.version)
			conv, err := kops.ConvertClusterSpec(in, d)
			if err != nil {
				t.Fatal(err)
			}
			if conv.From != "kubenet" || len(conv.Warnings) != 0 {
				t.Errorf("From=%q Warnings=%v; want kubenet and no warning (kubenet to CNI is safe)", conv.From, conv.Warnings)
			}
			out := parse(t, conv.YAML)
			wantNet := map[string]any{"calico": map[string]any{"encapsulationMode": "ipip", "ipipMode": "CrossSubnet", "awsSrcDstCheck": "Disable"}}
			if got := path(out, "spec", "networking"); !reflect.DeepEqual(got, wantNet) {
				t.Errorf("networking = %v, want %v", got, wantNet)
			}
			if got := path(out, "spec", "sshAccess"); got != nil {
				t.Errorf("sshAccess = %v, want none (SSH closed)", got)
			}
			if got := path(out, "spec", "kubernetesApiAccess"); !reflect.DeepEqual(got, []any{"203.0.113.0/24"}) {
				t.Errorf("kubernetesApiAccess = %v", got)
			}
			// Everything else is kept as kops printed it.
			orig := parse(t, in)
			for _, k := range []string{"etcdClusters", "subnets", "topology", "configBase", "iam", "kubelet", "nonMasqueradeCIDR", "kubernetesVersion"} {
				if !reflect.DeepEqual(path(out, "spec", k), path(orig, "spec", k)) {
					t.Errorf("spec.%s changed: %v -> %v", k, path(orig, "spec", k), path(out, "spec", k))
				}
			}
			if !reflect.DeepEqual(out["metadata"], orig["metadata"]) || out["apiVersion"] != orig["apiVersion"] {
				t.Error("metadata or apiVersion changed")
			}
			// Converting the result again changes nothing: re-runs are no-ops.
			again, err := kops.ConvertClusterSpec(conv.YAML, d)
			if err != nil || again.Changed() {
				t.Errorf("second conversion: changes %v, err %v", again.Changes, err)
			}
		})
	}
}

func TestConvert17CrossSubnetSpec(t *testing.T) {
	t.Parallel()
	in := kopstest.Fixture(t, "crosssubnet-1.7.yaml")
	t.Run("to 1.34 modes", func(t *testing.T) {
		conv, err := kops.ConvertClusterSpec(in, kopstest.Desired("1.34"))
		if err != nil {
			t.Fatal(err)
		}
		out := parse(t, conv.YAML)
		want := map[string]any{"encapsulationMode": "ipip", "ipipMode": "CrossSubnet", "awsSrcDstCheck": "Disable", "logSeverityScreen": "warning"}
		if got := path(out, "spec", "networking", "calico"); !reflect.DeepEqual(got, want) {
			t.Errorf("calico = %v, want %v (crossSubnet dropped: deprecated and ignored from 1.22; other settings kept)", got, want)
		}
		if out["apiVersion"] != "kops/v1alpha2" {
			t.Errorf("apiVersion = %v", out["apiVersion"])
		}
	})
	t.Run("on a pre-1.22 kops it is already cross-subnet", func(t *testing.T) {
		d := kopstest.Desired("1.21")
		d.AdminAccess = config.MustParseAccessList("0.0.0.0/0")
		d.SSHAccess = config.MustParseAccessList("0.0.0.0/0")
		d.AllowWorldAccess = true
		conv, err := kops.ConvertClusterSpec(in, d)
		if err != nil || conv.Changed() {
			t.Errorf("changes %v, err %v; want none", conv.Changes, err)
		}
	})
}

func TestConvertAlreadyCalicoIsNoop(t *testing.T) {
	t.Parallel()
	in := kopstest.Fixture(t, "calico-1.34.yaml")
	conv, err := kops.ConvertClusterSpec(in, kopstest.Desired("1.34"))
	if err != nil {
		t.Fatal(err)
	}
	if conv.Changed() {
		t.Fatalf("changes %v on a cluster already as desired", conv.Changes)
	}
	if string(conv.YAML) != string(in) {
		t.Error("unchanged spec was re-rendered")
	}
	// Switching the same cluster to vxlan rewrites only the modes.
	d := kopstest.Desired("1.34")
	d.Encapsulation = "vxlan"
	conv, err = kops.ConvertClusterSpec(in, d)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"encapsulationMode": "vxlan", "vxlanMode": "CrossSubnet", "awsSrcDstCheck": "Disable", "typhaReplicas": float64(3)}
	if got := path(parse(t, conv.YAML), "spec", "networking", "calico"); !reflect.DeepEqual(got, want) {
		t.Errorf("calico = %v, want %v", got, want)
	}
}

func TestConvertOtherCNIWarns(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	d.SSHAccess = config.MustParseAccessList("198.51.100.7/32")
	conv, err := kops.ConvertClusterSpec(kopstest.Fixture(t, "cilium-1.34.yaml"), d)
	if err != nil {
		t.Fatal(err)
	}
	net := path(parse(t, conv.YAML), "spec", "networking").(map[string]any)
	if _, ok := net["cilium"]; ok || len(net) != 1 {
		t.Errorf("networking = %v; want calico only (kops refuses two providers)", net)
	}
	if len(conv.Warnings) != 1 || !strings.Contains(conv.Warnings[0], "cilium") {
		t.Errorf("warnings = %v; want one about leaving cilium behind", conv.Warnings)
	}
	if got := path(parse(t, conv.YAML), "spec", "kubeProxy"); got == nil {
		t.Error("unrelated spec.kubeProxy was dropped")
	}
}

func TestConvertRejectsWrongInput(t *testing.T) {
	t.Parallel()
	d := kopstest.Desired("1.34")
	for name, in := range map[string]string{
		"instance group": "apiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata:\n  name: nodes\n",
		"other cluster":  "apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: other.example.com\nspec: {}\n",
		"v1alpha3":       "apiVersion: kops.k8s.io/v1alpha3\nkind: Cluster\nmetadata:\n  name: demo.example.com\nspec: {}\n",
		"not yaml":       "{{{",
	} {
		if _, err := kops.ConvertClusterSpec([]byte(in), d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRenderNetworkingIsDeterministic(t *testing.T) {
	t.Parallel()
	a, err := kops.RenderNetworking(kopstest.Desired("1.34"))
	if err != nil {
		t.Fatal(err)
	}
	want := "calico:\n  awsSrcDstCheck: Disable\n  encapsulationMode: ipip\n  ipipMode: CrossSubnet\n"
	if a != want {
		t.Errorf("RenderNetworking = %q, want %q", a, want)
	}
}

// Real kops accepts a lower kubernetesVersion in `replace`; the conversion
// refuses it before any command runs, naming the key and the version to set.
func TestConvertRefusesKubernetesDowngrade(t *testing.T) {
	t.Parallel()
	in := kopstest.Fixture(t, "kubenet-1.36.yaml") // runs v1.36.0
	cases := []struct {
		want    string
		refused bool
	}{
		{"1.35.9", true},
		{"v1.36.0", false},
		{"1.36.0", false},
		{"1.36.1", false},
		{"https://example.com/custom-build/", false},
	}
	for _, c := range cases {
		d := kopstest.Desired("1.36")
		d.KubernetesVersion = c.want
		_, err := kops.ConvertClusterSpec(in, d)
		if c.refused {
			if err == nil || !strings.Contains(err.Error(), "kopscalico:kubernetesVersion is 1.35.9") || !strings.Contains(err.Error(), "to 1.36.0 or later") {
				t.Errorf("%s: err = %v; want a downgrade refusal naming the key and 1.36.0", c.want, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.want, err)
		}
	}
}
