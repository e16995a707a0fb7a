package probe

import (
	"errors"
	"strings"
	"testing"
)

func TestZonesStatement(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		zones  Zones
		placed bool
		err    error
		want   string
	}{
		{"two zones, placed", Zones{"us-east-1a": 2, "us-east-1b": 1}, true, nil,
			"3 nodes in 2 zones (us-east-1a: 2, us-east-1b: 1): each cross-zone probe ran in another zone than its target, across subnets"},
		{"one zone, placed by a config of two", Zones{"us-east-1a": 3}, true, nil,
			"3 nodes, in one zone, us-east-1a (us-east-1a: 3): no probe crossed a subnet"},
		{"no label", Zones{"": 2}, false, nil, "2 nodes, in no zone (no topology.kubernetes.io/zone label: 2): no probe crossed a subnet"},
		{"some unlabelled", Zones{"us-east-1a": 1, "us-east-1b": 1, "": 1}, true, nil,
			"a probe on a node without a zone label may have crossed no subnet"},
		{"two zones, not placed", Zones{"us-east-1a": 1, "us-east-1b": 1}, false, nil, "but the probes are not placed by zone"},
		{"no node", Zones{}, true, nil, "no node listed"},
		{"unread", nil, true, errors.New("403"), "the nodes' zones were not read (403)"},
	} {
		if got := tc.zones.Statement(tc.placed, tc.err); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
