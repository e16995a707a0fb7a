package kops

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// operation is one Create or Ensure call's state, handed from step to step.
type operation struct {
	d       Desired
	step    Step              // the step running
	spec    []byte            // the cluster spec as kops printed it
	igs     IGConversion      // the instance groups' rewrite
	pending bool              // a dry-run update found changes left to apply
	plan    RollingUpdatePlan // what a dry-run rolling-update lists
	// upgrade: this run moves Kubernetes to another version (or finishes
	// such a move), in kops's order; reconciled: `reconcile cluster` did it.
	upgrade, reconciled bool
	out                 Outcome
}

// stage is one step of a lifecycle: a method that runs the step's command,
// or skips it when the operation leaves it nothing to do.
type stage struct {
	step Step
	run  func(*Manager, context.Context, *operation) error
}

// The lifecycles as ordered lists of steps (kind's create actions are the
// model): of a cluster not in the state store yet, and of one already there,
// which Ensure picks after `version` and `get-cluster`.
var (
	createLifecycle = []stage{
		{StepCreateCluster, (*Manager).createCluster},
		{StepReadSpec, (*Manager).readSpec},
		{StepWriteSpec, (*Manager).writeSpec},
		{StepReadInstanceGroups, (*Manager).readInstanceGroups},
		{StepCreateInstanceGroups, (*Manager).createInstanceGroups},
		{StepResizeInstanceGroups, (*Manager).resizeInstanceGroups},
		{StepUpdate, (*Manager).update},
		{StepExportKubeconfig, (*Manager).exportKubeconfig},
		{StepValidate, (*Manager).validate},
	}
	reconcileLifecycle = []stage{
		{StepReadInstanceGroups, (*Manager).readInstanceGroups},
		{StepWriteSpec, (*Manager).writeSpec},
		{StepCreateInstanceGroups, (*Manager).createInstanceGroups},
		{StepResizeInstanceGroups, (*Manager).resizeInstanceGroups},
		{StepPlanUpdate, (*Manager).planUpdate},
		{StepReconcile, (*Manager).reconcileCluster},
		{StepUpdateControlPlane, (*Manager).updateControlPlane},
		{StepRollControlPlane, (*Manager).rollControlPlane},
		{StepUpdate, (*Manager).update},
		{StepDeleteInstanceGroups, (*Manager).deleteInstanceGroups},
		{StepExportKubeconfig, (*Manager).exportKubeconfig},
		{StepPlanRoll, (*Manager).planRoll},
		{StepRoll, (*Manager).roll},
		{StepValidate, (*Manager).validate},
	}
)

// runLifecycle runs the stages in order and stops at the first failure,
// which names its step.
func (m *Manager) runLifecycle(ctx context.Context, op *operation, lifecycle []stage) error {
	for _, s := range lifecycle {
		op.step = s.step
		if err := s.run(m, ctx, op); err != nil {
			return stepError(s.step, op.d, err)
		}
	}
	return nil
}

// runStep runs the command of the operation's current step.
func (m *Manager) runStep(ctx context.Context, op *operation, stdin []byte, flags ...string) ([]byte, error) {
	return m.run(ctx, op.d, op.step, stdin, flags...)
}

func (m *Manager) stepLogf(op *operation, format string, args ...any) {
	m.logf("%s: "+format, append([]any{op.step}, args...)...)
}

// createCluster writes a new cluster's spec to the state store (no --yes),
// with this stack's owner mark in its first write: no kill between this
// step and the next leaves the cluster unmarked.
func (m *Manager) createCluster(ctx context.Context, op *operation) error {
	if note := GossipNote(op.d); note != "" {
		m.warnf("%s", note)
	}
	flags := createClusterFlags(op.d)
	if m.Owner.Stack != "" {
		flags = append(flags, markOnCreate(m.Owner.Stack)...)
	}
	if op.d.SSHPublicKey != "" {
		// kops reads the key from a file; the desired cluster carries its content.
		key, err := writeTemp("kops-ssh-key-*.pub", []byte(op.d.SSHPublicKey))
		if err != nil {
			return err
		}
		defer os.Remove(key)
		flags = append(flags, "--ssh-public-key", key)
	}
	if _, err := m.runStep(ctx, op, nil, flags...); err != nil {
		return err
	}
	op.out.Created = true
	return nil
}

// readSpec reads the spec kops just created: nothing runs yet, so the next
// steps set Calico cross-subnet and access before the first `update --yes`.
func (m *Manager) readSpec(ctx context.Context, op *operation) error {
	spec, found, err := m.getCluster(ctx, op.d, op.step)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("kops create cluster succeeded but `kops get cluster` does not find it in %s", op.d.StateStore)
	}
	op.spec = spec
	return nil
}

// writeSpec converts the spec to the desired cluster and writes it when that
// changes it, with this stack's mark.
func (m *Manager) writeSpec(ctx context.Context, op *operation) error {
	if !op.out.Created {
		if err := m.planUpgrade(op); err != nil {
			return err
		}
	}
	conv, err := m.convert(op.spec, op.d)
	if err != nil {
		return err
	}
	for _, w := range conv.Warnings {
		m.warnf("%s", w)
	}
	if !conv.Changed() {
		return nil
	}
	m.stepLogf(op, "converting cluster %s: %s", op.d.Name, strings.Join(conv.Changes, "; "))
	if _, err := m.runStep(ctx, op, conv.YAML, "-f", "-"); err != nil {
		return err
	}
	op.out.Converted = true
	op.out.Changes = append(op.out.Changes, conv.Changes...)
	return nil
}

// convert is ConvertClusterSpec plus the owner mark (Ownership.Claim): a
// cluster marked by another stack is refused; otherwise the written spec
// carries this stack's mark.
func (m *Manager) convert(spec []byte, d Desired) (Conversion, error) {
	conv, err := ConvertClusterSpec(spec, d)
	if err != nil {
		return Conversion{}, fmt.Errorf("kops cluster %s: %w", d.Name, err)
	}
	if m.Owner == (Ownership{}) {
		return conv, nil
	}
	live, err := Describe(Observed{Spec: spec})
	if err != nil {
		return Conversion{}, err
	}
	mark, write, err := m.Owner.Claim(d.Name, d.StateStore, live.Owner)
	if err != nil || !write {
		return conv, err
	}
	if conv.YAML, err = MarkOwner(conv.YAML, mark); err != nil {
		return Conversion{}, err
	}
	conv.Changes = append(conv.Changes, fmt.Sprintf("metadata.annotations[%s]: %s", OwnerAnnotation, mark))
	return conv, nil
}

// readInstanceGroups reads the instance groups and works out their rewrite,
// before anything is written, so a refused removal changes nothing.
func (m *Manager) readInstanceGroups(ctx context.Context, op *operation) error {
	igYAML, err := m.getInstanceGroups(ctx, op.d)
	if err != nil {
		return err
	}
	op.igs, err = ReconcileInstanceGroups(igYAML, op.d)
	return err
}

// createInstanceGroups creates the declared groups the cluster lacks, and
// the shorthand's groups of zones left without one.
func (m *Manager) createInstanceGroups(ctx context.Context, op *operation) error {
	if len(op.igs.Create) == 0 {
		return nil
	}
	m.stepLogf(op, "creating instance groups of %s: %s", op.d.Name, strings.Join(op.igs.CreatedNames(), ", "))
	if _, err := m.runStep(ctx, op, op.igs.Create, "-f", "-"); err != nil {
		return err
	}
	op.out.Resized = true
	return nil
}

// resizeInstanceGroups writes the groups whose size or instance type changed.
func (m *Manager) resizeInstanceGroups(ctx context.Context, op *operation) error {
	op.out.Changes = append(op.out.Changes, op.igs.Changes...)
	if len(op.igs.YAML) == 0 {
		return nil
	}
	m.stepLogf(op, "resizing cluster %s: %s", op.d.Name, strings.Join(op.igs.Changes, "; "))
	if _, err := m.runStep(ctx, op, op.igs.YAML, "-f", "-"); err != nil {
		return err
	}
	op.out.Resized = true
	return nil
}

// planUpdate asks kops, when this run rewrote nothing, whether a previous run
// stopped between `replace` and `update --yes` (a dry run changes nothing).
func (m *Manager) planUpdate(ctx context.Context, op *operation) error {
	if op.out.Converted || op.out.Resized || op.upgrade {
		return nil
	}
	out, err := m.runStep(ctx, op, nil, "--name", op.d.Name)
	if err != nil {
		return err
	}
	op.pending, err = UpdatePending(string(out))
	return err
}

// update runs `kops update cluster --yes` when something is left to apply.
// kops writes no kubeconfig: the program uses the credential-free one from
// ExportKubeconfig.
func (m *Manager) update(ctx context.Context, op *operation) error {
	if op.reconciled || (!op.out.Created && !op.out.Converted && !op.out.Resized && !op.pending && !op.upgrade) {
		return nil
	}
	if _, err := m.runStep(ctx, op, nil, "--name", op.d.Name, "--yes", "--create-kube-config=false"); err != nil {
		return err
	}
	op.out.Applied = true
	return nil
}

// deleteInstanceGroups deletes the groups allowInstanceGroupRemoval names,
// once the others are applied: kops terminates the group's instances at once
// (it does not drain them) and removes it from the state store.
func (m *Manager) deleteInstanceGroups(ctx context.Context, op *operation) error {
	for _, name := range op.igs.Delete {
		m.stepLogf(op, "deleting instance group %s of %s", name, op.d.Name)
		if _, err := m.runStep(ctx, op, nil, name, "--name", op.d.Name, "--yes"); err != nil {
			return err
		}
		op.out.Resized = true
	}
	return nil
}

// exportKubeconfig exports the kubeconfig rolling-update and validate talk to
// the Kubernetes API through, unless the operation has it already.
func (m *Manager) exportKubeconfig(ctx context.Context, op *operation) error {
	_, err := m.OperationKubeconfig(ctx, op.d)
	return err
}

// planRoll asks kops which instance groups need a roll (a dry run).
func (m *Manager) planRoll(ctx context.Context, op *operation) error {
	out, err := m.runStep(ctx, op, nil, "--name", op.d.Name)
	if err != nil {
		return err
	}
	op.plan, err = ParseRollingUpdate(string(out))
	return err
}

// roll replaces the instances kops listed, only when it listed some.
func (m *Manager) roll(ctx context.Context, op *operation) error {
	if !op.plan.NeedsRoll() {
		return nil
	}
	m.stepLogf(op, "rolling instance groups of %s: %s", op.d.Name, strings.Join(op.plan.Pending(), ", "))
	if _, err := m.runStep(ctx, op, nil, "--name", op.d.Name, "--yes"); err != nil {
		return err
	}
	op.out.Rolled = true
	return nil
}

// validate waits for the cluster to be ready, at most Timeouts.Validate.
func (m *Manager) validate(ctx context.Context, op *operation) error {
	wait := m.Timeouts.WithDefaults().Validate
	_, err := m.runStep(ctx, op, nil, "--name", op.d.Name, "--wait", wait.String())
	return err
}
