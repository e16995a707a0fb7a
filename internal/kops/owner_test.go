package kops_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/kops"
)

// The mark a run that changes the cluster leaves, by the live one.
func TestOwnershipClaim(t *testing.T) {
	t.Parallel()
	const a, b, random = "org/kopscalico/a", "org/kopscalico/b", "3f9c2a61d0b4e785"
	for _, tc := range []struct {
		name      string
		own       kops.Ownership
		live      string
		wantWrite bool
		wantErr   string // a substring of the refusal; "" for none
	}{
		{name: "own mark", own: kops.Ownership{Stack: a, Recorded: a}, live: a},
		{name: "lost create: no state, own mark", own: kops.Ownership{Stack: a}, live: a},
		{name: "unmarked: claimed", own: kops.Ownership{Stack: a}, live: "", wantWrite: true},
		{name: "random mark recorded: migrated", own: kops.Ownership{Stack: a, Recorded: random}, live: random, wantWrite: true},
		{name: "random mark not recorded: refused", own: kops.Ownership{Stack: a, Recorded: "0000000000000000"}, live: random, wantErr: "takeOverClusterFrom=" + random},
		{name: "another stack: refused", own: kops.Ownership{Stack: a, Recorded: a}, live: b, wantErr: "belongs to stack " + b},
		{name: "another stack taken over", own: kops.Ownership{Stack: a, TakeOverFrom: b}, live: b, wantWrite: true},
		{name: "a third stack not taken over", own: kops.Ownership{Stack: a, TakeOverFrom: b}, live: "org/kopscalico/c", wantErr: "kopscalico:takeOverClusterFrom=org/kopscalico/c"},
		{name: "no stack identity", own: kops.Ownership{Recorded: a}, live: a, wantErr: "identity"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mark, write, err := tc.own.Claim("demo.example.com", "s3://store", tc.live)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || write != tc.wantWrite || mark != tc.own.Stack {
				t.Errorf("Claim(%q) = %q, %v, %v; want %q, %v", tc.live, mark, write, err, tc.own.Stack, tc.wantWrite)
			}
		})
	}
}

// What refresh and delete accept: the recorded mark, or this stack's.
func TestOwnershipCheck(t *testing.T) {
	t.Parallel()
	const a, b, random = "org/kopscalico/a", "org/kopscalico/b", "3f9c2a61d0b4e785"
	for _, tc := range []struct {
		name    string
		own     kops.Ownership
		live    string
		wantErr string
	}{
		{name: "recorded", own: kops.Ownership{Stack: a, Recorded: a}, live: a},
		{name: "recorded random, not migrated yet", own: kops.Ownership{Stack: a, Recorded: random}, live: random},
		{name: "migrated by a run whose state was lost", own: kops.Ownership{Stack: a, Recorded: random}, live: a},
		{name: "an import from before imports were marked", own: kops.Ownership{Stack: a}, live: ""},
		{name: "state without the stack's identity", own: kops.Ownership{Recorded: random}, live: random},
		{name: "foreign", own: kops.Ownership{Stack: a, Recorded: a}, live: b, wantErr: "belongs to stack " + b},
		{name: "foreign, recorded from another stack", own: kops.Ownership{Stack: b, Recorded: b}, live: a, wantErr: "belongs to stack " + a},
		{name: "missing", own: kops.Ownership{Stack: a, Recorded: a}, live: "", wantErr: "has no owner mark"},
		{name: "takeover does not apply to delete", own: kops.Ownership{Stack: a, Recorded: a, TakeOverFrom: b}, live: b, wantErr: "belongs to stack " + b},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.own.Check("demo.example.com", "s3://store", tc.live)
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("Check(%q) = %v", tc.live, err)
				}
				return
			}
			var oe *kops.OwnerError
			if !errors.As(err, &oe) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Check(%q) = %v, want an *OwnerError containing %q", tc.live, err, tc.wantErr)
			}
		})
	}
}
