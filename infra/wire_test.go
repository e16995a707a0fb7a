package infra

import (
	"reflect"
	"testing"

	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// The outputs the program reads from the plugin's resources are fields of
// their recorded state, by the same names.
func TestOutputsAreWireFields(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		res  any
		wire pluginapi.Resource
	}{
		{KopsCluster{}, pluginapi.Cluster},
		{securityGroupCheck{}, pluginapi.SecurityGroupCheck},
		{probeVerdicts{}, pluginapi.ProbeVerdicts},
		{stateStoreGuard{}, pluginapi.StateStoreGuard},
		{calicoDataplane{}, pluginapi.CalicoDataplane},
	} {
		typ := reflect.TypeOf(tc.res)
		for i := range typ.NumField() {
			name, ok := typ.Field(i).Tag.Lookup("pulumi")
			if !ok {
				continue
			}
			found := false
			for _, f := range tc.wire.State {
				found = found || f.Name == name
			}
			if !found {
				t.Errorf("%s.%s reads output %q, which %s does not record", typ.Name(), typ.Field(i).Name, name, tc.wire.Token)
			}
		}
	}
}
