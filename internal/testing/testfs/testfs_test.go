package testfs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteCopyReadRemove(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	Write(t, filepath.Join(src, "a", "b.yaml"), "b")
	dst := filepath.Join(t.TempDir(), "copy")
	Copy(t, src, dst)
	if got := Read(t, filepath.Join(dst, "a", "b.yaml")); got != "b" {
		t.Errorf("copied file holds %q", got)
	}
	Remove(t, filepath.Join(dst, "a"))
	if _, err := os.Stat(filepath.Join(dst, "a")); !os.IsNotExist(err) {
		t.Errorf("removed folder: %v", err)
	}
	if p := Temp(t, "x.txt", "x"); filepath.Base(p) != "x.txt" || Read(t, p) != "x" {
		t.Errorf("temp file %s", p)
	}
}
