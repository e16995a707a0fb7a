package kops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Manager drives a kops cluster through its lifecycle over a Runner. It is
// what the kops cluster component's hooks call: Ensure before create, Update
// before update, Delete before delete. Every step is safe to re-run after a
// failure at any point: each run reads the state store and does only what is
// still missing.
type Manager struct {
	Runner   Runner
	Timeouts Timeouts
	// Kubeconfig is the file the program controls: KUBECONFIG of every kops
	// call (so `update --admin`, `validate` and `rolling-update` use it and
	// never touch ~/.kube/config) and the target of ExportKubeconfig.
	Kubeconfig string
	// AdminTTL is the lifetime of the admin credential kops exports.
	AdminTTL time.Duration
	Now      func() time.Time // nil: time.Now
	// Logf and Warnf report progress; nil: silent.
	Logf, Warnf func(format string, args ...any)
}

// Outcome says what a lifecycle call did.
type Outcome struct {
	Created   bool     // `kops create cluster` ran
	Converted bool     // the cluster spec was rewritten (networking, access, version)
	Resized   bool     // instance groups were rewritten
	Applied   bool     // `kops update cluster --yes` ran
	Rolled    bool     // `kops rolling-update cluster --yes` ran
	Changes   []string // what was rewritten
}

// Mutated reports whether any command that changes the cluster ran.
func (o Outcome) Mutated() bool {
	return o.Created || o.Converted || o.Resized || o.Applied || o.Rolled
}

type callKind int

const (
	callCommand callKind = iota
	callValidate
	callRoll
	callDelete
)

func (m *Manager) logf(format string, args ...any) {
	if m.Logf != nil {
		m.Logf(format, args...)
	}
}

func (m *Manager) warnf(format string, args ...any) {
	if m.Warnf != nil {
		m.Warnf(format, args...)
	}
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// run runs one kops command for cluster d with its environment and timeout.
func (m *Manager) run(ctx context.Context, d Desired, kind callKind, quiet bool, stdin []byte, args ...string) ([]byte, error) {
	// The cluster is named by --name in args only: kops refuses a name given
	// two ways (a positional argument and KOPS_CLUSTER_NAME).
	env := map[string]string{"KOPS_STATE_STORE": d.StateStore}
	if m.Kubeconfig != "" {
		env["KUBECONFIG"] = m.Kubeconfig
	}
	timeout := m.Timeouts.Command
	switch kind {
	case callValidate:
		// kops stops at --wait; the margin lets it say why.
		timeout = m.Timeouts.Validate + m.Timeouts.Command
	case callRoll, callDelete:
		timeout = m.Timeouts.RollingUpdate
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	m.logf("$ kops %s", strings.Join(args, " "))
	return m.Runner.Run(ctx, Command{Args: args, Env: env, Stdin: stdin, QuietStdout: quiet})
}

// isNotFound reports whether kops failed because the cluster is not in the
// state store: `cluster not found "X"` (get cluster) or `Cluster.kops.k8s.io
// "X" not found` (commands that read the cluster first).
func isNotFound(err error) bool {
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 1 {
		return false
	}
	return strings.Contains(ce.Stderr, "not found")
}

// CheckVersion runs `kops version` and fails unless the binary is the pinned
// minor release the spec was rendered for.
func (m *Manager) CheckVersion(ctx context.Context, d Desired) (Version, error) {
	pinned, err := d.Version()
	if err != nil {
		return Version{}, err
	}
	out, err := m.run(ctx, d, callCommand, false, nil, "version")
	if err != nil {
		return Version{}, fmt.Errorf("checking the kops version: %w", err)
	}
	got, err := ParseVersionOutput(string(out))
	if err != nil {
		return Version{}, err
	}
	if !got.SameMinor(pinned) {
		return got, fmt.Errorf("the kops binary is %s but kopscalico:kopsVersion pins %s: the cluster spec and flags are rendered for the pinned version; "+
			"install kops %s.x, or set kopscalico:kopsVersion to %s and review the preview", got, pinned.MinorString(), pinned.MinorString(), got.MinorString())
	}
	return got, nil
}

// getCluster returns the cluster spec as `kops get cluster <name> -o yaml`
// prints it; found is false when the state store has no such cluster.
func (m *Manager) getCluster(ctx context.Context, d Desired) (spec []byte, found bool, err error) {
	out, err := m.run(ctx, d, callCommand, true, nil, "get", "cluster", "--name", d.Name, "-o", "yaml")
	if err != nil {
		if isNotFound(err) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("reading cluster %s: %w", d.Name, err)
	}
	return out, true, nil
}

// Ensure makes the cluster exist as desired: it creates it when the state
// store has none, else converts it to Calico cross-subnet and applies any
// other drift. A cluster already as desired gets read-only commands only.
func (m *Manager) Ensure(ctx context.Context, d Desired) (Outcome, error) {
	if err := d.Validate(); err != nil {
		return Outcome{}, err
	}
	if _, err := m.CheckVersion(ctx, d); err != nil {
		return Outcome{}, err
	}
	spec, found, err := m.getCluster(ctx, d)
	if err != nil {
		return Outcome{}, err
	}
	if !found {
		return m.create(ctx, d)
	}
	return m.reconcile(ctx, d, spec)
}

func (m *Manager) create(ctx context.Context, d Desired) (Outcome, error) {
	var o Outcome
	args, err := CreateClusterArgs(d)
	if err != nil {
		return o, err
	}
	if note := GossipNote(d); note != "" {
		m.warnf("%s", note)
	}
	if _, err := m.run(ctx, d, callCommand, false, nil, args...); err != nil {
		return o, fmt.Errorf("creating cluster %s: %w", d.Name, err)
	}
	o.Created = true
	// The spec is in the state store, nothing runs yet: set Calico
	// cross-subnet and access before the first `update --yes`.
	spec, found, err := m.getCluster(ctx, d)
	if err != nil {
		return o, err
	}
	if !found {
		return o, fmt.Errorf("kops create cluster %s succeeded but `kops get cluster` does not find it in %s", d.Name, d.StateStore)
	}
	conv, err := ConvertClusterSpec(spec, d)
	if err != nil {
		return o, fmt.Errorf("kops cluster %s: %w", d.Name, err)
	}
	if conv.Changed() {
		m.logf("setting %s", strings.Join(conv.Changes, "; "))
		if _, err := m.run(ctx, d, callCommand, false, conv.YAML, "replace", "-f", "-"); err != nil {
			return o, fmt.Errorf("writing the spec of cluster %s: %w", d.Name, err)
		}
		o.Converted, o.Changes = true, conv.Changes
	}
	if _, err := m.run(ctx, d, callCommand, false, nil, "update", "cluster", "--name", d.Name, "--yes", m.adminFlag()); err != nil {
		return o, fmt.Errorf("applying cluster %s: %w", d.Name, err)
	}
	o.Applied = true
	return o, m.validate(ctx, d)
}

func (m *Manager) adminFlag() string {
	if m.AdminTTL > 0 {
		return "--admin=" + m.AdminTTL.String()
	}
	return "--admin"
}

func (m *Manager) reconcile(ctx context.Context, d Desired, spec []byte) (Outcome, error) {
	var o Outcome
	conv, err := ConvertClusterSpec(spec, d)
	if err != nil {
		return o, fmt.Errorf("kops cluster %s: %w", d.Name, err)
	}
	for _, w := range conv.Warnings {
		m.warnf("%s", w)
	}
	if conv.Changed() {
		m.logf("converting cluster %s: %s", d.Name, strings.Join(conv.Changes, "; "))
		if _, err := m.run(ctx, d, callCommand, false, conv.YAML, "replace", "-f", "-"); err != nil {
			return o, fmt.Errorf("writing the spec of cluster %s: %w", d.Name, err)
		}
		o.Converted = true
		o.Changes = append(o.Changes, conv.Changes...)
	}
	igYAML, err := m.run(ctx, d, callCommand, true, nil, "get", "instancegroups", "--name", d.Name, "-o", "yaml")
	if err != nil {
		return o, fmt.Errorf("reading the instance groups of cluster %s: %w", d.Name, err)
	}
	igs, err := ReconcileInstanceGroups(igYAML, d)
	if err != nil {
		return o, err
	}
	if igs.Changed() {
		m.logf("resizing cluster %s: %s", d.Name, strings.Join(igs.Changes, "; "))
		if _, err := m.run(ctx, d, callCommand, false, igs.YAML, "replace", "-f", "-"); err != nil {
			return o, fmt.Errorf("writing the instance groups of cluster %s: %w", d.Name, err)
		}
		o.Resized = true
		o.Changes = append(o.Changes, igs.Changes...)
	}

	apply := o.Converted || o.Resized
	if !apply {
		// Nothing to rewrite; a previous run may still have stopped between
		// `replace` and `update --yes`: ask kops (a dry run changes nothing).
		out, err := m.run(ctx, d, callCommand, false, nil, "update", "cluster", "--name", d.Name)
		if err != nil {
			return o, fmt.Errorf("asking kops what cluster %s has left to apply: %w", d.Name, err)
		}
		if apply, err = UpdatePending(string(out)); err != nil {
			return o, fmt.Errorf("applying cluster %s: %w", d.Name, err)
		}
	}
	if apply {
		// kops writes a kubeconfig on every `update --yes` unless told not
		// to, and without --admin that entry has no credential; the cached
		// kubeconfig is kept by EnsureKubeconfig instead.
		if _, err := m.run(ctx, d, callCommand, false, nil, "update", "cluster", "--name", d.Name, "--yes", "--create-kube-config=false"); err != nil {
			return o, fmt.Errorf("applying cluster %s: %w", d.Name, err)
		}
		o.Applied = true
	}
	// rolling-update and validate talk to the Kubernetes API.
	if err := m.EnsureKubeconfig(ctx, d); err != nil {
		return o, err
	}
	out, err := m.run(ctx, d, callCommand, false, nil, "rolling-update", "cluster", "--name", d.Name)
	if err != nil {
		return o, fmt.Errorf("asking kops which instances of cluster %s need a roll: %w", d.Name, err)
	}
	plan, err := ParseRollingUpdate(string(out))
	if err != nil {
		return o, fmt.Errorf("rolling cluster %s: %w", d.Name, err)
	}
	if plan.NeedsRoll() {
		m.logf("rolling instance groups of %s: %s", d.Name, strings.Join(plan.Pending(), ", "))
		if _, err := m.run(ctx, d, callRoll, false, nil, "rolling-update", "cluster", "--name", d.Name, "--yes"); err != nil {
			return o, fmt.Errorf("rolling cluster %s: %w", d.Name, err)
		}
		o.Rolled = true
	}
	return o, m.validate(ctx, d)
}

func (m *Manager) validate(ctx context.Context, d Desired) error {
	wait := m.Timeouts.Validate
	if wait <= 0 {
		wait = 10 * time.Minute
	}
	if _, err := m.run(ctx, d, callValidate, false, nil, "validate", "cluster", "--name", d.Name, "--wait", wait.String()); err != nil {
		return fmt.Errorf("validating cluster %s: %w", d.Name, err)
	}
	return nil
}

// Update applies a changed desired cluster. What kops cannot change in
// place (name, state store, region, zones) is refused with the reason.
func (m *Manager) Update(ctx context.Context, old, new Desired) (Outcome, error) {
	var errs []string
	if old.Name != new.Name {
		errs = append(errs, fmt.Sprintf("kopscalico:clusterName changed from %q to %q: kops cannot rename a cluster", old.Name, new.Name))
	}
	if old.StateStore != new.StateStore {
		errs = append(errs, fmt.Sprintf("the kops state store changed from %s to %s: move the state with `kops` tooling (copy the bucket) rather than through this program", old.StateStore, new.StateStore))
	}
	if old.Region != new.Region {
		errs = append(errs, fmt.Sprintf("kopscalico:region changed from %s to %s: a kops cluster cannot move regions", old.Region, new.Region))
	}
	if strings.Join(old.Zones, ",") != strings.Join(new.Zones, ",") {
		errs = append(errs, fmt.Sprintf("kopscalico:zones changed from %v to %v: subnets are created with the cluster; add zones with `kops create instancegroup` by hand", old.Zones, new.Zones))
	}
	if old.DNSZone != new.DNSZone {
		errs = append(errs, fmt.Sprintf("kopscalico:dnsZone changed from %q to %q: the DNS zone is chosen at creation", old.DNSZone, new.DNSZone))
	}
	if len(errs) > 0 {
		return Outcome{}, fmt.Errorf("kops cluster %s: %s", old.Name, strings.Join(errs, "; "))
	}
	return m.Ensure(ctx, new)
}

// Delete deletes the cluster and its cloud resources. A cluster already gone
// from the state store is success, so a retried destroy converges.
func (m *Manager) Delete(ctx context.Context, d Desired) error {
	_, found, err := m.getCluster(ctx, d)
	if err != nil {
		return err
	}
	if !found {
		m.logf("kops cluster %s is not in %s: nothing to delete", d.Name, d.StateStore)
		return nil
	}
	if _, err := m.run(ctx, d, callDelete, false, nil, "delete", "cluster", "--name", d.Name, "--yes"); err != nil {
		if isNotFound(err) {
			return nil
		}
		return fmt.Errorf("deleting cluster %s: %w", d.Name, err)
	}
	return nil
}

// KubeconfigRenewBefore is how long before its client certificate expires
// a cached kubeconfig is exported again: a quarter of the credential's TTL.
func (m *Manager) KubeconfigRenewBefore() time.Duration {
	if m.AdminTTL <= 0 {
		return time.Hour
	}
	return m.AdminTTL / 4
}

// KubeconfigStale reports why the cached kubeconfig must be exported again,
// "" when it can be used as it is.
func (m *Manager) KubeconfigStale(d Desired) string {
	b, err := os.ReadFile(m.Kubeconfig)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "no kubeconfig exported yet"
		}
		return err.Error()
	}
	return KubeconfigFreshness(b, d.Name, m.now(), m.KubeconfigRenewBefore())
}

// EnsureKubeconfig exports the admin kubeconfig into m.Kubeconfig when the
// cached file is missing, for another cluster, or about to expire; a fresh
// file is left alone, so its content (and every consumer's inputs) stays
// the same between runs.
func (m *Manager) EnsureKubeconfig(ctx context.Context, d Desired) error {
	if m.Kubeconfig == "" {
		return fmt.Errorf("kops cluster %s: no kubeconfig path set", d.Name)
	}
	reason := m.KubeconfigStale(d)
	if reason == "" {
		return nil
	}
	m.logf("exporting the kubeconfig of %s: %s", d.Name, reason)
	return m.ExportKubeconfig(ctx, d, m.Kubeconfig, m.AdminTTL)
}

// ExportKubeconfig writes the cluster's admin kubeconfig to path (mode 0600),
// atomically: a failed export leaves the previous file as it was.
func (m *Manager) ExportKubeconfig(ctx context.Context, d Desired, path string, ttl time.Duration) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("kops export kubecfg %s: %w", d.Name, err)
	}
	tmp := path + ".tmp"
	_ = os.Remove(tmp) // kops merges into an existing file; start clean
	admin := "--admin"
	if ttl > 0 {
		admin = "--admin=" + ttl.String()
	}
	if _, err := m.run(ctx, d, callCommand, false, nil, "export", "kubecfg", "--name", d.Name, admin, "--kubeconfig", tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("exporting the kubeconfig of cluster %s: %w", d.Name, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("kops export kubecfg %s succeeded but wrote no kubeconfig: %w", d.Name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("kops export kubecfg %s: %w", d.Name, err)
	}
	return nil
}
