package netpol

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"

	"github.com/kopscalico/kopscalico/internal/testing/calicocrds"
)

// The validator held to the CRDs kops installs: the fields it lets through
// (those of the v1alpha1 Go types, but domainNames) are the CRD's, and every
// constraint of the CRD is one the validator applies, with the same limits.

// refusedAsAbsent are the fields of the Go types that ValidateAdminPolicy
// refuses because the CRD kops installs does not have them.
var refusedAsAbsent = []string{"spec.egress[].to[].domainNames", "spec.egress[].to[].domainNames[]"}

func TestAdminCRDsHaveTheValidatorsFields(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		crd    string
		spec   any
		exempt []string
	}{
		{"adminnetworkpolicies.policy.networking.k8s.io", anpv1alpha1.AdminNetworkPolicySpec{}, refusedAsAbsent},
		{"baselineadminnetworkpolicies.policy.networking.k8s.io", anpv1alpha1.BaselineAdminNetworkPolicySpec{}, nil},
	} {
		schema := calicocrds.Schema(t, calicocrds.Find(t, tc.crd), "v1alpha1")
		inCRD := map[string]bool{}
		schemaPaths(schema["properties"].(map[string]any)["spec"].(map[string]any), "spec", inCRD)
		allowed := map[string]bool{}
		goPaths(reflect.TypeOf(tc.spec), "spec", allowed)
		for _, p := range tc.exempt {
			if inCRD[p] || !allowed[p] {
				t.Errorf("%s: %s is refused as absent from the CRD, but the CRD has it (%v) or the Go type does not (%v)", tc.crd, p, inCRD[p], allowed[p])
			}
			delete(allowed, p)
		}
		for _, p := range slices.Sorted(maps.Keys(allowed)) {
			if !inCRD[p] {
				t.Errorf("%s: the validator lets %s through, which the CRD kops installs does not have; refuse it as domainNames is", tc.crd, p)
			}
		}
		for _, p := range slices.Sorted(maps.Keys(inCRD)) {
			if !allowed[p] {
				t.Errorf("%s: the CRD has %s, which strict decoding into the Go types refuses", tc.crd, p)
			}
		}
	}
}

func TestAdminCRDConstraintsAreTheValidators(t *testing.T) {
	t.Parallel()
	for _, admin := range []bool{true, false} {
		name := "baselineadminnetworkpolicies.policy.networking.k8s.io"
		if admin {
			name = "adminnetworkpolicies.policy.networking.k8s.io"
		}
		schema := calicocrds.Schema(t, calicocrds.Find(t, name), "v1alpha1")
		got := map[string]string{}
		schemaConstraints(schema, "<root>", got)
		want := expectedConstraints(admin)
		for _, k := range slices.Sorted(maps.Keys(got)) {
			switch w, ok := want[k]; {
			case !ok:
				t.Errorf("%s: the CRD has the constraint %s = %s, which the validator does not know; add it to validate_admin.go and here", name, k, got[k])
			case w != got[k]:
				t.Errorf("%s: %s = %s in the CRD, %s in the validator", name, k, got[k], w)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if _, ok := got[k]; !ok {
				t.Errorf("%s: the validator applies %s = %s, which the CRD does not have", name, k, want[k])
			}
		}
	}
}

// expectedConstraints are the CRD's constraints as the validator applies
// them, keyed "path keyword"; CEL rules are listed by their text.
func expectedConstraints(admin bool) map[string]string {
	c := map[string]string{}
	set := func(key string, v any) { c[key] = fmt.Sprint(v) }
	set("<root> required", []string{"metadata", "spec"})
	actions := baselineActions
	if admin {
		actions = adminActions
		set("spec required", []string{"priority", "subject"})
		set("spec.priority minimum", 0)
		set("spec.priority maximum", maxAdminPriority)
	} else {
		set("spec required", []string{"subject"})
		set("<root> x-kubernetes-validations", []string{"self.metadata.name == 'default'"})
	}
	exactlyOne := func(path string) {
		set(path+" minProperties", 1)
		set(path+" maxProperties", 1)
	}
	exactlyOne("spec.subject")
	selectors := []string{"spec.subject.namespaces", "spec.egress[].to[].nodes"}
	pods := []string{"spec.subject.pods"}
	for _, d := range []struct{ rules, peers string }{{"spec.ingress", "from"}, {"spec.egress", "to"}} {
		rule, peer, port := d.rules+"[]", d.rules+"[]."+d.peers+"[]", d.rules+"[].ports[]"
		set(d.rules+" maxItems", maxAdminItems)
		set(rule+" required", []string{"action", d.peers})
		set(rule+".action enum", actions)
		set(rule+".name maxLength", maxRuleName)
		set(rule+"."+d.peers+" minItems", 1)
		set(rule+"."+d.peers+" maxItems", maxAdminItems)
		exactlyOne(peer)
		selectors = append(selectors, peer+".namespaces")
		pods = append(pods, peer+".pods")
		set(rule+".ports maxItems", maxAdminItems)
		exactlyOne(port)
		set(port+".portNumber required", []string{"port", "protocol"})
		set(port+".portRange required", []string{"end", "start"})
		for _, n := range []string{".portNumber.port", ".portRange.start", ".portRange.end"} {
			set(port+n+" minimum", 1)
			set(port+n+" maximum", 65535)
		}
		for _, p := range []string{".portNumber.protocol", ".portRange.protocol"} {
			set(port+p+" default", "TCP") // checkAdminProtocol: empty is TCP
		}
	}
	for _, p := range pods {
		set(p+" required", []string{"namespaceSelector", "podSelector"}) // presentFields in the loader
		selectors = append(selectors, p+".namespaceSelector", p+".podSelector")
	}
	for _, s := range selectors { // validateSelector
		set(s+".matchExpressions[] required", []string{"key", "operator"})
	}
	networks := "spec.egress[].to[].networks"
	set(networks+" minItems", 1)
	set(networks+" maxItems", maxNetworks)
	set(networks+" x-kubernetes-list-type", "set")
	set(networks+"[] maxLength", maxNetworkLength)
	set(networks+"[] x-kubernetes-validations", []string{"self.contains(':') != self.contains('.')"})
	// validateAdminPorts' networks argument.
	set("spec.egress[] x-kubernetes-validations", []string{"!(self.to.exists(peer, has(peer.networks) || has(peer.nodes)) && has(self.ports) && self.ports.exists(port, has(port.namedPort)))"})
	return c
}

// constraintKeywords are the schema keywords that refuse values; the others
// (type, format, descriptions, structure) only shape the object.
var constraintKeywords = []string{
	"minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties",
	"enum", "required", "pattern", "default", "x-kubernetes-validations", "x-kubernetes-list-type",
}

// schemaConstraints collects the constraints of schema at path into out,
// leaving status out (the loader refuses it) and metadata (the API server's).
func schemaConstraints(schema map[string]any, path string, out map[string]string) {
	for _, k := range constraintKeywords {
		v, ok := schema[k]
		if !ok {
			continue
		}
		if k == "x-kubernetes-validations" {
			var rules []string
			for _, r := range v.([]any) {
				rules = append(rules, r.(map[string]any)["rule"].(string))
			}
			v = rules
		}
		out[path+" "+k] = fmt.Sprint(v)
	}
	props, _ := schema["properties"].(map[string]any)
	for name, sub := range props {
		if path == "<root>" && (name == "status" || name == "metadata") {
			continue
		}
		child := name
		if path != "<root>" {
			child = path + "." + name
		}
		schemaConstraints(sub.(map[string]any), child, out)
	}
	if items, ok := schema["items"].(map[string]any); ok {
		schemaConstraints(items, path+"[]", out)
	}
}

// schemaPaths records every field path of schema ("spec.egress[].to[]").
func schemaPaths(schema map[string]any, path string, out map[string]bool) {
	out[path] = true
	props, _ := schema["properties"].(map[string]any)
	for name, sub := range props {
		schemaPaths(sub.(map[string]any), path+"."+name, out)
	}
	if items, ok := schema["items"].(map[string]any); ok {
		schemaPaths(items, path+"[]", out)
	}
}

// goPaths records every field path strict decoding into t accepts.
func goPaths(t reflect.Type, path string, out map[string]bool) {
	out[path] = true
	switch t.Kind() {
	case reflect.Pointer:
		delete(out, path)
		goPaths(t.Elem(), path, out)
	case reflect.Slice:
		goPaths(t.Elem(), path+"[]", out)
	case reflect.Struct:
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			goPaths(t.Field(i).Type, path+"."+name, out)
		}
	}
}
