package infra

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kopscalico/kopscalico/internal/demo"
)

// deployDemo deploys the demo workloads (http-echo Deployment and Service,
// busybox Deployment) into namespace. dependsOn is typically the namespace's
// resource (policyResources.NamespaceDeps). pulumi-kubernetes waits for the
// Deployments to be ready and the Service to have endpoints, so whatever
// depends on the returned resources (the probes) finds the echo server up.
func deployDemo(ctx *pulumi.Context, namespace string, provider pulumi.ProviderResource, dependsOn []pulumi.Resource) ([]pulumi.Resource, error) {
	w := demo.New(namespace)
	objects := []runtime.Object{&w.Echo, &w.EchoService, &w.Client}
	var out []pulumi.Resource
	for _, o := range objects {
		obj, err := toObjectMap(o)
		if err != nil {
			return nil, fmt.Errorf("demo workloads: %w", err)
		}
		meta, _ := obj["metadata"].(map[string]any)
		name := fmt.Sprintf("%s/%s", namespace, meta["name"])
		res, err := deployObject(ctx, name, obj, pulumi.Provider(provider), pulumi.DependsOn(dependsOn))
		if err != nil {
			return nil, fmt.Errorf("demo workloads: %w", err)
		}
		out = append(out, res)
	}
	return out, nil
}
