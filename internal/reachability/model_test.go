package reachability

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kopscalico/kopscalico/internal/netpol"
	"github.com/kopscalico/kopscalico/internal/policies"
)

// tree writes files (path relative to a temp dir: content) and loads them
// with the policies loader.
func tree(t *testing.T, files map[string]string) *policies.Set {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := policies.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func shipped(t *testing.T) *policies.Set {
	t.Helper()
	set, err := policies.Load(filepath.Join("..", "..", "policies"))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func podNames(m Model) []string {
	var out []string
	for _, p := range m.Cluster.Pods {
		out = append(out, p.Ref().String())
	}
	slices.Sort(out)
	return out
}

// assertVerdicts evaluates m and checks the verdicts of the cases in want.
func assertVerdicts(t *testing.T, m Model, want map[string]string) map[string]string {
	t.Helper()
	_, g, err := m.Evaluate()
	if err != nil {
		t.Fatal(err)
	}
	got := g.Matrix().Compact()
	for key, w := range want {
		if got[key] != w {
			t.Errorf("%s: %q, want %q", key, got[key], w)
		}
	}
	return got
}

const teamA = `apiVersion: v1
kind: Namespace
metadata: {name: team-a, labels: {team: a}}
`

// web accepts app=api on 8080, and app=client from namespaces of team b.
const webPolicy = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: team-a}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - podSelector: {matchLabels: {app: api}}
    - namespaceSelector: {matchLabels: {team: b}}
      podSelector: {matchLabels: {app: client}}
    ports: [{port: 8080}]
`

func TestBuildShipped(t *testing.T) {
	t.Parallel()
	m := Build(shipped(t), DemoPods("ns-1"))
	want := []string{"kube-system/[k8s-app=kube-dns]", "ns-1/[no labels]", "ns-1/busybox", "ns-1/http-echo"}
	if got := podNames(m); !reflect.DeepEqual(got, want) {
		t.Errorf("pods = %v, want %v (app=busybox and app=http-echo are the demo pods; the DNS peer is the DNS pod)", got, want)
	}
	if got := netpol.NormalisePorts(m.Ports); len(got) != 4 || got[0].String() != "53/TCP" || got[1].String() != "53/UDP" || got[2].String() != "443/TCP" || got[3].String() != "5678/TCP" {
		t.Errorf("ports = %v, want 53/TCP 53/UDP 443/TCP 5678/TCP", got)
	}
	if !reflect.DeepEqual(m.Owned, []string{"ns-1"}) {
		t.Errorf("owned = %v", m.Owned)
	}
	v := assertVerdicts(t, m, map[string]string{
		"ns-1/busybox -> ns-1/http-echo 5678/TCP":                         "allow",
		"ns-1/http-echo -> ns-1/busybox 5678/TCP":                         "deny",
		"ns-1/[no labels] -> ns-1/http-echo 5678/TCP":                     "deny",
		"ns-1/busybox -> kube-system/[k8s-app=kube-dns] 53/UDP":           "allow",
		"ns-1/busybox -> kube-system/[k8s-app=kube-dns] 53/TCP":           "allow",
		"ns-1/busybox -> kube-system/[k8s-app=kube-dns] 443/TCP":          "deny",
		"ns-1/busybox -> [outside]/203.0.113.10 443/TCP":                  "deny",
		"kube-system/[k8s-app=kube-dns] -> ns-1/http-echo 5678/TCP":       "deny",
		"[outside]/203.0.113.10 -> kube-system/[k8s-app=kube-dns] 53/UDP": "allow",
	})
	if len(v) != 5*5*4 {
		t.Errorf("%d cases, want 5 endpoints squared times 4 ports", len(v))
	}
}

// Without the demo, the matrix still has the synthetic pods, the DNS and
// the outside address.
func TestBuildWithoutWorkloads(t *testing.T) {
	t.Parallel()
	m := Build(shipped(t), nil)
	want := []string{"kube-system/[k8s-app=kube-dns]", "ns-1/[app=busybox]", "ns-1/[app=http-echo]", "ns-1/[no labels]"}
	if got := podNames(m); !reflect.DeepEqual(got, want) {
		t.Errorf("pods = %v, want %v", got, want)
	}
	assertVerdicts(t, m, map[string]string{
		"ns-1/[app=busybox] -> ns-1/[app=http-echo] 443/TCP": "allow",
		"ns-1/[no labels] -> ns-1/[app=http-echo] 443/TCP":   "deny",
	})
}

func TestBuildNamespaceWithoutWorkloads(t *testing.T) {
	t.Parallel()
	set := tree(t, map[string]string{
		"team-a/namespace.yaml": teamA,
		"team-a/web.yaml":       webPolicy,
		"team-b/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-b, labels: {team: b}}\n",
		"team-c/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-c, labels: {team: c}}\n",
	})
	m := Build(set, nil)
	want := []string{
		"kube-system/[k8s-app=kube-dns]",
		"team-a/[app=api]", "team-a/[app=web]", "team-a/[no labels]",
		"team-b/[app=client]", "team-b/[no labels]",
		"team-c/[no labels]",
	}
	if got := podNames(m); !reflect.DeepEqual(got, want) {
		t.Errorf("pods = %v, want %v", got, want)
	}
	if !slices.Contains(m.Ports, netpol.PortProto{Port: 8080, Protocol: "TCP"}) {
		t.Errorf("ports %v lack the policy's 8080/TCP", m.Ports)
	}
	assertVerdicts(t, m, map[string]string{
		"team-a/[app=api] -> team-a/[app=web] 8080/TCP":    "allow",
		"team-a/[app=api] -> team-a/[app=web] 443/TCP":     "deny",
		"team-b/[app=client] -> team-a/[app=web] 8080/TCP": "allow",
		"team-c/[no labels] -> team-a/[app=web] 8080/TCP":  "deny",
		"team-a/[no labels] -> team-a/[app=web] 8080/TCP":  "deny",
		"team-a/[app=web] -> team-a/[app=api] 8080/TCP":    "allow",
	})
}

func TestRepresentatives(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		sel  metav1.LabelSelector
		want []string
	}{
		{"empty", metav1.LabelSelector{}, []string{NoLabels}},
		{"labels", metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", "tier": "db"}}, []string{"[app=web,tier=db]"}},
		{"in: one per value, every combination", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "api"}},
			{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"prod", "dev"}},
		}}, []string{"[app=api,env=dev]", "[app=api,env=prod]", "[app=web,env=dev]", "[app=web,env=prod]"}},
		{"exists, not in, does not exist", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "tier", Operator: metav1.LabelSelectorOpExists},
			{Key: "app", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"web"}},
			{Key: "debug", Operator: metav1.LabelSelectorOpDoesNotExist},
		}}, []string{"[tier=]"}},
		{"contradiction selects nothing", metav1.LabelSelector{
			MatchLabels:      map[string]string{"app": "web"},
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"web"}}},
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, l := range representatives(&tc.sel) {
				got = append(got, SyntheticName(l))
			}
			slices.Sort(got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// A namespaceSelector that matches no known namespace adds no pod: the
// model only holds namespaces the tree or the workloads name.
func TestPeersLandOnlyInKnownNamespaces(t *testing.T) {
	t.Parallel()
	set := tree(t, map[string]string{
		"team-a/namespace.yaml": teamA,
		"team-a/web.yaml":       webPolicy,
	})
	for _, p := range podNames(Build(set, nil)) {
		if strings.Contains(p, "client") {
			t.Errorf("pod %s in a namespace no folder declares", p)
		}
	}
}
