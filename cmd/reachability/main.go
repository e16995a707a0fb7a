// Command reachability prints which connections the policies of a policies
// folder allow, computed offline and exactly (package internal/reachability:
// namespaces, pods, addresses and ports partitioned into the classes the
// policies tell apart), over the same model as the program's `reachability`
// stack output.
//
//	go run ./cmd/reachability [-o table|json] [--demo NS] DIR
//	go run ./cmd/reachability diff [-o table|json|markdown] [--demo NS] [--full FILE] [--limit BYTES] BASE HEAD
//
// DIR, BASE and HEAD are policies folders (one sub-folder per namespace,
// _cluster for admin policies), read by the program's own loader (package
// internal/policies): a file or folder it cannot read is an error, as in
// `pulumi up`.
//
// The first form prints, for every ordered pair of endpoints, the ports on
// which the first reaches the second: as a table, or with -o json
// {"rows":[{"from":"ns/[app=web]","to":"...","allowed":"80/TCP"}]}.
//
// diff evaluates both trees over the classes of both and prints the
// connections whose verdict differs, grouped by pair of endpoints and
// deciding policies, with merged port ranges: as a table, as JSON
// {"changes":[{...,"ports":"80/TCP","before":"deny","after":"allow","decidedBy":"..."}]}, or
// as a Markdown pull-request comment whose first line is the marker
// <!-- kopscalico-reachability --> (a workflow updates one comment found by
// it). The comment is cut to --limit bytes (default 60000, under GitHub's
// 65,536 characters), every list in it included, with a note; --full FILE
// writes the uncut output.
//
// Flags:
//
//	-o FORMAT      table (default), json, or (diff) markdown
//	--demo NS      add the program's demo workloads (busybox, http-echo) in
//	               namespace NS, on both sides of a diff (repeatable)
//
// To review a change of the policies the program deploys (demoWorkloads on):
//
//	go run ./cmd/reachability diff --demo ns-1 -o markdown BASE_CHECKOUT/policies policies
//
// Exit status: 0 on success, 1 on bad input (the message names the file),
// 2 on bad usage.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/kopscalico/kopscalico/internal/netpol"
	"github.com/kopscalico/kopscalico/internal/policies"
	"github.com/kopscalico/kopscalico/internal/reachability"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	diff   bool
	output string
	dirs   []string // DIR, or BASE and HEAD
	demo   []string // namespaces that get the demo workloads
	full   string   // diff: file for the uncut output
	limit  int      // diff -o markdown: bytes of the comment
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

var errUsage = errors.New("usage")

const (
	matrixUsage = `usage: reachability [-o table|json] [--demo NAMESPACE] DIR`
	diffUsage   = `usage: reachability diff [-o table|json|markdown] [--demo NAMESPACE] [--full FILE] [--limit BYTES] BASE HEAD`
	// commentLimit keeps a Markdown comment under GitHub's 65,536
	// characters with room for the workflow's own text.
	commentLimit = 60000
)

func parseArgs(args []string, stderr io.Writer) (options, error) {
	o := options{output: "table", limit: commentLimit}
	usage, formats := matrixUsage, []string{"table", "json"}
	if len(args) > 0 && args[0] == "diff" {
		o.diff, args = true, args[1:]
		usage, formats = diffUsage, []string{"table", "json", "markdown"}
	}
	fail := func(format string, a ...any) (options, error) {
		fmt.Fprintf(stderr, "reachability: "+format+"\n", a...)
		fmt.Fprintln(stderr, usage)
		return o, errUsage
	}
	var demoNS listFlag
	var oldDiff string
	fs := flag.NewFlagSet("reachability", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.output, "o", "table", "output format: "+strings.Join(formats, ", "))
	fs.Var(&demoNS, "demo", "add the program's demo workloads in namespace `NAMESPACE` (repeatable)")
	if o.diff {
		fs.StringVar(&o.full, "full", "", "also write the uncut output to `FILE` (for a workflow artifact)")
		fs.IntVar(&o.limit, "limit", commentLimit, "cut -o markdown to this many `BYTES`, with a note")
	} else {
		fs.StringVar(&oldDiff, "diff", "", "replaced by the diff subcommand")
	}
	// Flags may come before or after the directories.
	for {
		if err := fs.Parse(args); err != nil {
			return o, errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		o.dirs = append(o.dirs, fs.Arg(0))
		args = fs.Args()[1:]
	}
	o.demo = demoNS
	switch {
	case oldDiff != "":
		return fail("--diff OLD DIR is now a subcommand: reachability diff OLD DIR")
	case o.diff && len(o.dirs) != 2:
		return fail("diff wants two policies folders, BASE and HEAD; got %d", len(o.dirs))
	case !o.diff && len(o.dirs) != 1:
		return fail("want one policies folder DIR; got %d", len(o.dirs))
	case !slices.Contains(formats, o.output):
		return fail("-o %q: want %s", o.output, strings.Join(formats, " or "))
	case o.limit < 1000:
		return fail("--limit %d: want at least 1000 bytes", o.limit)
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args, stderr)
	if err != nil {
		return 2
	}
	if o.diff {
		err = diff(o, stdout)
	} else {
		err = matrix(o, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "reachability: %v\n", err)
		return 1
	}
	return 0
}

// model loads a policies folder into the reachability model.
func model(dir string, demoNamespaces []string) (reachability.Model, error) {
	set, err := policies.Load(dir)
	if err != nil {
		return reachability.Model{}, err
	}
	var workloads []netpol.Pod
	for _, ns := range demoNamespaces {
		workloads = append(workloads, reachability.DemoPods(ns)...)
	}
	return reachability.Build(set, workloads), nil
}

func matrix(o options, w io.Writer) error {
	m, err := model(o.dirs[0], o.demo)
	if err != nil {
		return err
	}
	ev, err := reachability.Evaluate(m)
	if err != nil {
		return fmt.Errorf("%s: %w", o.dirs[0], err)
	}
	rows, err := ev.Rows()
	if err != nil {
		return fmt.Errorf("%s: %w", o.dirs[0], err)
	}
	if o.output == "json" {
		return writeJSONList(w, "rows", len(rows), func(i int) any { return rows[i] })
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tTO\tALLOWED")
	for _, r := range rows {
		allowed := r.Allowed
		if allowed == "" {
			allowed = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.From, r.To, allowed)
	}
	return tw.Flush()
}

func diff(o options, w io.Writer) error {
	base, err := model(o.dirs[0], o.demo)
	if err != nil {
		return err
	}
	head, err := model(o.dirs[1], o.demo)
	if err != nil {
		return err
	}
	cmp, err := reachability.Compare(base, head)
	if err != nil {
		return err
	}
	write := func(w io.Writer, limit int) error {
		switch o.output {
		case "json":
			return writeJSONList(w, "changes", len(cmp.Changes), func(i int) any { return cmp.Changes[i] })
		case "markdown":
			return writeMarkdown(w, cmp, limit, o.full)
		default:
			return writeChanges(w, cmp)
		}
	}
	if o.full != "" {
		f, err := os.Create(o.full)
		if err != nil {
			return fmt.Errorf("--full: %w", err)
		}
		if err := write(f, 0); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("--full: %w", err)
		}
	}
	return write(w, o.limit)
}

func writeChanges(w io.Writer, cmp reachability.Comparison) error {
	changes := cmp.Changes
	if len(changes) == 0 {
		_, err := fmt.Fprintln(w, "no change")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tTO\tPORTS\tBEFORE\tAFTER\tDECIDED BY")
	for _, c := range changes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.From, c.To, c.Ports, c.Before, c.After, c.DecidedBy)
	}
	if cmp.Unlisted > 0 {
		fmt.Fprintf(tw, "(%d more changes not listed)\n", cmp.Unlisted)
	}
	return tw.Flush()
}

// writeJSONList writes {"key":[...]}, one item per line so that the output
// diffs well.
func writeJSONList(w io.Writer, key string, n int, item func(int) any) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "{%q:[", key)
	for i := 0; i < n; i++ {
		if i > 0 {
			bw.WriteByte(',')
		}
		js, err := json.Marshal(item(i))
		if err != nil {
			return err
		}
		bw.WriteString("\n")
		bw.Write(js)
	}
	if n > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}
