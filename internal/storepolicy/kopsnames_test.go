package storepolicy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// kopsTruncate calls kops's own truncate.TruncateString, as IAMName does,
// on each line of its stdin. It is built in a copy of tools/kops's module
// (same go.mod and go.sum, so the same kops), which keeps kops out of this
// module's dependencies.
const kopsTruncate = `package main

import (
	"bufio"
	"fmt"
	"os"

	"k8s.io/kops/pkg/truncate"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		fmt.Println(truncate.TruncateString(in.Text(), truncate.TruncateStringOptions{MaxLength: 64, AlwaysAddHash: false}))
	}
}
`

// TestKopsIAMNameIsKops holds kopsIAMName to kops 1.36.2: its truncation
// against kops's function, and the rule around it against kops's source.
func TestKopsIAMNameIsKops(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program against the kops module")
	}
	t.Parallel()
	dir := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "tools", "kops", f))
		if err != nil {
			t.Fatalf("the kops module pin: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(kopsTruncate), 0o644); err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, cluster := range []string{
		"calico.dev.example.com",
		strings.Repeat("a", 64-len("masters.")-len(".io")) + ".io", // masters.<cluster> is 64: kept
		strings.Repeat("b", 65-len("masters.")-len(".io")) + ".io", // 65: cut
		strings.Repeat("c", 50) + ".example.com",
		"k8s." + strings.Repeat("long-subdomain.", 12) + "example.com",
	} {
		for _, prefix := range []string{"masters.", "apiservers.", "nodes."} {
			names = append(names, prefix+cluster)
		}
	}
	cmd := exec.Command("go", "run", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	cmd.Stdin = strings.NewReader(strings.Join(names, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go run (kops's truncate): %v\n%s", err, stderr.String())
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(got) != len(names) {
		t.Fatalf("kops printed %d names for %d", len(got), len(names))
	}
	cut := 0
	for i, name := range names {
		prefix, cluster, _ := strings.Cut(name, ".")
		if mine := kopsIAMName(prefix+".", cluster); mine != got[i] {
			t.Errorf("%s: kopsIAMName = %q, kops = %q", name, mine, got[i])
		}
		if got[i] != name {
			cut++
		}
	}
	if cut == 0 || cut == len(names) {
		t.Errorf("%d of %d names cut: the cases must cover both sides of 64", cut, len(names))
	}

	// The rule around the truncation, in kops's source of that module.
	modDir := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/kops")
	modDir.Dir = dir
	modDir.Env = cmd.Env
	b, err := modDir.Output()
	if err != nil {
		t.Fatalf("go list -m k8s.io/kops: %v", err)
	}
	kops := strings.TrimSpace(string(b))
	for file, wants := range map[string][]string{
		"pkg/model/names.go": {
			`rolename = "masters." + b.ClusterName()`,
			`rolename = "apiservers." + b.ClusterName()`,
			`return truncate.TruncateString(rolename, truncate.TruncateStringOptions{MaxLength: iam.MaxLengthIAMRoleName, AlwaysAddHash: false})`,
		},
		"pkg/model/iam/types.go": {`const MaxLengthIAMRoleName = 64`},
	} {
		src, err := os.ReadFile(filepath.Join(kops, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range wants {
			if !regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(want) + `$`).Match(src) {
				t.Errorf("kops %s no longer reads %q", file, want)
			}
		}
	}
}
