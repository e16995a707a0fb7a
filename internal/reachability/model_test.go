package reachability

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/netpol"
	"github.com/kopscalico/kopscalico/internal/policies"
)

// tree writes files (path relative to a temp dir: content) and loads them
// with the policies loader.
func tree(t testing.TB, files map[string]string) *policies.Set {
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

func shipped(t testing.TB) *policies.Set {
	t.Helper()
	set, err := policies.Load(filepath.Join("..", "..", "policies"))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func evaluate(t *testing.T, m Model) *Evaluation {
	t.Helper()
	ev, err := Evaluate(m)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// assertVerdicts checks "from -> to port/proto": "allow"|"deny".
func assertVerdicts(t *testing.T, ev *Evaluation, want map[string]string) {
	t.Helper()
	for key, w := range want {
		ends, rest, _ := strings.Cut(key, " -> ")
		i := strings.LastIndex(rest, " ")
		to, pp := rest[:i], rest[i+1:]
		p, err := netpol.ParsePortProto(pp)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ev.Decide(ends, to, p)
		if err != nil {
			t.Fatalf("%s: %v (endpoints: %v)", key, err, ev.Endpoints())
		}
		got := Deny
		if d.Allowed {
			got = Allow
		}
		if got != w {
			t.Errorf("%s: %s (%s), want %s", key, got, d.Reason, w)
		}
	}
}

func TestShippedTree(t *testing.T) {
	t.Parallel()
	ev := evaluate(t, Build(shipped(t), DemoPods("ns-1")))
	want := []string{
		"kube-system/[k8s-app=kube-dns]", "kube-system/[k8s-app∉kube-dns]", "kube-system/kube-dns",
		"ns-1/[app=busybox]", "ns-1/[app=http-echo]", "ns-1/[app∉{busybox,http-echo}]", "ns-1/busybox", "ns-1/http-echo",
		"[other ns]/[any pod]", "[outside]/0.0.0.0-100.95.255.255, 100.128.0.0-255.255.255.255, ::/0",
	}
	got := ev.Endpoints()
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("no endpoint %q in %v", w, got)
		}
	}
	assertVerdicts(t, ev, map[string]string{
		"ns-1/busybox -> ns-1/http-echo 5678/TCP":                                                     "allow",
		"ns-1/busybox -> ns-1/http-echo 1/UDP":                                                        "allow",
		"ns-1/http-echo -> ns-1/busybox 5678/TCP":                                                     "deny",
		"ns-1/[app∉{busybox,http-echo}] -> ns-1/http-echo 5678/TCP":                                   "deny",
		"ns-1/[app=busybox] -> ns-1/[app=http-echo] 80/TCP":                                           "allow",
		"ns-1/busybox -> kube-system/kube-dns 53/UDP":                                                 "allow",
		"ns-1/busybox -> kube-system/kube-dns 53/TCP":                                                 "allow",
		"ns-1/busybox -> kube-system/kube-dns 443/TCP":                                                "deny",
		"ns-1/busybox -> kube-system/[k8s-app∉kube-dns] 53/UDP":                                       "deny",
		"ns-1/busybox -> [outside]/0.0.0.0-100.95.255.255, 100.128.0.0-255.255.255.255, ::/0 443/TCP": "deny",
		"kube-system/kube-dns -> ns-1/http-echo 5678/TCP":                                             "deny",
		"[other ns]/[any pod] -> kube-system/kube-dns 53/UDP":                                         "allow",
	})
	if len(got) != len(want) {
		t.Errorf("%d endpoints %v, want %d", len(got), got, len(want))
	}
}
