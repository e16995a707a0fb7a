package e2e_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"

	"github.com/kopscalico/kopscalico/e2e/pulumitest"
	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

// A stack whose state recorded the Cluster's switches under their former
// names (adoptExisting, allowReplacement: the plugin before they were named
// as their config keys) previews no change after the upgrade, and a refresh
// records them under the new names.
func TestKopsClusterRecordedUnderFormerNames(t *testing.T) {
	s := newKopsScenario(t, "1.34", pulumitest.Config{
		config.FullKey(config.KeyAdoptExisting):    pulumitest.Plain("true"),
		config.FullKey(config.KeyAllowReplacement): pulumitest.Plain("true"),
	})
	s.step("up: create", func() { s.stack.Up() })

	former := map[string]string{config.KeyAdoptExisting: "adoptExisting", config.KeyAllowReplacement: "allowReplacement"}
	renameClusterKeys(t, s.stack, former)

	calls := s.step("preview after the upgrade", func() { s.stack.Preview(optpreview.ExpectNoChanges()) })
	if len(calls) != 0 {
		t.Errorf("preview ran kops: %v", kopsdouble.Commands(calls))
	}
	calls = s.step("refresh", func() { s.stack.Refresh() })
	if m := kopsdouble.Mutating(calls); len(m) != 0 {
		t.Errorf("refresh mutated: %v", kopsdouble.Commands(m))
	}
	s.step("preview after the refresh", func() { s.stack.Preview(optpreview.ExpectNoChanges()) })

	inputs := clusterInputsInState(t, s.stack)
	for name, old := range former {
		if _, ok := inputs[old]; ok {
			t.Errorf("the refreshed state keeps %s", old)
		}
		if inputs[name] != true {
			t.Errorf("the refreshed state has %s = %v, want true", name, inputs[name])
		}
	}
}

// renameClusterKeys rewrites the Cluster's recorded inputs and outputs, new
// name -> former name, as an older plugin recorded them.
func renameClusterKeys(t *testing.T, s *pulumitest.Stack, names map[string]string) {
	t.Helper()
	editState(t, s, func(dep map[string]any) {
		renamed := 0
		for _, r := range dep["resources"].([]any) {
			res := r.(map[string]any)
			if res["type"] != pluginapi.ClusterType {
				continue
			}
			for _, part := range []string{"inputs", "outputs"} {
				props := res[part].(map[string]any)
				for name, old := range names {
					if v, ok := props[name]; ok {
						props[old] = v
						delete(props, name)
						renamed++
					}
				}
			}
		}
		if renamed != 2*len(names) {
			t.Fatalf("renamed %d recorded keys, want %d", renamed, 2*len(names))
		}
	})
}

// clusterInputsInState are the Cluster's recorded inputs.
func clusterInputsInState(t *testing.T, s *pulumitest.Stack) map[string]any {
	t.Helper()
	state, err := s.Stack.Export(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var dep struct {
		Resources []struct {
			Type   string         `json:"type"`
			Inputs map[string]any `json:"inputs"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(state.Deployment, &dep); err != nil {
		t.Fatal(err)
	}
	for _, r := range dep.Resources {
		if r.Type == pluginapi.ClusterType {
			return r.Inputs
		}
	}
	t.Fatal("no Cluster in the state")
	return nil
}
