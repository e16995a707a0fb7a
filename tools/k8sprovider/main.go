// Command pulumi-resource-kubernetes serves the pulumi-kubernetes provider.
//
// The upstream main embeds schema files its module does not ship; gen.go
// (run by tools/build.sh) writes them here from the module's schema.json and
// terraform-mapping.json with the version stamped in.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
