package dataplane

import (
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/config"
)

var (
	ipipWanted  = Desired{Encapsulation: config.EncapIPIP, AWSSrcDstCheck: config.SrcDstDisable}
	vxlanWanted = Desired{Encapsulation: config.EncapVXLAN, AWSSrcDstCheck: config.SrcDstDisable}
)

// running is a cluster as kops 1.36 leaves it for an encapsulation: the pool
// calico-node created from the env kops gave it, the backend, Felix's
// settings from calico-node's env (the MTUs from calico-config's veth_mtu,
// the switches unset), and a finished rollout. dataplanekube's reader test
// holds these settings to the rendered template.
func running(ipip, vxlan, backend string) Observed {
	env := func(name, value string) Setting {
		return Setting{Value: value, Source: SourceEnv + " " + name + " of ds/calico-node"}
	}
	return Observed{
		PoolsInstalled: true,
		Pools:          []Pool{{Name: DefaultPoolName, CIDR: "100.96.0.0/11", IPIPMode: ipip, VXLANMode: vxlan, NATOutgoing: true, BlockSize: 26}},
		Backend:        backend,
		Felix: map[string]Setting{
			"awsSrcDstCheck":   env(EnvAWSSrcDstCheck, "Disable"),
			"ipipEnabled":      {Source: SourceDefault},
			"vxlanEnabled":     {Source: SourceDefault},
			"ipipMTU":          env("FELIX_IPINIPMTU", "0"),
			"vxlanMTU":         env("FELIX_VXLANMTU", "0"),
			"wireguardEnabled": env("FELIX_WIREGUARDENABLED", "false"),
			"wireguardMTU":     env("FELIX_WIREGUARDMTU", "0"),
			"bpfEnabled":       env("FELIX_BPFENABLED", "false"),
			"chainInsertMode":  env("FELIX_CHAININSERTMODE", "insert"),
		},
		Rollout: Rollout{Found: true, Generation: 2, ObservedGeneration: 2, Desired: 3, Updated: 3, Available: 3},
	}
}

// withFelix is o with one Felix setting replaced.
func withFelix(o Observed, field string, s Setting) Observed {
	o.Felix[field] = s
	return o
}

func TestCompare(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		desired Desired
		obs     func() Observed
		// differing subject -> substrings of what it got and its fix; broken subjects.
		differs map[string][]string
		broken  []string
	}{
		{name: "ipip cross-subnet as kops creates it", desired: ipipWanted, obs: func() Observed { return running(ModeCrossSubnet, ModeNever, BackendBIRD) }},
		{name: "vxlan cross-subnet as kops creates it", desired: vxlanWanted, obs: func() Observed { return running(ModeNever, ModeCrossSubnet, BackendVXLAN) }},
		{name: "an empty mode is Never", desired: ipipWanted, obs: func() Observed { return running(ModeCrossSubnet, "", BackendBIRD) }},
		{
			name: "adopted Always cluster: the pool keeps encapsulating everything", desired: ipipWanted,
			obs:     func() Observed { return running(ModeAlways, ModeNever, BackendBIRD) },
			differs: map[string][]string{"pool default-ipv4-ippool": {"Calico changes this live", `"ipipMode":"CrossSubnet","vxlanMode":"Never"`, EnvPoolIPIP}},
		},
		{
			name: "kops switched the backend to vxlan, the pool kept ipip: broken, the pool now", desired: vxlanWanted,
			obs:     func() Observed { return running(ModeCrossSubnet, ModeNever, BackendVXLAN) },
			differs: map[string][]string{"pool default-ipv4-ippool": {"cross-node pod traffic is dropped", "the pool, now:", `"ipipMode":"Never","vxlanMode":"CrossSubnet"`}},
			broken:  []string{"pool default-ipv4-ippool"},
		},
		{
			name: "ipip to vxlan before kops ran: the pool first, then the backend", desired: vxlanWanted,
			obs: func() Observed { return running(ModeCrossSubnet, ModeNever, BackendBIRD) },
			differs: map[string][]string{
				"pool default-ipv4-ippool":     {"first the pool, while calico_backend bird carries both", `"vxlanMode":"CrossSubnet"`, "then the backend: kops update cluster --yes writes calico_backend vxlan"},
				"calico-config calico_backend": {"kops update cluster --yes"},
			},
		},
		{
			name: "vxlan to ipip: the backend first, then the pool", desired: ipipWanted,
			obs: func() Observed { return running(ModeNever, ModeCrossSubnet, BackendVXLAN) },
			differs: map[string][]string{
				"pool default-ipv4-ippool":     {"first the backend", "rollout status ds/calico-node", `then the pool: kubectl patch ippools.crd.projectcalico.org default-ipv4-ippool --type=merge -p '{"spec":{"ipipMode":"CrossSubnet","vxlanMode":"Never"}}'`},
				"calico-config calico_backend": {"kops update cluster --yes"},
			},
		},
		{
			name: "disabled and IPv6 pools are not the cluster's overlay", desired: ipipWanted,
			obs: func() Observed {
				o := running(ModeCrossSubnet, ModeNever, BackendBIRD)
				o.Pools = append(o.Pools, Pool{Name: "old", CIDR: "10.0.0.0/16", IPIPMode: ModeAlways, Disabled: true}, Pool{Name: "v6", CIDR: "fd00::/64", VXLANMode: ModeAlways})
				return o
			},
		},
		{
			name: "every enabled pool counts", desired: ipipWanted,
			obs: func() Observed {
				o := running(ModeCrossSubnet, ModeNever, BackendBIRD)
				o.Pools = append(o.Pools, Pool{Name: "extra", CIDR: "10.0.0.0/16", VXLANMode: ModeAlways})
				return o
			},
			differs: map[string][]string{"pool extra": {"the pool, now:", "ippools.crd.projectcalico.org extra"}},
		},
		{
			name: "no Calico", desired: ipipWanted,
			obs: func() Observed {
				o := Observed{Felix: map[string]Setting{}}
				for _, fs := range FelixSettings {
					o.Felix[fs.Field] = Setting{Value: fs.Default, Source: SourceDefault}
				}
				return o
			},
			differs: map[string][]string{
				"ippools":                      {"runs no Calico"},
				"calico-config calico_backend": {"kops update"},
				"felix awsSrcDstCheck":         {"DoNothing (Felix's default)", "kubectl patch felixconfigurations.crd.projectcalico.org default", `"awsSrcDstCheck":"Disable"`},
				"daemonset calico-node":        {"kops installs calico-node"},
			},
		},
		{
			name: "no enabled pool", desired: ipipWanted,
			obs: func() Observed {
				o := running(ModeCrossSubnet, ModeNever, BackendBIRD)
				o.Pools[0].Disabled = true
				return o
			},
			differs: map[string][]string{"ippools": {"calico-node creates default-ipv4-ippool"}},
		},
		{
			name: "src/dst check from calico-node's env differs: kops owns it", desired: ipipWanted,
			obs: func() Observed {
				return withFelix(running(ModeCrossSubnet, ModeNever, BackendBIRD), "awsSrcDstCheck", Setting{Value: "Enable", Source: "env FELIX_AWSSRCDSTCHECK of ds/calico-node"})
			},
			differs: map[string][]string{"felix awsSrcDstCheck": {"kops renders FELIX_AWSSRCDSTCHECK", "spec.networking.calico.awsSrcDstCheck: Disable", "kops update cluster --yes"}},
		},
		{
			name: "FelixConfiguration turns IP-in-IP off", desired: ipipWanted,
			obs: func() Observed {
				return withFelix(running(ModeCrossSubnet, ModeNever, BackendBIRD), "ipipEnabled", Setting{Value: "false", Source: "FelixConfiguration default"})
			},
			differs: map[string][]string{"felix ipipEnabled": {`"op":"remove","path":"/spec/ipipEnabled"`}},
			broken:  []string{"felix ipipEnabled"},
		},
		{
			name: "IP-in-IP off matters not to a VXLAN cluster", desired: vxlanWanted,
			obs: func() Observed {
				return withFelix(running(ModeNever, ModeCrossSubnet, BackendVXLAN), "ipipEnabled", Setting{Value: "false", Source: "FelixConfiguration default"})
			},
		},
		{
			name: "FelixConfiguration turns VXLAN off", desired: vxlanWanted,
			obs: func() Observed {
				return withFelix(running(ModeNever, ModeCrossSubnet, BackendVXLAN), "vxlanEnabled", Setting{Value: "false", Source: "FelixConfiguration default"})
			},
			differs: map[string][]string{"felix vxlanEnabled": {`"op":"remove","path":"/spec/vxlanEnabled"`}},
			broken:  []string{"felix vxlanEnabled"},
		},
		{
			name: "the IP-in-IP MTU kops sets exceeds the VPC's less the header", desired: ipipWanted,
			obs: func() Observed {
				return withFelix(running(ModeCrossSubnet, ModeNever, BackendBIRD), "ipipMTU", Setting{Value: "8991", Source: "env FELIX_IPINIPMTU of ds/calico-node, from calico-config veth_mtu"})
			},
			differs: map[string][]string{"felix ipipMTU": {"8991", "spec.networking.calico.mtu: unset (auto-detect), or 1..8981", "wanted: kopscalico:encapsulation ipip"}},
			broken:  []string{"felix ipipMTU"},
		},
		{
			name: "an MTU that fits IP-in-IP is too big for VXLAN", desired: vxlanWanted,
			obs: func() Observed {
				o := running(ModeNever, ModeCrossSubnet, BackendVXLAN)
				for _, f := range []string{"ipipMTU", "vxlanMTU", "wireguardMTU"} {
					o.Felix[f] = Setting{Value: "8981", Source: "env of ds/calico-node, from calico-config veth_mtu"}
				}
				return o
			},
			differs: map[string][]string{"felix vxlanMTU": {"1..8951"}},
			broken:  []string{"felix vxlanMTU"},
		},
		{
			name: "WireGuard on: its MTU counts, from the FelixConfiguration", desired: ipipWanted,
			obs: func() Observed {
				o := running(ModeCrossSubnet, ModeNever, BackendBIRD)
				o.Felix["wireguardEnabled"] = Setting{Value: "true", Source: "env FELIX_WIREGUARDENABLED of ds/calico-node"}
				o.Felix["wireguardMTU"] = Setting{Value: "8981", Source: "FelixConfiguration default"}
				return o
			},
			differs: map[string][]string{"felix wireguardMTU": {`"op":"remove","path":"/spec/wireguardMTU"`}},
			broken:  []string{"felix wireguardMTU"},
		},
		{
			name: "eBPF with IP-in-IP", desired: ipipWanted,
			obs: func() Observed {
				return withFelix(running(ModeCrossSubnet, ModeNever, BackendBIRD), "bpfEnabled", Setting{Value: "true", Source: "env FELIX_BPFENABLED of ds/calico-node"})
			},
			differs: map[string][]string{"felix bpfEnabled": {"spec.networking.calico.bpfEnabled: false"}},
		},
		{
			name: "eBPF with VXLAN", desired: vxlanWanted,
			obs: func() Observed {
				return withFelix(running(ModeNever, ModeCrossSubnet, BackendVXLAN), "bpfEnabled", Setting{Value: "true", Source: "env FELIX_BPFENABLED of ds/calico-node"})
			},
		},
		{
			name: "Felix's chains appended after the host's", desired: ipipWanted,
			obs: func() Observed {
				return withFelix(running(ModeCrossSubnet, ModeNever, BackendBIRD), "chainInsertMode", Setting{Value: "Append", Source: "env FELIX_CHAININSERTMODE of ds/calico-node"})
			},
			differs: map[string][]string{"felix chainInsertMode": {"spec.networking.calico.chainInsertMode: insert"}},
		},
		{
			name: "an env kops does not set", desired: ipipWanted,
			obs: func() Observed {
				return withFelix(running(ModeCrossSubnet, ModeNever, BackendBIRD), "ipipEnabled", Setting{Value: "false", Source: "env FELIX_IPINIPENABLED of ds/calico-node"})
			},
			differs: map[string][]string{"felix ipipEnabled": {"kubectl -n kube-system set env ds/calico-node FELIX_IPINIPENABLED-"}},
			broken:  []string{"felix ipipEnabled"},
		},
		{
			name: "a reading recorded before the setting was compared", desired: ipipWanted,
			obs: func() Observed {
				o := running(ModeCrossSubnet, ModeNever, BackendBIRD)
				delete(o.Felix, "chainInsertMode")
				return o
			},
			differs: map[string][]string{"felix chainInsertMode": {"(not read)", "pulumi refresh"}},
		},
		{
			name: "calico-node still rolling", desired: ipipWanted,
			obs: func() Observed {
				o := running(ModeCrossSubnet, ModeNever, BackendBIRD)
				o.Rollout.Updated, o.Rollout.Available = 1, 2
				return o
			},
			differs: map[string][]string{"daemonset calico-node": {"rollout status ds/calico-node"}},
		},
		{
			name: "a rollout the controller has not seen yet", desired: ipipWanted,
			obs: func() Observed {
				o := running(ModeCrossSubnet, ModeNever, BackendBIRD)
				o.Rollout.Generation = 3
				return o
			},
			differs: map[string][]string{"daemonset calico-node": {"generation 3, observed 2"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := Compare(tc.desired, tc.obs())
			got := map[string]Row{}
			for _, row := range r.Differing() {
				got[row.Subject] = row
			}
			for subject, wants := range tc.differs {
				row, ok := got[subject]
				if !ok {
					t.Errorf("%s does not differ:\n%s", subject, r)
					continue
				}
				for _, want := range wants {
					if !strings.Contains(row.Got+"; fix: "+row.Fix, want) {
						t.Errorf("%s lacks %q: got %s; fix: %s", subject, want, row.Got, row.Fix)
					}
				}
			}
			for subject := range got {
				if _, ok := tc.differs[subject]; !ok {
					t.Errorf("%s differs unexpectedly:\n%s", subject, r)
				}
			}
			var broken []string
			for _, row := range r.Rows {
				if row.Broken {
					broken = append(broken, row.Subject)
				}
			}
			if strings.Join(broken, ",") != strings.Join(tc.broken, ",") {
				t.Errorf("broken rows = %v, want %v:\n%s", broken, tc.broken, r)
			}
			if r.Failed() != (len(tc.differs) > 0) {
				t.Errorf("Failed() = %v", r.Failed())
			}
		})
	}
}

func TestReportTextAndSummary(t *testing.T) {
	t.Parallel()
	r := Compare(ipipWanted, running(ModeAlways, ModeNever, BackendBIRD))
	text := r.String()
	for _, want := range []string{
		"pool default-ipv4-ippool      ipipMode=CrossSubnet vxlanMode=Never  ipipMode=Always vxlanMode=Never",
		"<- differs",
		"fix pool default-ipv4-ippool: Calico changes this live",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q:\n%s", want, text)
		}
	}
	sum := r.Summary()
	if got := sum["calico-config calico_backend"]; got != "ok: bird" {
		t.Errorf("summary backend = %q", got)
	}
	if got := sum["pool default-ipv4-ippool"]; !strings.HasPrefix(got, "ipipMode=Always vxlanMode=Never, want ipipMode=CrossSubnet vxlanMode=Never; fix: ") {
		t.Errorf("summary pool = %q", got)
	}
	broken := Compare(vxlanWanted, running(ModeCrossSubnet, ModeNever, BackendVXLAN)).Summary()["pool default-ipv4-ippool"]
	if !strings.HasPrefix(broken, "BROKEN: ") {
		t.Errorf("summary of a broken pool = %q", broken)
	}
}
