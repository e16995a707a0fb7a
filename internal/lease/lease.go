// Package lease keeps two runs from driving one kops cluster at once: a
// run that changes the cluster holds a lease, an object in the kops state
// store (Key) written only when none is there (Store), renewed before each
// kops command with an expiry past that command's timeout, and deleted when
// the run ends. A lease another run holds is an *HeldError naming it; one
// whose expiry has passed is stale (its run was killed) and is reported
// with the way to break it, never taken silently.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Holder is what a lease object says about the run holding it.
type Holder struct {
	ID        string    `json:"id"`        // random, one per acquisition: what a break names
	Stack     string    `json:"stack"`     // the stack's owner mark (organization/project/stack)
	Operation string    `json:"operation"` // create, update, delete
	Step      string    `json:"step,omitempty"`
	Host      string    `json:"host"`
	PID       int       `json:"pid"`
	Since     time.Time `json:"since"`
	Expires   time.Time `json:"expires"`
}

// Lease is a lease this process holds.
type Lease struct {
	store   Store
	key     string
	version string
	holder  Holder
	now     func() time.Time
}

// Request is what a run asks a lease for.
type Request struct {
	Cluster, StateStore string // what the lease guards
	Region              string // the state store's (an s3:// one), for the break command
	Stack, Operation    string
	TTL                 time.Duration    // the first expiry: from now
	Now                 func() time.Time // nil: time.Now
}

// Acquire takes cluster's lease in store, or returns an *HeldError naming
// the run that holds it.
func Acquire(ctx context.Context, store Store, r Request) (*Lease, error) {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	host, _ := os.Hostname()
	t := now().UTC()
	h := Holder{ID: newID(), Stack: r.Stack, Operation: r.Operation, Host: host, PID: os.Getpid(), Since: t, Expires: t.Add(r.TTL)}
	body, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return nil, err
	}
	key := Key(r.Cluster)
	for attempt := 0; ; attempt++ {
		version, err := store.Create(ctx, key, body)
		if err == nil {
			return &Lease{store: store, key: key, version: version, holder: h, now: now}, nil
		}
		if !errors.Is(err, ErrExists) {
			return nil, fmt.Errorf("kops cluster %s: taking its lease %s: %w", r.Cluster, store.Address(key), err)
		}
		cur, version, err := read(ctx, store, key)
		switch {
		case errors.Is(err, ErrNotFound) && attempt == 0:
			continue // released between the two calls
		case err != nil:
			return nil, fmt.Errorf("kops cluster %s: reading its lease %s: %w", r.Cluster, store.Address(key), err)
		case cur.ID == h.ID:
			// A retried create whose first attempt had written it.
			return &Lease{store: store, key: key, version: version, holder: h, now: now}, nil
		}
		return nil, &HeldError{Cluster: r.Cluster, StateStore: r.StateStore, Region: r.Region, Holder: cur,
			RemoveCommand: store.RemoveCommand(key), Now: now().UTC()}
	}
}

func read(ctx context.Context, store Store, key string) (Holder, string, error) {
	b, version, err := store.Read(ctx, key)
	if err != nil {
		return Holder{}, "", err
	}
	var h Holder
	if err := json.Unmarshal(b, &h); err != nil {
		return Holder{}, "", fmt.Errorf("%s is not a lease (%v): delete it if nothing runs on the cluster", store.Address(key), err)
	}
	return h, version, nil
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Holder is the lease as last written.
func (l *Lease) Holder() Holder { return l.holder }

// Renew moves the expiry to ttl from now and records the step running; it
// fails when the lease is no longer this run's (broken by hand).
func (l *Lease) Renew(ctx context.Context, step string, ttl time.Duration) error {
	h := l.holder
	h.Step, h.Expires = step, l.now().UTC().Add(ttl)
	body, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	version, err := l.store.Replace(ctx, l.key, body, l.version)
	if errors.Is(err, ErrChanged) {
		return fmt.Errorf("the lease %s (id %s) is no longer this run's: someone broke it; stopping before %s", l.store.Address(l.key), l.holder.ID, step)
	}
	if err != nil {
		return fmt.Errorf("renewing the lease %s: %w", l.store.Address(l.key), err)
	}
	l.version, l.holder = version, h
	return nil
}

// Release deletes the lease if it is still this run's.
func (l *Lease) Release(ctx context.Context) error {
	err := l.store.Delete(ctx, l.key, l.version)
	if errors.Is(err, ErrChanged) {
		return nil // broken and maybe taken again: not ours to delete
	}
	return err
}

// Break deletes cluster's lease in store if its id is id, and returns the
// holder it had. A lease of another id is left in place (an error says whose
// it is), so a break never removes a newer run's lease.
func Break(ctx context.Context, store Store, cluster, id string) (Holder, error) {
	key := Key(cluster)
	h, version, err := read(ctx, store, key)
	if errors.Is(err, ErrNotFound) {
		return Holder{}, fmt.Errorf("kops cluster %s has no lease (%s): nothing to break", cluster, store.Address(key))
	}
	if err != nil {
		return Holder{}, err
	}
	if h.ID != id {
		return h, fmt.Errorf("the lease of kops cluster %s is %s, not %s: %s; nothing is broken", cluster, h.ID, id, h.describe())
	}
	if err := store.Delete(ctx, key, version); err != nil {
		return h, fmt.Errorf("breaking the lease %s: %w", store.Address(key), err)
	}
	return h, nil
}

// describe is who holds the lease and since when, in one clause.
func (h Holder) describe() string {
	step := ""
	if h.Step != "" {
		step = ", at step " + h.Step
	}
	return fmt.Sprintf("lease %s held by stack %s (host %s, pid %d) for %s%s, since %s", h.ID, h.Stack, h.Host, h.PID, h.Operation, step, h.Since.Format(time.RFC3339))
}

// HeldError is a lease another run holds, or a stale one.
type HeldError struct {
	Cluster, StateStore, Region string
	Holder                      Holder
	RemoveCommand               string // deletes the lease object by hand
	Now                         time.Time
}

// Stale reports whether the lease's expiry has passed: its run renews it
// before every kops command, so a passed expiry means that run is gone.
func (e *HeldError) Stale() bool { return e.Now.After(e.Holder.Expires) }

// BreakCommand is the kopscalico command that breaks the lease.
func (e *HeldError) BreakCommand() string {
	return BreakCommand(e.StateStore, e.Cluster, e.Region, e.Holder.ID)
}

// BreakCommand is `kopscalico break-lease` of lease id of cluster in
// stateStore (region: an s3:// store's).
func BreakCommand(stateStore, cluster, region, id string) string {
	flags := "--state " + stateStore + " --name " + cluster
	if region != "" && strings.HasPrefix(stateStore, "s3://") {
		flags += " --region " + region
	}
	return "kopscalico break-lease " + flags + " " + id
}

func (e *HeldError) Error() string {
	h := e.Holder
	if e.Stale() {
		return fmt.Sprintf("kops cluster %s in %s has a stale lease: %s, expired at %s (%s ago): the run that took it stopped without releasing it (killed, or its machine lost); nothing is changed. "+
			"Check that no kops command of that run still works on %s, then break the lease with `%s` (or `%s`) and run again",
			e.Cluster, e.StateStore, h.describe(), h.Expires.Format(time.RFC3339), e.Now.Sub(h.Expires).Round(time.Second), e.Cluster, e.BreakCommand(), e.RemoveCommand)
	}
	return fmt.Sprintf("kops cluster %s in %s is being changed by another run: %s, until %s; nothing is changed. "+
		"Wait for that run to finish and run again. If it is gone (killed), its lease goes stale at %s; to break it now: `%s` (or `%s`)",
		e.Cluster, e.StateStore, h.describe(), h.Expires.Format(time.RFC3339), h.Expires.Format(time.RFC3339), e.BreakCommand(), e.RemoveCommand)
}
