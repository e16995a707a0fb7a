// Package pulumitest runs a Pulumi program (normally infra.Program) through
// the Automation API as an inline program against a throwaway file backend,
// with the pulumi CLI and plugins built into .tools/bin, and streams engine
// output to the test log.
//
//	cp := controlplane.Start(t)
//	s := pulumitest.New(t, infra.Program, pulumitest.Config{
//		"kopscalico:manageCluster": pulumitest.Plain("false"),
//		"kopscalico:kubeconfig":    pulumitest.Secret(string(cp.KubeconfigBytes())),
//	})
//	s.Up()
//	s.Preview(optpreview.ExpectNoChanges())
//	s.Destroy()
package pulumitest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/provider"
	"github.com/kopscalico/kopscalico/internal/pulumicli"
)

// Tools are the binaries a stack needs from .tools/bin.
var Tools = []string{"pulumi", "pulumi-resource-kubernetes"}

// Passphrase encrypts the test stacks' secrets.
const Passphrase = "kopscalico-e2e-passphrase"

// DefaultOpTimeout bounds one engine operation (up, preview, ...).
const DefaultOpTimeout = 10 * time.Minute

// Config is stack configuration by full key ("kopscalico:zones").
type Config = auto.ConfigMap

// Plain is a plaintext config value.
func Plain(v string) auto.ConfigValue { return auto.ConfigValue{Value: v} }

// Secret is a config value stored encrypted.
func Secret(v string) auto.ConfigValue { return auto.ConfigValue{Value: v, Secret: true} }

// Options tune New. The zero value is fine.
type Options struct {
	Project   string            // default "kopscalico"
	StackName string            // default "e2e"
	Env       map[string]string // extra environment for the CLI and plugins
	OpTimeout time.Duration     // default DefaultOpTimeout
	// Tools the test needs from .tools/bin; default Tools (the CLI and the
	// Kubernetes provider).
	Tools []string
	// Backend, when set, is the file backend directory to use (another
	// Stack's BackendDir); default: a new one.
	Backend string
	// ConfigFrom, when set, is a Pulumi.<stack>.yaml copied into the new
	// work directory as a checkout holds it (encryption salt included).
	ConfigFrom string
	// ProviderDeps, when set, serves the kopscalico provider in the test
	// process with these seams (the engine attaches to it) instead of
	// running the built plugin binary.
	ProviderDeps *provider.Deps
}

// Stack is a stack of an inline program in a temp file backend.
type Stack struct {
	// Stack is the Automation API stack, for anything not wrapped here.
	Stack auto.Stack
	// Dir holds the backend, the workspace and PULUMI_HOME; removed at cleanup.
	Dir string
	// Marker is set as KOPSCALICO_E2E_MARKER for the CLI and its plugins.
	Marker string

	t         testing.TB
	opTimeout time.Duration
	project   string
	backend   string
	cmd       pulumicli.Command
	env       map[string]string
	mu        sync.Mutex
	ops       int
}

// New creates (or selects) the stack and sets cfg. The stack's processes are
// killed and its directory removed when the test ends.
func New(t testing.TB, program pulumi.RunFunc, cfg Config, opts ...Options) *Stack {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Project == "" {
		o.Project = "kopscalico"
	}
	if o.StackName == "" {
		o.StackName = "e2e"
	}
	if o.OpTimeout == 0 {
		o.OpTimeout = DefaultOpTimeout
	}
	if o.Tools == nil {
		o.Tools = Tools
	}
	tools := controlplane.RequireTools(t, append([]string{"pulumi"}, o.Tools...)...)

	dir, err := os.MkdirTemp("", "kopscalico-e2e-pulumi-")
	if err != nil {
		t.Fatalf("pulumitest: %v", err)
	}
	// The CLI runs from a folder of its own: the command puts the CLI's
	// folder first on PATH, and .tools/bin also holds a real kops, which
	// must not shadow the kops a test puts on PATH.
	cli := filepath.Join(dir, "cli", "pulumi")
	if err := os.MkdirAll(filepath.Dir(cli), 0o700); err != nil {
		t.Fatalf("pulumitest: %v", err)
	}
	if err := os.Symlink(tools["pulumi"], cli); err != nil {
		t.Fatalf("pulumitest: %v", err)
	}
	cmd, err := pulumicli.New(context.Background(), cli)
	if err != nil {
		t.Fatalf("pulumitest: %v", err)
	}
	// No CLI may outlive the test binary, not even to finish a step.
	cmd.ParentDeathSignal, cmd.Grace = syscall.SIGKILL, 15*time.Second
	s := &Stack{Dir: dir, Marker: filepath.Base(dir) + "-" + randomHex(4), t: t, opTimeout: o.OpTimeout, project: o.Project, backend: o.Backend}
	if s.backend == "" {
		s.backend = filepath.Join(dir, "backend")
	}
	t.Cleanup(s.cleanup)

	for _, sub := range []string{"backend", "work", "home", "userhome"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatalf("pulumitest: %v", err)
		}
	}
	if err := installPlugins(filepath.Join(dir, "home"), tools); err != nil {
		t.Fatalf("pulumitest: %v", err)
	}
	env := cliEnv(filepath.Join(dir, "home"), s.backend, s.Marker)
	for k, v := range o.Env {
		env[k] = v
	}
	plugins := &workspace.Plugins{}
	if o.ProviderDeps != nil {
		env["PULUMI_DEBUG_PROVIDERS"] = fmt.Sprintf("%s:%d", pluginapi.Name, serveProvider(t, *o.ProviderDeps))
	} else {
		plugins.Providers = []workspace.PluginOptions{{Name: pluginapi.Name, Path: ProviderPluginDir(t)}}
	}

	if o.ConfigFrom != "" {
		b, err := os.ReadFile(o.ConfigFrom)
		if err != nil {
			t.Fatalf("pulumitest: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "work", "Pulumi."+o.StackName+".yaml"), b, 0o600); err != nil {
			t.Fatalf("pulumitest: %v", err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.OpTimeout)
	defer cancel()
	st, err := auto.UpsertStackInlineSource(ctx, o.StackName, o.Project, program,
		auto.Pulumi(cmd),
		auto.WorkDir(filepath.Join(dir, "work")),
		auto.PulumiHome(filepath.Join(dir, "home")),
		auto.Project(workspace.Project{
			Name:    tokens.PackageName(o.Project),
			Runtime: workspace.NewProjectRuntimeInfo("go", nil),
			Backend: &workspace.ProjectBackend{URL: "file://" + s.backend},
			Plugins: plugins,
		}),
		auto.SecretsProvider("passphrase"),
		auto.EnvVars(env),
	)
	if err != nil {
		t.Fatalf("pulumitest: create stack %s: %v", o.StackName, err)
	}
	s.Stack = st
	s.cmd, s.env = cmd, env
	if len(cfg) > 0 {
		s.SetConfig(cfg)
	}
	return s
}

// SetConfig sets (adds or replaces) config values.
func (s *Stack) SetConfig(cfg Config) {
	s.t.Helper()
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.Stack.SetAllConfig(ctx, cfg); err != nil {
		s.t.Fatalf("pulumitest: set config: %v", err)
	}
}

// Up runs `pulumi up` and fails the test on error.
func (s *Stack) Up(opts ...optup.Option) auto.UpResult {
	s.t.Helper()
	res, err := s.TryUp(opts...)
	if err != nil {
		s.t.Fatalf("pulumitest: up: %v", err)
	}
	return res
}

// TryUp runs `pulumi up` and returns its error (for tests expecting one).
func (s *Stack) TryUp(opts ...optup.Option) (auto.UpResult, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	w := s.logWriter("up")
	defer w.Close()
	return s.Stack.Up(ctx, append([]optup.Option{optup.ProgressStreams(w), optup.ErrorProgressStreams(w)}, opts...)...)
}

// Preview runs `pulumi preview` and fails the test on error. Pass
// optpreview.ExpectNoChanges() to fail on any change.
func (s *Stack) Preview(opts ...optpreview.Option) auto.PreviewResult {
	s.t.Helper()
	res, err := s.TryPreview(opts...)
	if err != nil {
		s.t.Fatalf("pulumitest: preview: %v", err)
	}
	return res
}

// TryPreview runs `pulumi preview` and returns its error.
func (s *Stack) TryPreview(opts ...optpreview.Option) (auto.PreviewResult, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	w := s.logWriter("preview")
	defer w.Close()
	return s.Stack.Preview(ctx, append([]optpreview.Option{optpreview.ProgressStreams(w), optpreview.ErrorProgressStreams(w)}, opts...)...)
}

// Refresh runs `pulumi refresh` and fails the test on error.
func (s *Stack) Refresh(opts ...optrefresh.Option) auto.RefreshResult {
	s.t.Helper()
	ctx, cancel := s.ctx()
	defer cancel()
	w := s.logWriter("refresh")
	defer w.Close()
	res, err := s.Stack.Refresh(ctx, append([]optrefresh.Option{optrefresh.ProgressStreams(w), optrefresh.ErrorProgressStreams(w)}, opts...)...)
	if err != nil {
		s.t.Fatalf("pulumitest: refresh: %v", err)
	}
	return res
}

// Destroy runs `pulumi destroy` (from the state alone, as a user without the
// program's checkout would) and fails the test on error.
func (s *Stack) Destroy(opts ...optdestroy.Option) auto.DestroyResult {
	s.t.Helper()
	res, err := s.TryDestroy(opts...)
	if err != nil {
		s.t.Fatalf("pulumitest: destroy: %v", err)
	}
	return res
}

// TryDestroy runs `pulumi destroy` and returns its error.
func (s *Stack) TryDestroy(opts ...optdestroy.Option) (auto.DestroyResult, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	w := s.logWriter("destroy")
	defer w.Close()
	return s.Stack.Destroy(ctx, append([]optdestroy.Option{
		optdestroy.ProgressStreams(w), optdestroy.ErrorProgressStreams(w),
	}, opts...)...)
}

// Outputs returns the stack outputs (secret ones marked Secret).
func (s *Stack) Outputs() auto.OutputMap {
	s.t.Helper()
	ctx, cancel := s.ctx()
	defer cancel()
	out, err := s.Stack.Outputs(ctx)
	if err != nil {
		s.t.Fatalf("pulumitest: outputs: %v", err)
	}
	return out
}

// ExportState writes `pulumi stack export` (secrets encrypted, unlike the
// Automation API's Stack.Export, which passes --show-secrets) to a file in
// Dir and returns its path: assert that no plaintext secret appears in it.
func (s *Stack) ExportState() string {
	s.t.Helper()
	ctx, cancel := s.ctx()
	defer cancel()
	var env []string
	for k, v := range s.env {
		env = append(env, k+"="+v)
	}
	stdout, stderr, _, err := s.cmd.Run(ctx, s.Stack.Workspace().WorkDir(), nil, nil, nil, env,
		"stack", "export", "--stack", s.Stack.Name())
	if err != nil {
		s.t.Fatalf("pulumitest: pulumi stack export: %v\n%s", err, stderr)
	}
	s.mu.Lock()
	s.ops++
	path := filepath.Join(s.Dir, fmt.Sprintf("export-%d.json", s.ops))
	s.mu.Unlock()
	if err := os.WriteFile(path, []byte(stdout), 0o600); err != nil {
		s.t.Fatalf("pulumitest: %v", err)
	}
	return path
}

// BackendDir is the file backend's directory (its state files sit under
// .pulumi/stacks/<project>/).
func (s *Stack) BackendDir() string { return s.backend }

// FreshCheckout is the same stack as seen from another machine's checkout:
// the same backend and stack config file, and a new work directory and
// PULUMI_HOME (no local file of this one's). opts tune the new one.
func (s *Stack) FreshCheckout(program pulumi.RunFunc, opts Options) *Stack {
	s.t.Helper()
	opts.Project, opts.StackName = s.project, s.Stack.Name()
	opts.Backend = s.backend
	opts.ConfigFrom = filepath.Join(s.Stack.Workspace().WorkDir(), "Pulumi."+s.Stack.Name()+".yaml")
	return New(s.t, program, nil, opts)
}

func (s *Stack) ctx() (context.Context, context.CancelFunc) {
	timeout := s.opTimeout
	if d, ok := s.t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			// Leave time for cleanups before `go test` panics.
			if rest := time.Until(deadline) - 30*time.Second; rest < timeout {
				timeout = max(rest, time.Second)
			}
		}
	}
	return context.WithTimeout(context.Background(), timeout)
}

func (s *Stack) cleanup() {
	if left, err := controlplane.KillMarked(s.Marker, 5*time.Second); err != nil {
		s.t.Errorf("pulumitest: %v", err)
	} else if len(left) > 0 {
		// The CLI's plugins run in their own process groups; a plugin still
		// alive after its CLI exited is a leak worth knowing about.
		s.t.Logf("pulumitest: killed processes left by the pulumi CLI: %v", left)
	}
	if os.Getenv("KOPSCALICO_E2E_KEEP") != "" {
		s.t.Logf("pulumitest: KOPSCALICO_E2E_KEEP set: leaving %s", s.Dir)
		return
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		s.t.Errorf("pulumitest: remove %s: %v", s.Dir, err)
	}
}

// cliEnv is the environment the CLI and its plugins run with: PULUMI_HOME
// home (plugins come from there, never from PATH), a HOME beside it (what a
// run leaves in the user's HOME, kops's credential cache among it, goes with
// the test), a file backend, no update checks or downloads, and the marker
// every started process carries.
func cliEnv(home, backend, marker string) map[string]string {
	return map[string]string{
		"HOME":                     filepath.Join(filepath.Dir(home), "userhome"),
		"PULUMI_CONFIG_PASSPHRASE": Passphrase,
		"PULUMI_SKIP_UPDATE_CHECK": "true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		"PULUMI_HOME":                          home,
		"PULUMI_BACKEND_URL":                   "file://" + backend,
		"PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
		"PULUMI_IGNORE_AMBIENT_PLUGINS":        "true",
		controlplane.EnvMarker:                 marker,
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
