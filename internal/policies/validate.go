package policies

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"

	"github.com/kopscalico/kopscalico/internal/netpol"
)

// systemNamespaces exist in every cluster and must never be owned (and so
// deleted on destroy) by this program. Policies for them go in a folder
// without a Namespace object.
var systemNamespaces = map[string]bool{
	"default":         true,
	"kube-system":     true,
	"kube-public":     true,
	"kube-node-lease": true,
}

// validateNamespace checks a Namespace object found in folder: the
// evaluator's checks, plus the folder's rules (the name is the folder's, and
// never a system namespace).
func validateNamespace(ns *corev1.Namespace, folder string) []string {
	if ns.Name == "" {
		named := ns.DeepCopy()
		named.Name = folder
		return append([]string{fmt.Sprintf("metadata.name is missing; set it to %q (its folder)", folder)}, netpol.ValidateNamespace(named)...)
	}
	p := netpol.ValidateNamespace(ns)
	switch {
	case ns.Name != folder:
		p = append(p, fmt.Sprintf("metadata.name %q does not match its folder %q", ns.Name, folder))
	case systemNamespaces[ns.Name]:
		p = append(p, fmt.Sprintf("metadata.name %q is a system namespace the program must not own (destroy would delete it); remove this Namespace object to keep policies in the existing namespace", ns.Name))
	}
	return p
}

// validatePolicy checks a NetworkPolicy found in folder: the evaluator's
// checks (those of the API server), rules a policyTypes list would ignore,
// and the namespace, which must be the folder's.
func validatePolicy(np *networkingv1.NetworkPolicy, folder string) []string {
	var p []string
	switch {
	case np.Namespace == "":
		p = append(p, fmt.Sprintf("metadata.namespace is missing; set it to %q (its folder)", folder))
	case np.Namespace != folder:
		p = append(p, fmt.Sprintf("metadata.namespace %q does not match its folder %q", np.Namespace, folder))
	}
	p = append(p, netpol.ValidatePolicy(np)...)
	return append(p, netpol.IgnoredRules(np)...)
}

// writtenByCluster refuses the metadata the cluster writes, which a file must
// not hold: an ownerReference to an object the cluster does not have makes the
// garbage collector delete the object, a finalizer nobody removes blocks its
// deletion, and managedFields are the API server's record.
func writtenByCluster(m metav1.Object) []string {
	var p []string
	if len(m.GetOwnerReferences()) > 0 {
		p = append(p, "metadata.ownerReferences is set; remove it (an owner the cluster does not have makes the garbage collector delete this object)")
	}
	if len(m.GetFinalizers()) > 0 {
		p = append(p, "metadata.finalizers is set; remove it (a finalizer no controller removes blocks deletion forever)")
	}
	if len(m.GetManagedFields()) > 0 {
		p = append(p, "metadata.managedFields is set; remove it (the API server writes it)")
	}
	return p
}

// validateAdminPolicy checks an AdminNetworkPolicy of the document j (JSON):
// the evaluator's checks, and what the typed object cannot tell
// (presentFields).
func validateAdminPolicy(anp *anpv1alpha1.AdminNetworkPolicy, j []byte) []string {
	return append(presentFields(j, true), netpol.ValidateAdminPolicy(anp)...)
}

// validateBaselinePolicy is validateAdminPolicy for the baseline.
func validateBaselinePolicy(banp *anpv1alpha1.BaselineAdminNetworkPolicy, j []byte) []string {
	return append(presentFields(j, false), netpol.ValidateBaselinePolicy(banp)...)
}

// presentFields checks, on the file's own fields, the ones the CRDs require
// but whose zero value a typed object cannot tell from their absence:
// spec.priority (when priority) and both selectors of every pods peer. And
// status, which the cluster writes.
func presentFields(j []byte, priority bool) []string {
	var obj map[string]any
	if err := json.Unmarshal(j, &obj); err != nil {
		return nil // decoded already: cannot fail
	}
	var p []string
	if _, ok := obj["status"]; ok {
		p = append(p, "status is written by the cluster; remove it")
	}
	spec, _ := obj["spec"].(map[string]any)
	if priority && spec["priority"] == nil { // absent or null, which the API server drops
		p = append(p, "spec.priority is missing; set a priority from 0 to 1000 (the lowest decides first)")
	}
	subject, _ := spec["subject"].(map[string]any)
	p = append(p, podSelectors("spec.subject.pods", subject["pods"])...)
	for _, d := range []struct{ rules, peers string }{{"ingress", "from"}, {"egress", "to"}} {
		rules, _ := spec[d.rules].([]any)
		for i, r := range rules {
			rule, _ := r.(map[string]any)
			peers, _ := rule[d.peers].([]any)
			for j, pe := range peers {
				peer, _ := pe.(map[string]any)
				p = append(p, podSelectors(fmt.Sprintf("spec.%s[%d].%s[%d].pods", d.rules, i, d.peers, j), peer["pods"])...)
			}
		}
	}
	return p
}

// podSelectors: a pods peer or subject requires both its selectors.
func podSelectors(field string, pods any) []string {
	m, ok := pods.(map[string]any)
	if !ok {
		return nil
	}
	var p []string
	if m["namespaceSelector"] == nil {
		p = append(p, field+".namespaceSelector is missing; set it ({} selects every namespace)")
	}
	if m["podSelector"] == nil {
		p = append(p, field+".podSelector is missing; set it ({} selects every pod)")
	}
	return p
}
