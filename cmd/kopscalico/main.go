// Command kopscalico runs the program through the Pulumi Automation API as an
// inline program, so a machine needs only Go and the pulumi CLI (no Go
// language plugin): `go run ./cmd/kopscalico up`.
//
// The stack's configuration is read from Pulumi.yaml and Pulumi.<stack>.yaml
// in the working directory, exactly as `pulumi up` would. The backend is
// PULUMI_BACKEND_URL when set, else a local file backend in .pulumi-state/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/kopscalico/kopscalico/infra"
)

const usage = `usage: kopscalico [flags] up|preview|destroy|refresh

  up       create or update everything (the state store, the kops cluster,
           the policies and workloads); like 'pulumi up --yes'
  preview  show what up would change; runs no kops command and no AWS call of
           the program's own
  destroy  delete everything from the recorded state (like 'pulumi destroy');
           the plugin deletes the kops cluster, then the bucket goes
  refresh  reconcile the state with the cloud

flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kopscalico", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "dev", "stack name (its config is Pulumi.<stack>.yaml)")
	dir := fs.String("dir", ".", "project directory (holds Pulumi.yaml)")
	diff := fs.Bool("diff", false, "preview/up: show a detailed diff")
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	if err := operate(ctx, fs.Arg(0), *stack, *dir, *diff, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "kopscalico:", err)
		return 1
	}
	return 0
}

func operate(ctx context.Context, op, stackName, dir string, diff bool, stdout, stderr io.Writer) error {
	switch op {
	case "up", "preview", "destroy", "refresh":
	default:
		return fmt.Errorf("unknown operation %q: want up, preview, destroy or refresh", op)
	}
	workDir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	env, err := backendEnv(workDir)
	if err != nil {
		return err
	}
	stack, err := auto.UpsertStackInlineSource(ctx, stackName, "kopscalico", infra.Program,
		auto.WorkDir(workDir), auto.EnvVars(env), auto.SecretsProvider("passphrase"))
	if err != nil {
		return fmt.Errorf("select stack %s: %w", stackName, err)
	}

	switch op {
	case "preview":
		opts := []optpreview.Option{optpreview.ProgressStreams(stdout), optpreview.ErrorProgressStreams(stderr)}
		if diff {
			opts = append(opts, optpreview.Diff())
		}
		_, err = stack.Preview(ctx, opts...)
	case "up":
		opts := []optup.Option{optup.ProgressStreams(stdout), optup.ErrorProgressStreams(stderr)}
		if diff {
			opts = append(opts, optup.Diff())
		}
		_, err = stack.Up(ctx, opts...)
	case "destroy":
		_, err = stack.Destroy(ctx, optdestroy.ProgressStreams(stdout), optdestroy.ErrorProgressStreams(stderr))
	case "refresh":
		_, err = stack.Refresh(ctx, optrefresh.ProgressStreams(stdout), optrefresh.ErrorProgressStreams(stderr))
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, stackName, err)
	}
	return nil
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
