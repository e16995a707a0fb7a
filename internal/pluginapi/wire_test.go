package pluginapi_test

import (
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/testing/golden"
)

// The schema the plugin's GetSchema answers, built from the wire structs:
// a new or renamed field shows here (go test -update rewrites it).
func TestSchema(t *testing.T) {
	t.Parallel()
	got, err := pluginapi.Schema("0.0.0-test")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "testdata/schema.json", append(got, '\n'))
}

// wireStructs are every input and state struct on the wire.
var wireStructs = []any{
	pluginapi.ProviderArgs{},
	pluginapi.ClusterArgs{}, pluginapi.ClusterState{},
	pluginapi.SecurityGroupCheckArgs{}, pluginapi.SecurityGroupCheckState{},
	pluginapi.StateStoreGuardArgs{},
	pluginapi.ProbeVerdictsArgs{}, pluginapi.ProbeVerdictsState{},
	pluginapi.CalicoDataplaneArgs{}, pluginapi.CalicoDataplaneState{},
}

// textSamples are values of the types whose JSON form is their text: a
// filled field of such a type takes its sample.
var textSamples = map[reflect.Type]any{
	reflect.TypeFor[kopsrelease.Version](): kopsrelease.MustParse("1.34"),
	reflect.TypeFor[config.Access]():       config.MustParseAccessList("203.0.113.0/24")[0],
}

// fill sets every field of v, recursively, to a value that is not its zero
// value, distinct per path.
func fill(t *testing.T, v reflect.Value, path string) {
	t.Helper()
	if s, ok := textSamples[v.Type()]; ok {
		v.Set(reflect.ValueOf(s))
		return
	}
	if reflect.PointerTo(v.Type()).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) {
		t.Fatalf("%s: no sample of %s in textSamples", path, v.Type())
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(int64(len(path)))
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(t, s.Index(i), fmt.Sprintf("%s.%d", path, i))
		}
		v.Set(s)
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		fill(t, e.Elem(), path)
		v.Set(e)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		e := reflect.New(v.Type().Elem()).Elem()
		fill(t, e, path+".value")
		m.SetMapIndex(reflect.ValueOf("key").Convert(v.Type().Key()), e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(t, v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		}
	default:
		t.Fatalf("%s: fill does not know %s", path, v.Type())
	}
}

// Every wire field goes through the one encoder and back unchanged, under
// its name, secret where it is tagged so; the schema types what it writes.
func TestEveryFieldRoundTrips(t *testing.T) {
	t.Parallel()
	for _, zero := range wireStructs {
		typ := reflect.TypeOf(zero)
		t.Run(typ.Name(), func(t *testing.T) {
			t.Parallel()
			filled := reflect.New(typ)
			fill(t, filled.Elem(), typ.Name())
			props, err := pluginapi.Encode(filled.Interface())
			if err != nil {
				t.Fatal(err)
			}
			fields := pluginapi.FieldsOf(typ)
			var names []string
			for _, f := range fields {
				names = append(names, f.Name)
				v, ok := props[resource.PropertyKey(f.Name)]
				if !ok {
					t.Errorf("%s: not encoded", f.Name)
					continue
				}
				if v.IsSecret() != f.Secret {
					t.Errorf("%s: secret = %v, tagged %v", f.Name, v.IsSecret(), f.Secret)
				}
			}
			for k := range props {
				if !slices.Contains(names, string(k)) {
					t.Errorf("%s is encoded but is no wire field", k)
				}
			}
			back := reflect.New(typ)
			if err := pluginapi.Decode(props, back.Interface()); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(filled.Interface(), back.Interface(), cmp.Comparer(func(a, b config.Access) bool { return a == b })); diff != "" {
				t.Errorf("round trip (-sent +received):\n%s", diff)
			}
		})
	}
}

// The Cluster's inputs and the provider's are named as the config keys they
// come from.
func TestInputsAreNamedAsConfigKeys(t *testing.T) {
	t.Parallel()
	for _, r := range []pluginapi.Resource{pluginapi.Provider, pluginapi.Cluster} {
		for _, f := range r.Inputs {
			if !f.Program && !slices.Contains(config.AllKeys, f.Name) {
				t.Errorf("%s input %s is no config key", r.Token, f.Name)
			}
		}
	}
}

// A state recorded under an input's former name reads as that input.
func TestFormerNamesAreRead(t *testing.T) {
	t.Parallel()
	old := resource.PropertyMap{"adoptExisting": resource.NewBoolProperty(true), "allowReplacement": resource.NewBoolProperty(true), "clusterName": resource.NewStringProperty("a.example.com")}
	migrated := pluginapi.Migrate(pluginapi.Cluster.Inputs, old)
	want := resource.PropertyMap{"adoptExistingCluster": resource.NewBoolProperty(true), "allowClusterReplacement": resource.NewBoolProperty(true), "clusterName": resource.NewStringProperty("a.example.com")}
	if !migrated.DeepEquals(want) {
		t.Errorf("migrated = %v, want %v", migrated, want)
	}
	if _, ok := old["adoptExistingCluster"]; ok {
		t.Error("Migrate changed its argument")
	}
	var args pluginapi.ClusterArgs
	if err := pluginapi.Decode(old, &args); err != nil || !args.AdoptExisting || !args.AllowReplacement {
		t.Errorf("decoded %+v, %v", args, err)
	}
	// A new name present wins over the former one.
	both := resource.PropertyMap{"adoptExisting": resource.NewBoolProperty(true), "adoptExistingCluster": resource.NewBoolProperty(false)}
	if got := pluginapi.Migrate(pluginapi.Cluster.Inputs, both); !got.DeepEquals(resource.PropertyMap{"adoptExistingCluster": resource.NewBoolProperty(false)}) {
		t.Errorf("both names: %v", got)
	}
}

// The program names the inputs it sets from other resources by their
// fields.
func TestFieldName(t *testing.T) {
	t.Parallel()
	var args pluginapi.ProbeVerdictsArgs
	for _, tc := range []struct {
		field any
		want  string
	}{{&args.Kubeconfig, "kubeconfig"}, {&args.Jobs, "jobs"}, {&args.Revision, "revision"}, {&args.Namespace, "namespace"}} {
		f, err := pluginapi.FieldName(&args, tc.field)
		if err != nil || f.Name != tc.want {
			t.Errorf("FieldName = %q, %v; want %q", f.Name, err, tc.want)
		}
	}
	other := ""
	if _, err := pluginapi.FieldName(&args, &other); err == nil {
		t.Error("a pointer outside the struct is named")
	}
}

// Check's answer makes a secret input secret, whatever the program sent.
func TestMarkSecrets(t *testing.T) {
	t.Parallel()
	sent := resource.PropertyMap{"kubeconfig": resource.NewStringProperty("apiVersion: v1"), "namespace": resource.NewStringProperty("ns-1")}
	got := pluginapi.ProbeVerdicts.MarkSecrets(sent)
	if !got["kubeconfig"].IsSecret() || got["namespace"].IsSecret() {
		t.Errorf("marked %v", got)
	}
	if sent["kubeconfig"].IsSecret() {
		t.Error("MarkSecrets changed its argument")
	}
}

// A state recorded before the instanceGroups input held kops's instance
// groups as YAML under that name: it reads as no declared groups.
func TestStateBeforeInstanceGroupsInput(t *testing.T) {
	t.Parallel()
	props := resource.PropertyMap{
		"clusterName":    resource.NewStringProperty("demo.example.com"),
		"nodeCount":      resource.NewNumberProperty(2),
		"instanceGroups": resource.NewStringProperty("apiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\n"),
	}
	var state pluginapi.ClusterState
	if err := pluginapi.Decode(props, &state); err != nil {
		t.Fatal(err)
	}
	if state.InstanceGroups != nil || state.NodeCount != 2 || state.LiveInstanceGroups != "" {
		t.Errorf("decoded %+v", state.Desired)
	}
}
