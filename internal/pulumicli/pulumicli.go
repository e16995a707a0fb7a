// Package pulumicli runs the pulumi CLI for the Automation API (auto.Pulumi)
// through childproc: in a process group of its own, so a terminal's Ctrl-C
// reaches it only through Interrupt, and gone when this process dies.
package pulumicli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/kopscalico/kopscalico/internal/childproc"
)

// DefaultGrace is the time the CLI has to exit after its context ends (the
// SDK's own command waits as long).
const DefaultGrace = 10 * time.Second

// unknownExitCode is the exit code the SDK reports when the CLI did not exit
// by itself.
const unknownExitCode = -2

// Command is an auto.PulumiCommand. The CLI gets one SIGINT when Interrupt
// closes (the engine's graceful cancel: running steps finish), a second when
// the context of its call ends (the engine stops at once), then SIGKILL
// after Grace.
type Command struct {
	Path    string // a path, or a name looked up on PATH
	version semver.Version
	// Interrupt, once closed, sends each running CLI, and each started
	// later, one SIGINT.
	Interrupt <-chan struct{}
	// Grace is the time after the second SIGINT before SIGKILL; 0:
	// DefaultGrace.
	Grace time.Duration
	// ParentDeathSignal is what the kernel sends the CLI when this process
	// dies; 0: SIGTERM (the engine cancels: running steps finish).
	ParentDeathSignal syscall.Signal
}

var _ auto.PulumiCommand = Command{}

// New asks the CLI at path for its version.
func New(ctx context.Context, path string) (Command, error) {
	out, err := childproc.Run(ctx, childproc.Cmd{
		Path: path, Args: []string{"version"},
		Env: childproc.Environ("PULUMI_SKIP_UPDATE_CHECK=true"), Timeout: time.Minute,
	})
	if err != nil {
		if pe := (*childproc.Error)(nil); errors.As(err, &pe) && pe.StartFailed {
			return Command{}, fmt.Errorf("no pulumi CLI at %s: install one (any 3.x) or run `make up`, which builds the pinned one into .tools/bin: %w", path, err)
		}
		return Command{}, err
	}
	v, err := semver.ParseTolerant(strings.TrimSpace(string(out)))
	if err != nil {
		return Command{}, fmt.Errorf("%s version printed %q, not a version (a CLI built from source needs its version set with -ldflags, as tools/build.sh does)", path, out)
	}
	return Command{Path: path, version: v}, nil
}

// Version implements auto.PulumiCommand.
func (c Command) Version() semver.Version { return c.version }

// Run implements auto.PulumiCommand like the SDK's own command: the CLI runs
// non-interactively with PULUMI_AUTOMATION_API set and its own directory
// first on PATH, its output copied line by line to the given writers.
func (c Command) Run(ctx context.Context, workdir string, stdin io.Reader,
	additionalOutput, additionalErrorOutput []io.Writer, additionalEnv []string, args ...string,
) (string, string, int, error) {
	env := childproc.Environ(append(additionalEnv, "PULUMI_AUTOMATION_API=true")...)
	if filepath.IsAbs(c.Path) {
		env = prependPath(env, filepath.Dir(c.Path))
	}
	var stderr strings.Builder
	out, err := childproc.Run(ctx, childproc.Cmd{
		Path:  c.Path,
		Args:  nonInteractive(args),
		Env:   env,
		Dir:   workdir,
		Stdin: stdin,
		Lines: func(stream, line string) {
			to := additionalOutput
			if stream == childproc.Stderr {
				stderr.WriteString(line + "\n")
				to = additionalErrorOutput
			}
			for _, w := range to {
				_, _ = io.WriteString(w, line+"\n")
			}
		},
		StopSignal:        syscall.SIGINT,
		Interrupt:         c.Interrupt,
		Grace:             cmp.Or(c.Grace, DefaultGrace),
		ParentDeathSignal: c.ParentDeathSignal,
	})
	code := 0
	if err != nil {
		code = unknownExitCode
		var pe *childproc.Error
		if errors.As(err, &pe) && pe.ExitCode >= 0 {
			code = pe.ExitCode
		}
	}
	return string(out), stderr.String(), code, err
}

// nonInteractive adds --non-interactive unless the CLI's own arguments (those
// before "--") have it: the CLI then fails instead of prompting.
func nonInteractive(args []string) []string {
	own := args
	if i := slices.Index(args, "--"); i >= 0 {
		own = args[:i]
	}
	if slices.Contains(own, "--non-interactive") {
		return args
	}
	return append([]string{"--non-interactive"}, args...)
}

// prependPath puts dir first on PATH: the CLI finds plugins installed next
// to it there.
func prependPath(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			kv = "PATH=" + dir + string(os.PathListSeparator) + p
			found = true
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, "PATH="+dir)
	}
	return out
}
