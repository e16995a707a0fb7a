// Package calicomanifest renders, for tests, the Calico manifest kops installs
// (the template of the pinned kops module, calicocrds.TemplatePath) for a
// networking spec, and the IP pool calico-node creates from it at its first
// start: the cluster a kops-made Calico leaves, on an API server with no
// kubelet.
package calicomanifest

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"text/template"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/internal/testing/calicocrds"
)

// Spec is the part of kops's networking.calico the tests vary; the rest of
// the template's fields render as kops leaves them unset.
type Spec struct {
	EncapsulationMode string // ipip or vxlan
	IPIPMode          string // "" lets kops choose
	VXLANMode         string
	AWSSrcDstCheck    string
	ClusterCIDR       string // kops's kubeControllerManager.clusterCIDR
	// Set sets more fields of kops's CalicoNetworkingSpec, by their Go
	// name, to values of their type (pointer fields take the value).
	Set map[string]any
}

// calicoFields are the fields of kops's CalicoNetworkingSpec the template
// reads, with their zero values.
type calicoFields struct {
	AWSSrcDstCheck, BPFExternalServiceMode, BPFLogLevel, CPURequest, ChainInsertMode, EncapsulationMode string
	IPv4AutoDetectionMethod, IPv6AutoDetectionMethod, IptablesBackend, LogSeverityScreen, NFTablesMode  string
	PrometheusMetricsPort, Registry, TyphaPrometheusMetricsPort, Version                                string
	AllowIPForwarding, BPFEnabled, BPFKubeProxyIptablesCleanupEnabled, PrometheusGoMetricsEnabled       bool
	PrometheusMetricsEnabled, PrometheusProcessMetricsEnabled, TyphaPrometheusMetricsEnabled            bool
	MTU                                                                                                 *int32
	TyphaReplicas                                                                                       int32
	WireguardEnabled                                                                                    *bool
}

// Render renders the template for spec on AWS (IPv4) and returns its
// objects in order.
func Render(t testing.TB, spec Spec) []*unstructured.Unstructured {
	t.Helper()
	c := calicoFields{EncapsulationMode: spec.EncapsulationMode, AWSSrcDstCheck: spec.AWSSrcDstCheck}
	for name, value := range spec.Set {
		set(t, &c, name, value)
	}
	// The pool modes as kops's template functions compute them
	// (upup/pkg/fi/cloudup/template_functions.go; TestKopsTemplateContract
	// holds this to that source).
	poolMode := func(encap, set, otherwise string) func() string {
		return func() string {
			switch {
			case spec.EncapsulationMode != encap:
				return "Never"
			case set != "":
				return set
			}
			return otherwise
		}
	}
	funcs := template.FuncMap{
		"CalicoIPv4PoolIPIPMode":  poolMode("ipip", spec.IPIPMode, "CrossSubnet"),
		"CalicoIPv4PoolVXLANMode": poolMode("vxlan", spec.VXLANMode, "CrossSubnet"),
		"CalicoIPv6PoolVXLANMode": poolMode("vxlan", spec.VXLANMode, "Never"),
		"IsIPv6Only":              func() bool { return false },
		"GetCloudProvider":        func() string { return "aws" },
		"APIInternalName":         func() string { return "api.internal.example.com" },
		"ProxyEnv":                func() map[string]string { return nil },
		"WithDefaultBool": func(v *bool, d bool) bool {
			if v == nil {
				return d
			}
			return *v
		},
	}
	tmpl, err := template.New(calicocrds.TemplatePath).Funcs(funcs).Option("missingkey=error").Parse(calicocrds.Template(t))
	if err != nil {
		t.Fatalf("parse %s: %v", calicocrds.TemplatePath, err)
	}
	data := map[string]any{
		"Networking":            map[string]any{"Calico": c},
		"KubeControllerManager": map[string]any{"ClusterCIDR": spec.ClusterCIDR},
	}
	var out strings.Builder
	if err := tmpl.Execute(&out, data); err != nil {
		t.Fatalf("render %s: %v", calicocrds.TemplatePath, err)
	}
	var objs []*unstructured.Unstructured
	for i, doc := range strings.Split(out.String(), "\n---\n") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("%s rendered: document %d: %v", calicocrds.TemplatePath, i+1, err)
		}
		if len(obj) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: obj})
		}
	}
	return objs
}

// set sets the field of c named name to value, through a pointer for a
// pointer field.
func set(t testing.TB, c *calicoFields, name string, value any) {
	t.Helper()
	f := reflect.ValueOf(c).Elem().FieldByName(name)
	v := reflect.ValueOf(value)
	switch {
	case !f.IsValid():
		t.Fatalf("the template's Calico fields have no %s", name)
	case f.Kind() == reflect.Pointer && v.Type().AssignableTo(f.Type().Elem()):
		p := reflect.New(f.Type().Elem())
		p.Elem().Set(v)
		f.Set(p)
	case v.Type().AssignableTo(f.Type()):
		f.Set(v)
	default:
		t.Fatalf("Calico field %s is a %s, not a %T", name, f.Type(), value)
	}
}

// Find returns the object of kind and name among objs.
func Find(t testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("the rendered manifest has no %s %s", kind, name)
	return nil
}

// NodeEnv is the environment of the calico-node container of the rendered
// calico-node DaemonSet: its literal values, and those it takes from
// calico-config.
func NodeEnv(t testing.TB, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	cm, _, _ := unstructured.NestedStringMap(Find(t, objs, "ConfigMap", "calico-config").Object, "data")
	ds := Find(t, objs, "DaemonSet", "calico-node")
	containers, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "containers")
	env := map[string]string{}
	for _, c := range containers {
		c, _ := c.(map[string]any)
		if c["name"] != "calico-node" {
			continue
		}
		list, _ := c["env"].([]any)
		for _, e := range list {
			e, _ := e.(map[string]any)
			if v, ok := e["value"].(string); ok {
				env[fmt.Sprint(e["name"])] = v
			}
			if ref, ok, _ := unstructured.NestedStringMap(e, "valueFrom", "configMapKeyRef"); ok && ref["name"] == "calico-config" {
				env[fmt.Sprint(e["name"])] = cm[ref["key"]]
			}
		}
	}
	if len(env) == 0 {
		t.Fatal("the rendered calico-node DaemonSet has no calico-node container with env")
	}
	return env
}

// CreatedPool is the IPPool calico-node creates at its first start when none
// exists, from the environment kops gave it (calico node/pkg/lifecycle/startup:
// default-ipv4-ippool; blockSize 26, natOutgoing true and nodeSelector all()
// when their variables are unset, as kops leaves them).
func CreatedPool(t testing.TB, objs []*unstructured.Unstructured) *unstructured.Unstructured {
	t.Helper()
	env := NodeEnv(t, objs)
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "crd.projectcalico.org/v1",
		"kind":       "IPPool",
		"metadata":   map[string]any{"name": "default-ipv4-ippool"},
		"spec": map[string]any{
			"cidr":         env["CALICO_IPV4POOL_CIDR"],
			"ipipMode":     env["CALICO_IPV4POOL_IPIP"],
			"vxlanMode":    env["CALICO_IPV4POOL_VXLAN"],
			"natOutgoing":  true,
			"blockSize":    int64(26),
			"nodeSelector": "all()",
			"allowedUses":  []any{"Workload", "Tunnel"},
		},
	}}
}
