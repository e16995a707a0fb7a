package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

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
	return &kops.Manager{Runner: runner, Timeouts: cfg.timeouts(), Kubeconfig: kubeconfig, Leases: c.p.deps.Leases, Logf: info, Warnf: warn}
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
// changed. A changed identity field (one tagged replace) is refused unless
// allowClusterReplacement is set; one not known yet is neither refused nor
// replaced: Diff runs again once it is known.
func (c *cluster) diff(ctx context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	var olds, news pluginapi.ClusterArgs
	if err := pluginapi.Decode(req.OldInputs, &olds); err != nil {
		return plugin.DiffResponse{}, err
	}
	if err := pluginapi.Decode(req.NewInputs, &news); err != nil {
		return plugin.DiffResponse{}, err
	}
	unknown := unknownKeys(req.NewInputs)
	var d detailedDiff
	var refused []string
	for _, f := range changedInputs(pluginapi.Cluster, req.OldInputs, req.NewInputs) {
		key := resource.PropertyKey(f.Name)
		if f.Replace != "" && !news.AllowReplacement && !unknown[f.Name] {
			refused = append(refused, fmt.Sprintf("%s: %s -> %s: %s", f.Name, show(req.OldInputs[key]), show(req.NewInputs[key]), f.Replace))
		}
		d.add(f.Name, f.Replace != "" && news.AllowReplacement, true)
	}
	if len(refused) > 0 {
		return plugin.DiffResponse{}, fmt.Errorf("kops cluster %s: refusing to replace it (delete the running cluster and create another): %s. "+
			"Revert the change, or set %s=true to replace the cluster on purpose",
			olds.Name, strings.Join(refused, "; "), config.FullKey(config.KeyAllowReplacement))
	}
	if len(unknown) == 0 {
		var state pluginapi.ClusterState
		if err := pluginapi.Decode(req.OldOutputs, &state); err != nil {
			return plugin.DiffResponse{}, err
		}
		if err := refuseOverlayMigration(state, news.Desired); err != nil {
			return plugin.DiffResponse{}, err
		}
		for _, k := range drift(state, news.Desired) {
			d.add(k, false, false)
		}
		if len(state.Unapplied) > 0 {
			d.add(wireName(&state, &state.Unapplied), false, false)
		}
		if err := c.upgradeDiff(ctx, req.URN, state, news.Desired, &d); err != nil {
			return plugin.DiffResponse{}, err
		}
		// An import, or a mark from before marks came from the stack: the
		// update writes this stack's mark.
		if stack := c.p.configured().Stack; stack != "" && state.Owner != stack {
			d.add(wireName(&state, &state.Owner), false, false)
		}
	}
	return d.response(), nil
}

// drift names the state fields the live cluster differs in from the desired
// one: what an update would rewrite.
func drift(state pluginapi.ClusterState, d kops.Desired) []string {
	var out []string
	if state.Spec != "" {
		if conv, err := kops.ConvertClusterSpec([]byte(state.Spec), d); err != nil || conv.Changed() {
			out = append(out, wireName(&state, &state.Spec))
		}
	}
	if state.LiveInstanceGroups != "" {
		if conv, err := kops.ReconcileInstanceGroups([]byte(state.LiveInstanceGroups), d); err != nil || conv.Changed() {
			out = append(out, wireName(&state, &state.LiveInstanceGroups))
		}
	}
	return out
}

// show is a value as the refusal quotes it.
func show(v resource.PropertyValue) string {
	if v.IsNull() {
		return `""`
	}
	return fmt.Sprintf("%v", pluginapi.PlainValue(v))
}

// create makes the cluster, or takes over an existing one when asked. Once
// kops has made or changed something, a later failure (validate timing out,
// say) still records the cluster, so destroy can delete it.
func (c *cluster) create(ctx context.Context, req plugin.CreateRequest) (plugin.CreateResponse, error) {
	var args pluginapi.ClusterArgs
	if err := pluginapi.Decode(req.Properties, &args); err != nil {
		return plugin.CreateResponse{}, err
	}
	if req.Preview {
		return plugin.CreateResponse{Properties: previewState(pluginapi.Cluster, req.Properties, nil)}, nil
	}
	kubeconfig, cleanup, err := workdir()
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	defer cleanup()
	own := c.ownership("")
	if own.Stack == "" {
		return plugin.CreateResponse{}, errNoStack(args.Name)
	}
	owner := own.Stack
	m := c.manager(ctx, req.URN, kubeconfig)
	m.Owner = own
	d := args.Desired
	unlock, err := m.Lock(ctx, d, "create")
	if err != nil {
		return plugin.CreateResponse{}, err
	}
	defer unlock()
	outcome, ensureErr := m.Create(ctx, d, args.AdoptExisting)
	var exists *kops.ExistsError
	if errors.As(ensureErr, &exists) {
		return plugin.CreateResponse{}, fmt.Errorf("%w and this stack did not create it: "+
			"to take it over (converted to Calico cross-subnet; this stack's destroy then deletes it) set %s=true; "+
			"to manage it as it is, import it by name (%s=true, or `pulumi import %s %s %s` with this stack's kops provider); or pick another %s",
			ensureErr, config.FullKey(config.KeyAdoptExisting), config.FullKey(config.KeyImportExisting), pluginapi.ClusterType, req.URN.Name(), d.Name, config.FullKey(config.KeyClusterName))
	}
	if ensureErr != nil && !outcome.Mutated() {
		return plugin.CreateResponse{}, ensureErr
	}
	props, err := c.record(ctx, req.URN, m, args, owner, ensureErr, pluginapi.ClusterState{ClusterArgs: args, Owner: owner})
	return plugin.CreateResponse{ID: resource.ID(d.Name), Properties: props}, err
}

// record is the state after kops ran: as kops reports it, or, when kops
// made or changed the cluster and then failed (validate timing out, say), a
// partial failure that records what is known (fallback when kops reports
// nothing), so destroy can delete the cluster.
func (c *cluster) record(ctx context.Context, urn resource.URN, m *kops.Manager, args pluginapi.ClusterArgs, owner string, ensureErr error, fallback pluginapi.ClusterState) (resource.PropertyMap, error) {
	state, err := c.observe(ctx, urn, m, args, owner)
	if ensureErr == nil && err == nil {
		return pluginapi.Encode(state)
	}
	reasons := []string{}
	for _, e := range []error{ensureErr, err} {
		if e != nil {
			reasons = append(reasons, e.Error())
		}
	}
	if state.Spec == "" {
		state = fallback
	}
	return nil, partialFailure(resource.ID(args.Name), state, args, reasons)
}

// observe reads what kops reports after an operation: spec, instance
// groups and the credential-free kubeconfig.
func (c *cluster) observe(ctx context.Context, urn resource.URN, m *kops.Manager, args pluginapi.ClusterArgs, owner string) (pluginapi.ClusterState, error) {
	obs, found, err := m.Observe(ctx, args.Desired)
	if err != nil {
		return pluginapi.ClusterState{}, err
	}
	if !found {
		return pluginapi.ClusterState{}, fmt.Errorf("kops cluster %s is not in %s", args.Name, args.StateStore)
	}
	kc, err := m.OperationKubeconfig(ctx, args.Desired)
	if err != nil {
		return pluginapi.ClusterState{}, err
	}
	state, err := newState(args, obs, string(kc), owner)
	state.NodeVersions = c.nodeVersions(ctx, urn, state.Kubeconfig, m.Nodes)
	return state, err
}

func newState(args pluginapi.ClusterArgs, obs kops.Observed, kubeconfig, owner string) (pluginapi.ClusterState, error) {
	live, err := kops.Describe(obs)
	if err != nil {
		return pluginapi.ClusterState{}, err
	}
	undeclared, err := kops.UndeclaredInstanceGroups(obs.InstanceGroups, args.Desired)
	if err != nil {
		return pluginapi.ClusterState{}, err
	}
	return pluginapi.ClusterState{
		ClusterArgs:              args,
		Kubeconfig:               kubeconfig,
		Spec:                     string(obs.Spec),
		LiveInstanceGroups:       string(obs.InstanceGroups),
		UndeclaredInstanceGroups: append([]string{}, undeclared...),
		Networking:               live.Networking,
		Revision:                 revision(obs),
		Owner:                    owner,
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

// ownership is what the Cluster's operations know of its owner mark: this
// stack's (the provider's configuration), the one recorded, and the one the
// config lets it take over.
func (c *cluster) ownership(recorded string) kops.Ownership {
	cfg := c.p.configured()
	return kops.Ownership{Stack: cfg.Stack, Recorded: recorded, TakeOverFrom: cfg.TakeOverFrom}
}

func errNoStack(name string) error {
	return fmt.Errorf("kops cluster %s: the kopscalico provider was not told this stack's identity (its stack input); run `pulumi up` with the program, which sets it", name)
}

// untrusted is a refresh or delete refused because the live mark is not the
// recorded one, with the way out.
func untrusted(urn resource.URN, err error) error {
	return fmt.Errorf("%w. If another stack drives the cluster now, drop it from this stack's state without deleting it: `pulumi state delete '%s'`", err, urn)
}

// read is refresh and import: the cluster as kops reports it, or nil
// outputs when it is gone. An import has only the cluster name (the ID):
// the state store comes from the provider's configuration.
func (c *cluster) read(ctx context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	var state pluginapi.ClusterState
	if err := pluginapi.Decode(req.State, &state); err != nil {
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
	owner := state.Owner
	if importing {
		// An import reads only: the update that follows it in the same run
		// writes this stack's mark (diff sees the recorded owner differ).
		own := c.ownership("")
		if own.Stack == "" {
			return plugin.ReadResponse{}, errNoStack(args.Name)
		}
		if _, write, err := own.Claim(args.Name, args.StateStore, live.Owner); err != nil {
			return plugin.ReadResponse{}, err
		} else if !write {
			owner = live.Owner
		}
		v, err := m.BinaryVersion(ctx, args.Desired)
		if err != nil {
			return plugin.ReadResponse{}, err
		}
		args.KopsVersion = v
		args.ControlPlaneSize, args.NodeSize = live.ControlPlaneSize, live.NodeSize
	} else if err := c.ownership(state.Owner).Check(args.Name, args.StateStore, live.Owner); err != nil {
		return plugin.ReadResponse{}, untrusted(req.URN, err)
	} else {
		owner = live.Owner
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
	newState, err := newState(args, obs, kc, owner)
	if err != nil {
		return plugin.ReadResponse{}, err
	}
	newState.NodeVersions = c.nodeVersions(ctx, req.URN, kc, state.NodeVersions)
	if !importing {
		// Kops unable to tell is recorded as such: the next up asks again,
		// and a refresh (repair's) still records what it read.
		if newState.Unapplied, err = m.Unapplied(ctx, args.Desired); err != nil {
			newState.Unapplied = []string{"kops could not tell whether everything is applied: " + err.Error()}
		}
		for _, u := range newState.Unapplied {
			c.p.logf(ctx, diag.Warning, req.URN, "kops cluster %s: %s: the next up finishes it", args.Name, u)
		}
	}
	if note := upgradeNote(newState); note != "" {
		c.p.logf(ctx, diag.Warning, req.URN, "%s", note)
	}
	inputs, err := pluginapi.Encode(args)
	if err != nil {
		return plugin.ReadResponse{}, err
	}
	outputs, err := pluginapi.Encode(newState)
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
	d.ControlPlaneCount = live.ControlPlaneCount
	if d.InstanceGroups == nil {
		// The shorthand's groups; a declared group's drift shows as liveInstanceGroups.
		d.NodeCount = live.NodeCount
		set(&d.NodeSize, live.NodeSize)
	}
	set(&d.ControlPlaneSize, live.ControlPlaneSize)
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
	var old pluginapi.ClusterState
	if err := pluginapi.Decode(req.OldOutputs, &old); err != nil {
		return plugin.UpdateResponse{}, err
	}
	var args pluginapi.ClusterArgs
	if err := pluginapi.Decode(req.NewInputs, &args); err != nil {
		return plugin.UpdateResponse{}, err
	}
	if req.Preview {
		return plugin.UpdateResponse{Properties: previewState(pluginapi.Cluster, req.NewInputs, req.OldOutputs)}, nil
	}
	// The recorded identity is what kops is driven with; Diff refused any
	// change of it.
	args.Name, args.StateStore = old.Name, old.StateStore
	kubeconfig, cleanup, err := workdir()
	if err != nil {
		return plugin.UpdateResponse{}, err
	}
	defer cleanup()
	own := c.ownership(old.Owner)
	if own.Stack == "" {
		return plugin.UpdateResponse{}, errNoStack(args.Name)
	}
	m := c.manager(ctx, req.URN, kubeconfig)
	m.Owner = own
	unlock, err := m.Lock(ctx, args.Desired, "update")
	if err != nil {
		return plugin.UpdateResponse{}, err
	}
	defer unlock()
	m.Nodes = c.nodeVersions(ctx, req.URN, old.Kubeconfig, old.NodeVersions)
	outcome, ensureErr := m.Ensure(ctx, args.Desired)
	if ensureErr != nil && !outcome.Mutated() {
		return plugin.UpdateResponse{}, ensureErr
	}
	fallback := old
	fallback.ClusterArgs = args
	props, err := c.record(ctx, req.URN, m, args, own.Stack, ensureErr, fallback)
	return plugin.UpdateResponse{Properties: props}, err
}

// delete runs `kops delete cluster` with the store and name recorded in the
// state, whatever the program says now.
func (c *cluster) delete(ctx context.Context, req plugin.DeleteRequest) (plugin.DeleteResponse, error) {
	var state pluginapi.ClusterState
	if err := pluginapi.Decode(req.Outputs, &state); err != nil {
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
	m := c.manager(ctx, req.URN, kubeconfig)
	m.Owner = c.ownership(state.Owner)
	unlock, err := m.Lock(ctx, state.Desired, "delete")
	if err != nil {
		return plugin.DeleteResponse{}, err
	}
	defer unlock()
	// A cluster already gone is left to Delete, which says so and succeeds.
	if owner, found, err := m.LiveOwner(ctx, state.Desired); err != nil {
		return plugin.DeleteResponse{}, err
	} else if found {
		if err := c.ownership(state.Owner).Check(state.Name, state.StateStore, owner); err != nil {
			return plugin.DeleteResponse{}, untrusted(req.URN, err)
		}
	}
	return plugin.DeleteResponse{}, m.Delete(ctx, state.Desired)
}
