package main

import (
	"context"
	"time"
)

// watchEngine calls gone once when this process's parent, the engine that
// started it, is no longer its parent (the engine died: the process was
// reparented), checking every interval until ctx ends. The SDK's own health
// check of the engine runs every five minutes and then waits for running
// calls to end, so a plugin whose engine was killed would go on running kops
// commands whose outcome no one records.
func watchEngine(ctx context.Context, engine int, getppid func() int, interval time.Duration, gone func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if getppid() != engine {
				gone()
				return
			}
		}
	}
}
