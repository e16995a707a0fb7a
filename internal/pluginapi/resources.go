package pluginapi

import (
	"reflect"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Resource is one type of the package as its wire structs describe it: the
// inputs and the recorded state (the outputs).
type Resource struct {
	Token       string
	Description string
	Inputs      []Field
	State       []Field // none for the provider
}

func newResource(token, description string, args, state any) Resource {
	r := Resource{Token: token, Description: description, Inputs: FieldsOf(reflect.TypeOf(args))}
	if state != nil {
		r.State = FieldsOf(reflect.TypeOf(state))
	}
	return r
}

// The package's provider and resources.
var (
	Provider = newResource("pulumi:providers:"+Name,
		"How kops runs: the binary, its timeouts, and the state store `pulumi import` of a Cluster looks in.",
		ProviderArgs{}, nil)
	Cluster = newResource(ClusterType,
		"A kops cluster with Calico cross-subnet: created, converted, updated, rolled and deleted by the kops CLI.",
		ClusterArgs{}, ClusterState{})
	SecurityGroupCheck = newResource(SecurityGroupCheckType,
		"The read-only EC2 check of what Calico cross-subnet needs from the cluster's security groups, run again when an input changes.",
		SecurityGroupCheckArgs{}, SecurityGroupCheckState{})
	StateStoreGuard = newResource(StateStoreGuardType,
		"Keeps the kops state store while it holds a cluster: its delete refuses while kops lists one there.",
		StateStoreGuardArgs{}, StateStoreGuardArgs{})
	ProbeVerdicts = newResource(ProbeVerdictsType,
		"The probe Jobs' verdicts read from their pods, recorded when they agree with the policies.",
		ProbeVerdictsArgs{}, ProbeVerdictsState{})
	CalicoDataplane = newResource(CalicoDataplaneType,
		"Calico's dataplane as the cluster runs it (IP pools, calico_backend, Felix, the calico-node rollout) against the one asked for: read after every change kops makes and on refresh.",
		CalicoDataplaneArgs{}, CalicoDataplaneState{})
)

// Resources are the package's resource types.
var Resources = []Resource{Cluster, SecurityGroupCheck, StateStoreGuard, ProbeVerdicts, CalicoDataplane}

// ResourceOf returns the resource of a type token.
func ResourceOf(token string) (Resource, bool) {
	for _, r := range Resources {
		if r.Token == token {
			return r, true
		}
	}
	return Resource{}, false
}

// Input returns the input of this name.
func (r Resource) Input(name string) (Field, bool) { return fieldNamed(r.Inputs, name) }

// MarkSecrets makes the inputs tagged secret secret in props (a Check's
// answer, which the engine records); props is not changed.
func (r Resource) MarkSecrets(props resource.PropertyMap) resource.PropertyMap {
	var out resource.PropertyMap
	for _, f := range r.Inputs {
		key := resource.PropertyKey(f.Name)
		v, ok := props[key]
		if !f.Secret || !ok || v.IsSecret() || v.IsNull() {
			continue
		}
		if out == nil {
			out = props.Copy()
		}
		out[key] = resource.MakeSecret(v)
	}
	if out == nil {
		return props
	}
	return out
}
