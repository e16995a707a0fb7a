// Package infra is the Pulumi layer: it wires the stages of one `pulumi up`
// (config, state store, kops cluster, Kubernetes provider, security-group
// check, Calico manifest, policies, workloads, probes) and holds no business
// logic of its own: that lives in internal/ and policies/.
package infra

import (
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/config"
)

// Deps are the seams where the program meets the outside world. Program uses
// DefaultDeps; tests give fakes.
type Deps struct{}

// DefaultDeps are the real kops CLI, EC2 API and Kubernetes API.
func DefaultDeps() Deps { return Deps{} }

// Program is the one entry point: `pulumi up`, the unit tests and the
// end-to-end tests (Automation API inline program) all run it.
func Program(ctx *pulumi.Context) error {
	return NewProgram(DefaultDeps())(ctx)
}

// Outputs are the stack outputs, exported in one place.
type Outputs struct {
	StateStore pulumi.StringOutput // the KOPS_STATE_STORE value
}

// NewProgram returns the program with the given seams.
func NewProgram(deps Deps) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		cfg, err := loadConfig(ctx)
		if err != nil {
			return err
		}
		out, err := build(ctx, cfg, deps)
		if err != nil {
			return err
		}
		ctx.Export("stateStore", out.StateStore)
		return nil
	}
}

// build registers every stage for a validated configuration.
func build(ctx *pulumi.Context, cfg config.Config, deps Deps) (*Outputs, error) {
	store, err := deployStateStore(ctx, cfg)
	if err != nil {
		return nil, err
	}

	kubeconfig := pulumi.ToSecret(pulumi.String(cfg.Cluster.Kubeconfig)).(pulumi.StringOutput)

	// ClusterIdentifier: the provider is never replaced because its
	// kubeconfig changed (a renewed admin credential), only when the cluster
	// itself is another one.
	provider, err := kubernetes.NewProvider(ctx, "cluster", &kubernetes.ProviderArgs{
		Kubeconfig:        kubeconfig,
		ClusterIdentifier: pulumi.String(cfg.Cluster.Name),
	})
	if err != nil {
		return nil, err
	}
	_ = provider
	return &Outputs{StateStore: store.URL}, nil
}
