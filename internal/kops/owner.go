package kops

import (
	"fmt"

	"github.com/kopscalico/kopscalico/internal/config"
)

// StackMark is the owner mark of a stack: its organization, project and
// stack, so the same stack recognises its own cluster after a lost create
// and two stacks (even of one name in two organizations) never share one.
func StackMark(organization, project, stack string) string {
	return organization + "/" + project + "/" + stack
}

// markOnCreate is the `kops create cluster` flag that puts the owner mark
// in the spec kops first stores (cmd/kops/create_cluster.go --set, through
// commands.SetClusterFields: a map entry is KEY=VALUE, cut at the first
// "="; a stack's mark holds no "=" or ",").
func markOnCreate(mark string) []string {
	return []string{"--set", "metadata.annotations=" + OwnerAnnotation + "=" + mark}
}

// Ownership is what a run knows about a cluster's owner mark
// (OwnerAnnotation): the mark it writes, the mark its state recorded, and
// another stack's mark the config lets it take over.
type Ownership struct {
	// Stack is this stack's mark (StackMark); "": the provider was not told
	// (a state from before marks came from the stack), so nothing is claimed.
	Stack string
	// Recorded is the mark the stack's state holds: a random one from before
	// marks came from the stack, the stack's own, or "" (no state yet, or an
	// import made before imports were marked).
	Recorded string
	// TakeOverFrom is a foreign mark this stack may replace by its own
	// (kopscalico:takeOverClusterFrom).
	TakeOverFrom string
}

// OwnerError is a cluster whose live mark is not this stack's.
type OwnerError struct {
	Name, StateStore string
	Live             string // the mark on the cluster; "" when it is missing
	Want             string // the mark this stack expected
}

func (e *OwnerError) Error() string {
	if e.Live == "" {
		return fmt.Sprintf("kops cluster %s in %s has no owner mark (annotation %s), but this stack recorded it as %s: "+
			"someone removed the mark, or the cluster was made again by hand; nothing is changed. "+
			"If the cluster is this stack's, put the mark back (`kops edit cluster %s`: metadata.annotations %s: %s)",
			e.Name, e.StateStore, OwnerAnnotation, e.Want, e.Name, OwnerAnnotation, e.Want)
	}
	return fmt.Sprintf("kops cluster %s in %s belongs to stack %s (annotation %s=%s), not to this stack (%s): two stacks must not drive one cluster; nothing is changed. "+
		"Pick another %s, or manage it from %s; if that stack is gone for good, set %s=%s to take the cluster over",
		e.Name, e.StateStore, e.Live, OwnerAnnotation, e.Live, e.Want, config.FullKey(config.KeyClusterName), e.Live, config.FullKey(config.KeyTakeOverClusterFrom), e.Live)
}

// Claim is the mark a run that changes the cluster leaves on it, given the
// live one: this stack's own stays; an unmarked cluster, the recorded mark
// (a random one, or the stack's under a former name) and the mark named to
// be taken over become this stack's; any other mark is an *OwnerError.
// write is false when the live mark is already this stack's.
func (o Ownership) Claim(name, store, live string) (mark string, write bool, err error) {
	if o.Stack == "" {
		return live, false, fmt.Errorf("kops cluster %s: the kopscalico provider was not told this stack's identity; run the program (pulumi up), which sets it", name)
	}
	switch live {
	case o.Stack:
		return live, false, nil
	case "", o.Recorded, o.TakeOverFrom:
		return o.Stack, true, nil
	}
	return live, false, &OwnerError{Name: name, StateStore: store, Live: live, Want: o.Stack}
}

// Check is what refresh and delete ask before they trust the cluster: its
// live mark is the one recorded (or this stack's, written by a run whose
// state was not saved). A foreign or missing mark is an *OwnerError.
func (o Ownership) Check(name, store, live string) error {
	if live == o.Recorded || (o.Stack != "" && live == o.Stack) {
		return nil
	}
	want := o.Recorded
	if want == "" {
		want = o.Stack
	}
	return &OwnerError{Name: name, StateStore: store, Live: live, Want: want}
}
