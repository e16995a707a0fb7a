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
