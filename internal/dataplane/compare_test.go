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
// awsSrcDstCheck from calico-node's env, and a finished rollout.
func running(ipip, vxlan, backend string) Observed {
	return Observed{
		PoolsInstalled: true,
		Pools:          []Pool{{Name: DefaultPoolName, CIDR: "100.96.0.0/11", IPIPMode: ipip, VXLANMode: vxlan, NATOutgoing: true, BlockSize: 26}},
		Backend:        backend,
		AWSSrcDstCheck: Setting{Value: "Disable", Source: "env " + EnvAWSSrcDstCheck},
		Rollout:        Rollout{Found: true, Generation: 2, ObservedGeneration: 2, Desired: 3, Updated: 3, Available: 3},
	}
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
				return Observed{AWSSrcDstCheck: Setting{Value: "DoNothing", Source: "default"}}
			},
			differs: map[string][]string{
				"ippools":                      {"runs no Calico"},
				"calico-config calico_backend": {"kops update"},
				"felix awsSrcDstCheck":         {"kubectl patch felixconfigurations.crd.projectcalico.org default", `"awsSrcDstCheck":"Disable"`},
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
				o := running(ModeCrossSubnet, ModeNever, BackendBIRD)
				o.AWSSrcDstCheck.Value = "Enable"
				return o
			},
			differs: map[string][]string{"felix awsSrcDstCheck": {"kops sets FELIX_AWSSRCDSTCHECK", "kopscalico:awsSrcDstCheck"}},
		},
		{
			name: "FelixConfiguration turns IP-in-IP off", desired: ipipWanted,
			obs: func() Observed {
				o := running(ModeCrossSubnet, ModeNever, BackendBIRD)
				o.IPIPEnabled = "false"
				return o
			},
			differs: map[string][]string{"felix ipipEnabled": {`"op":"remove","path":"/spec/ipipEnabled"`}},
			broken:  []string{"felix ipipEnabled"},
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
