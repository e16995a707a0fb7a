package infra

// The kops cluster component, `kopscalico:kops:Cluster`.
//
// Wiring for program.go (lead):
//
//	cluster, err := DeployCluster(ctx, cfg, store.URL, deps.NewKopsRunner,
//		pulumi.DependsOn(store.Ready))
//	// cluster.Kubeconfig (secret StringOutput) -> kubernetes.Provider{Kubeconfig, ClusterIdentifier: cfg.Cluster.Name}
//	// cluster.Name      (StringOutput)
//
// with Deps carrying
//
//	NewKopsRunner func(cfg config.Config, log func(stream, line string)) kops.Runner
//
// and DefaultDeps setting it to NewKopsExecRunner. DeployCluster must be
// called at most once per program run (it registers the hooks).
//
// The kubeconfig file lives at KubeconfigPath(cfg): .kopscalico/<stack>/kubeconfig
// under the working directory, or under $KOPSCALICO_WORKDIR when set (the
// end-to-end tests point it at a temp dir). Add .kopscalico/ to .gitignore.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
)

// ClusterType is the component's type token.
const ClusterType = "kopscalico:kops:Cluster"

// Hook names: stable, because the engine records them in the state and
// `pulumi destroy --run-program` finds the delete hook by name.
const (
	hookBeforeCreate = "kopscalico-kops-cluster-before-create"
	hookBeforeUpdate = "kopscalico-kops-cluster-before-update"
	hookBeforeDelete = "kopscalico-kops-cluster-before-delete"
)

// EnvWorkdir overrides the directory the program keeps local files in
// (default .kopscalico under the working directory).
const EnvWorkdir = "KOPSCALICO_WORKDIR"

// KopsCluster is the kops cluster component: its inputs are the desired
// cluster, and its resource hooks run kops (create or convert before
// create, apply before update, delete before delete). Preview runs no hook.
type KopsCluster struct {
	pulumi.ResourceState

	// Name is the kops cluster name, known once the cluster step is done.
	Name pulumi.StringOutput `pulumi:"name"`
	// Kubeconfig is the cluster's admin kubeconfig (secret).
	Kubeconfig pulumi.StringOutput `pulumi:"kubeconfig"`
	// Networking is the spec.networking the component applies (YAML).
	Networking pulumi.StringOutput `pulumi:"networking"`
}

// KubeconfigPath is the kubeconfig file the program controls for a stack.
func KubeconfigPath(cfg config.Config) string {
	dir := os.Getenv(EnvWorkdir)
	if dir == "" {
		dir = ".kopscalico"
	}
	return filepath.Join(dir, cfg.Stack, "kubeconfig")
}

// NewKopsExecRunner is the real kops runner: the configured binary, the
// configured per-command timeout as a default, every output line to log.
func NewKopsExecRunner(cfg config.Config, log func(stream, line string)) kops.Runner {
	return &kops.ExecRunner{Binary: cfg.Kops.Binary, Timeout: cfg.Kops.CommandTimeout, Log: log}
}

// clusterInputs are the component's inputs: the desired cluster plus what
// it renders to, so a preview shows the exact networking spec and
// `kops create cluster` command the hooks will use.
func clusterInputs(cfg config.Config, stateStore pulumi.StringInput) (pulumi.Map, string, error) {
	// Validate with the URL known from config; the real one comes with the input.
	probe := kops.DesiredFromConfig(cfg, cfg.StateStore.URL())
	if err := probe.Validate(); err != nil {
		return nil, "", err
	}
	if _, err := kops.CreateClusterArgs(probe); err != nil {
		return nil, "", err
	}
	networking, err := kops.RenderNetworking(probe)
	if err != nil {
		return nil, "", err
	}
	b, err := json.Marshal(probe)
	if err != nil {
		return nil, "", err
	}
	var plain map[string]any
	if err := json.Unmarshal(b, &plain); err != nil {
		return nil, "", err
	}
	delete(plain, "stateStore")
	inputs := pulumi.ToMap(plain)
	inputs["stateStore"] = stateStore
	inputs["networking"] = pulumi.String(networking)
	inputs["createArgs"] = stateStore.ToStringOutput().ApplyT(func(url string) ([]string, error) {
		return kops.CreateClusterArgs(kops.DesiredFromConfig(cfg, url))
	}).(pulumi.StringArrayOutput)
	return inputs, networking, nil
}

// desiredFromInputs decodes the hook's view of the component inputs.
func desiredFromInputs(props resource.PropertyMap) (kops.Desired, error) {
	var d kops.Desired
	if props == nil {
		return d, errors.New("the kops cluster hook got no inputs")
	}
	b, err := json.Marshal(plainValue(resource.NewObjectProperty(props)))
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("decode kops cluster inputs: %w", err)
	}
	return d, nil
}

// plainValue is v as plain Go values, secrets unwrapped (the hook needs the
// values; nothing here is logged).
func plainValue(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return plainValue(v.SecretValue().Element)
	case v.IsOutput():
		return plainValue(v.OutputValue().Element)
	case v.IsObject():
		m := map[string]any{}
		for k, e := range v.ObjectValue() {
			m[string(k)] = plainValue(e)
		}
		return m
	case v.IsArray():
		var a []any
		for _, e := range v.ArrayValue() {
			a = append(a, plainValue(e))
		}
		return a
	}
	return v.Mappable()
}

// DeployCluster registers the kops cluster component and its hooks, and
// returns it with its kubeconfig output. stateStore is the KOPS_STATE_STORE
// URL (the bucket output, so the component waits for the bucket);
// newRunner builds the kops runner (Deps.NewKopsRunner).
func DeployCluster(ctx *pulumi.Context, cfg config.Config, stateStore pulumi.StringInput,
	newRunner func(cfg config.Config, log func(stream, line string)) kops.Runner,
	opts ...pulumi.ResourceOption,
) (*KopsCluster, error) {
	inputs, networking, err := clusterInputs(cfg, stateStore)
	if err != nil {
		return nil, err
	}
	comp := &KopsCluster{}

	// A before-hook blocks the component's step, and ctx.Log with a
	// Resource waits for that resource's URN: hook logs carry no resource
	// (they show under the stack) and are prefixed with the cluster name.
	info := func(msg string) { _ = ctx.Log.Info(msg, nil) }
	warn := func(msg string) { _ = ctx.Log.Warn(msg, nil) }
	manager := func() *kops.Manager {
		prefix := cfg.Cluster.Name + ": "
		runner := newRunner(cfg, func(stream, line string) {
			if strings.TrimSpace(line) != "" {
				info(prefix + line)
			}
		})
		return &kops.Manager{
			Runner:     runner,
			Timeouts:   kops.TimeoutsFromConfig(cfg.Kops),
			Kubeconfig: KubeconfigPath(cfg),
			AdminTTL:   cfg.Kops.AdminCredentialTTL,
			Logf:       func(f string, a ...any) { info(prefix + fmt.Sprintf(f, a...)) },
			Warnf:      func(f string, a ...any) { warn(prefix + fmt.Sprintf(f, a...)) },
		}
	}

	beforeCreate, err := ctx.RegisterResourceHook(hookBeforeCreate, func(args *pulumi.ResourceHookArgs) error {
		d, err := desiredFromInputs(args.NewInputs)
		if err != nil {
			return err
		}
		_, err = manager().Ensure(context.Background(), d)
		return err
	}, nil)
	if err != nil {
		return nil, err
	}
	beforeUpdate, err := ctx.RegisterResourceHook(hookBeforeUpdate, func(args *pulumi.ResourceHookArgs) error {
		old, err := desiredFromInputs(args.OldInputs)
		if err != nil {
			return err
		}
		d, err := desiredFromInputs(args.NewInputs)
		if err != nil {
			return err
		}
		_, err = manager().Update(context.Background(), old, d)
		return err
	}, nil)
	if err != nil {
		return nil, err
	}
	beforeDelete, err := ctx.RegisterResourceHook(hookBeforeDelete, func(args *pulumi.ResourceHookArgs) error {
		d, err := desiredFromInputs(args.OldInputs)
		if err != nil {
			return err
		}
		return manager().Delete(context.Background(), d)
	}, nil)
	if err != nil {
		return nil, err
	}

	opts = append(opts, pulumi.ResourceHooks(&pulumi.ResourceHookBinding{
		BeforeCreate: []*pulumi.ResourceHook{beforeCreate},
		BeforeUpdate: []*pulumi.ResourceHook{beforeUpdate},
		BeforeDelete: []*pulumi.ResourceHook{beforeDelete},
	}))
	if err := ctx.RegisterComponentResourceV2(ClusterType, cfg.Cluster.Name, inputs, comp, opts...); err != nil {
		return nil, err
	}

	name := cfg.Cluster.Name
	// The URN resolves once the component's step (and so its hooks) is done.
	comp.Name = comp.URN().ApplyT(func(pulumi.URN) string { return name }).(pulumi.StringOutput)
	comp.Networking = comp.URN().ApplyT(func(pulumi.URN) string { return networking }).(pulumi.StringOutput)
	comp.Kubeconfig = clusterKubeconfig(ctx, cfg, comp, stateStore, manager)

	if err := ctx.RegisterResourceOutputs(comp, pulumi.Map{
		"name":       comp.Name,
		"networking": comp.Networking,
	}); err != nil {
		return nil, err
	}
	return comp, nil
}

// clusterKubeconfig is the admin kubeconfig as a secret output. At up,
// after the component's step, the cached file is exported again only when
// it is missing, for another cluster, or near expiry, so an unchanged
// cluster gives the same content (and no provider diff) run after run. A
// preview never runs kops: it uses the cached file, or an unknown.
func clusterKubeconfig(ctx *pulumi.Context, cfg config.Config, comp *KopsCluster, stateStore pulumi.StringInput, manager func() *kops.Manager) pulumi.StringOutput {
	path := KubeconfigPath(cfg)
	if ctx.DryRun() {
		b, err := os.ReadFile(path)
		if err != nil {
			return pulumi.ToSecret(pulumi.UnsafeUnknownOutput([]pulumi.Resource{comp})).(pulumi.AnyOutput).
				ApplyT(func(v any) string { s, _ := v.(string); return s }).(pulumi.StringOutput)
		}
		content := string(b)
		return pulumi.ToSecret(comp.URN().ApplyT(func(pulumi.URN) string { return content })).(pulumi.StringOutput)
	}
	out := pulumi.All(comp.URN(), stateStore).ApplyTWithContext(ctx.Context(), func(c context.Context, v []any) (string, error) {
		url, _ := v[1].(string)
		d := kops.DesiredFromConfig(cfg, url)
		if err := manager().EnsureKubeconfig(c, d); err != nil {
			return "", err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("kops cluster %s: read kubeconfig: %w", cfg.Cluster.Name, err)
		}
		if strings.TrimSpace(string(b)) == "" {
			return "", fmt.Errorf("kops cluster %s: kubeconfig %s is empty", cfg.Cluster.Name, path)
		}
		return string(b), nil
	})
	return pulumi.ToSecret(out).(pulumi.StringOutput)
}
