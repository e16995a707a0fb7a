package reachability

import (
	"testing"

	"github.com/kopscalico/kopscalico/internal/reachability/reachtest"
)

// The benchmarks run at the sizes the review must handle, ten times the
// shipped tree and more: 1,000 policies over 100 namespaces (reachtest.Thousand),
// a selector of 10,000 In combinations, a policy of 60,000 ports.

func benchTrees(b *testing.B) (base, head Model) {
	files := reachtest.Files(reachtest.Thousand)
	return Build(tree(b, files), DemoPods("ns-000")), Build(tree(b, reachtest.Edit(files)), DemoPods("ns-000"))
}

// BenchmarkCompareThousand is the review of a pull request on a tree of
// 1,000 policies, without loading the files.
func BenchmarkCompareThousand(b *testing.B) {
	base, head := benchTrees(b)
	b.ReportAllocs()
	for b.Loop() {
		cmp, err := Compare(base, head)
		if err != nil {
			b.Fatal(err)
		}
		_ = cmp.Grouped()
		b.ReportMetric(float64(len(cmp.Endpoints)), "endpoints")
	}
}

// BenchmarkSummaryThousand is what every preview and up computes: the
// model of 1,000 policies and its summary.
func BenchmarkSummaryThousand(b *testing.B) {
	m, _ := benchTrees(b)
	b.ReportAllocs()
	for b.Loop() {
		ev, err := Evaluate(m)
		if err != nil {
			b.Fatal(err)
		}
		_ = ev.Summary()
	}
}

func BenchmarkSelectorTenThousand(b *testing.B) {
	empty := tree(b, map[string]string{"a/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"})
	wide := tree(b, reachtest.SelectorPolicy(4, 10))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compare(Build(empty, nil), Build(wide, nil)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSixtyThousandPorts(b *testing.B) {
	empty := tree(b, map[string]string{"a/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"})
	ports := tree(b, reachtest.PortsPolicy(60000))
	b.ReportAllocs()
	for b.Loop() {
		cmp, err := Compare(Build(empty, nil), Build(ports, nil))
		if err != nil {
			b.Fatal(err)
		}
		_ = cmp.Grouped()
	}
}
