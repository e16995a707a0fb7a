// Command reachability prints which connections the NetworkPolicies of a
// policies folder allow, computed offline with Kubernetes NetworkPolicy
// semantics (as Calico enforces them), over the same model as the program's
// `reachability` stack output.
//
//	go run ./cmd/reachability [-o table|json] [--ports LIST] [--demo NS] DIR
//	go run ./cmd/reachability diff [-o table|json|markdown] [--ports LIST] [--demo NS] [--full FILE] [--limit BYTES] BASE HEAD
//
// DIR, BASE and HEAD are policies folders (one sub-folder per namespace),
// read by the program's own loader (package policies): a file or folder it
// cannot read is an error, as in `pulumi up`. The model (package
// internal/reachability) holds the demo workloads of --demo, one synthetic
// pod per label set the policies select ("ns-1/[app=web]", "ns-1/[no
// labels]"), the cluster DNS (kube-system/[k8s-app=kube-dns]) and an address
// outside the cluster ([outside]/203.0.113.10); every ordered pair of them,
// a pod to itself included, is a case for each probed port.
//
// The first form prints the matrix: a grid per port, or with -o json
// {"cases":[{"from":"ns/pod","to":"ns/pod","port":80,"protocol":"TCP","allowed":true}]}.
//
// diff evaluates both trees over the same pods (the union of what each
// declares and selects) and prints the connections whose verdict differs,
// with the policies that decide each in HEAD: as a table, as JSON
// {"changes":[{...,"before":"deny","after":"allow","decidedBy":"..."}]}, or
// as a Markdown pull-request comment whose first line is the marker
// <!-- kopscalico-reachability --> (a workflow updates one comment found by
// it). The comment is cut to --limit bytes (default 60000, under GitHub's
// 65,536 characters) with a note; --full FILE writes the uncut output.
//
// Flags:
//
//	-o FORMAT      table (default), json, or (diff) markdown
//	--ports LIST   probed ports, e.g. 80/TCP,81/UDP (default: the model's)
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
	ports  []netpol.PortProto
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
	matrixUsage = `usage: reachability [-o table|json] [--ports 80/TCP,81/UDP] [--demo NAMESPACE] DIR`
	diffUsage   = `usage: reachability diff [-o table|json|markdown] [--ports 80/TCP,81/UDP] [--demo NAMESPACE] [--full FILE] [--limit BYTES] BASE HEAD`
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
	var ports string
	var demoNS listFlag
	var oldDiff string
	fs := flag.NewFlagSet("reachability", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.output, "o", "table", "output format: "+strings.Join(formats, ", "))
	fs.StringVar(&ports, "ports", "", "probed ports, comma-separated PORT/PROTOCOL (default: the model's ports)")
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
	if ports != "" {
		p, err := netpol.ParsePortList(ports)
		if err != nil {
			return fail("--ports: %v", err)
		}
		o.ports = p
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
	if o.ports != nil {
		m.Ports = o.ports
	}
	_, grid, err := m.Evaluate()
	if err != nil {
		return fmt.Errorf("%s: %w", o.dirs[0], err)
	}
	if o.output == "json" {
		return writeMatrixJSON(w, grid.Matrix())
	}
	return writeGrid(w, grid)
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
	cmp, err := reachability.Compare(base, head, o.ports)
	if err != nil {
		return err
	}
	write := func(w io.Writer, limit int) error {
		switch o.output {
		case "json":
			return writeChangesJSON(w, cmp.Changes)
		case "markdown":
			return writeMarkdown(w, cmp, limit, o.full)
		default:
			return writeChanges(w, cmp.Changes)
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

// writeMatrixJSON writes {"cases":[...]}, one case per line so that the
// output diffs well.
func writeMatrixJSON(w io.Writer, m netpol.Matrix) error {
	return writeJSONList(w, "cases", len(m.Cases), func(i int) any { return m.Cases[i] })
}

func writeChangesJSON(w io.Writer, changes []reachability.Change) error {
	return writeJSONList(w, "changes", len(changes), func(i int) any { return changes[i] })
}

func writeJSONList(w io.Writer, key string, n int, item func(int) any) error {
	var b strings.Builder
	fmt.Fprintf(&b, "{%q:[", key)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		js, err := json.Marshal(item(i))
		if err != nil {
			return err
		}
		b.WriteString("\n")
		b.Write(js)
	}
	if n > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeGrid prints one grid per port: a row per source, a column per
// destination.
func writeGrid(w io.Writer, g *netpol.Grid) error {
	pods := g.Pods()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for k, pp := range g.Ports() {
		if k > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s\t%s\n", pp, strings.Join(pods, "\t"))
		for s, from := range pods {
			cells := make([]string, len(pods))
			for d := range pods {
				cells[d] = "X"
				if g.Allowed(s, d, k) {
					cells[d] = "."
				}
			}
			fmt.Fprintf(tw, "%s\t%s\n", from, strings.Join(cells, "\t"))
		}
	}
	fmt.Fprintln(tw, "\nrows: from, columns: to; . allowed, X denied")
	return tw.Flush()
}

func writeChanges(w io.Writer, changes []reachability.Change) error {
	if len(changes) == 0 {
		_, err := fmt.Fprintln(w, "no change")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tTO\tPORT\tBEFORE\tAFTER\tDECIDED BY")
	for _, c := range changes {
		fmt.Fprintf(tw, "%s\t%s\t%d/%s\t%s\t%s\t%s\n", c.From, c.To, c.Port, c.Protocol, c.Before, c.After, c.DecidedBy)
	}
	return tw.Flush()
}
