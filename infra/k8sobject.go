package infra

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/apimachinery/pkg/runtime"
)

// typeToken is the pulumi-kubernetes type token of a Kubernetes object:
// kubernetes:<group>/<version>:<Kind>, with the core group spelled "core",
// exactly as the SDK's typed resources and its yaml package name them.
func typeToken(apiVersion, kind string) (string, error) {
	if apiVersion == "" || kind == "" {
		return "", fmt.Errorf("object has no apiVersion or kind (apiVersion=%q kind=%q)", apiVersion, kind)
	}
	groupVersion := apiVersion
	if !strings.Contains(apiVersion, "/") {
		groupVersion = "core/" + apiVersion
	}
	return "kubernetes:" + groupVersion + ":" + kind, nil
}

// deployObject registers one Kubernetes object, given as the map form of its
// manifest, as the typed pulumi-kubernetes resource of its kind (the same
// registration the SDK's typed constructors and yaml package make). The
// Pulumi name is name; metadata.name in obj is the Kubernetes name.
func deployObject(ctx *pulumi.Context, name string, obj map[string]any, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	token, err := typeToken(apiVersion, kind)
	if err != nil {
		return nil, fmt.Errorf("deploy %s: %w", name, err)
	}
	// Drop what the API server owns; an empty status would show as a diff.
	args := make(map[string]any, len(obj))
	for k, v := range obj {
		if k == "status" {
			continue
		}
		args[k] = v
	}
	var res apiextensions.CustomResource
	if err := ctx.RegisterResource(token, name, kubernetes.UntypedArgs(args), &res, opts...); err != nil {
		return nil, fmt.Errorf("deploy %s %s: %w", kind, name, err)
	}
	return &res, nil
}

// toObjectMap converts a typed k8s.io/api object into the map deployObject
// takes, dropping nulls (creationTimestamp: null and the like). Empty maps stay:
// an empty podSelector means "every pod", which is not the same as none.
func toObjectMap(obj runtime.Object) (map[string]any, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	pruneNulls(m)
	return m, nil
}

func pruneNulls(m map[string]any) {
	for k, v := range m {
		switch t := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			pruneNulls(t)
		case []any:
			for _, e := range t {
				if em, ok := e.(map[string]any); ok {
					pruneNulls(em)
				}
			}
		}
	}
}
