package infra

import (
	"fmt"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// recorder is a Pulumi mock monitor that records every registered resource,
// so tests assert the inputs the program asks for.
type recorder struct {
	mu        sync.Mutex
	resources []recorded
	// outputs lets a test give a resource type outputs beyond its inputs.
	outputs func(token string, inputs resource.PropertyMap) resource.PropertyMap
}

type recorded struct {
	Token    string
	Name     string
	Inputs   resource.PropertyMap
	Provider string
	Protect  bool
	Retain   bool     // retainOnDelete
	Deps     []string // URNs this resource depends on
	Parent   string
	Aliases  []string // names of the aliases given (pulumi.Alias{Name: ...})
}

func (r *recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	r.mu.Lock()
	rec := recorded{Token: args.TypeToken, Name: args.Name, Inputs: args.Inputs, Provider: args.Provider}
	if rpc := args.RegisterRPC; rpc != nil {
		rec.Protect = rpc.GetProtect()
		rec.Retain = rpc.GetRetainOnDelete()
		rec.Deps = rpc.GetDependencies()
		rec.Parent = rpc.GetParent()
		for _, a := range rpc.GetAliases() {
			if name := a.GetSpec().GetName(); name != "" {
				rec.Aliases = append(rec.Aliases, name)
			}
		}
	}
	r.resources = append(r.resources, rec)
	r.mu.Unlock()
	outs := args.Inputs.Copy()
	switch args.TypeToken {
	case "aws:s3/bucketV2:BucketV2":
		outs["arn"] = resource.NewStringProperty("arn:aws:s3:::" + args.Inputs["bucket"].StringValue())
	}
	if r.outputs != nil {
		for k, v := range r.outputs(args.TypeToken, args.Inputs) {
			outs[k] = v
		}
	}
	return args.Name + "-id", outs, nil
}

func (r *recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return resource.PropertyMap{}, nil
}

// byType returns the recorded resources of one type token.
func (r *recorder) byType(token string) []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recorded
	for _, res := range r.resources {
		if res.Token == token {
			out = append(out, res)
		}
	}
	return out
}

// one returns the only resource of a type, failing the test otherwise.
func (r *recorder) one(t *testing.T, token string) recorded {
	t.Helper()
	all := r.byType(token)
	if len(all) != 1 {
		t.Fatalf("want exactly one %s, got %d", token, len(all))
	}
	return all[0]
}

// withConfig sets the stack configuration (keys without namespace) of a mocked run.
func withConfig(cfg map[string]string) pulumi.RunOption {
	return func(info *pulumi.RunInfo) {
		info.Config = map[string]string{}
		for k, v := range cfg {
			info.Config["kopscalico:"+k] = v
		}
	}
}

// runMocked runs fn under mocks for the given stack and configuration.
func runMocked(t *testing.T, stack string, cfg map[string]string, rec *recorder, fn pulumi.RunFunc) error {
	t.Helper()
	return pulumi.RunErr(fn, pulumi.WithMocks("kopscalico", stack, rec), withConfig(cfg))
}

// await resolves an output inside a mocked run.
func await[T any](t *testing.T, o pulumi.Output) T {
	t.Helper()
	ch := make(chan any, 1)
	o.ApplyT(func(v any) any { ch <- v; return v })
	v := <-ch
	out, ok := v.(T)
	if !ok {
		t.Fatalf("output is %T, want %T", v, *new(T))
	}
	return out
}

func propString(t *testing.T, m resource.PropertyMap, path ...string) string {
	t.Helper()
	v := resource.NewObjectProperty(m)
	for _, p := range path {
		switch {
		case v.IsObject():
			v = v.ObjectValue()[resource.PropertyKey(p)]
		case v.IsArray():
			var i int
			if _, err := fmt.Sscan(p, &i); err != nil || i >= len(v.ArrayValue()) {
				t.Fatalf("no element %s at %v", p, path)
			}
			v = v.ArrayValue()[i]
		default:
			t.Fatalf("no %s at %v", p, path)
		}
		if v.IsSecret() {
			v = v.SecretValue().Element
		}
	}
	switch {
	case v.IsString():
		return v.StringValue()
	case v.IsBool():
		return fmt.Sprint(v.BoolValue())
	case v.IsNumber():
		return fmt.Sprint(v.NumberValue())
	case v.IsNull():
		return ""
	}
	return v.String()
}
