package provider

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// ClusterState is the Cluster's recorded state: its inputs and what kops
// reports. No credential: the kubeconfig runs `kops helpers kubectl-auth`.
type ClusterState struct {
	pluginapi.ClusterArgs
	// Kubeconfig reaches the API with a short-lived certificate issued by
	// `kops helpers kubectl-auth`; its content is the same run after run.
	Kubeconfig string `json:"kubeconfig"`
	// Spec and InstanceGroups are the cluster as `kops get` prints it:
	// refresh updates them, and Diff compares them with the inputs.
	Spec           string `json:"spec"`
	InstanceGroups string `json:"instanceGroups"`
	// Networking is spec.networking as YAML, for reading in previews.
	Networking string `json:"networking"`
	// Revision changes whenever the applied spec or instance groups do:
	// what checks of the cluster (the security-group check) re-run on.
	Revision string `json:"revision"`
	// Owner is this stack's mark in the cluster spec (kops.OwnerAnnotation).
	Owner string `json:"owner,omitempty"`
}

// identityKeys are the inputs kops cannot change on a running cluster: a
// change means a new cluster.
var identityKeys = []string{"clusterName", "stateStore", "region", "zones", "dnsZone", "controlPlaneCount"}

var identityWhy = map[string]string{
	"clusterName":       "kops cannot rename a cluster",
	"stateStore":        "a cluster does not move between state stores (copy the store with kops tooling instead)",
	"region":            "a kops cluster cannot move regions",
	"zones":             "subnets are made with the cluster; add zones with `kops create instancegroup` by hand",
	"dnsZone":           "the DNS zone is chosen at creation",
	"controlPlaneCount": "changing it changes etcd membership (kops docs: operations/etcd_administration)",
}

// switchKeys do not describe the cluster: changing them alone changes nothing.
var switchKeys = map[string]bool{"adoptExisting": true, "allowReplacement": true}

type cluster struct{ p *Provider }

func (c *cluster) manager(ctx context.Context, urn resource.URN, kubeconfig string) *kops.Manager {
	cfg := c.p.configured()
	info := func(format string, args ...any) { c.p.logf(ctx, diag.Info, urn, format, args...) }
	warn := func(format string, args ...any) { c.p.logf(ctx, diag.Warning, urn, format, args...) }
	runner := c.p.deps.NewKopsRunner(cfg.KopsBinary, func(_, line string) {
		if strings.TrimSpace(line) != "" {
			info("%s", line)
		}
	})
	return &kops.Manager{Runner: runner, Timeouts: cfg.timeouts(), Kubeconfig: kubeconfig, Logf: info, Warnf: warn}
}

// workdir is a private directory for one operation's kubeconfig.
func workdir() (string, func(), error) {
	dir, err := os.MkdirTemp("", "kopscalico-")
	if err != nil {
		return "", nil, err
	}
	return filepath.Join(dir, "kubeconfig"), func() { os.RemoveAll(dir) }, nil
}

func (c *cluster) check(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	// The config's rules of the cluster, on the properties named after its
	// keys; a value not known yet (the store's URL at preview) is checked
	// once known.
	unknown := unknownKeys(req.News)
	var failures []plugin.CheckFailure
	for _, p := range config.CheckCluster(lookup(req.News)) {
		if !unknown[p.Key] {
			failures = append(failures, checkFailure(p.Key, p))
		}
	}
	return plugin.CheckResponse{Properties: req.News, Failures: failures}, nil
}

// diff compares the inputs, and the cluster as last read (state) with the new
// inputs: drift found by refresh shows as an update even when no input
// changed. A changed identity field is refused unless allowReplacement is set.
func (c *cluster) diff(_ context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	var olds, news pluginapi.ClusterArgs
	if err := decode(req.OldInputs, &olds); err != nil {
		return plugin.DiffResponse{}, err
	}
	if err := decode(req.NewInputs, &news); err != nil {
		return plugin.DiffResponse{}, err
	}
	unknown := unknownKeys(req.NewInputs)
	detailed := map[string]plugin.PropertyDiff{}
	var changed, replace []resource.PropertyKey
	var refused []string
	for _, k := range propertyKeys(req.OldInputs, req.NewInputs) {
		if switchKeys[k] {
			continue
		}
		key := resource.PropertyKey(k)
		if !unknown[k] && req.OldInputs[key].DeepEquals(req.NewInputs[key]) {
			continue
		}
		changed = append(changed, key)
		kind := plugin.DiffUpdate
		if isIdentity(k) {
			if !news.AllowReplacement {
				if !unknown[k] {
					refused = append(refused, fmt.Sprintf("%s: %s -> %s: %s", k, show(req.OldInputs[key]), show(req.NewInputs[key]), identityWhy[k]))
				}
				continue
			}
			kind = plugin.DiffUpdateReplace
			replace = append(replace, key)
		}
		detailed[k] = plugin.PropertyDiff{Kind: kind, InputDiff: true}
	}
	if len(refused) > 0 {
		return plugin.DiffResponse{}, fmt.Errorf("kops cluster %s: refusing to replace it (delete the running cluster and create another): %s. "+
			"Revert the change, or set allowReplacement (%s=true) to replace the cluster on purpose",
			olds.Name, strings.Join(refused, "; "), config.FullKey(config.KeyAllowReplacement))
	}
	if len(unknown) == 0 {
		var state ClusterState
		if err := decode(req.OldOutputs, &state); err != nil {
			return plugin.DiffResponse{}, err
		}
		for _, k := range drift(state, news.Desired) {
			if _, ok := detailed[k]; !ok {
				changed = append(changed, resource.PropertyKey(k))
				detailed[k] = plugin.PropertyDiff{Kind: plugin.DiffUpdate}
			}
		}
	}
	if len(changed) == 0 {
		return plugin.DiffResponse{Changes: plugin.DiffNone}, nil
	}
	return plugin.DiffResponse{Changes: plugin.DiffSome, ChangedKeys: changed, ReplaceKeys: replace, DetailedDiff: detailed}, nil
}

// drift names the state fields the live cluster differs in from the desired
// one: what an update would rewrite.
func drift(state ClusterState, d kops.Desired) []string {
	var out []string
	if state.Spec != "" {
		if conv, err := kops.ConvertClusterSpec([]byte(state.Spec), d); err != nil || conv.Changed() {
			out = append(out, "spec")
		}
	}
	if state.InstanceGroups != "" {
		if conv, err := kops.ReconcileInstanceGroups([]byte(state.InstanceGroups), d); err != nil || conv.Changed() {
			out = append(out, "instanceGroups")
		}
	}
	return out
}

func isIdentity(k string) bool {
	for _, id := range identityKeys {
		if id == k {
			return true
		}
	}
	return false
}

func show(v resource.PropertyValue) string {
	if v.IsNull() {
		return `""`
	}
	return fmt.Sprintf("%v", plain(v))
}

func propertyKeys(maps ...resource.PropertyMap) []string {
	set := map[string]bool{}
	for _, m := range maps {
		for k := range m {
			set[string(k)] = true
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// create makes the cluster, or takes over an existing one when asked. Once
// kops has made or changed something, a later failure (validate timing out,
// say) still records the cluster, so destroy can delete it.
func (c *cluster) create(ctx context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	var args pluginapi.ClusterArgs
	if err := decode(req.Properties, &args); err != nil {
		return plugin.CreateResponse{}, err
	}
	if req.Preview {
		return plugin.CreateResponse{Properties: previewState(req.Properties)}, nil
	}
	kubeconfig, cleanup, err := workdir()
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	defer cleanup()
	owner, err := newOwner()
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	m := c.manager(ctx, req.URN, kubeconfig)
	m.Owner, m.Claim = owner, args.AdoptExisting
	d := args.Desired
	outcome, ensureErr := m.Create(ctx, d, args.AdoptExisting)
	var exists *kops.ExistsError
	if errors.As(ensureErr, &exists) {
		return plugin.CreateResponse{}, fmt.Errorf("%w and this stack did not create it: "+
			"to take it over (converted to Calico cross-subnet; this stack's destroy then deletes it) set adoptExisting (%s=true); "+
			"to manage it as it is, import it by name (%s=true, or `pulumi import %s %s %s` with this stack's kops provider); or pick another %s",
			ensureErr, config.FullKey(config.KeyAdoptExisting), config.FullKey(config.KeyImportExisting), pluginapi.ClusterType, req.URN.Name(), d.Name, config.FullKey(config.KeyClusterName))
	}
	if ensureErr != nil && !outcome.Mutated() {
		return plugin.CreateResponse{}, ensureErr
	}
	state, err := c.observe(ctx, m, args, owner)
	if ensureErr == nil && err == nil {
		props, err := encode(state)
		return plugin.CreateResponse{ID: resource.ID(d.Name), Properties: props}, err
	}
	// kops made or changed the cluster and then failed: record what is known.
	reasons := []string{}
	for _, e := range []error{ensureErr, err} {
		if e != nil {
			reasons = append(reasons, e.Error())
		}
	}
	if state.Spec == "" {
		state = ClusterState{ClusterArgs: args, Owner: owner}
	}
	return plugin.CreateResponse{}, partialFailure(resource.ID(d.Name), state, args, reasons)
}

// observe reads what kops reports after an operation: spec, instance
// groups and the credential-free kubeconfig.
func (c *cluster) observe(ctx context.Context, m *kops.Manager, args pluginapi.ClusterArgs, owner string) (ClusterState, error) {
	obs, found, err := m.Observe(ctx, args.Desired)
	if err != nil {
		return ClusterState{}, err
	}
	if !found {
		return ClusterState{}, fmt.Errorf("kops cluster %s is not in %s", args.Name, args.StateStore)
	}
	kc, err := m.OperationKubeconfig(ctx, args.Desired)
	if err != nil {
		return ClusterState{}, err
	}
	return newState(args, obs, string(kc), owner)
}

func newState(args pluginapi.ClusterArgs, obs kops.Observed, kubeconfig, owner string) (ClusterState, error) {
	live, err := kops.Describe(obs)
	if err != nil {
		return ClusterState{}, err
	}
	return ClusterState{
		ClusterArgs:    args,
		Kubeconfig:     kubeconfig,
		Spec:           string(obs.Spec),
		InstanceGroups: string(obs.InstanceGroups),
		Networking:     live.Networking,
		Revision:       revision(obs),
		Owner:          owner,
	}, nil
}

// revision digests the spec and instance groups without the fields kops
// rewrites on its own.
func revision(obs kops.Observed) string {
	h := sha256.New()
	for _, line := range strings.Split(string(obs.Spec)+"\n---\n"+string(obs.InstanceGroups), "\n") {
		if strings.Contains(line, "creationTimestamp:") || strings.Contains(line, "generation:") {
			continue
		}
		h.Write([]byte(line + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func newOwner() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// previewState is a create's preview: the inputs, with what kops will report
// unknown.
func previewState(inputs resource.PropertyMap) resource.PropertyMap {
	out := inputs.Copy()
	for _, k := range []resource.PropertyKey{"kubeconfig", "spec", "instanceGroups", "networking", "revision", "owner"} {
		out[k] = resource.MakeComputed(resource.NewStringProperty(""))
	}
	return out
}

// read is refresh and import: the cluster as kops reports it, or nil
// outputs when it is gone. An import has only the cluster name (the ID):
// the state store comes from the provider's configuration.
func (c *cluster) read(ctx context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	var state ClusterState
	if err := decode(req.State, &state); err != nil {
		return plugin.ReadResponse{}, err
	}
	importing := len(req.State) == 0 && len(req.Inputs) == 0
	args := state.ClusterArgs
	if importing {
		args = pluginapi.ClusterArgs{Desired: kops.Desired{Name: string(req.ID), StateStore: c.p.configured().StateStore}}
		if args.StateStore == "" {
			return plugin.ReadResponse{}, fmt.Errorf("importing kops cluster %s: the kopscalico provider has no stateStore configured to look for it in", req.ID)
		}
	}
	kubeconfig, cleanup, err := workdir()
	if err != nil {
		return plugin.ReadResponse{}, err
	}
	defer cleanup()
	m := c.manager(ctx, req.URN, kubeconfig)
	obs, found, err := m.Observe(ctx, args.Desired)
	if err != nil {
		return plugin.ReadResponse{}, err
	}
	if !found {
		return plugin.ReadResponse{ReadResult: plugin.ReadResult{ID: req.ID}}, nil
	}
	live, err := kops.Describe(obs)
	if err != nil {
		return plugin.ReadResponse{}, err
	}
	if importing {
		if live.Owner != "" {
			return plugin.ReadResponse{}, fmt.Errorf("kops cluster %s belongs to another stack (annotation %s=%s): two stacks must not drive one cluster; "+
				"if that stack is gone for good, remove the annotation with `kops edit cluster %s` and import again", args.Name, kops.OwnerAnnotation, live.Owner, args.Name)
		}
		v, err := m.BinaryVersion(ctx, args.Desired)
		if err != nil {
			return plugin.ReadResponse{}, err
		}
		args.KopsVersion = v
		args.ControlPlaneSize, args.NodeSize = live.ControlPlaneSize, live.NodeSize
	}
	args.Desired = refreshed(args.Desired, live)
	kc := state.Kubeconfig
	if kc == "" {
		b, err := m.ExportKubeconfig(ctx, args.Desired)
		if err != nil {
			return plugin.ReadResponse{}, err
		}
		kc = string(b)
	}
	newState, err := newState(args, obs, kc, state.Owner)
	if err != nil {
		return plugin.ReadResponse{}, err
	}
	inputs, err := encode(args)
	if err != nil {
		return plugin.ReadResponse{}, err
	}
	outputs, err := encode(newState)
	if err != nil {
		return plugin.ReadResponse{}, err
	}
	return plugin.ReadResponse{ReadResult: plugin.ReadResult{ID: resource.ID(args.Name), Inputs: inputs, Outputs: outputs}}, nil
}

// refreshed is the desired cluster with what kops reports in its place, for
// the fields refresh can tell: a preview after refresh then shows drift as
// the inputs it would change back. Fields the desired cluster leaves to kops
// (an empty Kubernetes version) stay empty.
func refreshed(d kops.Desired, live kops.Live) kops.Desired {
	set := func(dst *string, v string) {
		if *dst != "" || v != "" {
			*dst = v
		}
	}
	d.Name = live.Name
	if live.Region != "" {
		d.Region = live.Region
	}
	if len(live.Zones) > 0 {
		d.Zones = live.Zones
	}
	d.DNSZone = live.DNSZone
	d.ControlPlaneCount, d.NodeCount = live.ControlPlaneCount, live.NodeCount
	set(&d.ControlPlaneSize, live.ControlPlaneSize)
	set(&d.NodeSize, live.NodeSize)
	if d.KubernetesVersion != "" {
		d.KubernetesVersion = live.KubernetesVersion
	}
	d.SSHAccess = append(config.AccessList{}, live.SSHAccess...)
	d.AdminAccess = append(config.AccessList{}, live.AdminAccess...)
	// What runs instead of Calico cross-subnet ("kubenet") shows as the
	// encapsulation it would change back.
	d.Encapsulation = config.Encapsulation(live.Encapsulation)
	if live.AWSSrcDstCheck != "" {
		d.AWSSrcDstCheck = config.SrcDstCheck(live.AWSSrcDstCheck)
	}
	return d
}

// update applies changed inputs, or puts back what drifted: convert, resize
// or restore instance groups, apply, roll what kops lists, validate.
func (c *cluster) update(ctx context.Context, req plugin.UpdateRequest) (plugin.UpdateResponse, error) {
	var old ClusterState
	if err := decode(req.OldOutputs, &old); err != nil {
		return plugin.UpdateResponse{}, err
	}
	var args pluginapi.ClusterArgs
	if err := decode(req.NewInputs, &args); err != nil {
		return plugin.UpdateResponse{}, err
	}
	if req.Preview {
		return plugin.UpdateResponse{Properties: previewUpdate(req.OldOutputs, req.NewInputs)}, nil
	}
	// The recorded identity is what kops is driven with; Diff refused any
	// change of it.
	args.Name, args.StateStore = old.Name, old.StateStore
	kubeconfig, cleanup, err := workdir()
	if err != nil {
		return plugin.UpdateResponse{}, err
	}
	defer cleanup()
	m := c.manager(ctx, req.URN, kubeconfig)
	m.Owner = old.Owner
	outcome, ensureErr := m.Ensure(ctx, args.Desired)
	if ensureErr != nil && !outcome.Mutated() {
		return plugin.UpdateResponse{}, ensureErr
	}
	state, err := c.observe(ctx, m, args, old.Owner)
	if ensureErr == nil && err == nil {
		props, err := encode(state)
		return plugin.UpdateResponse{Properties: props}, err
	}
	reasons := []string{}
	for _, e := range []error{ensureErr, err} {
		if e != nil {
			reasons = append(reasons, e.Error())
		}
	}
	if state.Spec == "" {
		state = old
		state.ClusterArgs = args
	}
	return plugin.UpdateResponse{}, partialFailure(resource.ID(args.Name), state, args, reasons)
}

// previewUpdate is an update's preview: the new inputs over the old state,
// with what kops will report after it unknown.
func previewUpdate(oldOutputs, newInputs resource.PropertyMap) resource.PropertyMap {
	out := oldOutputs.Copy()
	for k, v := range newInputs {
		out[k] = v
	}
	for _, k := range []resource.PropertyKey{"spec", "instanceGroups", "networking", "revision"} {
		out[k] = resource.MakeComputed(resource.NewStringProperty(""))
	}
	return out
}

// delete runs `kops delete cluster` with the store and name recorded in the
// state, whatever the program says now.
func (c *cluster) delete(ctx context.Context, req plugin.DeleteRequest) (plugin.DeleteResponse, error) {
	var state ClusterState
	if err := decode(req.Outputs, &state); err != nil {
		return plugin.DeleteResponse{}, err
	}
	if state.Name == "" || state.StateStore == "" {
		return plugin.DeleteResponse{}, errors.New("kops cluster: the recorded state has no cluster name or state store; nothing is deleted")
	}
	kubeconfig, cleanup, err := workdir()
	if err != nil {
		return plugin.DeleteResponse{}, err
	}
	defer cleanup()
	return plugin.DeleteResponse{}, c.manager(ctx, req.URN, kubeconfig).Delete(ctx, state.Desired)
}
