package reachability

import (
	"fmt"
	"maps"
	"strings"
	"testing"
)

const nsA = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {team: a}}\n"

func compareTrees(t *testing.T, base, head map[string]string) Comparison {
	t.Helper()
	cmp, err := Compare(Build(tree(t, base), nil), Build(tree(t, head), nil))
	if err != nil {
		t.Fatal(err)
	}
	return cmp
}

func with(files map[string]string, name, content string) map[string]string {
	out := maps.Clone(files)
	out[name] = content
	return out
}

// assertChange finds the change from -> to on ports with the verdicts.
func assertChange(t *testing.T, cmp Comparison, from, to, ports, before, after string) {
	t.Helper()
	for _, c := range cmp.Changes {
		if c.From == from && c.To == to && c.Ports == ports && c.Before == before && c.After == after {
			return
		}
	}
	var got []string
	for _, c := range cmp.Changes {
		got = append(got, fmt.Sprintf("%s -> %s %s %s->%s", c.From, c.To, c.Ports, c.Before, c.After))
	}
	t.Errorf("no change %s -> %s %s %s->%s in\n%s", from, to, ports, before, after, strings.Join(got, "\n"))
}

func egressPolicy(except string) string {
	return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: out, namespace: a}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [` + except + `]}}]
`
}

// An ipBlock change that no single sample address would see: the outside is
// cut at every cidr and except.
func TestDiffSeesExceptChanges(t *testing.T) {
	t.Parallel()
	base := map[string]string{"a/namespace.yaml": nsA, "a/out.yaml": egressPolicy("10.0.0.0/8")}
	head := with(base, "a/out.yaml", egressPolicy("10.0.0.0/8, 192.168.0.0/16"))
	cmp := compareTrees(t, base, head)
	assertChange(t, cmp, "a/[any pod]", "[outside]/192.168.0.0/16", "every port", Allow, Deny)
	if len(cmp.Changes) != 1 {
		t.Errorf("%d changes, want 1: %+v", len(cmp.Changes), cmp.Changes)
	}
}

func ingressFrom(peer, ports string) string {
	return `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: a}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [` + peer + `]
    ports: ` + ports + `
`
}

// A namespaceSelector that matches namespaces the tree does not declare:
// they are endpoints too.
func TestDiffSeesUndeclaredNamespaces(t *testing.T) {
	t.Parallel()
	base := map[string]string{"a/namespace.yaml": nsA, "a/web.yaml": ingressFrom("{podSelector: {}}", "[{port: 80}]")}
	head := with(base, "a/web.yaml", ingressFrom("{podSelector: {}}, {namespaceSelector: {matchLabels: {env: prod}}}", "[{port: 80}]"))
	cmp := compareTrees(t, base, head)
	assertChange(t, cmp, "[ns env=prod]/[any pod]", "a/[app=web]", "80/TCP", Deny, Allow)
	for _, c := range cmp.Changes {
		if strings.HasPrefix(c.From, "[ns env∉prod]") || strings.HasPrefix(c.From, "[other ns]") {
			t.Errorf("%+v: only env=prod namespaces are let in", c)
		}
	}
}

// A widened endPort opens the ports past the old end, not only the first.
func TestDiffSeesEndPortChanges(t *testing.T) {
	t.Parallel()
	base := map[string]string{"a/namespace.yaml": nsA, "a/web.yaml": ingressFrom("{podSelector: {}}", "[{port: 80, endPort: 90}]")}
	head := with(base, "a/web.yaml", ingressFrom("{podSelector: {}}", "[{port: 80, endPort: 100}]"))
	cmp := compareTrees(t, base, head)
	assertChange(t, cmp, "a/[app∉web]", "a/[app=web]", "91-100/TCP", Deny, Allow)
	assertChange(t, cmp, "a/[app=web]", "a/[app=web]", "91-100/TCP", Deny, Allow)
	if len(cmp.Changes) != 2 {
		t.Errorf("%d changes, want 2: %+v", len(cmp.Changes), cmp.Changes)
	}
}

// NotIn and DoesNotExist select pods too: they get classes of their own.
func TestDiffSeesNotInAndDoesNotExist(t *testing.T) {
	t.Parallel()
	base := map[string]string{"a/namespace.yaml": nsA, "a/web.yaml": ingressFrom("{podSelector: {matchLabels: {app: api}}}", "[{port: 80}]")}
	head := with(base, "a/web.yaml", ingressFrom("{podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [db, web]}, {key: debug, operator: DoesNotExist}]}}", "[{port: 80}]"))
	cmp := compareTrees(t, base, head)
	assertChange(t, cmp, "a/[app∉{api,db,web},!debug]", "a/[app=web]", "80/TCP", Deny, Allow)
	assertChange(t, cmp, "a/[app=api,debug]", "a/[app=web]", "80/TCP", Allow, Deny)
	for _, c := range cmp.Changes {
		if c.After == Allow && (strings.Contains(c.From, "app=db") || !strings.Contains(c.From, "!debug")) {
			t.Errorf("%+v: NotIn db and DoesNotExist debug keep these out", c)
		}
	}
}

func TestDiffOfRemovedPolicyAndDeletedNamespace(t *testing.T) {
	t.Parallel()
	base := map[string]string{"a/namespace.yaml": nsA, "a/web.yaml": ingressFrom("{podSelector: {matchLabels: {app: api}}}", "[{port: 80}]"),
		"b/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n"}
	head := map[string]string{"a/namespace.yaml": nsA}
	cmp := compareTrees(t, base, head)
	assertChange(t, cmp, "a/[app=web]", "a/[app=web]", "every port", Deny, Allow)
	assertChange(t, cmp, "a/[app=api]", "a/[app=web]", "TCP but 80; every UDP port; every SCTP port", Deny, Allow)
	gone := 0
	for _, c := range cmp.Changes {
		if c.After == Absent {
			gone++
			if !strings.HasPrefix(c.From, "b/") && !strings.HasPrefix(c.To, "b/") {
				t.Errorf("%+v: only b's connections go with b", c)
			}
		}
	}
	if gone == 0 {
		t.Error("b's connections are not reported gone")
	}
	if same := compareTrees(t, base, base); len(same.Changes) != 0 {
		t.Errorf("a tree against itself: %+v", same.Changes)
	}
}
