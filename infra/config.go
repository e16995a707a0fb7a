package infra

import (
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/config"
)

// loadConfig reads and validates the whole stack configuration before any
// resource is registered: a bad value fails the run with nothing created.
func loadConfig(ctx *pulumi.Context) (config.Config, error) {
	lookup := func(key string) (string, bool) {
		return ctx.GetConfig(config.Namespace + ":" + key)
	}
	return config.Parse(ctx.Project(), ctx.Stack(), lookup, osFS{})
}

// osFS answers config validation's questions from the real file system.
type osFS struct{}

func (osFS) IsDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func (osFS) IsFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
