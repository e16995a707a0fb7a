// Package reachtest writes policy trees of a given size for benchmarks and
// for measuring the review side by side with other tools: namespaces with
// team labels, policies selecting a fixed number of distinct label sets,
// with port ranges, UDP, ipBlocks with except ranges and default denies.
package reachtest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Shape is the size of a tree.
type Shape struct {
	Namespaces int
	Policies   int // spread evenly over the namespaces
	LabelSets  int // distinct app labels the selectors name
	Seed       uint64
}

// Thousand is the size the issue sets for the review: 1,000 policies over
// 100 namespaces selecting 50 label sets.
var Thousand = Shape{Namespaces: 100, Policies: 1000, LabelSets: 50, Seed: 1}

// Write writes the tree of s under dir (a policies folder), and returns the
// files it wrote by path relative to dir.
func Write(dir string, s Shape) (map[string]string, error) {
	files := Files(s)
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// Files returns the tree of s: path relative to the policies folder to
// content.
func Files(s Shape) map[string]string {
	r := rand.New(rand.NewPCG(s.Seed, 42))
	files := map[string]string{}
	perNS := max(1, s.Policies/max(1, s.Namespaces))
	made := 0
	for n := 0; n < s.Namespaces; n++ {
		ns := fmt.Sprintf("ns-%03d", n)
		env := []string{"prod", "dev"}[n%2]
		files[ns+"/namespace.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels: {team: t%d, env: %s}\n", ns, n%10, env)
		var docs []string
		for k := 0; k < perNS && made < s.Policies; k++ {
			docs = append(docs, policy(r, ns, k, s))
			made++
		}
		files[ns+"/policies.yaml"] = strings.Join(docs, "---\n")
	}
	return files
}

func policy(r *rand.Rand, ns string, k int, s Shape) string {
	app := func() string { return fmt.Sprintf("svc-%02d", r.IntN(s.LabelSets)) }
	name := fmt.Sprintf("p-%03d", k)
	if k%10 == 0 {
		return fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: %s, namespace: %s}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n", name, ns)
	}
	if k%5 == 0 {
		a, b := r.IntN(250), r.IntN(250)
		return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: %s, namespace: %s}
spec:
  podSelector: {matchLabels: {app: %s}}
  policyTypes: [Egress]
  egress:
  - to:
    - ipBlock: {cidr: 10.%d.0.0/16, except: [10.%d.%d.0/24]}
    ports: [{port: 443}]
  - to:
    - namespaceSelector: {}
      podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports: [{port: 53, protocol: UDP}]
`, name, ns, app(), a, a, b)
	}
	port := 8000 + r.IntN(100)
	ports := fmt.Sprintf("[{port: %d}]", port)
	switch r.IntN(3) {
	case 0:
		ports = fmt.Sprintf("[{port: %d, endPort: %d}]", port, port+r.IntN(50))
	case 1:
		ports = fmt.Sprintf("[{port: %d, protocol: UDP}]", port)
	}
	from := fmt.Sprintf("podSelector: {matchLabels: {app: %s}}", app())
	if r.IntN(2) == 0 {
		from = fmt.Sprintf("namespaceSelector: {matchLabels: {team: t%d}}\n      podSelector: {matchLabels: {app: %s}}", r.IntN(10), app())
	}
	return fmt.Sprintf(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: %s, namespace: %s}
spec:
  podSelector: {matchLabels: {app: %s}}
  ingress:
  - from:
    - %s
    ports: %s
`, name, ns, app(), from, ports)
}

// Edit is a pull request on a tree of Files: in three namespaces, a port
// range widened, an except range changed, and a policy for a new label set.
func Edit(files map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range files {
		out[k] = v
	}
	out["ns-001/policies.yaml"] += "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: new-app, namespace: ns-001}\nspec:\n  podSelector: {matchLabels: {app: brand-new}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {env: prod}}}]\n    ports: [{port: 9443}]\n"
	out["ns-002/policies.yaml"] = strings.Replace(out["ns-002/policies.yaml"], "endPort: ", "endPort: 1", 1)
	out["ns-003/policies.yaml"] = strings.Replace(out["ns-003/policies.yaml"], ".0/24]", ".0/25]", 1)
	return out
}

// SelectorPolicy is one policy whose selector has keys × values In
// combinations (4 keys of 10 values: 10,000).
func SelectorPolicy(keys, values int) map[string]string {
	var exprs []string
	for k := 0; k < keys; k++ {
		var vs []string
		for v := 0; v < values; v++ {
			vs = append(vs, fmt.Sprintf("v%d", v))
		}
		exprs = append(exprs, fmt.Sprintf("{key: k%d, operator: In, values: [%s]}", k, strings.Join(vs, ", ")))
	}
	return map[string]string{
		"a/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
		"a/policy.yaml":    fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: wide, namespace: a}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - podSelector:\n        matchExpressions: [%s]\n", strings.Join(exprs, ", ")),
	}
}

// PortsPolicy is one policy listing n single ports (odd ones first, then
// even ones), in flow style so that 60,000 fit in a file of under 1 MiB.
func PortsPolicy(n int) map[string]string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "{port: %d}", 1+(2*i)%65535)
	}
	return map[string]string{
		"a/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
		"a/policy.yaml":    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: ports, namespace: a}\nspec:\n  podSelector: {}\n  ingress:\n  - ports: [" + b.String() + "]\n",
	}
}
