package calicocrds

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	templateOnce sync.Once
	templateText string
	templateErr  error
)

// Template returns the text of the Calico manifest template (TemplatePath)
// of the pinned kops module, unrendered.
func Template(t testing.TB) string {
	t.Helper()
	templateOnce.Do(func() {
		dir, err := kopsModuleDir()
		if err != nil {
			templateErr = err
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, TemplatePath))
		templateText, templateErr = string(b), err
	})
	if templateErr != nil {
		t.Fatal(templateErr)
	}
	return templateText
}

// KopsSource returns a file of the pinned kops module (a path inside it,
// e.g. upup/pkg/fi/cloudup/template_functions.go).
func KopsSource(t testing.TB, path string) string {
	t.Helper()
	dir, err := kopsModuleDir()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
