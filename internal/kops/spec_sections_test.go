package kops_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
)

// One table test per section of ConvertClusterSpec: envelope, networking,
// access, version. The groups section is ReconcileInstanceGroups's.

func TestClusterEnvelope(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, in, wantErr string
	}{
		{"current apiVersion", "apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: demo.example.com\nspec:\n  channel: stable\n", ""},
		{"kops 1.7 apiVersion", "apiVersion: kops/v1alpha2\nkind: Cluster\nmetadata:\n  name: demo.example.com\nspec:\n  channel: stable\n", ""},
		{"empty", "", "empty document"},
		{"not YAML", "kind: [", "parse kops cluster spec"},
		{"instance group", "apiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata:\n  name: nodes\nspec: {}\n", `kind is "InstanceGroup", want Cluster`},
		{"v1alpha3", "apiVersion: kops.k8s.io/v1alpha3\nkind: Cluster\nmetadata:\n  name: demo.example.com\nspec: {}\n", `apiVersion "kops.k8s.io/v1alpha3" is not supported`},
		{"another cluster", "apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: other.example.com\nspec: {}\n", `is for "other.example.com", want "demo.example.com"`},
		{"no spec", "apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: demo.example.com\n", "has no spec"},
	} {
		obj, spec, err := kops.ParseClusterEnvelope([]byte(c.in), "demo.example.com")
		switch {
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
			t.Errorf("%s: err = %v, want %q", c.name, err, c.wantErr)
		case c.wantErr == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.wantErr == "":
			// The spec is part of the object: rewriting it rewrites the object.
			spec["channel"] = "alpha"
			if path(obj, "spec", "channel") != "alpha" {
				t.Errorf("%s: the spec returned is not the object's", c.name)
			}
		}
	}
}

func TestNetworkingSection(t *testing.T) {
	t.Parallel()
	const disruptive = "switching cluster demo.example.com from %s to Calico is disruptive"
	for _, c := range []struct {
		name, kops, encap, in, want string
		changes                     []string
		warns                       []string // provider names whose switch is disruptive
		from                        string
	}{
		{"kubenet, 1.28, ipip", "1.28", "ipip", "kubenet: {}", "calico: {awsSrcDstCheck: Disable, encapsulationMode: ipip, ipipMode: CrossSubnet}",
			[]string{"networking: drop kubenet", "networking.calico: {} -> {awsSrcDstCheck: Disable, encapsulationMode: ipip, ipipMode: CrossSubnet}"}, nil, "kubenet"},
		{"no networking at all", "1.34", "vxlan", "", "calico: {awsSrcDstCheck: Disable, encapsulationMode: vxlan, vxlanMode: CrossSubnet}",
			[]string{"networking.calico: {} -> {awsSrcDstCheck: Disable, encapsulationMode: vxlan, vxlanMode: CrossSubnet}"}, nil, ""},
		{"kops 1.7: crossSubnet only", "1.7", "ipip", "kubenet: {}", "calico: {crossSubnet: true}",
			[]string{"networking: drop kubenet", "networking.calico: {} -> {crossSubnet: true}"}, nil, "kubenet"},
		{"deprecated crossSubnet and modes dropped, other settings kept", "1.34", "vxlan", "calico: {crossSubnet: true, ipipMode: Always, mtu: 8981}",
			"calico: {awsSrcDstCheck: Disable, encapsulationMode: vxlan, mtu: 8981, vxlanMode: CrossSubnet}",
			[]string{"networking.calico: {crossSubnet: true, ipipMode: Always, mtu: 8981} -> {awsSrcDstCheck: Disable, encapsulationMode: vxlan, mtu: 8981, vxlanMode: CrossSubnet}"}, nil, "calico"},
		{"cilium: a disruptive switch", "1.34", "ipip", "cilium: {}", "calico: {awsSrcDstCheck: Disable, encapsulationMode: ipip, ipipMode: CrossSubnet}",
			[]string{"networking: drop cilium", "networking.calico: {} -> {awsSrcDstCheck: Disable, encapsulationMode: ipip, ipipMode: CrossSubnet}"}, []string{"cilium"}, "cilium"},
		{"fields selecting no provider stay", "1.34", "ipip", "networkCIDR: 172.20.0.0/16\nkubenet: {}",
			"calico: {awsSrcDstCheck: Disable, encapsulationMode: ipip, ipipMode: CrossSubnet}\nnetworkCIDR: 172.20.0.0/16",
			[]string{"networking: drop kubenet", "networking.calico: {} -> {awsSrcDstCheck: Disable, encapsulationMode: ipip, ipipMode: CrossSubnet}"}, nil, "kubenet"},
		{"already as desired", "1.34", "ipip", "calico: {awsSrcDstCheck: Disable, encapsulationMode: ipip, ipipMode: CrossSubnet}",
			"calico: {awsSrcDstCheck: Disable, encapsulationMode: ipip, ipipMode: CrossSubnet}", nil, nil, "calico"},
	} {
		d := kopstest.Desired(c.kops)
		d.Encapsulation = config.Encapsulation(c.encap)
		spec := map[string]any{}
		if c.in != "" {
			spec["networking"] = parse(t, []byte(c.in))
		}
		changes, warnings, from, err := kops.NetworkingSection.Run(spec, d)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got, want := spec["networking"], parse(t, []byte(c.want)); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: networking %v, want %v", c.name, got, want)
		}
		if !reflect.DeepEqual(changes, c.changes) || from != c.from {
			t.Errorf("%s: changes %q from %q, want %q from %q", c.name, changes, from, c.changes, c.from)
		}
		if len(warnings) != len(c.warns) {
			t.Errorf("%s: warnings %q, want about %q", c.name, warnings, c.warns)
		}
		for i, p := range c.warns {
			if i < len(warnings) && !strings.HasPrefix(warnings[i], strings.ReplaceAll(disruptive, "%s", p)) {
				t.Errorf("%s: warning %q", c.name, warnings[i])
			}
		}
	}
}

func TestAccessSection(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		ssh, admin []string // desired
		in         string   // the spec's lists
		wantSSH    any      // nil: the key is absent
		wantAPI    any
		changes    []string
	}{
		{"kops's defaults closed and narrowed", nil, []string{"203.0.113.0/24"}, "sshAccess: [0.0.0.0/0, \"::/0\"]\nkubernetesApiAccess: [0.0.0.0/0, \"::/0\"]",
			nil, []any{"203.0.113.0/24"}, []string{"sshAccess: [0.0.0.0/0 ::/0] -> closed", "kubernetesApiAccess: [0.0.0.0/0 ::/0] -> [203.0.113.0/24]"}},
		{"as desired", []string{"198.51.100.0/24"}, []string{"203.0.113.0/24", "pl-0123456789abcdef0"}, "sshAccess: [198.51.100.0/24]\nkubernetesApiAccess: [203.0.113.0/24, pl-0123456789abcdef0]",
			[]any{"198.51.100.0/24"}, []any{"203.0.113.0/24", "pl-0123456789abcdef0"}, nil},
		{"closed stays closed", nil, []string{"203.0.113.0/24"}, "kubernetesApiAccess: [203.0.113.0/24]", nil, []any{"203.0.113.0/24"}, nil},
		{"opened, order matters", []string{"198.51.100.0/24"}, []string{"203.0.113.0/24", "192.0.2.0/24"}, "kubernetesApiAccess: [192.0.2.0/24, 203.0.113.0/24]",
			[]any{"198.51.100.0/24"}, []any{"203.0.113.0/24", "192.0.2.0/24"}, []string{"sshAccess: [] -> [198.51.100.0/24]", "kubernetesApiAccess: [192.0.2.0/24 203.0.113.0/24] -> [203.0.113.0/24 192.0.2.0/24]"}},
	} {
		d := kopstest.Desired("1.34")
		d.SSHAccess, d.AdminAccess = config.MustParseAccessList(c.ssh...), config.MustParseAccessList(c.admin...)
		spec := parse(t, []byte(c.in))
		changes, _, _, err := kops.AccessSection.Run(spec, d)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !reflect.DeepEqual(spec["sshAccess"], c.wantSSH) || !reflect.DeepEqual(spec["kubernetesApiAccess"], c.wantAPI) || !reflect.DeepEqual(changes, c.changes) {
			t.Errorf("%s: ssh %v, api %v, changes %q; want %v, %v, %q", c.name, spec["sshAccess"], spec["kubernetesApiAccess"], changes, c.wantSSH, c.wantAPI, c.changes)
		}
	}
}

func TestVersionSection(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, have, want string
		wantSpec         any // the spec's kubernetesVersion after
		changes          []string
		wantErr          string
	}{
		{"not configured: kept", "1.28.4", "", "1.28.4", nil, ""},
		{"same, spelled with a v", "v1.28.4", "1.28.4", "v1.28.4", nil, ""},
		{"upgrade", "1.28.4", "1.29.1", "1.29.1", []string{`kubernetesVersion: "1.28.4" -> "1.29.1"`}, ""},
		{"none before", "", "1.29.1", "1.29.1", []string{`kubernetesVersion: "" -> "1.29.1"`}, ""},
		{"downgrade refused", "1.29.1", "1.28.4", "1.29.1", nil, "kopscalico:kubernetesVersion is 1.28.4 but cluster demo.example.com runs Kubernetes 1.29.1"},
		{"a custom build is not compared", "1.29.1", "https://example.com/k8s/1.28.0/", "https://example.com/k8s/1.28.0/", []string{`kubernetesVersion: "1.29.1" -> "https://example.com/k8s/1.28.0/"`}, ""},
	} {
		d := kopstest.Desired("1.34")
		d.KubernetesVersion = c.want
		spec := map[string]any{}
		if c.have != "" {
			spec["kubernetesVersion"] = c.have
		}
		changes, _, _, err := kops.VersionSection.Run(spec, d)
		if (err == nil) != (c.wantErr == "") || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.wantErr)
			continue
		}
		got, _ := spec["kubernetesVersion"].(string)
		if c.wantSpec == nil {
			c.wantSpec = ""
		}
		if got != c.wantSpec || !reflect.DeepEqual(changes, c.changes) {
			t.Errorf("%s: kubernetesVersion %q, changes %q; want %q, %q", c.name, got, changes, c.wantSpec, c.changes)
		}
	}
}
