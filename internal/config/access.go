package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// Access is one entry of kopscalico:adminAccess or kopscalico:sshAccess: a
// network, or an AWS managed prefix list, which kops accepts on AWS in both
// lists (pkg/apis/kops/validation: entries starting pl- skip the CIDR check,
// "Prefix List ID only supported for AWS").
type Access struct {
	Prefix     netip.Prefix // the network, unless PrefixList is set
	PrefixList string       // pl- and 8 or 17 hex digits
}

// AccessList is a parsed access list.
type AccessList []Access

var prefixListID = regexp.MustCompile(`^pl-([0-9a-f]{8}|[0-9a-f]{17})$`)

// ParseAccess reads a network in CIDR form (no address bits outside the
// prefix: kops refuses them) or a prefix list id. The error is the fix.
func ParseAccess(s string) (Access, error) {
	if strings.HasPrefix(s, "pl-") {
		if !prefixListID.MatchString(s) {
			return Access{}, fmt.Errorf("is not an AWS managed prefix list id: pl- and 8 or 17 hex digits, such as pl-0123456789abcdef0")
		}
		return Access{PrefixList: s}, nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		if a, err := netip.ParseAddr(s); err == nil {
			return Access{}, fmt.Errorf("is an address, not a network: use %s", netip.PrefixFrom(a, a.BitLen()))
		}
		return Access{}, fmt.Errorf("is not a CIDR: use the form 203.0.113.0/24 or 2001:db8::/32, or an AWS managed prefix list (pl-…)")
	}
	if p.Masked() != p {
		if p.Bits() == 0 {
			return Access{}, fmt.Errorf("is a /0 prefix, the whole internet, with address bits set, which kops refuses: list your own CIDRs, or use %s and set %s=true", p.Masked(), FullKey(KeyAllowWorldAccess))
		}
		return Access{}, fmt.Errorf("has address bits set outside its /%d prefix, which kops refuses: use %s", p.Bits(), p.Masked())
	}
	return Access{Prefix: p}, nil
}

func (a Access) String() string {
	if a.PrefixList != "" {
		return a.PrefixList
	}
	return a.Prefix.String()
}

// World reports whether the entry is the whole internet (a /0 network).
func (a Access) World() bool { return a.PrefixList == "" && a.Prefix.IsValid() && a.Prefix.Bits() == 0 }

// MarshalText writes the entry as the user does: the plugin's inputs hold
// access lists as strings.
func (a Access) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText reads what MarshalText writes.
func (a *Access) UnmarshalText(b []byte) error {
	p, err := ParseAccess(string(b))
	if err != nil {
		return fmt.Errorf("access entry %q %v", b, err)
	}
	*a = p
	return nil
}

// MustParseAccessList is ParseAccess for lists written in code; it panics
// on a bad entry.
func MustParseAccessList(entries ...string) AccessList {
	out := AccessList{}
	for _, s := range entries {
		a, err := ParseAccess(s)
		if err != nil {
			panic(fmt.Sprintf("access entry %q %v", s, err))
		}
		out = append(out, a)
	}
	return out
}

// Strings is the list as kops takes it.
func (l AccessList) Strings() []string {
	out := make([]string, len(l))
	for i, a := range l {
		out[i] = a.String()
	}
	return out
}
