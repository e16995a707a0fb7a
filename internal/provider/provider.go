// Package provider is the resource provider plugin pulumi-resource-kopscalico:
// the kops cluster as a Pulumi custom resource (Cluster), the read-only
// security-group check (SecurityGroupCheck), the probes' recorded verdicts
// (ProbeVerdicts) and the guard that keeps the state store while it holds a
// cluster (StateStoreGuard). The engine owns their state, so a failed create
// is recorded, delete runs from recorded state, `protect` is honoured,
// refresh reads the cluster, and preview runs no kops command.
package provider

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	pulumiprovider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/lease"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/probe"
	"github.com/kopscalico/kopscalico/internal/sgcheck"
)

// Version is the plugin's version, reported to the engine.
const Version = "0.1.0"

// Logger is where progress goes: the engine's log, attached to a resource
// (provider.HostClient in the plugin).
type Logger interface {
	Log(ctx context.Context, sev diag.Severity, urn resource.URN, msg string) error
}

// Deps are the seams where the provider meets the outside world.
type Deps struct {
	// NewKopsRunner runs the kops CLI; log receives every output line.
	NewKopsRunner func(binary string, log func(stream, line string)) kops.Runner
	// NewEC2 gives the read-only EC2 client of the security-group check.
	NewEC2 func(ctx context.Context, region string) (sgcheck.EC2API, error)
	// ProbeReader reads the probe Jobs' verdicts from their pods.
	ProbeReader probe.ResultReader
	// NodeReader reads the kubelet versions of the cluster's nodes; nil:
	// not read (nothing is recorded).
	NodeReader NodeReader
	// Leases opens the lease store of a kops state store (s3lease.Open):
	// a Cluster's create, update and delete hold the cluster's lease. nil:
	// none is taken.
	Leases func(ctx context.Context, stateStore, region string) (lease.Store, error)
}

// NodeReader counts the cluster's nodes by instance group and kubelet
// version, through the API server a kubeconfig names.
type NodeReader interface {
	NodeVersions(ctx context.Context, kubeconfig string) ([]kops.NodeVersion, error)
}

// Provider implements plugin.Provider for the kopscalico resources.
type Provider struct {
	plugin.UnimplementedProvider

	log  Logger
	deps Deps

	mu     sync.Mutex
	config Config
	// cancel ends every running operation (kops commands are stopped) when
	// the engine signals cancellation; ctx is then renewed, as a provider
	// served apart from the engine (PULUMI_DEBUG_PROVIDERS) outlives the run.
	ctx    context.Context
	cancel context.CancelFunc
	// running counts the engine calls in progress (Stop waits for them).
	running sync.WaitGroup
}

var _ plugin.GrpcProvider = (*Provider)(nil)

// Attach implements plugin.GrpcProvider: a provider started apart from the
// engine (PULUMI_DEBUG_PROVIDERS) is told the engine's address here, and
// logs there unless it was given a logger.
func (p *Provider) Attach(address string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.log != nil {
		return nil
	}
	host, err := pulumiprovider.NewHostClient(address)
	if err != nil {
		return err
	}
	p.log = host
	return nil
}

// New returns a provider that logs to log (nil: nowhere).
func New(log Logger, deps Deps) *Provider {
	ctx, cancel := context.WithCancel(context.Background())
	return &Provider{log: log, deps: deps, config: DefaultConfig(), ctx: ctx, cancel: cancel}
}

func (p *Provider) logf(ctx context.Context, sev diag.Severity, urn resource.URN, format string, args ...any) {
	p.mu.Lock()
	log := p.log
	p.mu.Unlock()
	if log != nil {
		_ = log.Log(ctx, sev, urn, fmt.Sprintf(format, args...))
	}
}

// operation is the context of one engine call: it ends when the engine
// cancels (SignalCancellation) or the call's own context ends.
func (p *Provider) operation(ctx context.Context) (context.Context, context.CancelFunc) {
	op, cancel := context.WithCancel(ctx)
	p.mu.Lock()
	running := p.ctx
	p.mu.Unlock()
	p.running.Add(1)
	stop := context.AfterFunc(running, cancel)
	return op, func() { stop(); cancel(); p.running.Done() }
}

// Stop is the plugin's answer to SIGTERM: the running operations are
// cancelled as by SignalCancellation (their kops commands stopped) and get
// up to wait to return, each releasing its cluster's lease on the way; it
// reports whether they all returned.
func (p *Provider) Stop(wait time.Duration) bool {
	_ = p.SignalCancellation(context.Background())
	done := make(chan struct{})
	go func() { p.running.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(wait):
		return false
	}
}

func (p *Provider) configured() Config {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.config
}

// GetPluginInfo implements plugin.Provider.
func (p *Provider) GetPluginInfo(context.Context) (plugin.PluginInfo, error) {
	v := semver.MustParse(Version)
	return plugin.PluginInfo{Version: &v}, nil
}

// GetSchema implements plugin.Provider: every resource with its inputs and
// outputs, from the wire structs (`pulumi package get-schema` prints it).
func (p *Provider) GetSchema(context.Context, plugin.GetSchemaRequest) (plugin.GetSchemaResponse, error) {
	schema, err := pluginapi.Schema(Version)
	return plugin.GetSchemaResponse{Schema: schema}, err
}

// CheckConfig implements plugin.Provider.
func (p *Provider) CheckConfig(_ context.Context, req plugin.CheckConfigRequest) (plugin.CheckConfigResponse, error) {
	if _, failures := parseConfig(req.News); len(failures) > 0 {
		return plugin.CheckConfigResponse{Failures: failures}, nil
	}
	return plugin.CheckConfigResponse{Properties: req.News}, nil
}

// DiffConfig implements plugin.Provider. A change of the provider's settings
// never replaces it: replacing the provider would replace every cluster it
// manages.
func (p *Provider) DiffConfig(_ context.Context, req plugin.DiffConfigRequest) (plugin.DiffConfigResponse, error) {
	return updateDiff(pluginapi.Provider, req.OldInputs, req.NewInputs), nil
}

// Configure implements plugin.Provider.
func (p *Provider) Configure(_ context.Context, req plugin.ConfigureRequest) (plugin.ConfigureResponse, error) {
	cfg, failures := parseConfig(req.Inputs)
	if len(failures) > 0 {
		return plugin.ConfigureResponse{}, fmt.Errorf("kopscalico provider: %s: %s", failures[0].Property, failures[0].Reason)
	}
	p.mu.Lock()
	p.config = cfg
	p.mu.Unlock()
	return plugin.ConfigureResponse{}, nil
}

// SignalCancellation implements plugin.Provider: running kops commands are
// stopped (their process groups get SIGTERM, then SIGKILL).
func (p *Provider) SignalCancellation(context.Context) error {
	p.mu.Lock()
	cancel := p.cancel
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.mu.Unlock()
	cancel()
	return nil
}

// resourceFor returns the handler of a resource type.
func (p *Provider) resourceFor(t tokens.Type) (handler, error) {
	switch string(t) {
	case pluginapi.ClusterType:
		return &cluster{p: p}, nil
	case pluginapi.SecurityGroupCheckType:
		return recordedCheck{pluginapi.SecurityGroupCheck, &securityGroupCheck{p: p}}, nil
	case pluginapi.StateStoreGuardType:
		return &stateStoreGuard{p: p}, nil
	case pluginapi.ProbeVerdictsType:
		return recordedCheck{pluginapi.ProbeVerdicts, &probeVerdicts{p: p}}, nil
	case pluginapi.CalicoDataplaneType:
		return newCalicoDataplane(p), nil
	}
	return nil, fmt.Errorf("kopscalico provider: unknown resource type %q", t)
}

// handler is one resource type's CRUD.
type handler interface {
	check(ctx context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error)
	diff(ctx context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error)
	create(ctx context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error)
	read(ctx context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error)
	update(ctx context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error)
	delete(ctx context.Context, req plugin.DeleteRequest) (plugin.DeleteResponse, error)
}

// Check implements plugin.Provider.
func (p *Provider) Check(ctx context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	h, err := p.resourceFor(req.Type)
	if err != nil {
		return plugin.CheckResponse{}, err
	}
	// The engine records a secret input secret from here on.
	resp, err := h.check(ctx, req)
	r, _ := pluginapi.ResourceOf(string(req.Type))
	resp.Properties = r.MarkSecrets(resp.Properties)
	return resp, err
}

// Diff implements plugin.Provider.
func (p *Provider) Diff(ctx context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	h, err := p.resourceFor(req.Type)
	if err != nil {
		return plugin.DiffResponse{}, err
	}
	return h.diff(ctx, req)
}

// Create implements plugin.Provider.
func (p *Provider) Create(ctx context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	h, err := p.resourceFor(req.Type)
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	ctx, done := p.operation(ctx)
	defer done()
	return h.create(ctx, req)
}

// Read implements plugin.Provider.
func (p *Provider) Read(ctx context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	h, err := p.resourceFor(req.Type)
	if err != nil {
		return plugin.ReadResponse{}, err
	}
	ctx, done := p.operation(ctx)
	defer done()
	return h.read(ctx, req)
}

// Update implements plugin.Provider.
func (p *Provider) Update(ctx context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
	h, err := p.resourceFor(req.Type)
	if err != nil {
		return plugin.UpdateResponse{}, err
	}
	ctx, done := p.operation(ctx)
	defer done()
	return h.update(ctx, req)
}

// Delete implements plugin.Provider.
func (p *Provider) Delete(ctx context.Context, req plugin.DeleteRequest) (plugin.DeleteResponse, error) {
	h, err := p.resourceFor(req.Type)
	if err != nil {
		return plugin.DeleteResponse{}, err
	}
	ctx, done := p.operation(ctx)
	defer done()
	return h.delete(ctx, req)
}

// Config is the provider's own configuration (the inputs of its
// pulumi:providers:kopscalico resource): how to run kops, not what to build.
type Config struct {
	KopsBinary           string
	CommandTimeout       time.Duration
	ValidateTimeout      time.Duration
	RollingUpdateTimeout time.Duration
	// StateStore is where `pulumi import` of a Cluster looks for it: an
	// import gives only the cluster name. A Cluster's own operations use the
	// store recorded in its state.
	StateStore string
	// Stack is the stack's owner mark (organization/project/stack), and
	// TakeOverFrom another stack's mark its Clusters may replace.
	Stack, TakeOverFrom string
}

// DefaultConfig is the configuration of an unconfigured provider.
func DefaultConfig() Config {
	return Config{KopsBinary: "kops", CommandTimeout: config.DefaultKopsTimeout, ValidateTimeout: config.DefaultValidateTimeout, RollingUpdateTimeout: config.DefaultRollingUpdateTimeout}
}

// parseConfig reads the provider's inputs; unset keys keep their defaults.
func parseConfig(props resource.PropertyMap) (Config, []plugin.CheckFailure) {
	cfg := DefaultConfig()
	var args pluginapi.ProviderArgs
	if err := pluginapi.Decode(props, &args); err != nil {
		return cfg, []plugin.CheckFailure{{Reason: err.Error()}}
	}
	var failures []plugin.CheckFailure
	if args.KopsBinary != "" {
		cfg.KopsBinary = args.KopsBinary
	}
	for _, d := range []struct {
		src *string
		dst *time.Duration
	}{{&args.KopsTimeout, &cfg.CommandTimeout}, {&args.ValidateTimeout, &cfg.ValidateTimeout}, {&args.RollingUpdateTimeout, &cfg.RollingUpdateTimeout}} {
		if *d.src == "" {
			continue
		}
		v, err := time.ParseDuration(*d.src)
		if err != nil || v <= 0 {
			f, _ := pluginapi.FieldName(&args, d.src)
			failures = append(failures, plugin.CheckFailure{Property: resource.PropertyKey(f.Name), Reason: fmt.Sprintf("%q is not a positive duration (e.g. 10m)", *d.src)})
			continue
		}
		*d.dst = v
	}
	cfg.StateStore = args.StateStore
	cfg.Stack, cfg.TakeOverFrom = args.Stack, args.TakeOverClusterFrom
	return cfg, failures
}

// timeouts are the kops timeouts of a configuration: the one converter into
// kops.Timeouts (the program's config reaches it through the provider's inputs).
func (c Config) timeouts() kops.Timeouts {
	return kops.Timeouts{Command: c.CommandTimeout, Validate: c.ValidateTimeout, RollingUpdate: c.RollingUpdateTimeout}
}
