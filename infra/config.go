package infra

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/config"
)

// LoadConfig reads and validates the whole stack configuration before any
// resource is registered: a bad value fails the run with nothing created.
func LoadConfig(ctx *pulumi.Context) (config.Config, error) {
	lookup := func(key string) (string, bool) {
		return ctx.GetConfig(config.FullKey(key))
	}
	return config.Parse(ctx.Project(), ctx.Stack(), lookup, config.OSFS{})
}
