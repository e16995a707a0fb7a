package pulumitest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/provider"
)

// pluginBuild is the plugin as the tests build it: its kops children
// inherit the harness's marker (internal/kops harnessEnv), which a release
// build keeps from them.
var pluginBuild = goBuild{ldflags: "-X github.com/kopscalico/kopscalico/internal/kops.harnessEnv=" + controlplane.EnvMarker}

// ProviderPluginDir builds cmd/pulumi-resource-kopscalico once per test
// process and returns the directory holding it, for the project's
// plugins.providers (as Pulumi.yaml lists ./bin).
func ProviderPluginDir(t testing.TB) string {
	t.Helper()
	return filepath.Dir(pluginBuild.path(t, "github.com/kopscalico/kopscalico/cmd/pulumi-resource-kopscalico", "pulumi-resource-"+pluginapi.Name))
}

// goBuild is one `go build` of a command per test process.
type goBuild struct {
	ldflags string // go build -ldflags
	once    sync.Once
	bin     string
	err     error
}

// path builds pkg into a temporary directory as name, the first time, and
// returns the binary's path.
func (b *goBuild) path(t testing.TB, pkg, name string) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "kopscalico-build-")
		if err != nil {
			b.err = err
			return
		}
		b.bin = filepath.Join(dir, name)
		if out, err := exec.Command("go", "build", "-ldflags", b.ldflags, "-o", b.bin, pkg).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("build %s: %v\n%s", pkg, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.bin
}

// serveProvider runs the provider in this test process with deps, for the
// engine to attach to (PULUMI_DEBUG_PROVIDERS), and returns its port; it
// stops when the test ends. Its log goes to the test log.
func serveProvider(t testing.TB, deps provider.Deps) int {
	t.Helper()
	cancel := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(srv, plugin.NewProviderServer(provider.New(testLogger{t}, deps)))
			return nil
		},
	})
	if err != nil {
		t.Fatalf("pulumitest: serve the provider: %v", err)
	}
	t.Cleanup(func() { close(cancel); <-handle.Done })
	return handle.Port
}

type testLogger struct{ t testing.TB }

func (l testLogger) Log(_ context.Context, sev diag.Severity, urn resource.URN, msg string) error {
	l.t.Logf("provider %s %s: %s", sev, urn.Name(), msg)
	return nil
}
