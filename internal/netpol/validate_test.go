package netpol

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidateNamespaceAndIgnoredRules(t *testing.T) {
	t.Parallel()
	ns := corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "Bad_Name", Namespace: "x", Labels: map[string]string{"ok": "bad value!"}}}
	got := strings.Join(ValidateNamespace(&ns), "\n")
	for _, w := range []string{`metadata.name "Bad_Name" is invalid`, `metadata.namespace "x" must be empty`, `metadata.labels["ok"] value "bad value!"`} {
		if !strings.Contains(got, w) {
			t.Errorf("ValidateNamespace lacks %q:\n%s", w, got)
		}
	}
	if _, err := NewEvaluator(Cluster{Namespaces: []corev1.Namespace{ns}}); err == nil || !strings.Contains(err.Error(), "Namespace Bad_Name") {
		t.Errorf("NewEvaluator accepted a bad Namespace: %v", err)
	}
	np := policy("x/p", networkingv1.NetworkPolicySpec{
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		Ingress:     []networkingv1.NetworkPolicyIngressRule{{}},
	})
	if p := IgnoredRules(&np); len(p) != 1 || !strings.Contains(p[0], "spec.ingress has rules but spec.policyTypes does not list Ingress") {
		t.Errorf("IgnoredRules = %q", p)
	}
	// The API accepts such a policy and ignores the rules; so does the evaluator.
	if _, err := NewEvaluator(Cluster{Policies: []networkingv1.NetworkPolicy{np}}); err != nil {
		t.Errorf("NewEvaluator refused what the API accepts: %v", err)
	}
	np.Spec.PolicyTypes = nil
	if p := IgnoredRules(&np); len(p) != 0 {
		t.Errorf("no policyTypes list ignores nothing, got %q", p)
	}
}

// TestValidateIPBlockCIDR holds ipBlock CIDRs to kube-apiserver 1.36's strict
// rule (IsValidCIDRForLegacyField with StrictIPCIDRValidation on), each
// refusal with the prefix to use instead.
func TestValidateIPBlockCIDR(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cidr   string
		except []string
		want   string // "" when valid
	}{
		{"10.244.1.28/30", nil, ""},
		{"10.0.0.0/8", []string{"10.1.0.0/16"}, ""},
		{"fd00::/64", []string{"fd00::/96"}, ""},
		{"0.0.0.0/0", nil, ""},
		{"10.244.1.29/30", nil, `ipBlock.cidr "10.244.1.29/30" must not have bits set beyond the prefix length; use 10.244.1.28/30`},
		{"fd00::1/64", nil, `ipBlock.cidr "fd00::1/64" must not have bits set beyond the prefix length; use fd00::/64`},
		{"010.0.0.0/8", nil, `ipBlock.cidr "010.0.0.0/8" must not have leading 0s in IP or prefix length; use 10.0.0.0/8`},
		{"::ffff:10.0.0.0/104", nil, `ipBlock.cidr "::ffff:10.0.0.0/104" must not have an IPv4-mapped IPv6 address; use 10.0.0.0/8`},
		{"10.0.0.0/33", nil, `ipBlock.cidr "10.0.0.0/33" is not a CIDR (like 10.0.0.0/16)`},
		{"10.0.0.1", nil, `ipBlock.cidr "10.0.0.1" is not a CIDR`},
		{"", nil, `ipBlock.cidr is missing; set a CIDR like 10.0.0.0/16`},
		{"10.0.0.0/8", []string{"10.0.1.1/24"}, `ipBlock.except[0] "10.0.1.1/24" must not have bits set beyond the prefix length; use 10.0.1.0/24`},
		{"10.0.0.0/8", []string{"10.1.0.0/16", "11.0.0.0/16"}, `ipBlock.except[1] "11.0.0.0/16" must be a strict subset of cidr "10.0.0.0/8"`},
		{"10.0.0.0/8", []string{"fd00::/96"}, `ipBlock.except[0] "fd00::/96" must be a strict subset`},
	}
	for _, tt := range tests {
		t.Run(tt.cidr+" "+strings.Join(tt.except, ","), func(t *testing.T) {
			t.Parallel()
			np := policy("x/p", networkingv1.NetworkPolicySpec{Egress: []networkingv1.NetworkPolicyEgressRule{{
				To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: tt.cidr, Except: tt.except}}},
			}}})
			got := strings.Join(ValidatePolicy(&np), "\n")
			switch {
			case tt.want == "" && got != "":
				t.Errorf("refused a CIDR the API server accepts:\n%s", got)
			case tt.want != "" && !strings.Contains(got, "spec.egress[0].to[0]."+tt.want):
				t.Errorf("problems do not contain %q:\n%s", tt.want, got)
			}
		})
	}
}

// TestValidateAnnotations: keys are qualified names in any case, and keys
// and values together hold at most the API server's 256 KiB.
func TestValidateAnnotations(t *testing.T) {
	t.Parallel()
	ns := corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns-1", Annotations: map[string]string{
		"Example.com/Owner": "blue", "bad key": "x", "big": strings.Repeat("v", 256<<10-len("Example.com/Owner")-len("blue")-len("bad key")-len("x")-len("big")),
	}}}
	got := ValidateNamespace(&ns)
	if len(got) != 1 || !strings.Contains(got[0], `metadata.annotations key "bad key" is invalid`) {
		t.Errorf("ValidateNamespace = %q, want only the bad key (262144 bytes is within the limit)", got)
	}
	ns.Annotations["big"] += "v"
	got = ValidateNamespace(&ns)
	if len(got) != 2 || !strings.Contains(got[1], "metadata.annotations hold 262145 bytes, over the API server's limit of 262144 (256 KiB)") {
		t.Errorf("ValidateNamespace = %q, want the bad key and the size", got)
	}
}
