// Command pulumi-resource-kopscalico is the resource provider plugin of the
// kopscalico program: the engine starts it (Pulumi.yaml plugins.providers
// names its path) and calls it over gRPC for the kopscalico:index:* resources.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumiprovider "github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/lease/s3lease"
	"github.com/kopscalico/kopscalico/internal/nodeversions"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/probe/probelog"
	"github.com/kopscalico/kopscalico/internal/provider"
	"github.com/kopscalico/kopscalico/internal/sgcheck"
)

// realDeps are the kops CLI, the EC2 API, the Kubernetes API and the
// clusters' leases in their state stores (S3 or file://). They are
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
		Leases:      s3lease.Open,
	}
}

// stopGrace is how long a SIGTERM leaves the running operations to stop
// their kops commands and release their clusters' leases.
const stopGrace = 30 * time.Second

func main() {
	engine := os.Getppid()
	sigterm := make(chan os.Signal, 1)
	signal.Notify(sigterm, syscall.SIGTERM)
	err := pulumiprovider.Main(pluginapi.Name, func(host *pulumiprovider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		var log provider.Logger
		if host != nil { // nil when started apart from the engine: Attach sets it
			log = host
		}
		prov := provider.New(log, realDeps())
		go func() {
			<-sigterm
			prov.Stop(stopGrace)
			os.Exit(143) // 128 + SIGTERM, as the default action reports it
		}()
		if host != nil {
			go watchEngine(context.Background(), engine, os.Getppid, time.Second, func() { stopWithoutEngine(prov) })
		}
		return plugin.NewProviderServer(prov), nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[0], err)
		os.Exit(1)
	}
}

// stopWithoutEngine ends a plugin whose engine died: the running kops
// commands are stopped (SIGTERM, then SIGKILL) and their leases released,
// then the SDK's graceful stop (SIGINT) lets the calls return; exitDeadline
// bounds it all. Nothing is written to stderr: the engine's end is closed.
func stopWithoutEngine(prov *provider.Provider) {
	time.AfterFunc(exitDeadline, func() { os.Exit(1) })
	prov.Stop(stopGrace)
	_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
}

// exitDeadline is how long a plugin without its engine has to stop: the
// kops commands' grace after SIGTERM, and then some.
const exitDeadline = stopGrace + 10*time.Second
