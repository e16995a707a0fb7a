package kopsdouble

import (
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"
)

// WriteClusterSpec replaces the stored Cluster object, as `kops edit
// cluster` behind the program's back would.
func (s *Store) WriteClusterSpec(t testing.TB, name string, obj map[string]any) {
	t.Helper()
	b, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, name, "config"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// DeleteInstanceGroup removes an instance group from the store, as `kops
// delete instancegroup` would (its instances are left to the cloud model).
func (s *Store) DeleteInstanceGroup(t testing.TB, cluster, ig string) {
	t.Helper()
	if err := os.Remove(filepath.Join(s.Dir, cluster, "instancegroup", ig)); err != nil {
		t.Fatal(err)
	}
}
