package main

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/kopscalico/kopscalico/internal/reachability/reachtest"
	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

// BenchmarkDiffThousand is the review as a pull request runs it: load two
// trees of 1,000 policies over 100 namespaces and write the comment.
func BenchmarkDiffThousand(b *testing.B) {
	dir := b.TempDir()
	files := reachtest.Files(reachtest.Thousand)
	if _, err := reachtest.Write(filepath.Join(dir, "base"), reachtest.Thousand); err != nil {
		b.Fatal(err)
	}
	for name, content := range reachtest.Edit(files) {
		testfs.Write(b, filepath.Join(dir, "head", name), content)
	}
	b.ReportAllocs()
	for b.Loop() {
		if code := run([]string{"diff", "--demo", "ns-000", "-o", "markdown", filepath.Join(dir, "base"), filepath.Join(dir, "head")}, io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}
