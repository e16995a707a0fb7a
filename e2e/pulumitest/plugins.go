package pulumitest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// PluginVersions are the versions the built plugins are installed as: the
// version the program's SDK asks the engine for.
var PluginVersions = map[string]string{
	"pulumi-resource-kubernetes": "4.32.0",
}

// installPlugins links the built plugins into PULUMI_HOME's plugin cache,
// the layout `pulumi plugin install` leaves, so the engine finds exactly the
// version the SDK requests without downloading or warning about PATH.
func installPlugins(home string, tools map[string]string) error {
	for name, path := range tools {
		kind, plugin, ok := strings.Cut(strings.TrimPrefix(name, "pulumi-"), "-")
		version, known := PluginVersions[name]
		if !ok || !known || (kind != "resource" && kind != "language") {
			continue
		}
		dir := filepath.Join(home, "plugins", fmt.Sprintf("%s-%s-v%s", kind, plugin, version))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("install plugin %s: %w", name, err)
		}
		if err := os.Symlink(path, filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("install plugin %s: %w", name, err)
		}
	}
	return nil
}
