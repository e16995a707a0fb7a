package dataplane_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/dataplane"
	"github.com/kopscalico/kopscalico/internal/testing/calicocrds"
	"github.com/kopscalico/kopscalico/internal/testing/calicomanifest"
)

// TestKopsTemplateContract holds what this package relies on to the Calico
// manifest of the pinned kops: the names of the objects and variables, the
// backend kops writes for each encapsulation, the pool modes it hands
// calico-node, and the CRD fields read.
func TestKopsTemplateContract(t *testing.T) {
	t.Parallel()
	for _, d := range []dataplane.Desired{
		{Encapsulation: config.EncapIPIP, AWSSrcDstCheck: config.SrcDstDisable},
		{Encapsulation: config.EncapVXLAN, AWSSrcDstCheck: config.SrcDstEnable},
	} {
		want := dataplane.Expect(d)
		objs := calicomanifest.Render(t, calicomanifest.Spec{EncapsulationMode: string(d.Encapsulation), AWSSrcDstCheck: string(d.AWSSrcDstCheck), ClusterCIDR: "100.96.0.0/11"})
		cm := calicomanifest.Find(t, objs, "ConfigMap", dataplane.ConfigMapName)
		if cm.GetNamespace() != dataplane.Namespace {
			t.Errorf("%s is in %q, want %s", dataplane.ConfigMapName, cm.GetNamespace(), dataplane.Namespace)
		}
		if got, _, _ := unstructured.NestedString(cm.Object, "data", dataplane.BackendKey); got != want.Backend {
			t.Errorf("%s: kops writes %s %q, Expect says %q", d.Encapsulation, dataplane.BackendKey, got, want.Backend)
		}
		ds := calicomanifest.Find(t, objs, "DaemonSet", dataplane.DaemonSetName)
		if ds.GetNamespace() != dataplane.Namespace {
			t.Errorf("%s is in %q, want %s", dataplane.DaemonSetName, ds.GetNamespace(), dataplane.Namespace)
		}
		env := calicomanifest.NodeEnv(t, objs)
		for name, value := range map[string]string{
			dataplane.EnvPoolIPIP:       want.IPIPMode,
			dataplane.EnvPoolVXLAN:      want.VXLANMode,
			dataplane.EnvPoolCIDR:       "100.96.0.0/11",
			dataplane.EnvAWSSrcDstCheck: string(d.AWSSrcDstCheck),
		} {
			if env[name] != value {
				t.Errorf("%s: kops hands calico-node %s=%q, want %q", d.Encapsulation, name, env[name], value)
			}
		}
		if name, key := backendRef(ds); name != dataplane.ConfigMapName || key != dataplane.BackendKey {
			t.Errorf("calico-node takes CALICO_NETWORKING_BACKEND from %q/%q, want %s/%s", name, key, dataplane.ConfigMapName, dataplane.BackendKey)
		}
	}

	// The pool modes calicomanifest renders are kops's own functions.
	src := strings.Join(strings.Fields(calicocrds.KopsSource(t, "upup/pkg/fi/cloudup/template_functions.go")), " ")
	for _, fragment := range []string{
		`dest["CalicoIPv4PoolIPIPMode"] = func() string { if c.EncapsulationMode != "ipip" { return "Never" } if c.IPIPMode != "" { return c.IPIPMode }`,
		`return "CrossSubnet" } dest["CalicoIPv4PoolVXLANMode"] = func() string { if c.EncapsulationMode != "vxlan" { return "Never" } if c.VXLANMode != "" { return c.VXLANMode } return "CrossSubnet" }`,
	} {
		if !strings.Contains(src, fragment) {
			t.Errorf("kops's template_functions.go no longer holds %q: calicomanifest's pool modes need updating", fragment)
		}
	}

	felixFields := make([]string, 0, len(dataplane.FelixSettings))
	for _, fs := range dataplane.FelixSettings {
		felixFields = append(felixFields, fs.Field)
	}
	for crd, fields := range map[string][]string{
		"ippools." + dataplane.CalicoGroup:             {"cidr", "ipipMode", "vxlanMode", "natOutgoing", "blockSize", "disabled"},
		"felixconfigurations." + dataplane.CalicoGroup: felixFields,
	} {
		schema := calicocrds.Schema(t, calicocrds.Find(t, crd), dataplane.CalicoVersion)
		props, _, _ := unstructured.NestedMap(schema, "properties", "spec", "properties")
		for _, f := range fields {
			if _, ok := props[f]; !ok {
				t.Errorf("the CRD %s has no spec.%s", crd, f)
			}
		}
	}
}

// backendRef is the ConfigMap and key calico-node's CALICO_NETWORKING_BACKEND
// comes from.
func backendRef(ds *unstructured.Unstructured) (name, key string) {
	containers, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		env, _ := c.(map[string]any)["env"].([]any)
		for _, e := range env {
			e, _ := e.(map[string]any)
			if e["name"] == "CALICO_NETWORKING_BACKEND" {
				name, _, _ = unstructured.NestedString(e, "valueFrom", "configMapKeyRef", "name")
				key, _, _ = unstructured.NestedString(e, "valueFrom", "configMapKeyRef", "key")
			}
		}
	}
	return name, key
}

// TestFelixSettingsAreKops holds the table of Felix settings to the pinned
// kops: each setting kops derives renders its env from the spec field the
// table names (set to a marker, calico-node's env carries it, literally or
// through calico-config), and kops sets no env for the others.
func TestFelixSettingsAreKops(t *testing.T) {
	t.Parallel()
	goNames := kopsCalicoFields(t)
	base := calicomanifest.Spec{EncapsulationMode: "ipip", ClusterCIDR: "100.96.0.0/11"}
	plain := calicomanifest.NodeEnv(t, calicomanifest.Render(t, base))
	for _, fs := range dataplane.FelixSettings {
		if fs.KopsField == "" {
			if v, ok := plain[fs.Env]; ok {
				t.Errorf("%s: kops sets %s=%q, the table says it sets none", fs.Field, fs.Env, v)
			}
			continue
		}
		goName, ok := goNames[fs.KopsField]
		if !ok {
			t.Errorf("%s: kops's CalicoNetworkingSpec has no field %q", fs.Field, fs.KopsField)
			continue
		}
		if _, ok := plain[fs.Env]; !ok {
			t.Errorf("%s: kops's calico-node has no %s", fs.Field, fs.Env)
		}
		markers := map[string]any{"string": "Marker", "*int32": int32(8900), "bool": true, "*bool": true}
		marker, ok := markers[goName.kind]
		if !ok {
			t.Errorf("%s: no marker for kops's %s field %s", fs.Field, goName.kind, goName.name)
			continue
		}
		spec := base
		spec.Set = map[string]any{goName.name: marker}
		if got := calicomanifest.NodeEnv(t, calicomanifest.Render(t, spec))[fs.Env]; got != fmt.Sprint(marker) {
			t.Errorf("%s: with calico.%s %v kops renders %s=%q", fs.Field, fs.KopsField, marker, fs.Env, got)
		}
	}
}

type goField struct{ name, kind string }

// kopsCalicoFields are the fields of kops's CalicoNetworkingSpec by JSON
// name, read from its source.
func kopsCalicoFields(t *testing.T) map[string]goField {
	src := calicocrds.KopsSource(t, "pkg/apis/kops/networking.go")
	start := strings.Index(src, "type CalicoNetworkingSpec struct {")
	if start < 0 {
		t.Fatal("kops's networking.go has no CalicoNetworkingSpec")
	}
	body := src[start : start+strings.Index(src[start:], "\n}")]
	fields := map[string]goField{}
	for _, m := range regexp.MustCompile(`(?m)^\s*(\w+)\s+(\S+)\s+`+"`"+`json:"(\w+)`).FindAllStringSubmatch(body, -1) {
		fields[m[3]] = goField{name: m[1], kind: m[2]}
	}
	return fields
}
