package dataplane

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kopscalico/kopscalico/internal/config"
)

// The MTU Calico's tunnels may have on AWS: a VPC carries jumbo frames of
// 9001 bytes, less each overlay's header (kops docs/networking/calico.md,
// "Configuring Calico MTU": 8981 for IP-in-IP, 8951 for VXLAN, 8941 for
// WireGuard). 0 is Felix's auto-detection from the host's interfaces.
const (
	awsVPCMTU         = 9001
	ipipOverhead      = 20
	vxlanOverhead     = 50
	wireguardOverhead = 60
)

// FelixSetting is one Felix setting the check reads, where Felix takes it
// from (calico-node's env over the FelixConfiguration over Felix's
// default), and what the stack needs of it.
type FelixSetting struct {
	// Field is the FelixConfiguration's spec field, and the key of
	// Observed.Felix.
	Field string
	// Env is calico-node's variable for it (FELIX_ and the parameter's name
	// in capitals), which wins over Field.
	Env string
	// KopsField is the field of kops's spec.networking.calico the template
	// renders Env from ("" when kops sets no Env).
	KopsField string
	// Default is Felix's own (felix/config/config_params.go); "" is unset.
	Default string
	// From is what the wanted value is derived from.
	From string
	// Broken: a value outside the wanted ones drops cross-node pod traffic.
	Broken bool
	// want is the rule for a desired configuration and the other settings'
	// effective values; false when the setting is not compared there.
	want func(d Desired, felix map[string]string) (rule, bool)
}

// rule is what a setting must be: Text as the report shows it, OK the test
// of an effective value, and Suggest the value a fix sets ("" unsets it).
type rule struct {
	Text    string
	OK      func(string) bool
	Suggest string
}

// FelixSettings are the settings kops derives from its Calico spec (the
// k8s-1.25 template's FELIX_* env) that decide whether cross-subnet traffic
// flows and the policies are enforced, and the switches Felix otherwise
// takes from the pools. Left out, as neither: log levels, Prometheus, BPF's
// service mode and log level, the iptables backend, nftables mode, Typha.
var FelixSettings = []FelixSetting{
	{
		Field: "awsSrcDstCheck", Env: EnvAWSSrcDstCheck, KopsField: "awsSrcDstCheck", Default: "DoNothing",
		From: config.FullKey(config.KeyAWSSrcDstCheck),
		want: func(d Desired, _ map[string]string) (rule, bool) { return is(string(d.AWSSrcDstCheck)), true },
	},
	{
		Field: "ipipEnabled", Env: "FELIX_IPINIPENABLED",
		From:   config.FullKey(config.KeyEncapsulation) + " ipip: not off (unset, Felix follows the pools)",
		Broken: true,
		want: func(d Desired, _ map[string]string) (rule, bool) {
			return notFalse(), d.Encapsulation == config.EncapIPIP
		},
	},
	{
		Field: "vxlanEnabled", Env: "FELIX_VXLANENABLED",
		From:   config.FullKey(config.KeyEncapsulation) + " vxlan: not off (unset, Felix follows the pools)",
		Broken: true,
		want: func(d Desired, _ map[string]string) (rule, bool) {
			return notFalse(), d.Encapsulation == config.EncapVXLAN
		},
	},
	{
		Field: "ipipMTU", Env: "FELIX_IPINIPMTU", KopsField: "mtu", Default: "0",
		From:   config.FullKey(config.KeyEncapsulation) + " ipip: auto-detected (0) or within the VPC's 9001 less IP-in-IP's 20",
		Broken: true,
		want: func(d Desired, _ map[string]string) (rule, bool) {
			return mtuUpTo(awsVPCMTU - ipipOverhead), d.Encapsulation == config.EncapIPIP
		},
	},
	{
		Field: "vxlanMTU", Env: "FELIX_VXLANMTU", KopsField: "mtu", Default: "0",
		From:   config.FullKey(config.KeyEncapsulation) + " vxlan: auto-detected (0) or within the VPC's 9001 less VXLAN's 50",
		Broken: true,
		want: func(d Desired, _ map[string]string) (rule, bool) {
			return mtuUpTo(awsVPCMTU - vxlanOverhead), d.Encapsulation == config.EncapVXLAN
		},
	},
	{
		Field: "wireguardEnabled", Env: "FELIX_WIREGUARDENABLED", KopsField: "wireguardEnabled", Default: "false",
		From: "the kops spec's own choice (the stack sets none): read for wireguardMTU",
		want: func(Desired, map[string]string) (rule, bool) { return anyValue(), true },
	},
	{
		Field: "wireguardMTU", Env: "FELIX_WIREGUARDMTU", KopsField: "mtu", Default: "0",
		From:   "wireguardEnabled true: auto-detected (0) or within the VPC's 9001 less WireGuard's 60",
		Broken: true,
		want: func(_ Desired, felix map[string]string) (rule, bool) {
			return mtuUpTo(awsVPCMTU - wireguardOverhead), isTrue(felix["wireguardEnabled"])
		},
	},
	{
		Field: "bpfEnabled", Env: "FELIX_BPFENABLED", KopsField: "bpfEnabled", Default: "false",
		From: config.FullKey(config.KeyEncapsulation) + " ipip: off (eBPF programs cannot redirect into the IP-in-IP device, kops docs/networking/calico.md); vxlan: either",
		want: func(d Desired, _ map[string]string) (rule, bool) {
			return is("false"), d.Encapsulation == config.EncapIPIP
		},
	},
	{
		Field: "chainInsertMode", Env: "FELIX_CHAININSERTMODE", KopsField: "chainInsertMode", Default: "insert",
		From: "the policies' enforcement: insert (appended, Calico's chains come after any other ACCEPT, which then bypasses the policies)",
		want: func(Desired, map[string]string) (rule, bool) { return is("insert"), true },
	},
}

func is(v string) rule {
	return rule{Text: v, Suggest: v, OK: func(got string) bool {
		if b, ok := parseBool(v); ok {
			g, gok := parseBool(got)
			return gok && g == b
		}
		return strings.EqualFold(got, v)
	}}
}

func notFalse() rule {
	return rule{Text: "unset or true", OK: func(got string) bool {
		b, ok := parseBool(got)
		return got == "" || (ok && b)
	}}
}

func mtuUpTo(max int) rule {
	return rule{Text: fmt.Sprintf("0 (auto) or 1..%d", max), OK: func(got string) bool {
		n, err := strconv.Atoi(got)
		return got == "" || (err == nil && n >= 0 && n <= max)
	}}
}

func anyValue() rule { return rule{Text: "any", OK: func(string) bool { return true }} }

func isTrue(v string) bool {
	b, ok := parseBool(v)
	return ok && b
}

// parseBool reads a boolean as Felix's config does (case aside: true, 1,
// yes, y, t and their negations).
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "true", "1", "yes", "y", "t":
		return true, true
	case "false", "0", "no", "n", "f":
		return false, true
	}
	return false, false
}

// Setting sources: how the reader's Source starts, which the fixes read.
const (
	SourceEnv     = "env"
	SourceFelix   = "FelixConfiguration"
	SourceDefault = "Felix's default"
)

// describe is the value and where it came from, as the report shows them.
func (s Setting) describe() string {
	return fmt.Sprintf("%s (%s)", orNone(s.Value), s.Source)
}

// felixRows checks each setting of FelixSettings that applies to d.
func felixRows(d Desired, o Observed) []Row {
	values := make(map[string]string, len(o.Felix))
	for field, s := range o.Felix {
		values[field] = s.Value
	}
	var rows []Row
	for _, fs := range FelixSettings {
		r, applies := fs.want(d, values)
		if !applies {
			continue
		}
		got, read := o.Felix[fs.Field]
		row := Row{Subject: "felix " + fs.Field, Want: r.Text, Got: got.describe()}
		switch {
		case !read:
			row.Got = "(not read)"
			row.Fix = "read again: pulumi refresh (a reading recorded before this setting was compared)"
		case !r.OK(got.Value):
			row.Broken = fs.Broken
			row.Fix = fmt.Sprintf("%s (wanted: %s)", fs.fix(got, r), fs.From)
		}
		row.OK = row.Fix == ""
		rows = append(rows, row)
	}
	return rows
}

// fix is how a setting gets its wanted value, by where it comes from: kops
// renders calico-node's env from its spec, so a value there is changed in
// the spec; Felix's own object is patched.
func (fs FelixSetting) fix(got Setting, r rule) string {
	value := r.Suggest
	switch {
	case strings.HasPrefix(got.Source, SourceEnv) && fs.KopsField != "":
		set := fmt.Sprintf("spec.networking.calico.%s: %s", fs.KopsField, orUnset(value))
		if fs.KopsField == "mtu" {
			set = "spec.networking.calico.mtu: unset (auto-detect), or " + strings.TrimPrefix(r.Text, "0 (auto) or ")
		}
		return fmt.Sprintf("kops renders %s on calico-node from the spec (%s): kops edit cluster, %s; kops update cluster --yes (calico-node rolls)", fs.Env, got.Source, set)
	case strings.HasPrefix(got.Source, SourceEnv):
		return fmt.Sprintf("%s on calico-node is not kops's: kubectl -n %s set env ds/%s %s-", fs.Env, Namespace, DaemonSetName, fs.Env)
	case value == "":
		return fmt.Sprintf(`kubectl patch felixconfigurations.%s %s --type=json -p '[{"op":"remove","path":"/spec/%s"}]'`, CalicoGroup, FelixConfigName, fs.Field)
	}
	return fmt.Sprintf(`kubectl patch felixconfigurations.%s %s --type=merge -p '{"spec":{"%s":%s}}'`, CalicoGroup, FelixConfigName, fs.Field, jsonValue(value))
}

func orUnset(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}

// jsonValue is a setting's value in a FelixConfiguration patch: booleans and
// numbers bare, the rest quoted.
func jsonValue(v string) string {
	if _, err := strconv.Atoi(v); err == nil || v == "true" || v == "false" {
		return v
	}
	return strconv.Quote(v)
}
