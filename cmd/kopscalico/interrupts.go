package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

const (
	firstInterruptNotice = "kopscalico: interrupted: cancelling; the running steps are asked to stop and " +
		"the state records how they end; interrupt again to stop now"
	secondInterruptNotice = "kopscalico: interrupted again: stopping now; steps cut short stay pending in the " +
		"stack's state: run `kopscalico repair` afterwards (and `kopscalico cancel --yes` if the backend " +
		"still reports an update in progress)"
)

// interrupts stages this process's SIGINT and SIGTERM. The first closes
// interrupt: each pulumi CLI gets one SIGINT, the engine's graceful cancel.
// The second cancels ctx: the CLI gets its second SIGINT and stops at once.
// A third is not caught and ends this process. stop releases the signals.
func interrupts(parent context.Context, notices io.Writer) (ctx context.Context, interrupt <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	graceful := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	released := make(chan struct{})
	go func() {
		defer signal.Stop(sigs)
		for _, stage := range []struct {
			notice string
			act    func()
		}{
			{firstInterruptNotice, func() { close(graceful) }},
			{secondInterruptNotice, cancel},
		} {
			select {
			case <-sigs:
				fmt.Fprintln(notices, stage.notice)
				stage.act()
			case <-released:
				return
			}
		}
	}()
	var once sync.Once
	return ctx, graceful, func() {
		once.Do(func() { close(released) })
		cancel()
	}
}
