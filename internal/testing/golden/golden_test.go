package golden

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

// recorder stands for a test and records its failures.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func TestAssert(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "out.golden")
	testfs.Write(t, path, "kept\n")
	for _, tc := range []struct {
		path, got string
		fails     bool
	}{
		{path, "kept\n", false},
		{path, "changed\n", true},
		{filepath.Join(t.TempDir(), "missing.golden"), "kept\n", true},
	} {
		r := &recorder{TB: t}
		Assert(r, tc.path, []byte(tc.got))
		if (len(r.failures) > 0) != tc.fails {
			t.Errorf("Assert(%s, %q): failures %q, want failing %v", filepath.Base(tc.path), tc.got, r.failures, tc.fails)
		}
	}
}
