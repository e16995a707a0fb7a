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
// -o yaml` prints it, to the desired cluster, section by section: Calico
// cross-subnet networking for the pinned kops version, SSH and API access
// from config, and the Kubernetes version when one is configured. Every
// other field, known to this program or not, is kept as it is. A spec
// already as desired comes back with no changes.
func ConvertClusterSpec(in []byte, d Desired) (Conversion, error) {
	obj, spec, err := parseClusterEnvelope(in, d.Name)
	if err != nil {
		return Conversion{}, err
	}
	r := &specRewrite{spec: spec}
	for _, section := range specSections {
		if err := section(r, d); err != nil {
			return Conversion{}, err
		}
	}
	conv := Conversion{YAML: in, Changes: r.changes, Warnings: r.warnings, From: r.from}
	if !conv.Changed() {
		return conv, nil
	}
	if conv.YAML, err = yaml.Marshal(obj); err != nil {
		return Conversion{}, fmt.Errorf("render kops cluster spec: %w", err)
	}
	return conv, nil
}

// specSections are the parts of the spec ConvertClusterSpec sets, in order.
var specSections = []func(*specRewrite, Desired) error{
	(*specRewrite).networking,
	(*specRewrite).access,
	(*specRewrite).kubernetesVersion,
}

// parseClusterEnvelope parses a Cluster object and checks its envelope: the
// kind, an apiVersion kops prints, the cluster's name, and a spec, which it
// returns as the part of obj the sections rewrite.
func parseClusterEnvelope(in []byte, name string) (obj, spec map[string]any, err error) {
	if err := yaml.Unmarshal(in, &obj); err != nil {
		return nil, nil, fmt.Errorf("parse kops cluster spec: %w", err)
	}
	if obj == nil {
		return nil, nil, fmt.Errorf("parse kops cluster spec: empty document")
	}
	if kind, _ := obj["kind"].(string); kind != "Cluster" {
		return nil, nil, fmt.Errorf("kops cluster spec: kind is %q, want Cluster", kind)
	}
	apiVersion, _ := obj["apiVersion"].(string)
	if apiVersion != "kops.k8s.io/v1alpha2" && apiVersion != "kops/v1alpha2" {
		return nil, nil, fmt.Errorf("kops cluster spec: apiVersion %q is not supported; `kops get cluster -o yaml` prints kops.k8s.io/v1alpha2", apiVersion)
	}
	meta, _ := obj["metadata"].(map[string]any)
	if got, _ := meta["name"].(string); got != name {
		return nil, nil, fmt.Errorf("kops cluster spec is for %q, want %q", got, name)
	}
	if spec, _ = obj["spec"].(map[string]any); spec == nil {
		return nil, nil, fmt.Errorf("kops cluster spec %q has no spec", name)
	}
	return obj, spec, nil
}

// specRewrite is a cluster spec being rewritten: each section sets its
// fields in spec and says what it changed.
type specRewrite struct {
	spec     map[string]any
	changes  []string
	warnings []string
	from     string // the networking provider(s) before
}

func (r *specRewrite) changef(format string, args ...any) {
	r.changes = append(r.changes, fmt.Sprintf(format, args...))
}

// networking sets Calico cross-subnet and drops every other provider (kops
// refuses two), keeping the operator's other Calico settings and the fields
// of spec.networking that select no provider.
func (r *specRewrite) networking(d Desired) error {
	networking, _ := r.spec["networking"].(map[string]any)
	if networking == nil {
		networking = map[string]any{}
	}
	providers := providersIn(networking)
	r.from = strings.Join(providers, ",")
	calico, _ := networking["calico"].(map[string]any)
	newNetworking := map[string]any{}
	for k, val := range networking {
		if !networkingProviders[k] { // non-provider fields (v1alpha3 shapes) stay
			newNetworking[k] = val
		}
	}
	newCalico := desiredCalico(calico, d)
	newNetworking["calico"] = newCalico
	if reflect.DeepEqual(networking, newNetworking) {
		return nil
	}
	for _, p := range providers {
		if p == "calico" {
			continue
		}
		r.changef("networking: drop %s", p)
		if disruptiveSource(p) {
			r.warnings = append(r.warnings, fmt.Sprintf(
				"switching cluster %s from %s to Calico is disruptive: kops does not remove %s's daemonset or resources; remove them once Calico runs (kops docs: Switching between networking providers)", d.Name, p, p))
		}
	}
	r.changef("networking.calico: %s", compact(calico, newCalico))
	r.spec["networking"] = newNetworking
	return nil
}

// providersIn names the networking providers spec.networking selects, sorted.
func providersIn(networking map[string]any) []string {
	var providers []string
	for k := range networking {
		if networkingProviders[k] {
			providers = append(providers, k)
		}
	}
	sort.Strings(providers)
	return providers
}

// desiredCalico is the calico block have becomes: CalicoNetworking over the
// operator's other settings. From kops 1.22 crossSubnet is deprecated and
// ignored, and modes contradicting the encapsulation would be refused.
func desiredCalico(have map[string]any, d Desired) map[string]any {
	out := map[string]any{}
	for k, val := range have {
		out[k] = val
	}
	if d.KopsVersion.AtLeast(kopsrelease.CalicoModes) {
		delete(out, "crossSubnet")
		delete(out, "ipipMode")
		delete(out, "vxlanMode")
	}
	for k, val := range CalicoNetworking(d.KopsVersion, d.Encapsulation, d.AWSSrcDstCheck) {
		out[k] = val
	}
	return out
}

// access sets who may reach SSH and the Kubernetes API.
func (r *specRewrite) access(d Desired) error {
	r.setList("sshAccess", d.SSHAccess.Strings())
	r.setList("kubernetesApiAccess", d.AdminAccess.Strings())
	return nil
}

// setList sets a list of strings of the spec; an empty one is removed
// (closed), as kops's own default would otherwise open it.
func (r *specRewrite) setList(key string, want []string) {
	have := toStrings(r.spec[key])
	switch {
	case equalStrings(have, want):
	case len(want) == 0:
		delete(r.spec, key)
		r.changef("%s: %v -> closed", key, have)
	default:
		list := make([]any, len(want))
		for i, s := range want {
			list[i] = s
		}
		r.spec[key] = list
		r.changef("%s: %v -> %v", key, have, want)
	}
}

// kubernetesVersion sets the configured Kubernetes version, if any, and
// refuses a downgrade, which kops would accept.
func (r *specRewrite) kubernetesVersion(d Desired) error {
	if d.KubernetesVersion == "" {
		return nil
	}
	have, _ := r.spec["kubernetesVersion"].(string)
	if isDowngrade(have, d.KubernetesVersion) {
		return fmt.Errorf("%[1]s is %[2]s but cluster %[3]s runs Kubernetes %[4]s: kops does not downgrade a cluster; "+
			"set %[1]s to %[5]s or later, or leave it empty to keep the cluster's version", config.FullKey(config.KeyKubernetesVersion), d.KubernetesVersion, d.Name, have, strings.TrimPrefix(have, "v"))
	}
	if strings.TrimPrefix(have, "v") != strings.TrimPrefix(d.KubernetesVersion, "v") {
		r.spec["kubernetesVersion"] = d.KubernetesVersion
		r.changef("kubernetesVersion: %q -> %q", have, d.KubernetesVersion)
	}
	return nil
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
