package kops

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"

	"github.com/blang/semver"
	"sigs.k8s.io/yaml"
)

// networkingProviders are the keys of spec.networking that each select a
// networking provider (kops v1alpha2, 1.7 to 1.37). kops refuses a spec with
// two of them, so converting to Calico drops every other one.
var networkingProviders = map[string]bool{
	"classic": true, "kubenet": true, "external": true, "cni": true, "kopeio": true,
	"weave": true, "flannel": true, "calico": true, "canal": true, "kuberouter": true,
	"romana": true, "amazonvpc": true, "amazonVPC": true, "cilium": true, "lyftvpc": true,
	"gce": true, "kindnet": true, "gcp": true,
}

// disruptiveSources are providers a switch away from is disruptive: kops
// leaves the old CNI's daemonset and resources behind (kops docs,
// "Switching between networking providers"). kubenet and classic are safe.
func disruptiveSource(provider string) bool {
	return provider != "kubenet" && provider != "classic" && provider != "calico"
}

// CalicoNetworking renders the calico block of spec.networking for Calico
// cross-subnet on kops v:
//
//	< 1.22: crossSubnet: true (the only switch kops had)
//	>= 1.22: crossSubnet is deprecated and ignored; the encapsulation mode
//	         with CrossSubnet and the AWS source/destination check decide it.
//
// vxlan before 1.22 is refused by the cluster's rules (config) before this.
func CalicoNetworking(v kopsrelease.Version, encapsulation config.Encapsulation, awsSrcDstCheck config.SrcDstCheck) map[string]any {
	if !v.AtLeast(kopsrelease.CalicoModes) {
		return map[string]any{"crossSubnet": true}
	}
	c := map[string]any{"awsSrcDstCheck": string(awsSrcDstCheck)}
	if encapsulation == config.EncapVXLAN {
		c["encapsulationMode"] = "vxlan"
		c["vxlanMode"] = "CrossSubnet"
	} else {
		c["encapsulationMode"] = "ipip"
		c["ipipMode"] = "CrossSubnet"
	}
	return c
}

// RenderNetworking is CalicoNetworking for a desired cluster, as the YAML of
// spec.networking (the form shown in previews).
func RenderNetworking(d Desired) (string, error) {
	c := CalicoNetworking(d.KopsVersion, d.Encapsulation, d.AWSSrcDstCheck)
	b, err := yaml.Marshal(map[string]any{"calico": c})
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Conversion is the result of converting a cluster spec.
type Conversion struct {
	YAML     []byte   // the converted spec, ready for `kops replace -f -`
	Changes  []string // what changed, one line each; empty: already as desired
	Warnings []string // what the operator should know (disruptive CNI switch)
	From     string   // networking provider(s) before, e.g. "kubenet"
}

// Changed reports whether the spec needs a `kops replace`.
func (c Conversion) Changed() bool { return len(c.Changes) > 0 }

// ConvertClusterSpec rewrites a Cluster object, as `kops get cluster <name>
// -o yaml` prints it, to the desired cluster: Calico cross-subnet networking
// for the pinned kops version, SSH and API access from config, and the
// Kubernetes version when one is configured. Every other field, known to this
// program or not, is kept as it is. A spec already as desired comes back
// with no changes.
func ConvertClusterSpec(in []byte, d Desired) (Conversion, error) {
	v := d.KopsVersion
	var obj map[string]any
	if err := yaml.Unmarshal(in, &obj); err != nil {
		return Conversion{}, fmt.Errorf("parse kops cluster spec: %w", err)
	}
	if obj == nil {
		return Conversion{}, fmt.Errorf("parse kops cluster spec: empty document")
	}
	if kind, _ := obj["kind"].(string); kind != "Cluster" {
		return Conversion{}, fmt.Errorf("kops cluster spec: kind is %q, want Cluster", kind)
	}
	apiVersion, _ := obj["apiVersion"].(string)
	if apiVersion != "kops.k8s.io/v1alpha2" && apiVersion != "kops/v1alpha2" {
		return Conversion{}, fmt.Errorf("kops cluster spec: apiVersion %q is not supported; `kops get cluster -o yaml` prints kops.k8s.io/v1alpha2", apiVersion)
	}
	meta, _ := obj["metadata"].(map[string]any)
	if name, _ := meta["name"].(string); name != d.Name {
		return Conversion{}, fmt.Errorf("kops cluster spec is for %q, want %q", name, d.Name)
	}
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		return Conversion{}, fmt.Errorf("kops cluster spec %q has no spec", d.Name)
	}

	var conv Conversion
	networking, _ := spec["networking"].(map[string]any)
	if networking == nil {
		networking = map[string]any{}
	}
	var providers []string
	for k := range networking {
		if networkingProviders[k] {
			providers = append(providers, k)
		}
	}
	sort.Strings(providers)
	conv.From = strings.Join(providers, ",")

	want := CalicoNetworking(v, d.Encapsulation, d.AWSSrcDstCheck)
	calico, _ := networking["calico"].(map[string]any)
	newCalico := map[string]any{}
	for k, val := range calico { // keep the operator's other Calico settings
		newCalico[k] = val
	}
	if v.AtLeast(kopsrelease.CalicoModes) {
		// Deprecated and ignored from 1.22; modes that contradict the
		// desired encapsulation would be refused by kops validation.
		delete(newCalico, "crossSubnet")
		delete(newCalico, "ipipMode")
		delete(newCalico, "vxlanMode")
	}
	for k, val := range want {
		newCalico[k] = val
	}
	newNetworking := map[string]any{}
	for k, val := range networking {
		if !networkingProviders[k] { // non-provider fields (v1alpha3 shapes) stay
			newNetworking[k] = val
		}
	}
	newNetworking["calico"] = newCalico
	if !reflect.DeepEqual(networking, newNetworking) {
		for _, p := range providers {
			if p == "calico" {
				continue
			}
			conv.Changes = append(conv.Changes, fmt.Sprintf("networking: drop %s", p))
			if disruptiveSource(p) {
				conv.Warnings = append(conv.Warnings, fmt.Sprintf(
					"switching cluster %s from %s to Calico is disruptive: kops does not remove %s's daemonset or resources; remove them once Calico runs (kops docs: Switching between networking providers)", d.Name, p, p))
			}
		}
		conv.Changes = append(conv.Changes, fmt.Sprintf("networking.calico: %s", compact(calico, newCalico)))
		spec["networking"] = newNetworking
	}

	setList := func(key string, want []string) {
		have := toStrings(spec[key])
		if equalStrings(have, want) {
			return
		}
		if len(want) == 0 {
			delete(spec, key)
			conv.Changes = append(conv.Changes, fmt.Sprintf("%s: %v -> closed", key, have))
			return
		}
		list := make([]any, len(want))
		for i, s := range want {
			list[i] = s
		}
		spec[key] = list
		conv.Changes = append(conv.Changes, fmt.Sprintf("%s: %v -> %v", key, have, want))
	}
	setList("sshAccess", d.SSHAccess.Strings())
	setList("kubernetesApiAccess", d.AdminAccess.Strings())

	if d.KubernetesVersion != "" {
		have, _ := spec["kubernetesVersion"].(string)
		if isDowngrade(have, d.KubernetesVersion) {
			return Conversion{}, fmt.Errorf("%[1]s is %[2]s but cluster %[3]s runs Kubernetes %[4]s: kops does not downgrade a cluster; "+
				"set %[1]s to %[5]s or later, or leave it empty to keep the cluster's version", config.FullKey(config.KeyKubernetesVersion), d.KubernetesVersion, d.Name, have, strings.TrimPrefix(have, "v"))
		}
		if strings.TrimPrefix(have, "v") != strings.TrimPrefix(d.KubernetesVersion, "v") {
			spec["kubernetesVersion"] = d.KubernetesVersion
			conv.Changes = append(conv.Changes, fmt.Sprintf("kubernetesVersion: %q -> %q", have, d.KubernetesVersion))
		}
	}

	if !conv.Changed() {
		conv.YAML = in
		return conv, nil
	}
	out, err := yaml.Marshal(obj)
	if err != nil {
		return Conversion{}, fmt.Errorf("render kops cluster spec: %w", err)
	}
	conv.YAML = out
	return conv, nil
}

// IsCalicoCrossSubnet reports whether a cluster spec already runs Calico
// cross-subnet as desired, with no other provider.
func IsCalicoCrossSubnet(in []byte, d Desired) (bool, error) {
	c, err := ConvertClusterSpec(in, d)
	if err != nil {
		return false, err
	}
	for _, ch := range c.Changes {
		if strings.HasPrefix(ch, "networking") {
			return false, nil
		}
	}
	return true, nil
}

// isDowngrade reports whether moving a cluster from Kubernetes version have
// to want goes back. Versions that are not plain x.y.z (kops also takes a URL
// of a custom build) are not compared.
func isDowngrade(have, want string) bool {
	h, errH := semver.ParseTolerant(have)
	w, errW := semver.ParseTolerant(want)
	return errH == nil && errW == nil && w.LT(h)
}

func compact(before, after map[string]any) string {
	b, _ := yaml.Marshal(before)
	a, _ := yaml.Marshal(after)
	flat := func(x []byte) string {
		s := strings.TrimSpace(strings.ReplaceAll(strings.TrimSpace(string(x)), "\n", ", "))
		if s == "{}" || s == "null" || s == "" {
			return "{}"
		}
		return "{" + s + "}"
	}
	return flat(b) + " -> " + flat(a)
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
