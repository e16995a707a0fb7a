package pulumicli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/internal/pulumicli/pulumiclitest"
)

// TestTheRealCLIAnswersSignalsAsTheFake runs `pulumi up` of a program whose
// step does not end with the CLI from .tools/bin: Interrupt gets the
// engine's graceful cancel (it waits for the step), the context's end its
// termination, with the fake's messages.
func TestTheRealCLIAnswersSignalsAsTheFake(t *testing.T) {
	path := controlplane.RequireTools(t, "pulumi")["pulumi"]
	cli, err := New(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	interrupt := make(chan struct{})
	cli.Interrupt = interrupt

	dir := t.TempDir()
	backend := "file://" + filepath.Join(dir, "backend")
	for _, sub := range []string{"backend", "home", "work"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	running, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	var once sync.Once
	// A step that does not end by itself: its hook runs until the test ends.
	program := func(ctx *pulumi.Context) error {
		slow, err := ctx.RegisterResourceHook("slow", func(*pulumi.ResourceHookArgs) error {
			once.Do(func() { close(running) })
			<-release
			return nil
		}, nil)
		if err != nil {
			return err
		}
		var step struct{ pulumi.ResourceState }
		return ctx.RegisterComponentResourceV2("signals:index:Slow", "slow", pulumi.Map{}, &step,
			pulumi.ResourceHooks(&pulumi.ResourceHookBinding{BeforeCreate: []*pulumi.ResourceHook{slow}}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stack, err := auto.UpsertStackInlineSource(ctx, "signals", "signals", program,
		auto.Pulumi(cli),
		auto.WorkDir(filepath.Join(dir, "work")),
		auto.PulumiHome(filepath.Join(dir, "home")),
		auto.Project(workspace.Project{
			Name: tokens.PackageName("signals"), Runtime: workspace.NewProjectRuntimeInfo("go", nil),
			Backend: &workspace.ProjectBackend{URL: backend},
		}),
		auto.SecretsProvider("passphrase"),
		auto.EnvVars(map[string]string{
			"PULUMI_CONFIG_PASSPHRASE": "test", "PULUMI_SKIP_UPDATE_CHECK": "true",
			"PULUMI_BACKEND_URL": backend, "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
		}))
	if err != nil {
		t.Fatal(err)
	}
	var progress lineWaiter
	done := make(chan struct{})
	var upErr error
	go func() {
		defer close(done)
		_, upErr = stack.Up(ctx, optup.ProgressStreams(&progress))
	}()
	select {
	case <-running:
	case <-done:
		t.Fatalf("up ended before the program ran: %v\n%s", upErr, progress.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("the program never ran:\n%s", progress.String())
	}

	close(interrupt)
	progress.waitFor(t, pulumiclitest.Cancelling, done)
	select {
	case <-done:
		t.Fatalf("a graceful cancel did not wait for the running step:\n%s", progress.String())
	case <-time.After(time.Second):
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("the CLI did not stop on its second SIGINT:\n%s", progress.String())
	}
	if !strings.Contains(progress.String(), "received; terminating") || upErr == nil {
		t.Errorf("up = %v; progress:\n%s", upErr, progress.String())
	}
}
