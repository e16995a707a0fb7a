package config

import (
	"fmt"
	"strings"
)

// Encapsulation is Calico's cross-subnet overlay (kopscalico:encapsulation).
type Encapsulation string

const (
	EncapIPIP  Encapsulation = "ipip"
	EncapVXLAN Encapsulation = "vxlan"
)

// SrcDstCheck is kops's calico.awsSrcDstCheck (kopscalico:awsSrcDstCheck).
type SrcDstCheck string

const (
	SrcDstDisable   SrcDstCheck = "Disable" // what cross-subnet routing needs
	SrcDstEnable    SrcDstCheck = "Enable"
	SrcDstDoNothing SrcDstCheck = "DoNothing"
)

// SGCheckMode is what a missing security-group expectation does
// (kopscalico:securityGroupCheck).
type SGCheckMode string

const (
	SGCheckEnforce SGCheckMode = "enforce" // it fails `pulumi up`
	SGCheckWarn    SGCheckMode = "warn"    // it is logged as a warning
	SGCheckOff     SGCheckMode = "off"     // no check, no AWS call
)

// ManifestMode says when the legacy Calico upgrade manifest is applied
// (kopscalico:calicoUpgradeManifest).
type ManifestMode string

const (
	ManifestAuto   ManifestMode = "auto"   // only where kops's own Calico predates policy support (kops 1.7.x)
	ManifestAlways ManifestMode = "always" // whatever the kops version
	ManifestNever  ManifestMode = "never"
)

// ProtectMode is Pulumi's protect on the cluster or the state-store bucket
// (kopscalico:clusterProtect, kopscalico:stateStoreProtect).
type ProtectMode string

const (
	ProtectAuto ProtectMode = "auto" // protected on every stack but dev
	ProtectOn   ProtectMode = "true"
	ProtectOff  ProtectMode = "false"
)

// Protects says whether the mode protects the resource on a stack.
func (m ProtectMode) Protects(stack string) bool {
	if m == ProtectAuto {
		return stack != "dev"
	}
	return m == ProtectOn
}

// modeKey is a key whose value is one of a few words, and why.
type modeKey[T ~string] struct {
	key    string
	values []T
	why    string
}

var (
	encapsulationKey = modeKey[Encapsulation]{KeyEncapsulation, []Encapsulation{EncapIPIP, EncapVXLAN}, "(Calico's cross-subnet overlays)"}
	srcDstCheckKey   = modeKey[SrcDstCheck]{KeyAWSSrcDstCheck, []SrcDstCheck{SrcDstDisable, SrcDstEnable, SrcDstDoNothing},
		"(kops's spelling; Disable is what cross-subnet routing needs)"}
	sgCheckKey = modeKey[SGCheckMode]{KeySecurityGroupCheck, []SGCheckMode{SGCheckEnforce, SGCheckWarn, SGCheckOff},
		"(a missing expectation fails up, is a warning, or nothing is checked)"}
	dataplaneCheckKey = modeKey[SGCheckMode]{KeyCalicoDataplaneCheck, []SGCheckMode{SGCheckEnforce, SGCheckWarn, SGCheckOff},
		"(a difference no patch fixes fails up, is a warning, or nothing is read or patched)"}
	manifestKey = modeKey[ManifestMode]{KeyCalicoManifest, []ManifestMode{ManifestAuto, ManifestAlways, ManifestNever},
		"(auto applies the legacy manifest only on kops 1.7.x)"}
	protectValues = []ProtectMode{ProtectOn, ProtectOff, ProtectAuto}
)

// parse is the value of raw, or a *KeyError naming the values it may take.
func (m modeKey[T]) parse(raw string) (T, error) {
	for _, v := range m.values {
		if string(v) == raw {
			return v, nil
		}
	}
	return "", keyErr(m.key, raw, "must be %s %s", oneOf(m.values), m.why)
}

// ParseEncapsulation, ParseSrcDstCheck, ParseSGCheckMode and
// ParseDataplaneCheckMode read a mode as the user writes it, for the
// plugin's inputs (Parse reads the config's).
func ParseEncapsulation(raw string) (Encapsulation, error)    { return encapsulationKey.parse(raw) }
func ParseSrcDstCheck(raw string) (SrcDstCheck, error)        { return srcDstCheckKey.parse(raw) }
func ParseSGCheckMode(raw string) (SGCheckMode, error)        { return sgCheckKey.parse(raw) }
func ParseDataplaneCheckMode(raw string) (SGCheckMode, error) { return dataplaneCheckKey.parse(raw) }

// oneOf is "a, b or c".
func oneOf[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return fmt.Sprintf("%s or %s", strings.Join(s[:len(s)-1], ", "), s[len(s)-1])
}
