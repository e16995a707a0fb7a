package kops_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/kops"
)

const stackA, stackB, randomMark = "org/kopscalico/a", "org/kopscalico/b", "3f9c2a61d0b4e785"

// ownershipCase is a live mark met by what a run knows of the owner.
type ownershipCase struct {
	name      string
	own       kops.Ownership
	live      string
	wantWrite bool   // Claim only: the mark is written
	wantErr   string // a substring of the refusal, an *OwnerError unless no identity; "" for none
}

// The mark a run that changes the cluster leaves, by the live one.
func TestOwnershipClaim(t *testing.T) {
	t.Parallel()
	runOwnershipCases(t, []ownershipCase{
		{name: "own mark", own: kops.Ownership{Stack: stackA, Recorded: stackA}, live: stackA},
		{name: "lost create: no state, own mark", own: kops.Ownership{Stack: stackA}, live: stackA},
		{name: "unmarked: claimed", own: kops.Ownership{Stack: stackA}, live: "", wantWrite: true},
		{name: "random mark recorded: migrated", own: kops.Ownership{Stack: stackA, Recorded: randomMark}, live: randomMark, wantWrite: true},
		{name: "random mark not recorded: refused", own: kops.Ownership{Stack: stackA, Recorded: "0000000000000000"}, live: randomMark, wantErr: "takeOverClusterFrom=" + randomMark},
		{name: "another stack: refused", own: kops.Ownership{Stack: stackA, Recorded: stackA}, live: stackB, wantErr: "belongs to stack " + stackB},
		{name: "another stack taken over", own: kops.Ownership{Stack: stackA, TakeOverFrom: stackB}, live: stackB, wantWrite: true},
		{name: "a third stack not taken over", own: kops.Ownership{Stack: stackA, TakeOverFrom: stackB}, live: "org/kopscalico/c", wantErr: "kopscalico:takeOverClusterFrom=org/kopscalico/c"},
		{name: "no stack identity", own: kops.Ownership{Recorded: stackA}, live: stackA, wantErr: "identity"},
	}, func(tc ownershipCase) error {
		mark, write, err := tc.own.Claim("demo.example.com", "s3://store", tc.live)
		if err == nil && (write != tc.wantWrite || mark != tc.own.Stack) {
			t.Errorf("Claim(%q) = %q, %v; want %q, %v", tc.live, mark, write, tc.own.Stack, tc.wantWrite)
		}
		return err
	})
}

// What refresh and delete accept: the recorded mark, or this stack's.
func TestOwnershipCheck(t *testing.T) {
	t.Parallel()
	runOwnershipCases(t, []ownershipCase{
		{name: "recorded", own: kops.Ownership{Stack: stackA, Recorded: stackA}, live: stackA},
		{name: "recorded random, not migrated yet", own: kops.Ownership{Stack: stackA, Recorded: randomMark}, live: randomMark},
		{name: "migrated by a run whose state was lost", own: kops.Ownership{Stack: stackA, Recorded: randomMark}, live: stackA},
		{name: "an import from before imports were marked", own: kops.Ownership{Stack: stackA}, live: ""},
		{name: "state without the stack's identity", own: kops.Ownership{Recorded: randomMark}, live: randomMark},
		{name: "foreign", own: kops.Ownership{Stack: stackA, Recorded: stackA}, live: stackB, wantErr: "belongs to stack " + stackB},
		{name: "foreign, recorded from another stack", own: kops.Ownership{Stack: stackB, Recorded: stackB}, live: stackA, wantErr: "belongs to stack " + stackA},
		{name: "missing", own: kops.Ownership{Stack: stackA, Recorded: stackA}, live: "", wantErr: "has no owner mark"},
		{name: "takeover does not apply to delete", own: kops.Ownership{Stack: stackA, Recorded: stackA, TakeOverFrom: stackB}, live: stackB, wantErr: "belongs to stack " + stackB},
	}, func(tc ownershipCase) error { return tc.own.Check("demo.example.com", "s3://store", tc.live) })
}

func runOwnershipCases(t *testing.T, cases []ownershipCase, run func(ownershipCase) error) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := run(tc)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("live mark %q: %v", tc.live, err)
				}
				return
			}
			var oe *kops.OwnerError
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || (tc.own.Stack != "" && !errors.As(err, &oe)) {
				t.Errorf("live mark %q: err = %v, want an *OwnerError containing %q", tc.live, err, tc.wantErr)
			}
		})
	}
}
