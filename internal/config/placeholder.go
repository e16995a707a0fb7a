package config

import (
	"encoding/json"
	"errors"
	"strings"
)

// Placeholder marks a value of the example stack (Pulumi.dev.yaml) that must
// be replaced before the stack runs: such a value is refused by Parse.
const Placeholder = "REPLACE_ME"

// placeholderFixes say what replaces the placeholder of each key the
// example stack leaves to its user; other keys get placeholderFix.
var placeholderFixes = map[string]string{
	KeyClusterName: "a DNS name inside a Route53 zone you own, such as calico.dev.<your zone> " +
		"(kops names the cluster's AWS resources after it)",
	KeyDNSZone: "that Route53 zone, a suffix of kopscalico:clusterName " +
		"(or unset it and name the cluster <name>.k8s.local for a DNS-none cluster)",
	KeyAdminAccess: "the CIDRs you reach the Kubernetes API from (your office or VPN network, " +
		"or your own address as x.x.x.x/32: `curl https://checkip.amazonaws.com`)",
	KeySSHAccess: "the CIDRs allowed to SSH to the nodes, or [] to close SSH",
}

const placeholderFix = "a value of your own (see the configuration table in README.md)"

// placeholderErrors refuses every key whose value still holds Placeholder,
// naming it with what replaces it. The kubeconfig is never read here: it is
// a secret, and an error would print it.
func placeholderErrors(get Lookup) []error {
	var errs []error
	for _, key := range AllKeys {
		if key == KeyKubeconfig {
			continue
		}
		raw, ok := get(key)
		if !ok || !strings.Contains(raw, Placeholder) {
			continue
		}
		fix := placeholderFixes[key]
		if fix == "" {
			fix = placeholderFix
		}
		errs = append(errs, keyErr(key, placeholderValue(raw), "replace the example's placeholder with %s", fix))
	}
	return errs
}

// placeholderValue is the part of a raw value to quote: the list items that
// hold the placeholder, or the value itself.
func placeholderValue(raw string) string {
	var items []string
	if json.Unmarshal([]byte(strings.TrimSpace(raw)), &items) != nil {
		return strings.TrimSpace(raw)
	}
	var held []string
	for _, it := range items {
		if strings.Contains(it, Placeholder) {
			held = append(held, it)
		}
	}
	return strings.Join(held, ",")
}

// withoutPlaceholderEchoes drops the problems validation finds in a value
// that is, or is derived from, a placeholder (the bucket name derived from
// a placeholder cluster name): the placeholder's own error says it all.
func withoutPlaceholderEchoes(errs []error, placeholders []error) []error {
	keys := map[string]bool{}
	for _, p := range placeholders {
		var ke *KeyError
		if errors.As(p, &ke) {
			keys[ke.Key] = true
		}
	}
	var kept []error
	for _, e := range errs {
		var ke *KeyError
		if errors.As(e, &ke) && (keys[ke.Key] || strings.Contains(ke.Value, Placeholder) || strings.Contains(ke.Fix, Placeholder)) {
			continue
		}
		kept = append(kept, e)
	}
	return kept
}
