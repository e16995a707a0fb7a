package policies

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// Budgets of one load of a fuzzed file (loaded twice: as a namespace's file
// and as a _cluster file), linear in the input: the alias bomb, refused, took
// 3.6 GB for 75 KB. Measured before: 1 MiB of a flow sequence allocates
// 570 bytes per byte in 3.3s, 1000 tiny documents or 9000 nested brackets
// some 27 MiB.
const (
	fuzzAllocBase    = 32 << 20
	fuzzAllocPerByte = 600
	fuzzTimeBase     = 5 * time.Second
	fuzzTimePerMiB   = 30 * time.Second
)

// FuzzLoadFile loads the bytes of one file within a budget of memory and
// time, and holds the loader's promises: a set or an error, never both, and
// every line of an error starts with the quoted path it is about.
func FuzzLoadFile(f *testing.F) {
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		f.Add(data)
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(aliasBomb())
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{"ns-1/f.yaml": {Data: data}, ClusterFolder + "/f.yaml": {Data: data}}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		set, err := load(fsys, "policies")
		took := time.Since(start)
		runtime.ReadMemStats(&after)

		if allocated, budget := after.TotalAlloc-before.TotalAlloc, uint64(fuzzAllocBase+fuzzAllocPerByte*len(data)); allocated > budget {
			t.Errorf("loading %d bytes allocated %d MiB, over the budget of %d MiB", len(data), allocated>>20, budget>>20)
		}
		if budget := fuzzTimeBase + time.Duration(len(data))*fuzzTimePerMiB/(1<<20); took > budget {
			t.Errorf("loading %d bytes took %s, over the budget of %s", len(data), took, budget)
		}
		if (set == nil) == (err == nil) {
			t.Fatalf("load returned the set %v and the error %v: want one of them", set, err)
		}
		if err == nil {
			return
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, `"policies/`) && !strings.HasPrefix(line, `read "policies/`) {
				t.Errorf("a message line does not start with its quoted path: %q", line)
			}
		}
	})
}
