// Command reachability prints which pod-to-pod connections the
// NetworkPolicies in a set of manifests allow, computed offline with
// Kubernetes NetworkPolicy semantics (as Calico enforces them).
//
//	go run ./cmd/reachability [flags] DIR...
//
// It reads Namespaces, Pods, Deployments (one representative pod per
// Deployment, named after it) and NetworkPolicies from the YAML files under
// each DIR (recursively; multi-document files too) and prints one case per
// ordered pair of pods, a pod to itself included, for each probed port.
//
// Flags:
//
//	-o table|json   output format (default table). JSON is
//	                {"cases":[{"from":"ns/pod","to":"ns/pod","port":80,"protocol":"TCP","allowed":true}]}
//	--ports LIST    probed ports, e.g. 80/TCP,81/UDP (default: every container port in the input)
//	--diff OLD_DIR  print only the cases whose verdict differs between OLD_DIR and DIR...
//	                (repeatable); JSON is {"changes":[{...,"before":"deny","after":"allow"}]},
//	                with "absent" for a case that exists on one side only
//	--demo NS       add the program's demo workloads (busybox, http-echo) in namespace NS,
//	                on both sides of a diff (repeatable)
//
// To review a change of the policies the program deploys:
//
//	go run ./cmd/reachability --demo ns-1 --diff OLD_CHECKOUT/policies policies
//
// Objects without a namespace belong to "default"; namespaces that pods or
// policies use without a Namespace object are assumed, labelled only with
// kubernetes.io/metadata.name. Pods without status.podIP get synthetic
// addresses in kops's default pod CIDR 100.96.0.0/11, stable across runs.
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
	"strings"
	"text/tabwriter"

	"github.com/kopscalico/kopscalico/internal/demo"
	"github.com/kopscalico/kopscalico/internal/netpol"
	"github.com/kopscalico/kopscalico/internal/netpol/manifest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	output  string
	ports   []netpol.PortProto
	oldDirs []string
	dirs    []string
	demo    []string // namespaces that get the demo workloads
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

var errUsage = errors.New("usage")

const usage = `usage: reachability [-o table|json] [--ports 80/TCP,81/UDP] [--diff OLD_DIR] [--demo NAMESPACE] DIR...`

func parseArgs(args []string, stderr io.Writer) (options, error) {
	var o options
	var ports string
	var diff, demoNS listFlag
	fs := flag.NewFlagSet("reachability", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&o.output, "o", "table", "output format: table or json")
	fs.StringVar(&ports, "ports", "", "probed ports, comma-separated PORT/PROTOCOL (default: every container port in the input)")
	fs.Var(&diff, "diff", "print only the cases whose verdict differs from OLD_DIR (repeatable)")
	fs.Var(&demoNS, "demo", "add the program's demo workloads in namespace `NAMESPACE` (repeatable)")
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
	o.oldDirs = diff
	o.demo = demoNS
	if len(o.dirs) == 0 {
		fmt.Fprintln(stderr, "reachability: no DIR given")
		fmt.Fprintln(stderr, usage)
		return o, errUsage
	}
	if o.output != "table" && o.output != "json" {
		fmt.Fprintf(stderr, "reachability: -o %q: want table or json\n", o.output)
		return o, errUsage
	}
	if ports != "" {
		p, err := netpol.ParsePortList(ports)
		if err != nil {
			fmt.Fprintf(stderr, "reachability: --ports: %v\n", err)
			return o, errUsage
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
	if err := reachability(o, stdout); err != nil {
		fmt.Fprintf(stderr, "reachability: %v\n", err)
		return 1
	}
	return 0
}

func reachability(o options, w io.Writer) error {
	cur, err := evaluator(o.dirs, o.demo)
	if err != nil {
		return err
	}
	ports := o.ports
	var old *netpol.Evaluator
	if len(o.oldDirs) > 0 {
		if old, err = evaluator(o.oldDirs, o.demo); err != nil {
			return err
		}
	}
	if len(ports) == 0 {
		ports = cur.ContainerPorts()
		if old != nil {
			ports = append(ports, old.ContainerPorts()...)
		}
		if len(ports) == 0 {
			return errors.New("no container ports in the input to probe; pass --ports, e.g. --ports 80/TCP")
		}
	}
	table, err := cur.Grid(ports)
	if err != nil {
		return err
	}
	if old == nil {
		if o.output == "json" {
			return writeMatrixJSON(w, table.Matrix())
		}
		return writeGrid(w, table)
	}
	oldTable, err := old.Grid(ports)
	if err != nil {
		return err
	}
	changes := netpol.Diff(oldTable.Matrix(), table.Matrix())
	if o.output == "json" {
		return writeChangesJSON(w, changes)
	}
	return writeChanges(w, changes)
}

func evaluator(dirs, demoNamespaces []string) (*netpol.Evaluator, error) {
	objs, err := manifest.Load(dirs...)
	if err != nil {
		return nil, err
	}
	for _, ns := range demoNamespaces {
		w := demo.New(ns)
		objs.Deployments = append(objs.Deployments, w.Client, w.Echo)
	}
	e, err := netpol.NewEvaluator(objs.Cluster())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(dirs, ", "), err)
	}
	return e, nil
}

// writeMatrixJSON writes {"cases":[...]}, one case per line so that the
// output diffs well.
func writeMatrixJSON(w io.Writer, m netpol.Matrix) error {
	return writeJSONList(w, "cases", len(m.Cases), func(i int) any { return m.Cases[i] })
}

func writeChangesJSON(w io.Writer, changes []netpol.Change) error {
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
func writeGrid(w io.Writer, t *netpol.Grid) error {
	pods := t.Pods()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for k, pp := range t.Ports() {
		if k > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s\t%s\n", pp, strings.Join(pods, "\t"))
		for s, from := range pods {
			cells := make([]string, len(pods))
			for d := range pods {
				cells[d] = "X"
				if t.Allowed(s, d, k) {
					cells[d] = "."
				}
			}
			fmt.Fprintf(tw, "%s\t%s\n", from, strings.Join(cells, "\t"))
		}
	}
	fmt.Fprintln(tw, "\nrows: from, columns: to; . allowed, X denied")
	return tw.Flush()
}

func writeChanges(w io.Writer, changes []netpol.Change) error {
	if len(changes) == 0 {
		_, err := fmt.Fprintln(w, "no change")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tTO\tPORT\tBEFORE\tAFTER")
	for _, c := range changes {
		fmt.Fprintf(tw, "%s\t%s\t%d/%s\t%s\t%s\n", c.From, c.To, c.Port, c.Protocol, c.Before, c.After)
	}
	return tw.Flush()
}
