// Command gentree writes the benchmark trees of package reachtest, so that
// `reachability diff` and other tools can be measured on the same files:
//
//	go run ./internal/reachability/reachtest/gentree -policies 1000 -namespaces 100 DIR
//
// DIR/base is the tree, DIR/head the same after reachtest.Edit.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kopscalico/kopscalico/internal/reachability/reachtest"
)

func main() {
	s := reachtest.Thousand
	flag.IntVar(&s.Policies, "policies", s.Policies, "policies in the tree")
	flag.IntVar(&s.Namespaces, "namespaces", s.Namespaces, "namespaces in the tree")
	flag.IntVar(&s.LabelSets, "labelsets", s.LabelSets, "distinct app labels")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gentree [-policies N] [-namespaces N] [-labelsets N] DIR")
		os.Exit(2)
	}
	files := reachtest.Files(s)
	for side, tree := range map[string]map[string]string{"base": files, "head": reachtest.Edit(files)} {
		for name, content := range tree {
			p := filepath.Join(flag.Arg(0), side, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
	}
}
