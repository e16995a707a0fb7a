package dataplane_test

import (
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
			dataplane.EnvAWSSrcDstCheck: want.AWSSrcDstCheck,
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

	for crd, fields := range map[string][]string{
		"ippools." + dataplane.CalicoGroup:             {"cidr", "ipipMode", "vxlanMode", "natOutgoing", "blockSize", "disabled"},
		"felixconfigurations." + dataplane.CalicoGroup: {"awsSrcDstCheck", "ipipEnabled", "vxlanEnabled"},
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
