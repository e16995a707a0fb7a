package lease_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/internal/lease"
	"github.com/kopscalico/kopscalico/internal/lease/s3lease"
	"github.com/kopscalico/kopscalico/internal/testing/fakeaws"
)

// stores are the two implementations, each fresh: a file:// store's
// directory, and an S3 bucket of the fake S3 through the SDK's client.
func stores(t *testing.T) map[string]func(t *testing.T) (lease.Store, string) {
	return map[string]func(t *testing.T) (lease.Store, string){
		"file": func(t *testing.T) (lease.Store, string) {
			url := "file://" + t.TempDir()
			s, err := s3lease.Open(context.Background(), url, "")
			if err != nil {
				t.Fatal(err)
			}
			return s, url
		},
		"s3": func(t *testing.T) (lease.Store, string) {
			aws := fakeaws.Start(t)
			for k, v := range aws.Env() {
				t.Setenv(k, v)
			}
			url := "s3://kops-state/team"
			s, err := s3lease.Open(context.Background(), url, "us-east-1")
			if err != nil {
				t.Fatal(err)
			}
			return s, url
		},
	}
}

// clock is a settable time.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func request(store, stack string, c *clock) lease.Request {
	return lease.Request{Cluster: "calico.example.com", StateStore: store, Region: "us-east-1", Stack: stack, Operation: "update", TTL: 10 * time.Minute, Now: c.now}
}

func TestLeaseLifecycle(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store, url := open(t)
			c := &clock{time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
			first, err := lease.Acquire(ctx, store, request(url, "acme/kopscalico/prod", c))
			if err != nil {
				t.Fatalf("acquire: %v", err)
			}
			c.t = c.t.Add(time.Minute)
			if err := first.Renew(ctx, "roll", 40*time.Minute); err != nil {
				t.Fatalf("renew: %v", err)
			}

			// A second run is refused, and told who holds the lease.
			_, err = lease.Acquire(ctx, store, request(url, "acme/kopscalico/staging", c))
			var held *lease.HeldError
			if !errors.As(err, &held) || held.Stale() {
				t.Fatalf("second acquire: %v; want a live *HeldError", err)
			}
			host, _ := os.Hostname()
			h := first.Holder()
			for _, want := range []string{
				"kops cluster calico.example.com in " + url + " is being changed by another run",
				fmt.Sprintf("lease %s held by stack acme/kopscalico/prod (host %s, pid %d) for update, at step roll, since 2026-12-07T10:00:00Z, until 2026-12-07T10:41:00Z", h.ID, host, os.Getpid()),
				"nothing is changed", "Wait for that run to finish",
				"`" + lease.BreakCommand(url, "calico.example.com", "us-east-1", h.ID) + "`",
				store.RemoveCommand(lease.Key("calico.example.com")),
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the refusal does not say %q:\n%s", want, err)
				}
			}
			t.Logf("held: %v", err)

			// Past its expiry the same lease is stale: reported, not taken.
			c.t = c.t.Add(45 * time.Minute)
			_, err = lease.Acquire(ctx, store, request(url, "acme/kopscalico/staging", c))
			if !errors.As(err, &held) || !held.Stale() {
				t.Fatalf("acquire over an expired lease: %v; want a stale *HeldError", err)
			}
			for _, want := range []string{"has a stale lease", "expired at 2026-12-07T10:41:00Z (5m0s ago)", "stopped without releasing it", held.BreakCommand(), "nothing is changed"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the stale report does not say %q:\n%s", want, err)
				}
			}
			t.Logf("stale: %v", err)

			// A break names the lease: another id is refused.
			if _, err := lease.Break(ctx, store, "calico.example.com", "0000"); err == nil || !strings.Contains(err.Error(), "nothing is broken") {
				t.Errorf("break of another id: %v", err)
			}
			broken, err := lease.Break(ctx, store, "calico.example.com", h.ID)
			if err != nil || broken.Stack != "acme/kopscalico/prod" {
				t.Fatalf("break: %+v, %v", broken, err)
			}
			second, err := lease.Acquire(ctx, store, request(url, "acme/kopscalico/staging", c))
			if err != nil {
				t.Fatalf("acquire after the break: %v", err)
			}

			// The broken run finds out at its next renewal, and its release
			// leaves the new holder's lease alone.
			if err := first.Renew(ctx, "validate", time.Minute); err == nil || !strings.Contains(err.Error(), "no longer this run's") {
				t.Errorf("renewal of a broken lease: %v", err)
			}
			if err := first.Release(ctx); err != nil {
				t.Errorf("release of a broken lease: %v", err)
			}
			if _, err := lease.Acquire(ctx, store, request(url, "acme/kopscalico/prod", c)); !errors.As(err, &held) || held.Holder.ID != second.Holder().ID {
				t.Fatalf("after the old holder's release: %v; want the new holder's lease in place", err)
			}
			if err := second.Release(ctx); err != nil {
				t.Fatalf("release: %v", err)
			}
			if _, err := lease.Break(ctx, store, "calico.example.com", second.Holder().ID); err == nil || !strings.Contains(err.Error(), "has no lease") {
				t.Errorf("break after release: %v", err)
			}
			third, err := lease.Acquire(ctx, store, request(url, "acme/kopscalico/prod", c))
			if err != nil {
				t.Fatalf("acquire after release: %v", err)
			}
			_ = third.Release(ctx)
		})
	}
}

// Two runs that create the lease at once: exactly one gets it.
func TestLeaseOneWinnerOfARace(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			store, url := open(t)
			c := &clock{time.Now()}
			const runs = 8
			errs := make(chan error, runs)
			for i := range runs {
				go func() {
					_, err := lease.Acquire(context.Background(), store, request(url, fmt.Sprintf("o/p/s%d", i), c))
					errs <- err
				}()
			}
			won, refused := 0, 0
			for range runs {
				var held *lease.HeldError
				switch err := <-errs; {
				case err == nil:
					won++
				case errors.As(err, &held):
					refused++
				default:
					t.Errorf("acquire: %v", err)
				}
			}
			if won != 1 || refused != runs-1 {
				t.Errorf("%d won, %d refused; want 1 and %d", won, refused, runs-1)
			}
		})
	}
}

// A file:// store keeps the lease outside every cluster's folder, where the
// address and the command to remove it say.
func TestLeaseFileLayout(t *testing.T) {
	dir := t.TempDir()
	store, err := s3lease.Open(context.Background(), "file://"+dir, "")
	if err != nil {
		t.Fatal(err)
	}
	l, err := lease.Acquire(context.Background(), store, lease.Request{Cluster: "c.example.com", Stack: "o/p/s", Operation: "create", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	want := dir + "/.kopscalico-leases/c.example.com.json"
	if _, err := os.Stat(want); err != nil || store.Address(lease.Key("c.example.com")) != want || store.RemoveCommand(lease.Key("c.example.com")) != "rm "+want {
		t.Errorf("lease at %s: %v; address %s, remove %q", want, err, store.Address(lease.Key("c.example.com")), store.RemoveCommand(lease.Key("c.example.com")))
	}
	if err := l.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(want); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after release: %v", err)
	}
	if _, err := s3lease.Open(context.Background(), "gs://bucket", ""); err == nil {
		t.Error("a gs:// store opened")
	}
}
