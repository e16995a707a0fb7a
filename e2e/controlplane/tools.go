// Package controlplane starts a throwaway Kubernetes control plane for
// end-to-end tests: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok (playing the kubelet of one fake node), all on
// loopback ports chosen at run time, all stopped and their data removed when
// the test ends.
//
// The binaries come from .tools/bin (built by tools/build.sh). When they are
// missing the test is skipped, unless KOPSCALICO_E2E=1, when it fails.
package controlplane

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// EnvRequireE2E names the variable that turns a missing tool from a skip into
// a failure. `make test` and CI set it to 1.
const EnvRequireE2E = "KOPSCALICO_E2E"

// ControlPlaneTools are the binaries Start needs.
var ControlPlaneTools = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// RepoRoot is the directory of the kopscalico go.mod, found by walking up from
// the working directory (go test runs in the package directory).
func RepoRoot() (string, error) {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = err
			return
		}
		for {
			b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err == nil && strings.HasPrefix(string(b), "module github.com/kopscalico/kopscalico\n") {
				rootDir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				rootErr = errors.New("no go.mod of module github.com/kopscalico/kopscalico above the working directory")
				return
			}
			dir = parent
		}
	})
	return rootDir, rootErr
}

// ToolsDir is .tools under the repository root (bin/ holds the binaries,
// share/ their data files).
func ToolsDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".tools"), nil
}

// ToolPath returns the path of a built tool, or an error saying how to build it.
func ToolPath(name string) (string, error) {
	dir, err := ToolsDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, "bin", name)
	if _, err := exec.LookPath(p); err != nil {
		return "", fmt.Errorf("%s is not built (%v): run `make tools` (tools/build.sh %s)", name, err, name)
	}
	return p, nil
}

// RequireTools skips the test when a tool is missing, or fails it when
// KOPSCALICO_E2E=1. It returns the tools' paths by name.
func RequireTools(t testing.TB, names ...string) map[string]string {
	t.Helper()
	paths := make(map[string]string, len(names))
	var missing []string
	for _, n := range names {
		p, err := ToolPath(n)
		if err != nil {
			missing = append(missing, err.Error())
			continue
		}
		paths[n] = p
	}
	if len(missing) > 0 {
		msg := "end-to-end tools missing:\n  " + strings.Join(missing, "\n  ")
		if os.Getenv(EnvRequireE2E) != "" && os.Getenv(EnvRequireE2E) != "0" {
			t.Fatalf("%s\n(%s is set, so this is a failure, not a skip)", msg, EnvRequireE2E)
		}
		t.Skipf("%s\n(set %s=1 to make this a failure)", msg, EnvRequireE2E)
	}
	return paths
}
