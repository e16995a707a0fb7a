// Command kopscalico runs the program through the Pulumi Automation API as an
// inline program, so a machine needs only Go and the pulumi CLI (no Go
// language plugin): `go run ./cmd/kopscalico up`.
//
// The stack's configuration is read from Pulumi.yaml and Pulumi.<stack>.yaml
// in the working directory, exactly as `pulumi up` would. The backend is
// PULUMI_BACKEND_URL when set, else the per-user local backend ~/.pulumi
// (what `pulumi login --local` uses).
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"

	"github.com/kopscalico/kopscalico/infra"
	"github.com/kopscalico/kopscalico/internal/lease"
	"github.com/kopscalico/kopscalico/internal/lease/s3lease"
	"github.com/kopscalico/kopscalico/internal/pulumicli"
)

const usage = `usage: kopscalico [flags] up [--yes] [--skip-preflight]
       kopscalico [flags] preview|refresh
       kopscalico [flags] destroy [--yes]
       kopscalico [flags] cancel|repair [--yes]
       kopscalico break-lease --state URL --name CLUSTER [--region REGION] ID

  up       check this machine and the AWS account (kops at the pinned
           release, credentials, region, zones), preview, ask, then apply
           exactly what the preview showed (the state store, the kops
           cluster, the policies and workloads); --yes applies without the
           preview and the question (CI); --skip-preflight leaves out the
           checks (a machine that cannot reach AWS)
  preview  show what up would change; runs no kops command and no AWS call of
           the program's own
  destroy  show what would be deleted, ask, then delete it from the recorded
           state (the plugin deletes the kops cluster, then the bucket goes);
           --yes deletes without the question
  refresh  reconcile the state with the cloud
  cancel   stop the update running on the stack (another run's, or one that
           died and left the backend locked); needs --yes, as a step it cuts
           short stays pending in the state
  repair   list the operations a killed run left pending in the stack's state;
           with --yes, refresh the stack and drop the pending creates (first
           check that what they were creating does not exist, or import it);
           it refreshes with nothing pending too: a killed plugin leaves none;
           a lock taken on this host by a process gone (a killed run's) is
           cancelled first
  break-lease  delete the lease ID of a kops cluster in its state store, which
           a killed run left (its create, update or delete stopped): the next
           run refuses the cluster while it is there, and says this command;
           first check that no kops command of that run still runs

Interrupt (Ctrl-C) once: the update is cancelled; running steps are asked to
stop and the state records how they end. Twice: it stops now, and what it cuts
short is left pending (see repair).

flags:
`

// minimumCLI is the oldest pulumi CLI the program is tested with.
var minimumCLI = semver.MustParse("3.274.0")

func main() {
	ctx, interrupt, stop := interrupts(context.Background(), os.Stderr)
	code := run(ctx, interrupt, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// invocation is a parsed command line.
type invocation struct {
	op, stack, dir string
	diff           bool     // preview, up
	yes            bool     // up, destroy, cancel, repair
	skipPreflight  bool     // up
	lease          leaseRef // break-lease
}

// leaseRef names a cluster's lease: its state store, cluster and id.
type leaseRef struct{ state, name, region, id string }

// terminal is where a run talks to its user: answers come from in.
type terminal struct {
	in          io.Reader
	out, errOut io.Writer
}

func run(ctx context.Context, interrupt <-chan struct{}, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	inv, ok := parseArgs(args, stderr)
	if !ok {
		return 2
	}
	if err := operate(ctx, interrupt, inv, terminal{stdin, stdout, stderr}); err != nil {
		fmt.Fprintln(stderr, "kopscalico:", err)
		return 1
	}
	return 0
}

// parseArgs reads the flags, the operation and the operation's own flags;
// on bad usage it says why on stderr and returns false.
func parseArgs(args []string, stderr io.Writer) (invocation, bool) {
	var inv invocation
	fs := flag.NewFlagSet("kopscalico", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&inv.stack, "stack", "dev", "stack name (its config is Pulumi.<stack>.yaml)")
	fs.StringVar(&inv.dir, "dir", ".", "project directory (holds Pulumi.yaml)")
	fs.BoolVar(&inv.diff, "diff", false, "preview/up: show a detailed diff")
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return inv, false
	}
	if fs.NArg() < 1 {
		fs.Usage()
		return inv, false
	}
	inv.op = fs.Arg(0)
	rest := fs.Args()[1:]
	if inv.op == "break-lease" {
		return parseBreakLease(inv, rest, stderr)
	}
	switch inv.op {
	case "up", "destroy", "cancel", "repair":
		ofs := flag.NewFlagSet("kopscalico "+inv.op, flag.ContinueOnError)
		ofs.SetOutput(stderr)
		ofs.BoolVar(&inv.yes, "yes", false, "go ahead without asking (see the operation above)")
		if inv.op == "up" {
			ofs.BoolVar(&inv.skipPreflight, "skip-preflight", false, "leave out the checks of kops and AWS (a machine that cannot reach AWS)")
		}
		ofs.Usage = fs.Usage
		if err := ofs.Parse(rest); err != nil {
			return inv, false
		}
		rest = ofs.Args()
	}
	if len(rest) > 0 {
		fs.Usage()
		return inv, false
	}
	if inv.op == "cancel" && !inv.yes {
		fmt.Fprintf(stderr, "kopscalico: cancel stops the update running on stack %s now, and a step it cuts short "+
			"stays pending in the state (then run repair); to go ahead: kopscalico --stack %s cancel --yes\n", inv.stack, inv.stack)
		return inv, false
	}
	return inv, true
}

// parseBreakLease reads break-lease's flags and the lease id.
func parseBreakLease(inv invocation, args []string, stderr io.Writer) (invocation, bool) {
	fs := flag.NewFlagSet("kopscalico break-lease", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&inv.lease.state, "state", "", "the kops state store (s3://bucket or file:///dir)")
	fs.StringVar(&inv.lease.name, "name", "", "the kops cluster")
	fs.StringVar(&inv.lease.region, "region", "", "the state store bucket's region (s3://)")
	if err := fs.Parse(args); err != nil {
		return inv, false
	}
	if fs.NArg() != 1 || inv.lease.state == "" || inv.lease.name == "" {
		fmt.Fprint(stderr, "usage: kopscalico break-lease --state URL --name CLUSTER [--region REGION] ID\n"+
			"(the refused run's error names the lease ID and prints this command in full)\n")
		return inv, false
	}
	inv.lease.id = fs.Arg(0)
	return inv, true
}

// breakLease deletes the lease the invocation names, if it is still that id.
func breakLease(ctx context.Context, ref leaseRef, out io.Writer) error {
	store, err := s3lease.Open(ctx, ref.state, ref.region)
	if err != nil {
		return err
	}
	h, err := lease.Break(ctx, store, ref.name, ref.id)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "kopscalico: lease %s of kops cluster %s is broken (it was stack %s's, host %s, pid %d, for %s, since %s); the next run takes the cluster\n",
		h.ID, ref.name, h.Stack, h.Host, h.PID, h.Operation, h.Since.Format(time.RFC3339))
	return nil
}

func operate(ctx context.Context, interrupt <-chan struct{}, inv invocation, term terminal) error {
	if inv.op == "break-lease" {
		return breakLease(ctx, inv.lease, term.out)
	}
	switch inv.op {
	case "up", "preview", "destroy", "refresh", "cancel", "repair":
	default:
		return fmt.Errorf("unknown operation %q: want up, preview, destroy, refresh, cancel or repair", inv.op)
	}
	workDir, err := filepath.Abs(inv.dir)
	if err != nil {
		return err
	}
	env, err := backendEnv(workDir)
	if err != nil {
		return err
	}
	cli, err := pulumiCLI(ctx, "pulumi", interrupt)
	if err != nil {
		return err
	}
	opts := []auto.LocalWorkspaceOption{auto.Pulumi(cli), auto.WorkDir(workDir), auto.EnvVars(env), auto.SecretsProvider("passphrase")}
	var stack auto.Stack
	switch inv.op {
	case "up", "preview", "refresh":
		stack, err = auto.UpsertStackInlineSource(ctx, inv.stack, "kopscalico", infra.Program, opts...)
	default:
		// These act on an existing stack; they never create one.
		stack, err = auto.SelectStackInlineSource(ctx, inv.stack, "kopscalico", infra.Program, opts...)
	}
	if auto.IsSelectStack404Error(err) {
		return fmt.Errorf("no stack %s in the backend %s: %s acts on an existing stack; check --stack and PULUMI_BACKEND_URL", inv.stack, cmp.Or(env["PULUMI_BACKEND_URL"], os.Getenv("PULUMI_BACKEND_URL")), inv.op)
	}
	if err != nil {
		return fmt.Errorf("select stack %s: %w", inv.stack, err)
	}

	ask := func(question string) (bool, error) { return confirm(ctx, interrupt, term, question) }
	switch inv.op {
	case "preview":
		opts := []optpreview.Option{optpreview.ProgressStreams(term.out), optpreview.ErrorProgressStreams(term.errOut)}
		if inv.diff {
			opts = append(opts, optpreview.Diff())
		}
		_, err = stack.Preview(ctx, opts...)
	case "up":
		if err = checkBeforeUp(ctx, stack, inv.skipPreflight); err == nil {
			err = up(ctx, stack, inv, term, ask)
		}
	case "destroy":
		err = destroy(ctx, stack, inv.yes, term, ask)
	case "refresh":
		_, err = stack.Refresh(ctx, optrefresh.ProgressStreams(term.out), optrefresh.ErrorProgressStreams(term.errOut))
	case "cancel":
		err = stack.Cancel(ctx)
		if err == nil {
			fmt.Fprintf(term.out, "kopscalico: the update on stack %s is cancelled; run `kopscalico --stack %s repair` to see what it left pending\n", inv.stack, inv.stack)
		}
	case "repair":
		err = repair(ctx, stack, inv.yes, term.out, term.errOut)
	}
	if err != nil && strings.Contains(err.Error(), "the stack is currently locked") {
		// A file backend keeps the lock of a run that was killed.
		return fmt.Errorf("%s %s: %w\nif no other run is going on, the lock is a killed run's: kopscalico --stack %s cancel --yes", inv.op, inv.stack, err, inv.stack)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", inv.op, inv.stack, err)
	}
	return nil
}

// pulumiCLI is the pulumi CLI at path (or on PATH) in a process group of its
// own: a terminal's Ctrl-C reaches it only through interrupt, as exactly
// one SIGINT.
func pulumiCLI(ctx context.Context, path string, interrupt <-chan struct{}) (pulumicli.Command, error) {
	cli, err := pulumicli.New(ctx, path)
	if err != nil {
		return cli, err
	}
	if cli.Version().LT(minimumCLI) {
		return cli, fmt.Errorf("the pulumi CLI at %s is %s, older than %s: install a newer one, or take it off PATH and run `make up` (it builds the pinned one into .tools/bin)",
			path, cli.Version(), minimumCLI)
	}
	cli.Interrupt = interrupt
	return cli, nil
}

// defaultBackend is the per-user local backend `pulumi login --local` uses
// (~/.pulumi): outside the checkout, so a fresh clone or `git clean` never
// loses the record of a running cluster.
const defaultBackend = "file://~"

// oldStateDir is where earlier versions kept the state: inside the checkout.
const oldStateDir = ".pulumi-state"

// backendEnv picks the backend: PULUMI_BACKEND_URL when set, else
// defaultBackend, unless the checkout holds stacks in oldStateDir. A
// passphrase for the secrets provider is required.
func backendEnv(dir string) (map[string]string, error) {
	env := map[string]string{"PULUMI_SKIP_UPDATE_CHECK": "true"}
	if os.Getenv("PULUMI_BACKEND_URL") == "" {
		old := filepath.Join(dir, oldStateDir)
		if hasStacks(old) {
			return nil, fmt.Errorf("%s holds stack state of the old default backend, and the default is now %s (~/.pulumi): "+
				"keep using it with PULUMI_BACKEND_URL=file://%s, or move each stack: `pulumi stack export` there, then `pulumi stack import` after `pulumi login --local`",
				old, defaultBackend, old)
		}
		env["PULUMI_BACKEND_URL"] = defaultBackend
	}
	if os.Getenv("PULUMI_CONFIG_PASSPHRASE") == "" && os.Getenv("PULUMI_CONFIG_PASSPHRASE_FILE") == "" {
		return nil, errors.New("set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts the stack's secrets, such as the cluster's kubeconfig")
	}
	return env, nil
}

// hasStacks reports whether the file backend at dir holds a stack's state
// (project-scoped or legacy layout, compressed or not).
func hasStacks(dir string) bool {
	for _, pattern := range []string{"*.json*", "*/*.json*"} {
		if m, _ := filepath.Glob(filepath.Join(dir, ".pulumi", "stacks", pattern)); len(m) > 0 {
			return true
		}
	}
	return false
}
