// Command pulumi-resource-kopscalico is the resource provider plugin of the
// kopscalico program: the engine starts it (Pulumi.yaml plugins.providers
// names its path) and calls it over gRPC for the kopscalico:index:* resources.
package main

import (
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumiprovider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"github.com/kopscalico/kopscalico/internal/provider"
)

func main() {
	err := pulumiprovider.Main(provider.Name, func(host *pulumiprovider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		var log provider.Logger
		if host != nil { // nil when started apart from the engine: Attach sets it
			log = host
		}
		return plugin.NewProviderServer(provider.New(log, provider.DefaultDeps())), nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[0], err)
		os.Exit(1)
	}
}
