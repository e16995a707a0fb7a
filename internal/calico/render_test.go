package calico

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func params() Params {
	return Params{
		ClusterName: "calico.prod.example.org",
		Region:      "ap-southeast-2",
		PodCIDR:     netip.MustParsePrefix("100.64.0.0/13"),
		IPIPMode:    IPIPCrossSubnet,
		EtcdMembers: []string{"a", "b", "c"},
	}
}

type ref struct{ apiVersion, kind, namespace, name string }

func refs(objs []map[string]any) []ref {
	var out []ref
	for _, o := range objs {
		meta := o["metadata"].(map[string]any)
		ns, _ := meta["namespace"].(string)
		out = append(out, ref{o["apiVersion"].(string), o["kind"].(string), ns, meta["name"].(string)})
	}
	return out
}

// get walks a decoded object: keys for maps, ints for lists.
func get(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %q: not a map: %v", k, v)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at [%d]: not a list that long: %v", k, v)
			}
			v = l[k]
		}
	}
	return v
}

func find(t *testing.T, objs []map[string]any, kind, name string) map[string]any {
	t.Helper()
	for _, o := range objs {
		if o["kind"] == kind && get(t, o, "metadata", "name") == name {
			return o
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

func env(t *testing.T, container any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range get(t, container, "env").([]any) {
		m := e.(map[string]any)
		if v, ok := m["value"].(string); ok {
			out[m["name"].(string)] = v
		} else {
			out[m["name"].(string)] = "<from>"
		}
	}
	return out
}

func TestRenderTutorialObjects(t *testing.T) {
	t.Parallel()
	objs, err := Render(params())
	if err != nil {
		t.Fatal(err)
	}
	want := []ref{
		{"v1", "ConfigMap", "kube-system", "calico-config"},
		{"rbac.authorization.k8s.io/v1", "ClusterRole", "", "calico"},
		{"v1", "ServiceAccount", "kube-system", "calico"},
		{"rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "", "calico"},
		{"apps/v1", "DaemonSet", "kube-system", "calico-node"},
		{"apps/v1", "Deployment", "kube-system", "calico-policy-controller"},
		{"rbac.authorization.k8s.io/v1", "ClusterRole", "", "k8s-ec2-srcdst"},
		{"v1", "ServiceAccount", "kube-system", "k8s-ec2-srcdst"},
		{"rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "", "k8s-ec2-srcdst"},
		{"apps/v1", "Deployment", "kube-system", "k8s-ec2-srcdst"},
	}
	if got := refs(objs); !reflect.DeepEqual(got, want) {
		t.Fatalf("objects:\n got %v\nwant %v", got, want)
	}

	cm := find(t, objs, "ConfigMap", "calico-config")
	if got := get(t, cm, "data", "etcd_endpoints"); got != "http://etcd-a.internal.calico.prod.example.org:4001,http://etcd-b.internal.calico.prod.example.org:4001,http://etcd-c.internal.calico.prod.example.org:4001" {
		t.Errorf("etcd_endpoints = %q", got)
	}
	var cni map[string]any
	if err := json.Unmarshal([]byte(get(t, cm, "data", "cni_network_config").(string)), &cni); err != nil {
		t.Errorf("cni_network_config is not JSON: %v", err)
	}

	ds := find(t, objs, "DaemonSet", "calico-node")
	node := get(t, ds, "spec", "template", "spec", "containers", 0)
	if img := get(t, node, "image"); img != "quay.io/calico/node:v2.4.1" {
		t.Errorf("calico/node image = %v", img)
	}
	if img := get(t, ds, "spec", "template", "spec", "containers", 1, "image"); img != "quay.io/calico/cni:v1.10.0" {
		t.Errorf("calico/cni image = %v", img)
	}
	e := env(t, node)
	if e["CALICO_IPV4POOL_CIDR"] != "100.64.0.0/13" || e["CALICO_IPV4POOL_IPIP"] != "cross-subnet" || e["ETCD_ENDPOINTS"] != "<from>" {
		t.Errorf("calico-node env = %v", e)
	}

	srcdst := find(t, objs, "Deployment", "k8s-ec2-srcdst")
	if e := env(t, get(t, srcdst, "spec", "template", "spec", "containers", 0)); e["AWS_REGION"] != "ap-southeast-2" {
		t.Errorf("k8s-ec2-srcdst env = %v", e)
	}
	if img := get(t, srcdst, "spec", "template", "spec", "containers", 0, "image"); img != "ottoyiu/k8s-ec2-srcdst:v0.1.0" {
		t.Errorf("srcdst image = %v", img)
	}
	if img := get(t, find(t, objs, "Deployment", "calico-policy-controller"), "spec", "template", "spec", "containers", 0, "image"); img != "quay.io/calico/kube-policy-controller:v0.7.0" {
		t.Errorf("policy controller image = %v", img)
	}
}

// apps/v1 requires spec.selector, and it must select the pod template.
func TestWorkloadSelectorsMatchTemplates(t *testing.T) {
	t.Parallel()
	objs, err := Render(params())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range objs {
		if o["apiVersion"] != "apps/v1" {
			continue
		}
		n++
		sel, ok := get(t, o, "spec", "selector", "matchLabels").(map[string]any)
		if !ok || len(sel) == 0 {
			t.Errorf("%s %v: no spec.selector.matchLabels", o["kind"], get(t, o, "metadata", "name"))
			continue
		}
		labels := get(t, o, "spec", "template", "metadata", "labels").(map[string]any)
		for k, v := range sel {
			if labels[k] != v {
				t.Errorf("%s %v: selector %s=%v does not select the template labels %v", o["kind"], get(t, o, "metadata", "name"), k, v, labels)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d apps/v1 workloads, want 3", n)
	}
	for _, o := range objs {
		if v := o["apiVersion"].(string); strings.Contains(v, "beta") || strings.HasPrefix(v, "extensions/") {
			t.Errorf("%s %v uses %s", o["kind"], get(t, o, "metadata", "name"), v)
		}
	}
}

func TestRenderHasNoHardCodedClusterOrRegion(t *testing.T) {
	t.Parallel()
	// The template itself holds no region and no cluster domain.
	regionLike := regexp.MustCompile(`\b[a-z]{2}-(north|south|east|west|central|northeast|southeast|northwest|southwest)-[0-9]\b`)
	if m := regionLike.FindString(updateTemplate); m != "" {
		t.Errorf("template hard-codes region %q", m)
	}
	if m := regexp.MustCompile(`internal\.[a-z0-9]`).FindString(updateTemplate); m != "" {
		t.Errorf("template hard-codes an etcd domain: %q", m)
	}
	// Two renders differ exactly where the parameters do.
	a, b := params(), Params{ClusterName: "k8s.local.test", Region: "us-east-2", PodCIDR: netip.MustParsePrefix("100.96.0.0/11"), IPIPMode: IPIPCrossSubnet}
	oa, err := Render(a)
	if err != nil {
		t.Fatal(err)
	}
	ob, err := Render(b)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(oa)
	jb, _ := json.Marshal(ob)
	for _, s := range []string{a.ClusterName, a.Region, a.PodCIDR.String()} {
		if strings.Contains(string(jb), s) {
			t.Errorf("render for %s still holds %q", b.ClusterName, s)
		}
	}
	for _, s := range []string{b.ClusterName, b.Region, b.PodCIDR.String(), "etcd-a.internal.k8s.local.test"} {
		if !strings.Contains(string(jb), s) {
			t.Errorf("render lacks %q", s)
		}
	}
	if strings.Contains(string(jb), "etcd-b.") {
		t.Errorf("default etcd members should be just a")
	}
	if !strings.Contains(string(ja), "calico.prod.example.org") {
		t.Errorf("first render lacks its cluster name")
	}
}

func TestRenderIPIPModes(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{IPIPAlways, IPIPOff} {
		p := params()
		p.IPIPMode = mode
		objs, err := Render(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 6 {
			t.Errorf("%s: %d objects; the k8s-ec2-srcdst ones belong to cross-subnet only", mode, len(objs))
		}
		ds := find(t, objs, "DaemonSet", "calico-node")
		if e := env(t, get(t, ds, "spec", "template", "spec", "containers", 0)); e["CALICO_IPV4POOL_IPIP"] != mode {
			t.Errorf("%s: CALICO_IPV4POOL_IPIP = %q", mode, e["CALICO_IPV4POOL_IPIP"])
		}
	}
}

func TestRenderRejectsBadParams(t *testing.T) {
	t.Parallel()
	bad := map[string]func(*Params){
		"cluster name": func(p *Params) { p.ClusterName = "Bad_Name" },
		"region":       func(p *Params) { p.Region = "" },
		"IPIP mode":    func(p *Params) { p.IPIPMode = "CrossSubnet" },
		"etcd member":  func(p *Params) { p.EtcdMembers = []string{"a\"b"} },
	}
	for what, mutate := range bad {
		p := params()
		mutate(&p)
		if _, err := Render(p); err == nil || !strings.Contains(err.Error(), what) {
			t.Errorf("%s: err = %v", what, err)
		}
	}
}

func TestEtcdMemberNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		zones []string
		count int
		want  []string
	}{
		{[]string{"us-east-1a"}, 1, []string{"a"}},
		{[]string{"us-east-1a", "us-east-1b", "us-east-1c"}, 1, []string{"a"}},
		{[]string{"us-east-1a", "us-east-1b", "us-east-1c"}, 3, []string{"a", "b", "c"}},
		{[]string{"us-east-1a"}, 3, []string{"1", "2", "3"}},
		{[]string{"eu-west-1a", "eu-west-1b"}, 3, []string{"a-1", "b-1", "a-2"}},
		{nil, 1, nil},
	}
	for _, tt := range tests {
		if got := EtcdMemberNames(tt.zones, tt.count); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("EtcdMemberNames(%v, %d) = %v, want %v", tt.zones, tt.count, got, tt.want)
		}
	}
}

func TestIPIPModeFor(t *testing.T) {
	t.Parallel()
	if m, err := IPIPModeFor("ipip"); err != nil || m != IPIPCrossSubnet {
		t.Errorf("ipip: %q %v", m, err)
	}
	if _, err := IPIPModeFor("vxlan"); err == nil || !strings.Contains(err.Error(), "only does IP-in-IP") {
		t.Errorf("vxlan: %v", err)
	}
}
