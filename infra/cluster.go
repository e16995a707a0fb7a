package infra

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// kopsProvider is the explicit instance of the pulumi-resource-kopscalico
// plugin: how kops is run. Its name is stable: the Cluster's state refers to
// it.
type kopsProvider struct {
	pulumi.ProviderResourceState
}

// KopsCluster is the kops cluster, a custom resource of the plugin: the
// engine records it, so delete runs from its state and protect holds.
type KopsCluster struct {
	pulumi.CustomResourceState

	// Name is the kops cluster name.
	Name pulumi.StringOutput `pulumi:"clusterName"`
	// Kubeconfig reaches the API through `kops helpers kubectl-auth`: no
	// credential, the same content run after run.
	Kubeconfig pulumi.StringOutput `pulumi:"kubeconfig"`
	// Networking is spec.networking as kops reports it (YAML).
	Networking pulumi.StringOutput `pulumi:"networking"`
	// Revision changes whenever kops changed the spec or instance groups.
	Revision pulumi.StringOutput `pulumi:"revision"`
	// UndeclaredInstanceGroups are the groups the stack leaves as they are.
	UndeclaredInstanceGroups pulumi.StringArrayOutput `pulumi:"undeclaredInstanceGroups"`
}

// lateInput is an input known only once another resource is: the wire
// field it fills (a pointer into the args) and its value.
type lateInput struct {
	field any
	value pulumi.Input
}

// wireInputs are a resource's inputs: args (a pointer to its pluginapi wire
// struct) in the plugin's one wire form, each late input in its field's
// place (the plugin's Check makes a secret field secret).
func wireInputs(args any, late ...lateInput) (pulumi.Map, error) {
	props, err := pluginapi.Encode(args)
	if err != nil {
		return nil, err
	}
	inputs := pulumi.ToMap(pluginapi.Plain(props))
	for k, v := range props {
		if v.IsSecret() {
			inputs[string(k)] = pulumi.ToSecret(inputs[string(k)])
		}
	}
	for _, l := range late {
		f, err := pluginapi.FieldName(args, l.field)
		if err != nil {
			return nil, err
		}
		inputs[f.Name] = l.value
	}
	return inputs, nil
}

// clusterDesired is the desired cluster of a validated config, the SSH key
// read from its file.
func clusterDesired(cfg config.Config) (kops.Desired, error) {
	d := kops.DesiredFromConfig(cfg, cfg.StateStore.URL())
	if path := cfg.Cluster.SSHPublicKey; path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return d, fmt.Errorf("%s: %w", config.FullKey(config.KeySSHPublicKey), err)
		}
		d.SSHPublicKey = string(b)
	}
	return d, nil
}

// clusterInputs are the Cluster's inputs: the desired cluster (property
// names are the config keys) with the state store URL from the bucket, and
// the adoption and replacement switches.
func clusterInputs(cfg config.Config, d kops.Desired, stateStore pulumi.StringInput) (pulumi.Map, error) {
	args := &pluginapi.ClusterArgs{
		Desired:          d,
		AdoptExisting:    cfg.Cluster.AdoptExisting,
		AllowReplacement: cfg.Cluster.AllowReplacement,
	}
	return wireInputs(args, lateInput{&args.StateStore, stateStore})
}

// NewKopsProvider registers the plugin's provider: how kops is run, and the
// state store `pulumi import` looks in.
func NewKopsProvider(ctx *pulumi.Context, cfg config.Config, stateStore pulumi.StringInput) (pulumi.ProviderResource, error) {
	args := &pluginapi.ProviderArgs{
		KopsBinary:                 cfg.Kops.Binary,
		KopsTimeout:                cfg.Kops.CommandTimeout.String(),
		ValidateTimeout:            cfg.Kops.ValidateTimeout.String(),
		RollingUpdateTimeout:       cfg.Kops.RollingUpdateTimeout.String(),
		RollingUpdateValidateCount: cfg.Kops.ValidateCount,
		Stack:                      kops.StackMark(ctx.Organization(), ctx.Project(), ctx.Stack()),
		TakeOverClusterFrom:        cfg.Cluster.TakeOverFrom,
	}
	if cfg.Kops.DrainTimeout > 0 {
		args.RollingUpdateDrainTimeout = cfg.Kops.DrainTimeout.String()
	}
	inputs, err := wireInputs(args, lateInput{&args.StateStore, stateStore})
	if err != nil {
		return nil, err
	}
	prov := &kopsProvider{}
	err = ctx.RegisterResource(pluginapi.Provider.Token, "kops", inputs, prov)
	return prov, err
}

// DeployCluster registers the Cluster with the plugin's provider. Its state
// store is the bucket's URL, so it waits for the bucket.
func DeployCluster(ctx *pulumi.Context, cfg config.Config, prov pulumi.ProviderResource, stateStore pulumi.StringInput, opts ...pulumi.ResourceOption) (*KopsCluster, error) {
	d, err := clusterDesired(cfg)
	if err != nil {
		return nil, err
	}
	if note := kops.GossipNote(d); note != "" {
		_ = ctx.Log.Warn(note, nil)
	}
	inputs, err := clusterInputs(cfg, d, stateStore)
	if err != nil {
		return nil, err
	}
	c := &KopsCluster{}
	opts = append(opts, pulumi.Provider(prov), pulumi.Protect(cfg.Cluster.Protect))
	if cfg.Cluster.ImportExisting {
		// The engine reads the cluster by name and takes it into the state
		// only if it matches the inputs; once in the state this is a no-op.
		opts = append(opts, pulumi.Import(pulumi.ID(cfg.Cluster.Name)))
	}
	if err := ctx.RegisterResource(pluginapi.ClusterType, "cluster", inputs, c, opts...); err != nil {
		return nil, err
	}
	return c, nil
}

// GuardStateStore registers the plugin's StateStoreGuard for a store this
// stack owns: it depends on the store's resources and the clusters depend on
// it, so on destroy it is deleted after the clusters and before the store,
// and refuses while kops lists any cluster in the store.
func GuardStateStore(ctx *pulumi.Context, prov pulumi.ProviderResource, stateStore pulumi.StringInput, store []pulumi.Resource) (pulumi.Resource, error) {
	args := &pluginapi.StateStoreGuardArgs{}
	inputs, err := wireInputs(args, lateInput{&args.StateStore, stateStore})
	if err != nil {
		return nil, err
	}
	guard := &stateStoreGuard{}
	err = ctx.RegisterResource(pluginapi.StateStoreGuardType, "state-store-guard", inputs,
		guard, pulumi.Provider(prov), pulumi.DependsOn(store))
	return guard, err
}

type stateStoreGuard struct {
	pulumi.CustomResourceState
}
