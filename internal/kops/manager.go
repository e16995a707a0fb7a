package kops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

// Manager drives one kops cluster through its lifecycle over a Runner: it is
// what the provider's Cluster resource calls. Every step is safe to re-run
// after a failure at any point: each run reads the state store and does only
// what is still missing.
type Manager struct {
	Runner   Runner
	Timeouts Timeouts
	// Kubeconfig is the KUBECONFIG of every kops call, so kops never reads or
	// writes ~/.kube/config. validate and rolling-update talk to the cluster
	// through it; it is exported (credential-free, --auth-plugin) when missing.
	Kubeconfig string
	// Owner marks the cluster as this stack's (OwnerAnnotation in its spec):
	// a cluster marked by another owner is refused. "": no mark, no check.
	Owner string
	// Claim marks an unmarked existing cluster (an adoption); a created
	// cluster is always marked.
	Claim bool
	// Logf and Warnf report progress; nil: silent.
	Logf, Warnf func(format string, args ...any)
}

// Outcome says what a lifecycle call did.
type Outcome struct {
	Created   bool     // `kops create cluster` ran
	Converted bool     // the cluster spec was rewritten (networking, access, version)
	Resized   bool     // instance groups were rewritten or restored
	Applied   bool     // `kops update cluster --yes` ran
	Rolled    bool     // `kops rolling-update cluster --yes` ran
	Changes   []string // what was rewritten
}

// Mutated reports whether any command that changes the cluster ran.
func (o Outcome) Mutated() bool {
	return o.Created || o.Converted || o.Resized || o.Applied || o.Rolled
}

// Observed is a cluster as kops prints it: the inputs of Diff and Read.
type Observed struct {
	Spec           []byte // `kops get cluster -o yaml`
	InstanceGroups []byte // `kops get instancegroups -o yaml`
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

// isNotFound reports whether a failed command says that this cluster is not
// in the state store, in the words kops uses for it: `cluster not found "N"`
// (get cluster) or `Cluster.kops.k8s.io "N" not found` (commands that read
// the cluster first). Any other failure, even one mentioning "not found",
// is an error: a cluster wrongly taken for gone is a cluster orphaned.
func isNotFound(err error, name string) bool {
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 1 {
		return false
	}
	return strings.Contains(ce.Stderr, fmt.Sprintf("cluster not found %q", name)) ||
		strings.Contains(ce.Stderr, fmt.Sprintf("Cluster.kops.k8s.io %q not found", name))
}

// BinaryVersion runs `kops version`.
func (m *Manager) BinaryVersion(ctx context.Context, d Desired) (kopsrelease.Version, error) {
	out, err := m.run(ctx, d, callCommand, false, nil, "version")
	if err != nil {
		return kopsrelease.Version{}, fmt.Errorf("checking the kops version: %w", err)
	}
	return kopsrelease.ParseOutput(string(out))
}

// CheckVersion runs `kops version` and fails unless the binary is the pinned
// minor release the spec was rendered for.
func (m *Manager) CheckVersion(ctx context.Context, d Desired) (kopsrelease.Version, error) {
	pinned := d.KopsVersion
	got, err := m.BinaryVersion(ctx, d)
	if err != nil {
		return kopsrelease.Version{}, err
	}
	if !got.SameMinor(pinned) {
		return got, fmt.Errorf("the kops binary is %[1]s but %[2]s pins %[3]s: the cluster spec and flags are rendered for the pinned version; "+
			"install kops %[3]s.x, or set %[2]s to %[4]s and review the preview", got, config.FullKey(config.KeyKopsVersion), pinned.MinorString(), got.MinorString())
	}
	return got, nil
}

// getCluster returns the cluster spec as `kops get cluster --name N -o yaml`
// prints it; found is false when the state store has no such cluster.
func (m *Manager) getCluster(ctx context.Context, d Desired) (spec []byte, found bool, err error) {
	out, err := m.run(ctx, d, callCommand, true, nil, "get", "cluster", "--name", d.Name, "-o", "yaml")
	if err != nil {
		if isNotFound(err, d.Name) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("reading cluster %s: %w", d.Name, err)
	}
	return out, true, nil
}

func (m *Manager) getInstanceGroups(ctx context.Context, d Desired) ([]byte, error) {
	out, err := m.run(ctx, d, callCommand, true, nil, "get", "instancegroups", "--name", d.Name, "-o", "yaml")
	if err != nil {
		return nil, fmt.Errorf("reading the instance groups of cluster %s: %w", d.Name, err)
	}
	return out, nil
}

// Observe reads the cluster's spec and instance groups; found is false when
// the state store has no such cluster. It changes nothing.
func (m *Manager) Observe(ctx context.Context, d Desired) (Observed, bool, error) {
	spec, found, err := m.getCluster(ctx, d)
	if err != nil || !found {
		return Observed{}, found, err
	}
	igs, err := m.getInstanceGroups(ctx, d)
	if err != nil {
		return Observed{}, true, err
	}
	return Observed{Spec: spec, InstanceGroups: igs}, true, nil
}

// ListClusters names every cluster in a state store (`kops get clusters`),
// whoever made them.
func (m *Manager) ListClusters(ctx context.Context, stateStore string) ([]string, error) {
	store := Desired{StateStore: stateStore}
	out, err := m.run(ctx, store, callCommand, true, nil, "get", "clusters", "-o", "yaml")
	if err != nil {
		// kops says so, exit 1, when the store holds none (cmd/kops/get_cluster.go RunGetClusters).
		var ce *CommandError
		if errors.As(err, &ce) && ce.ExitCode == 1 && strings.Contains(ce.Stderr, "no clusters found") {
			return nil, nil
		}
		return nil, fmt.Errorf("listing the clusters in %s: %w", stateStore, err)
	}
	var names []string
	for _, doc := range SplitDocuments(out) {
		live, err := Describe(Observed{Spec: doc})
		if err != nil {
			return nil, err
		}
		names = append(names, live.Name)
	}
	return names, nil
}

// Exists reports whether the state store holds the cluster.
func (m *Manager) Exists(ctx context.Context, d Desired) (bool, error) {
	_, found, err := m.getCluster(ctx, d)
	return found, err
}

// ExistsError is a create refused because the state store already holds a
// cluster of that name.
type ExistsError struct{ Name, StateStore string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("kops cluster %s already exists in %s", e.Name, e.StateStore)
}

// Create makes the cluster. A cluster of that name already in the state
// store is an *ExistsError, unless adopt: then it is converted to Calico
// cross-subnet and any other drift applied, as Ensure does.
func (m *Manager) Create(ctx context.Context, d Desired, adopt bool) (Outcome, error) {
	return m.ensure(ctx, d, !adopt)
}

// Ensure makes the cluster exist as desired: it creates it when the state
// store has none, else converts it to Calico cross-subnet and applies any
// other drift. A cluster already as desired gets read-only commands only.
func (m *Manager) Ensure(ctx context.Context, d Desired) (Outcome, error) {
	return m.ensure(ctx, d, false)
}

func (m *Manager) ensure(ctx context.Context, d Desired, refuseExisting bool) (Outcome, error) {
	if _, err := m.CheckVersion(ctx, d); err != nil {
		return Outcome{}, err
	}
	spec, found, err := m.getCluster(ctx, d)
	switch {
	case err != nil:
		return Outcome{}, err
	case !found:
		return m.create(ctx, d)
	case refuseExisting:
		return Outcome{}, &ExistsError{Name: d.Name, StateStore: d.StateStore}
	}
	return m.reconcile(ctx, d, spec)
}

func (m *Manager) create(ctx context.Context, d Desired) (Outcome, error) {
	var o Outcome
	args := CreateClusterArgs(d)
	if note := GossipNote(d); note != "" {
		m.warnf("%s", note)
	}
	var sshKey string
	if d.SSHPublicKey != "" {
		// kops reads the key from a file; the desired cluster carries its content.
		var err error
		if sshKey, err = writeTemp("kops-ssh-key-*.pub", []byte(d.SSHPublicKey)); err != nil {
			return o, fmt.Errorf("creating cluster %s: %w", d.Name, err)
		}
		defer os.Remove(sshKey)
		args = append(args, "--ssh-public-key", sshKey)
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
	conv, err := m.convert(spec, d, true)
	if err != nil {
		return o, err
	}
	if conv.Changed() {
		m.logf("setting %s", strings.Join(conv.Changes, "; "))
		if _, err := m.run(ctx, d, callCommand, false, conv.YAML, "replace", "-f", "-"); err != nil {
			return o, fmt.Errorf("writing the spec of cluster %s: %w", d.Name, err)
		}
		o.Converted, o.Changes = true, conv.Changes
	}
	if err := m.apply(ctx, d); err != nil {
		return o, err
	}
	o.Applied = true
	return o, m.validate(ctx, d)
}

// apply runs `kops update cluster --yes`. kops writes no kubeconfig: the
// program uses the credential-free one from ExportKubeconfig.
func (m *Manager) apply(ctx context.Context, d Desired) error {
	if _, err := m.run(ctx, d, callCommand, false, nil, "update", "cluster", "--name", d.Name, "--yes", "--create-kube-config=false"); err != nil {
		return fmt.Errorf("applying cluster %s: %w", d.Name, err)
	}
	return nil
}

// convert is ConvertClusterSpec plus the owner mark: a cluster marked by
// another owner is refused; an unmarked one is marked when claimed.
func (m *Manager) convert(spec []byte, d Desired, claim bool) (Conversion, error) {
	conv, err := ConvertClusterSpec(spec, d)
	if err != nil {
		return Conversion{}, fmt.Errorf("kops cluster %s: %w", d.Name, err)
	}
	if m.Owner == "" {
		return conv, nil
	}
	live, err := Describe(Observed{Spec: spec})
	if err != nil {
		return Conversion{}, err
	}
	switch {
	case live.Owner == m.Owner:
	case live.Owner != "":
		return Conversion{}, fmt.Errorf("kops cluster %s in %s belongs to another stack (annotation %s=%s): two stacks must not drive one cluster; "+
			"pick another %s, or manage it from the stack that owns it", d.Name, d.StateStore, OwnerAnnotation, live.Owner, config.FullKey(config.KeyClusterName))
	case claim:
		if conv.YAML, err = MarkOwner(conv.YAML, m.Owner); err != nil {
			return Conversion{}, err
		}
		conv.Changes = append(conv.Changes, fmt.Sprintf("metadata.annotations[%s]: %s", OwnerAnnotation, m.Owner))
	}
	return conv, nil
}

func (m *Manager) reconcile(ctx context.Context, d Desired, spec []byte) (Outcome, error) {
	var o Outcome
	conv, err := m.convert(spec, d, m.Claim)
	if err != nil {
		return o, err
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
	igYAML, err := m.getInstanceGroups(ctx, d)
	if err != nil {
		return o, err
	}
	igs, err := ReconcileInstanceGroups(igYAML, d)
	if err != nil {
		return o, err
	}
	if len(igs.Restore) > 0 {
		m.logf("restoring instance groups of %s: %s", d.Name, strings.Join(igs.RestoredNames(), ", "))
		if _, err := m.run(ctx, d, callCommand, false, igs.Restore, "replace", "--force", "-f", "-"); err != nil {
			return o, fmt.Errorf("restoring the instance groups of cluster %s: %w", d.Name, err)
		}
		o.Resized = true
	}
	if len(igs.YAML) > 0 {
		m.logf("resizing cluster %s: %s", d.Name, strings.Join(igs.Changes, "; "))
		if _, err := m.run(ctx, d, callCommand, false, igs.YAML, "replace", "-f", "-"); err != nil {
			return o, fmt.Errorf("writing the instance groups of cluster %s: %w", d.Name, err)
		}
		o.Resized = true
	}
	o.Changes = append(o.Changes, igs.Changes...)

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
		if err := m.apply(ctx, d); err != nil {
			return o, err
		}
		o.Applied = true
	}
	// rolling-update and validate talk to the Kubernetes API.
	if _, err := m.OperationKubeconfig(ctx, d); err != nil {
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
	if _, err := m.OperationKubeconfig(ctx, d); err != nil {
		return err
	}
	wait := m.Timeouts.Validate
	if wait <= 0 {
		wait = 10 * time.Minute
	}
	if _, err := m.run(ctx, d, callValidate, false, nil, "validate", "cluster", "--name", d.Name, "--wait", wait.String()); err != nil {
		return fmt.Errorf("validating cluster %s: %w", d.Name, err)
	}
	return nil
}

// Delete deletes the cluster and its cloud resources. A cluster already gone
// from the state store is success, so a retried destroy converges; a delete
// that kops reports as failed counts only when a second `get cluster` no
// longer finds the cluster.
func (m *Manager) Delete(ctx context.Context, d Desired) error {
	found, err := m.Exists(ctx, d)
	if err != nil {
		return err
	}
	if !found {
		m.logf("kops cluster %s is not in %s: nothing to delete", d.Name, d.StateStore)
		return nil
	}
	_, delErr := m.run(ctx, d, callDelete, false, nil, "delete", "cluster", "--name", d.Name, "--yes")
	if delErr == nil {
		return nil
	}
	if !isNotFound(delErr, d.Name) {
		return fmt.Errorf("deleting cluster %s: %w", d.Name, delErr)
	}
	still, err := m.Exists(ctx, d)
	switch {
	case err != nil:
		return fmt.Errorf("deleting cluster %s: %w; and confirming it is gone: %v", d.Name, delErr, err)
	case still:
		return fmt.Errorf("deleting cluster %s: %w; the cluster is still in %s", d.Name, delErr, d.StateStore)
	}
	return nil
}

// OperationKubeconfig is the kubeconfig already exported into m.Kubeconfig
// (a path private to one operation), else exported now: one export serves
// the operation's validate, roll and outputs.
func (m *Manager) OperationKubeconfig(ctx context.Context, d Desired) ([]byte, error) {
	if m.Kubeconfig == "" {
		return nil, fmt.Errorf("kops cluster %s: no kubeconfig path set", d.Name)
	}
	if b, err := os.ReadFile(m.Kubeconfig); err == nil {
		return b, nil
	}
	return m.ExportKubeconfig(ctx, d)
}

// ExportKubeconfig writes the cluster's kubeconfig with no long-lived
// credential (`kops export kubecfg --auth-plugin`: server, CA, and an exec of
// `kops helpers kubectl-auth`, which issues a short-lived certificate) into
// m.Kubeconfig and returns it. Its content depends only on the cluster, so it
// is the same from run to run.
func (m *Manager) ExportKubeconfig(ctx context.Context, d Desired) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(m.Kubeconfig), 0o700); err != nil {
		return nil, fmt.Errorf("kops export kubecfg %s: %w", d.Name, err)
	}
	tmp := m.Kubeconfig + ".tmp"
	_ = os.Remove(tmp) // kops merges into an existing file; start clean
	if _, err := m.run(ctx, d, callCommand, false, nil, "export", "kubecfg", "--name", d.Name, "--auth-plugin", "--kubeconfig", tmp); err != nil {
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("exporting the kubeconfig of cluster %s: %w", d.Name, err)
	}
	b, err := os.ReadFile(tmp)
	if err != nil {
		return nil, fmt.Errorf("kops export kubecfg %s succeeded but wrote no kubeconfig: %w", d.Name, err)
	}
	if err := os.Rename(tmp, m.Kubeconfig); err != nil {
		return nil, fmt.Errorf("kops export kubecfg %s: %w", d.Name, err)
	}
	return b, nil
}

func writeTemp(pattern string, content []byte) (string, error) {
	f, err := os.CreateTemp("", pattern)
	if err != nil {
		return "", err
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), f.Close()
}
