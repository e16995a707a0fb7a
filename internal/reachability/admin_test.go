package reachability

import (
	"testing"

	anp "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	"sigs.k8s.io/yaml"
)

func adminPolicy(t *testing.T, doc string) anp.AdminNetworkPolicy {
	t.Helper()
	var a anp.AdminNetworkPolicy
	if err := yaml.UnmarshalStrict([]byte(doc), &a); err != nil {
		t.Fatal(err)
	}
	return a
}

const (
	// denyFromOthers: no namespace but a's own may reach team=a (priority 20).
	denyFromOthers = `metadata: {name: deny-from-others}
spec:
  priority: 20
  subject: {namespaces: {matchLabels: {team: a}}}
  ingress:
  - action: Deny
    from: [{namespaces: {matchExpressions: [{key: team, operator: NotIn, values: [a]}]}}]
`
	// monitoring: the monitoring namespace may scrape 9090 anywhere, before
	// the deny (priority 10).
	monitoring = `metadata: {name: monitoring}
spec:
  priority: 10
  subject: {namespaces: {}}
  ingress:
  - action: Allow
    from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
    ports: [{portNumber: {protocol: TCP, port: 9090}}]
`
	// passWeb hands port 80 to the namespace's own policies (priority 5).
	passWeb = `metadata: {name: pass-web}
spec:
  priority: 5
  subject: {namespaces: {matchLabels: {team: a}}}
  ingress:
  - action: Pass
    from: [{namespaces: {}}]
    ports: [{portNumber: {protocol: TCP, port: 80}}]
`
)

// Admin policies decide by priority before NetworkPolicies, Pass hands a
// connection down to them, and the baseline decides what nothing else did.
func TestAdminTiersThroughCompare(t *testing.T) {
	t.Parallel()
	files := map[string]string{"a/namespace.yaml": nsA, "a/web.yaml": ingressFrom("{namespaceSelector: {}}", "[{port: 80}]")}
	base := Build(tree(t, files), nil)
	head := base
	head.Cluster.AdminPolicies = []anp.AdminNetworkPolicy{adminPolicy(t, denyFromOthers), adminPolicy(t, monitoring)}
	cmp, err := Compare(base, head)
	if err != nil {
		t.Fatal(err)
	}
	deny := "ingress: denied by admin policy deny-from-others, rule 0 (priority 20)"
	if !hasChange(cmp, "[ns team∉a]/[any pod]", "a/[app∉web]", "every port", Allow, Deny, deny) {
		t.Errorf("the deny does not close a to other teams' namespaces: %+v", cmp.Changes)
	}
	// web already refused every port but 80 to others: only 80 closes.
	if !hasChange(cmp, "[ns team∉a]/[any pod]", "a/[app=web]", "80/TCP", Allow, Deny, deny) {
		t.Errorf("web's port 80 from other namespaces is not closed by the deny: %+v", cmp.Changes)
	}
	// The monitoring namespace is allowed 9090 first (priority 10), and
	// denied the rest by the lower priority.
	if !hasChange(cmp, "[ns monitoring team∉a]/[any pod]", "a/[app∉web]", "TCP but 9090; every UDP port; every SCTP port", Allow, Deny, deny) ||
		!hasChange(cmp, "[ns monitoring team∉a]/[any pod]", "a/[app=web]", "9090/TCP", Deny, Allow, "ingress: allowed by admin policy monitoring, rule 0 (priority 10)") {
		t.Errorf("monitoring is not allowed 9090 before the deny: %+v", cmp.Changes)
	}

	// Pass on 80 (priority 5) hands it back to the NetworkPolicy, which
	// allows it from every namespace.
	passed := head
	passed.Cluster.AdminPolicies = append(passed.Cluster.AdminPolicies, adminPolicy(t, passWeb))
	cmp, err = Compare(head, passed)
	if err != nil {
		t.Fatal(err)
	}
	if !hasChange(cmp, "[ns team∉a]/[any pod]", "a/[app=web]", "80/TCP", Deny, Allow, "ingress: passed by admin policy pass-web, rule 0 (priority 5), then allowed by a/web") {
		t.Errorf("Pass does not hand 80 back to the NetworkPolicy: %+v", cmp.Changes)
	}

	// The baseline denies what no tier decided: ingress to a's unselected
	// pods from other namespaces; a NetworkPolicy's isolation comes first.
	baseline := base
	baseline.Cluster.Baseline = &anp.BaselineAdminNetworkPolicy{}
	if err := yaml.UnmarshalStrict([]byte(`metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress:
  - action: Deny
    from: [{namespaces: {}}]
`), baseline.Cluster.Baseline); err != nil {
		t.Fatal(err)
	}
	cmp, err = Compare(base, baseline)
	if err != nil {
		t.Fatal(err)
	}
	if !hasChange(cmp, "[other ns]/[any pod]", "a/[app∉web]", "every port", Allow, Deny, "ingress: baseline deny (rule 0)") ||
		!hasChange(cmp, "a/[app∉web]", "a/[app∉web]", "every port", Allow, Deny, "ingress: baseline deny (rule 0)") {
		t.Errorf("the baseline does not deny unisolated pods: %+v", cmp.Changes)
	}
	for _, c := range cmp.Changes {
		if c.To == "a/[app=web]" {
			t.Errorf("%+v: web is isolated by a/web, which decides before the baseline", c)
		}
	}
}

func hasChange(cmp Comparison, from, to, ports, before, after, reason string) bool {
	for _, c := range cmp.Changes {
		if c.From == from && c.To == to && c.Ports == ports && c.Before == before && c.After == after && (reason == "" || c.DecidedBy == reason) {
			return true
		}
	}
	return false
}
