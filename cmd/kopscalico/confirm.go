package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
)

// The questions asked before anything is applied.
const (
	updateQuestion  = "Do you want to perform this update? [y/N] "
	destroyQuestion = "Do you want to perform this destroy? [y/N] "
)

// errNotConfirmed is a run the user did not say yes to.
var errNotConfirmed = errors.New("not confirmed: nothing was applied")

// confirm asks question on the terminal and reads one line: only y or yes
// (in any case) is a yes. A closed input, any other answer or an interrupt
// is a no.
func confirm(ctx context.Context, interrupt <-chan struct{}, term terminal, question string) (bool, error) {
	fmt.Fprint(term.out, question)
	if term.in == nil {
		fmt.Fprintln(term.out)
		return false, nil
	}
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(term.in).ReadString('\n')
		answer <- line
	}()
	select {
	case line := <-answer:
		if !strings.HasSuffix(line, "\n") {
			fmt.Fprintln(term.out) // no answer typed: end the question's line
		}
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes":
			return true, nil
		}
		return false, nil
	case <-interrupt:
		fmt.Fprintln(term.out)
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// notConfirmed says what was left undone and how to go ahead.
func notConfirmed(op string) error {
	return fmt.Errorf("%w (answer y to go ahead; `kopscalico %s --yes` does not ask)", errNotConfirmed, op)
}

// up applies the stack: with yes at once (CI); else it previews with the
// engine's plan saved, asks, and applies under that plan, so no step beyond
// the preview runs (`up --plan` is [EXPERIMENTAL] in pulumi 3.274, honoured).
func up(ctx context.Context, stack auto.Stack, inv invocation, term terminal, ask func(string) (bool, error)) error {
	upOpts := []optup.Option{optup.ProgressStreams(term.out), optup.ErrorProgressStreams(term.errOut)}
	if inv.diff {
		upOpts = append(upOpts, optup.Diff())
	}
	if inv.yes {
		_, err := stack.Up(ctx, upOpts...)
		return err
	}
	dir, err := os.MkdirTemp("", "kopscalico-plan-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	plan := filepath.Join(dir, "plan.json")
	// The CLI's advice to run `pulumi up --plan` with the file is this
	// command's job: those lines are left out.
	errOut := &dropLines{to: term.errOut, prefixes: []string{"Update plan written to ", "Run `pulumi up --plan="}}
	previewOpts := []optpreview.Option{optpreview.ProgressStreams(term.out), optpreview.ErrorProgressStreams(errOut), optpreview.Plan(plan)}
	if inv.diff {
		previewOpts = append(previewOpts, optpreview.Diff())
	}
	_, err = stack.Preview(ctx, previewOpts...)
	errOut.Flush()
	if err != nil {
		return fmt.Errorf("preview: %w", err)
	}
	if ok, err := ask(updateQuestion); err != nil || !ok {
		return cmp.Or(err, notConfirmed("up"))
	}
	_, err = stack.Up(ctx, append(upOpts, optup.Plan(plan))...)
	if err != nil && strings.Contains(err.Error(), "violates plan") {
		return fmt.Errorf("%w\nthe stack, its configuration or the program changed since the preview, and the engine applies only what the preview showed: run up again to see the new preview", err)
	}
	return err
}

// dropLines writes the lines it is given to to, but those starting with one
// of prefixes.
type dropLines struct {
	to       io.Writer
	prefixes []string
	line     []byte
}

func (d *dropLines) Write(p []byte) (int, error) {
	d.line = append(d.line, p...)
	for {
		i := bytes.IndexByte(d.line, '\n')
		if i < 0 {
			return len(p), nil
		}
		d.emit(d.line[:i+1])
		d.line = d.line[i+1:]
	}
}

// Flush writes a last line that has no newline.
func (d *dropLines) Flush() {
	d.emit(d.line)
	d.line = nil
}

func (d *dropLines) emit(line []byte) {
	for _, p := range d.prefixes {
		if bytes.HasPrefix(line, []byte(p)) {
			return
		}
	}
	_, _ = d.to.Write(line)
}

// destroy deletes the stack's resources, asking first unless yes. A destroy
// has no plan: the state is read before the preview and after the answer,
// and a change in between (another run's) stops it.
func destroy(ctx context.Context, stack auto.Stack, yes bool, term terminal, ask func(string) (bool, error)) error {
	opts := []optdestroy.Option{optdestroy.ProgressStreams(term.out), optdestroy.ErrorProgressStreams(term.errOut)}
	if yes {
		_, err := stack.Destroy(ctx, opts...)
		return err
	}
	before, err := stateResources(ctx, stack)
	if err != nil {
		return err
	}
	if _, err := stack.PreviewDestroy(ctx, opts...); err != nil {
		return fmt.Errorf("preview: %w", err)
	}
	if ok, err := ask(destroyQuestion); err != nil || !ok {
		return cmp.Or(err, notConfirmed("destroy"))
	}
	after, err := stateResources(ctx, stack)
	if err != nil {
		return err
	}
	if !bytes.Equal(before, after) {
		return errors.New("the stack's state changed since the preview (another run?): nothing was destroyed; run destroy again to see what it deletes now")
	}
	_, err = stack.Destroy(ctx, opts...)
	return err
}

// stateResources is the stack's recorded resources, as JSON.
func stateResources(ctx context.Context, stack auto.Stack) ([]byte, error) {
	dep, err := stackDeployment(ctx, stack)
	if err != nil {
		return nil, err
	}
	return json.Marshal(dep.Resources)
}
