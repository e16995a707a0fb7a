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
	"github.com/kopscalico/kopscalico/internal/lease"
)

// Manager drives one kops cluster through its lifecycles (lifecycle.go) over
// a Runner: it is what the provider's Cluster resource calls. Each step runs
// one kops command of the steps table (steps.go) and is safe to re-run after
// a failure at any point: each run reads the state store and does only what
// is still missing.
type Manager struct {
	Runner   Runner
	Timeouts Timeouts
	// Kubeconfig is the KUBECONFIG of every kops call, so kops never reads or
	// writes ~/.kube/config. validate and rolling-update talk to the cluster
	// through it; it is exported (credential-free, --auth-plugin) when missing.
	Kubeconfig string
	// Owner is what the run knows of the owner mark (OwnerAnnotation in the
	// spec): a spec it writes carries this stack's mark (Ownership.Claim);
	// a zero Owner writes no mark and checks none.
	Owner Ownership
	// Nodes are the kubelet versions the cluster's nodes ran when last read:
	// nodes behind the Kubernetes version make the run an upgrade that
	// finishes the job, and the skew policy is checked against them.
	Nodes []NodeVersion
	// Leases opens the lease store of a state store (s3lease.Open): Lock
	// takes the cluster's lease there. nil: no lease is taken (tests of
	// other behaviour over a scripted runner).
	Leases func(ctx context.Context, stateStore, region string) (lease.Store, error)
	// Logf and Warnf report progress; nil: silent.
	Logf, Warnf func(format string, args ...any)

	held *lease.Lease // the lease Lock took, renewed before each command
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

// run runs step s for cluster d: the step's command with flags, its
// environment and its timeout. A failure is a *StepError naming the step.
func (m *Manager) run(ctx context.Context, d Desired, s Step, stdin []byte, flags ...string) ([]byte, error) {
	def := steps[s]
	args := append(append([]string(nil), def.command...), flags...)
	// The cluster is named by --name in args only: kops refuses a name given
	// two ways (a positional argument and KOPS_CLUSTER_NAME).
	env := map[string]string{"KOPS_STATE_STORE": d.StateStore}
	if m.Kubeconfig != "" {
		env["KUBECONFIG"] = m.Kubeconfig
	}
	if m.held != nil {
		// The lease outlives this command's timeout, whatever happens to this run.
		if err := m.held.Renew(ctx, string(s), def.bound.of(m.Timeouts)+leaseGrace); err != nil {
			return nil, stepError(s, d, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, def.bound.of(m.Timeouts))
	defer cancel()
	m.logf("%s: $ kops %s", s, strings.Join(args, " "))
	out, err := m.Runner.Run(ctx, Command{Args: args, Env: env, Stdin: stdin, QuietStdout: def.stdout == stdoutData})
	return out, stepError(s, d, err)
}

// leaseGrace is how long a lease outlives the timeout of the kops command
// it was last renewed for: time for the run to renew or release it.
const leaseGrace = 5 * time.Minute

// Lock takes cluster d's lease in its state store for operation (create,
// update, delete), or returns the *lease.HeldError naming the run that
// holds it. Until unlock, which releases it (the run's context may have
// ended: unlock has a minute of its own), every kops command renews it.
func (m *Manager) Lock(ctx context.Context, d Desired, operation string) (unlock func(), err error) {
	if m.Leases == nil {
		return func() {}, nil
	}
	store, err := m.Leases(ctx, d.StateStore, d.Region)
	if err != nil {
		return nil, fmt.Errorf("kops cluster %s: %w", d.Name, err)
	}
	l, err := lease.Acquire(ctx, store, lease.Request{Cluster: d.Name, StateStore: d.StateStore, Region: d.Region,
		Stack: m.Owner.Stack, Operation: operation, TTL: boundCommand.of(m.Timeouts) + leaseGrace})
	if err != nil {
		return nil, err
	}
	m.held = l
	m.logf("kops cluster %s: lease %s taken for %s (%s)", d.Name, l.Holder().ID, operation, store.Address(lease.Key(d.Name)))
	return func() {
		m.held = nil
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := l.Release(ctx); err != nil {
			m.warnf("kops cluster %s: releasing lease %s: %v; it goes stale at %s, or break it: `%s`", d.Name, l.Holder().ID, err,
				l.Holder().Expires.Format(time.RFC3339), lease.BreakCommand(d.StateStore, d.Name, d.Region, l.Holder().ID))
		}
	}, nil
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
	out, err := m.run(ctx, d, StepVersion, nil)
	if err != nil {
		return kopsrelease.Version{}, err
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

// getCluster runs step s, a `kops get cluster --name N -o yaml`, and returns
// the spec it prints; found is false when the state store has no such cluster.
func (m *Manager) getCluster(ctx context.Context, d Desired, s Step) (spec []byte, found bool, err error) {
	out, err := m.run(ctx, d, s, nil, "--name", d.Name, "-o", "yaml")
	if err != nil {
		if isNotFound(err, d.Name) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return out, true, nil
}

func (m *Manager) getInstanceGroups(ctx context.Context, d Desired) ([]byte, error) {
	return m.run(ctx, d, StepReadInstanceGroups, nil, "--name", d.Name, "-o", "yaml")
}

// Observe reads the cluster's spec and instance groups; found is false when
// the state store has no such cluster. It changes nothing.
func (m *Manager) Observe(ctx context.Context, d Desired) (Observed, bool, error) {
	spec, found, err := m.getCluster(ctx, d, StepGetCluster)
	if err != nil || !found {
		return Observed{}, found, err
	}
	igs, err := m.getInstanceGroups(ctx, d)
	if err != nil {
		return Observed{}, true, err
	}
	return Observed{Spec: spec, InstanceGroups: igs}, true, nil
}

// Unapplied asks kops, changing nothing, what the state store holds that the
// cluster does not run: changes `update cluster --yes` has not applied (a run
// stopped after `replace`), or instances a roll has not replaced (stopped
// after the update). Refresh records it, so the next up finishes the work
// rather than taking the store's spec for the running cluster. It needs
// m.Kubeconfig (exported when missing) for the roll's plan.
func (m *Manager) Unapplied(ctx context.Context, d Desired) ([]string, error) {
	out, err := m.run(ctx, d, StepPlanUpdate, nil, "--name", d.Name)
	if err != nil {
		return nil, err
	}
	if pending, err := UpdatePending(string(out)); err != nil || pending {
		return []string{"changes `kops update cluster --yes` has not applied"}, err
	}
	if _, err := m.OperationKubeconfig(ctx, d); err != nil {
		return nil, err
	}
	out, err = m.run(ctx, d, StepPlanRoll, nil, "--name", d.Name)
	if err != nil {
		return nil, err
	}
	plan, err := ParseRollingUpdate(string(out))
	if err != nil || !plan.NeedsRoll() {
		return nil, err
	}
	return []string{"instance groups `kops rolling-update cluster --yes` has not rolled: " + strings.Join(plan.Pending(), ", ")}, nil
}

// ListClusters names every cluster in a state store (`kops get clusters`),
// whoever made them.
func (m *Manager) ListClusters(ctx context.Context, stateStore string) ([]string, error) {
	store := Desired{StateStore: stateStore}
	out, err := m.run(ctx, store, StepListClusters, nil, "-o", "yaml")
	if err != nil {
		// kops says so, exit 1, when the store holds none (cmd/kops/get_cluster.go RunGetClusters).
		var ce *CommandError
		if errors.As(err, &ce) && ce.ExitCode == 1 && strings.Contains(ce.Stderr, "no clusters found") {
			return nil, nil
		}
		return nil, err
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

// LiveOwner reads the cluster's owner mark ("" for none); found is false
// when the state store has no such cluster.
func (m *Manager) LiveOwner(ctx context.Context, d Desired) (owner string, found bool, err error) {
	spec, found, err := m.getCluster(ctx, d, StepGetCluster)
	if err != nil || !found {
		return "", found, err
	}
	live, err := Describe(Observed{Spec: spec})
	return live.Owner, true, err
}

// Exists reports whether the state store holds the cluster.
func (m *Manager) Exists(ctx context.Context, d Desired) (bool, error) {
	_, found, err := m.getCluster(ctx, d, StepGetCluster)
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
	spec, found, err := m.getCluster(ctx, d, StepGetCluster)
	switch {
	case err != nil:
		return Outcome{}, err
	case found && refuseExisting && !m.ownMark(spec):
		return Outcome{}, &ExistsError{Name: d.Name, StateStore: d.StateStore}
	case found && refuseExisting:
		m.logf("kops cluster %s in %s carries this stack's mark (%s): a create whose answer was lost made it; taking it back", d.Name, d.StateStore, m.Owner.Stack)
	}
	op := &operation{d: d, spec: spec}
	lifecycle := reconcileLifecycle
	if !found {
		lifecycle = createLifecycle
	}
	err = m.runLifecycle(ctx, op, lifecycle)
	return op.out, err
}

// ownMark reports whether a spec carries this stack's mark.
func (m *Manager) ownMark(spec []byte) bool {
	live, err := Describe(Observed{Spec: spec})
	return err == nil && m.Owner.Stack != "" && live.Owner == m.Owner.Stack
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
	_, delErr := m.run(ctx, d, StepDelete, nil, "--name", d.Name, "--yes")
	if delErr == nil || !isNotFound(delErr, d.Name) {
		return delErr
	}
	still, err := m.Exists(ctx, d)
	switch {
	case err != nil:
		return fmt.Errorf("%w; and confirming it is gone: %v", delErr, err)
	case still:
		return fmt.Errorf("%w; the cluster is still in %s", delErr, d.StateStore)
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
		return nil, stepError(StepExportKubeconfig, d, err)
	}
	tmp := m.Kubeconfig + ".tmp"
	_ = os.Remove(tmp) // kops merges into an existing file; start clean
	if _, err := m.run(ctx, d, StepExportKubeconfig, nil, "--name", d.Name, "--auth-plugin", "--kubeconfig", tmp); err != nil {
		_ = os.Remove(tmp)
		return nil, err
	}
	b, err := os.ReadFile(tmp)
	if err != nil {
		return nil, stepError(StepExportKubeconfig, d, fmt.Errorf("kops succeeded but wrote no kubeconfig: %w", err))
	}
	if err := os.Rename(tmp, m.Kubeconfig); err != nil {
		return nil, stepError(StepExportKubeconfig, d, err)
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
