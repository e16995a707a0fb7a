// Command kopscalico runs the program through the Pulumi Automation API as an
// inline program, so a machine needs only Go and the pulumi CLI (no Go
// language plugin): `go run ./cmd/kopscalico up`.
//
// The stack's configuration is read from Pulumi.yaml and Pulumi.<stack>.yaml
// in the working directory, exactly as `pulumi up` would. The backend is
// PULUMI_BACKEND_URL when set, else a local file backend in .pulumi-state/.
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

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/kopscalico/kopscalico/infra"
	"github.com/kopscalico/kopscalico/internal/pulumicli"
)

const usage = `usage: kopscalico [flags] up|preview|destroy|refresh
       kopscalico [flags] cancel|repair [--yes]

  up       create or update everything (the state store, the kops cluster,
           the policies and workloads); like 'pulumi up --yes'
  preview  show what up would change; runs no kops command and no AWS call of
           the program's own
  destroy  delete everything from the recorded state (like 'pulumi destroy');
           the plugin deletes the kops cluster, then the bucket goes
  refresh  reconcile the state with the cloud
  cancel   stop the update running on the stack (another run's, or one that
           died and left the backend locked); needs --yes, as a step it cuts
           short stays pending in the state
  repair   list the operations a killed run left pending in the stack's state;
           with --yes, refresh the stack and drop the pending creates (first
           check that what they were creating does not exist, or import it)

Interrupt (Ctrl-C) once: the update is cancelled; running steps are asked to
stop and the state records how they end. Twice: it stops now, and what it cuts
short is left pending (see repair).

flags:
`

// minimumCLI is the oldest pulumi CLI the program is tested with.
var minimumCLI = semver.MustParse("3.274.0")

func main() {
	ctx, interrupt, stop := interrupts(context.Background(), os.Stderr)
	code := run(ctx, interrupt, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// invocation is a parsed command line.
type invocation struct {
	op, stack, dir string
	diff           bool // preview, up
	yes            bool // cancel, repair
}

func run(ctx context.Context, interrupt <-chan struct{}, args []string, stdout, stderr io.Writer) int {
	inv, ok := parseArgs(args, stderr)
	if !ok {
		return 2
	}
	if err := operate(ctx, interrupt, inv, stdout, stderr); err != nil {
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
	switch inv.op {
	case "cancel", "repair":
		ofs := flag.NewFlagSet("kopscalico "+inv.op, flag.ContinueOnError)
		ofs.SetOutput(stderr)
		ofs.BoolVar(&inv.yes, "yes", false, "go ahead (see the operation above)")
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

func operate(ctx context.Context, interrupt <-chan struct{}, inv invocation, stdout, stderr io.Writer) error {
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
	if inv.op == "cancel" || inv.op == "repair" {
		// These mend an existing stack; they never create one.
		stack, err = auto.SelectStackInlineSource(ctx, inv.stack, "kopscalico", infra.Program, opts...)
	} else {
		stack, err = auto.UpsertStackInlineSource(ctx, inv.stack, "kopscalico", infra.Program, opts...)
	}
	if auto.IsSelectStack404Error(err) {
		return fmt.Errorf("no stack %s in the backend %s: %s mends an existing stack; check --stack and PULUMI_BACKEND_URL", inv.stack, cmp.Or(env["PULUMI_BACKEND_URL"], os.Getenv("PULUMI_BACKEND_URL")), inv.op)
	}
	if err != nil {
		return fmt.Errorf("select stack %s: %w", inv.stack, err)
	}

	switch inv.op {
	case "preview":
		opts := []optpreview.Option{optpreview.ProgressStreams(stdout), optpreview.ErrorProgressStreams(stderr)}
		if inv.diff {
			opts = append(opts, optpreview.Diff())
		}
		_, err = stack.Preview(ctx, opts...)
	case "up":
		opts := []optup.Option{optup.ProgressStreams(stdout), optup.ErrorProgressStreams(stderr)}
		if inv.diff {
			opts = append(opts, optup.Diff())
		}
		_, err = stack.Up(ctx, opts...)
	case "destroy":
		_, err = stack.Destroy(ctx, optdestroy.ProgressStreams(stdout), optdestroy.ErrorProgressStreams(stderr))
	case "refresh":
		_, err = stack.Refresh(ctx, optrefresh.ProgressStreams(stdout), optrefresh.ErrorProgressStreams(stderr))
	case "cancel":
		err = stack.Cancel(ctx)
		if err == nil {
			fmt.Fprintf(stdout, "kopscalico: the update on stack %s is cancelled; run `kopscalico --stack %s repair` to see what it left pending\n", inv.stack, inv.stack)
		}
	case "repair":
		err = repair(ctx, stack, inv.yes, stdout, stderr)
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

// backendEnv picks the backend: PULUMI_BACKEND_URL when set (s3://, Pulumi
// Cloud, ...), else a file backend under <dir>/.pulumi-state so no account
// is needed. A passphrase for the secrets provider is required.
func backendEnv(dir string) (map[string]string, error) {
	env := map[string]string{"PULUMI_SKIP_UPDATE_CHECK": "true"}
	if os.Getenv("PULUMI_BACKEND_URL") == "" {
		state := filepath.Join(dir, ".pulumi-state")
		if err := os.MkdirAll(state, 0o700); err != nil {
			return nil, err
		}
		env["PULUMI_BACKEND_URL"] = "file://" + state
	}
	if os.Getenv("PULUMI_CONFIG_PASSPHRASE") == "" && os.Getenv("PULUMI_CONFIG_PASSPHRASE_FILE") == "" {
		return nil, errors.New("set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE): it encrypts the stack's secrets, such as the cluster's kubeconfig")
	}
	return env, nil
}
