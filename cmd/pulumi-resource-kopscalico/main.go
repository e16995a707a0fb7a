// Command pulumi-resource-kopscalico is the resource provider plugin of the
// kopscalico program: the engine starts it (Pulumi.yaml plugins.providers
// names its path) and calls it over gRPC for the kopscalico:index:* resources.
package main

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumiprovider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/nodeversions"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/probe/probelog"
	"github.com/kopscalico/kopscalico/internal/provider"
	"github.com/kopscalico/kopscalico/internal/sgcheck"
)

// realDeps are the kops CLI, the EC2 API and the Kubernetes API. They are
// wired here, not in package provider: the program imports that package and
// would otherwise link the Kubernetes client.
func realDeps() provider.Deps {
	return provider.Deps{
		NewKopsRunner: func(binary string, log func(stream, line string)) kops.Runner {
			return &kops.ExecRunner{Binary: binary, Log: log}
		},
		NewEC2:      sgcheck.NewEC2,
		ProbeReader: probelog.KubeReader{},
		NodeReader:  nodeversions.Reader{},
	}
}

func main() {
	engine := os.Getppid()
	err := pulumiprovider.Main(pluginapi.Name, func(host *pulumiprovider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		if host == nil { // started apart from the engine: Attach sets the logger
			return plugin.NewProviderServer(provider.New(nil, realDeps())), nil
		}
		prov := provider.New(host, realDeps())
		go watchEngine(context.Background(), engine, os.Getppid, time.Second, func() { stopWithoutEngine(prov) })
		return plugin.NewProviderServer(prov), nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[0], err)
		os.Exit(1)
	}
}

// stopWithoutEngine ends a plugin whose engine died: the running kops
// commands are stopped (SIGTERM, then SIGKILL), then the SDK's graceful stop
// (SIGINT) lets the calls return; exitDeadline bounds it all. Nothing is
// written to stderr: the engine's end of the pipe is closed.
func stopWithoutEngine(prov *provider.Provider) {
	time.AfterFunc(exitDeadline, func() { os.Exit(1) })
	_ = prov.SignalCancellation(context.Background())
	_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
}

// exitDeadline is how long a plugin without its engine has to stop: the
// kops commands' grace after SIGTERM, and then some.
const exitDeadline = 30 * time.Second
