package main

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestWatchEngineCallsGoneOnceWhenReparented(t *testing.T) {
	t.Parallel()
	var ppid atomic.Int64
	ppid.Store(4242)
	calls := make(chan struct{}, 2)
	done := make(chan struct{})
	go func() {
		watchEngine(context.Background(), 4242, func() int { return int(ppid.Load()) }, time.Millisecond, func() { calls <- struct{}{} })
		close(done)
	}()
	select {
	case <-calls:
		t.Fatal("gone called while the engine is the parent")
	case <-time.After(50 * time.Millisecond):
	}
	ppid.Store(1)
	select {
	case <-calls:
	case <-time.After(5 * time.Second):
		t.Fatal("gone not called after the reparenting")
	}
	<-done
	if len(calls) != 0 {
		t.Error("gone called twice")
	}
}

func TestWatchEngineStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		watchEngine(ctx, 4242, func() int { return 4242 }, time.Millisecond, func() { t.Error("gone called") })
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the watch outlived its context")
	}
}
