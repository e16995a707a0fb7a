package main

import (
	"context"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/preflight"
)

// checkBeforeUp reads the stack's configuration as the program will and,
// unless skipped, checks this machine and the AWS account for it: both
// before the engine runs, so a problem stops the run with nothing applied.
func checkBeforeUp(ctx context.Context, stack auto.Stack, skipPreflight bool) error {
	cfg, err := stackConfig(ctx, stack)
	if err != nil {
		return err
	}
	if skipPreflight {
		return nil
	}
	if err := preflight.Run(ctx, cfg, preflight.Default()); err != nil {
		return fmt.Errorf("%w\nnothing was applied; on a machine that cannot reach AWS, leave these checks out with `kopscalico up --skip-preflight`", err)
	}
	return nil
}

// stackConfig is the stack's configuration as the CLI hands it to the
// program, parsed by the program's own rules.
func stackConfig(ctx context.Context, stack auto.Stack) (config.Config, error) {
	values, err := stack.GetAllConfig(ctx)
	if err != nil {
		return config.Config{}, fmt.Errorf("read the stack's configuration: %w", err)
	}
	lookup := func(key string) (string, bool) {
		v, ok := values[config.FullKey(key)]
		return v.Value, ok
	}
	return config.Parse(config.Namespace, stack.Name(), lookup, config.OSFS{})
}
