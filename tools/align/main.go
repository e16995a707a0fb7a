// Command align makes the tools module (tools/) and the root module select the
// same version of each module both build lists hold, the higher one: a package
// both compile then has one build-cache entry, so the tests reuse what the
// tools build compiled. -check only reports the differences (exit 1).
// Usage, from tools/: go run ./align [-check]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/semver"
)

// module is one entry of a build list: the version selected, and whether a
// replace pins it to another version of the same path.
type module struct {
	version  string
	replaced bool
}

func main() {
	check := flag.Bool("check", false, "report the differences, change nothing")
	flag.Parse()
	tools, err := os.Getwd()
	if err != nil {
		fail(err)
	}
	root := filepath.Dir(tools)
	// Each bump can raise what the bumped module requires, so repeat until
	// the two lists agree, five rounds at most.
	for round := 0; round < 5; round++ {
		diffs, err := differences(root, tools)
		if err != nil {
			fail(err)
		}
		if len(diffs) == 0 {
			if round > 0 {
				fmt.Println("align: tools/go.mod and go.mod agree")
			}
			return
		}
		if *check {
			fmt.Fprintf(os.Stderr, "align: %d module(s) differ between go.mod and tools/go.mod, so the tests recompile what the tools build compiled:\n", len(diffs))
			for _, d := range diffs {
				fmt.Fprintf(os.Stderr, "  %s\n", d)
			}
			fmt.Fprintln(os.Stderr, "fix: (cd tools && go run ./align), then go build ./... (a module only one side compiles may need a go get by hand)")
			os.Exit(1)
		}
		for _, d := range diffs {
			fmt.Println("align:", d)
			if err := d.apply(root, tools); err != nil {
				fail(err)
			}
		}
		for _, dir := range []string{root, tools} {
			if _, err := goOutput(dir, "mod", "tidy", "-e"); err != nil {
				fail(err)
			}
		}
	}
	fail(fmt.Errorf("go.mod and tools/go.mod still differ after 5 rounds"))
}

// diff is one module both lists hold at different versions.
type diff struct {
	path        string
	root, tools module
	want        string
}

func (d diff) String() string {
	return fmt.Sprintf("%s: go.mod %s, tools/go.mod %s -> %s", d.path, d.root.version, d.tools.version, d.want)
}

// apply raises the lower side to want: a require, or the replace that pins it.
func (d diff) apply(root, tools string) error {
	for _, side := range []struct {
		dir string
		m   module
	}{{root, d.root}, {tools, d.tools}} {
		if side.m.version == d.want {
			continue
		}
		edit := "-require=" + d.path + "@" + d.want
		if side.m.replaced {
			edit = "-replace=" + d.path + "=" + d.path + "@" + d.want
		}
		if _, err := goOutput(side.dir, "mod", "edit", edit); err != nil {
			return err
		}
	}
	return nil
}

func differences(root, tools string) ([]diff, error) {
	r, err := buildList(root, false)
	if err != nil {
		return nil, err
	}
	t, err := buildList(tools, true)
	if err != nil {
		return nil, err
	}
	var out []diff
	for path, rm := range r {
		tm, ok := t[path]
		if !ok || rm.version == tm.version {
			continue
		}
		want := rm.version
		if semver.Compare(tm.version, want) > 0 {
			want = tm.version
		}
		out = append(out, diff{path: path, root: rm, tools: tm, want: want})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// buildList holds the modules whose packages the module in dir compiles: the
// root module's packages and their tests, or the tools module's tools (the
// imports of tools.go, ./etcd, ./align). Modules no package comes from are
// left out: tidy drops their requires.
func buildList(dir string, tools bool) (map[string]module, error) {
	args := []string{"list", "-deps", "-test"}
	pkgs := []string{"./..."}
	if tools {
		imports, err := goOutput(dir, "list", "-e", "-tags", "tools", "-f", `{{join .Imports "\n"}}`, ".")
		if err != nil {
			return nil, err
		}
		args = []string{"list", "-deps"}
		pkgs = append(strings.Fields(imports), "./etcd", "./align")
	}
	args = append(args, "-f", "{{with .Module}}{{.Path}} {{.Version}}{{with .Replace}} {{.Path}} {{.Version}}{{end}}{{end}}")
	out, err := goOutput(dir, append(args, pkgs...)...)
	if err != nil {
		return nil, err
	}
	list := map[string]module{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2:
			list[f[0]] = module{version: f[1]}
		case len(f) == 4 && f[2] == f[0]:
			list[f[0]] = module{version: f[3], replaced: true}
		}
		// the main module (one field) and replaces by another path or a
		// directory are left out: they are not shared by version.
	}
	return list, nil
}

// goOutput runs go in dir (-mod=mod, no workspace),
// returning its stdout; its stderr is in the error.
func goOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s in %s: %v: %s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return string(out), nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "align:", err)
	os.Exit(1)
}
