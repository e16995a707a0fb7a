package sgcheck

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/kopscalico/kopscalico/internal/sgcheck/sgchecktest"
)

// TestCheckOverTheWire runs Check through the real aws-sdk-go-v2 EC2 client
// against the fake served in EC2's query protocol: request encoding, signing,
// XML decoding and pagination all take their real path.
func TestCheckOverTheWire(t *testing.T) {
	t.Parallel()
	for _, withIPIP := range []bool{true, false} {
		t.Run(fmt.Sprintf("ipip-rule=%v", withIPIP), func(t *testing.T) {
			f := completeKopsCluster()
			f.PageSize = 1 // groups answer in 2 pages, instances in 3
			if !withIPIP {
				f.RemovePermissions(mastersID, func(p types.IpPermission) bool { return proto(p) == "4" })
			}
			srv := sgchecktest.Serve(f, "eu-west-1")
			defer srv.Close()

			r, err := Check(context.Background(), srv.Client(), ipip())
			if err != nil {
				t.Fatalf("Check: %v", err)
			}

			sgFilters := map[string]string{
				"Filter.1.Name": "tag:KubernetesCluster", "Filter.1.Value.1": testCluster,
				"Filter.2.Name": "group-name", "Filter.2.Value.1": "masters." + testCluster, "Filter.2.Value.2": "nodes." + testCluster,
			}
			instFilters := map[string]string{
				"Filter.1.Name": "tag:KubernetesCluster", "Filter.1.Value.1": testCluster,
				"Filter.2.Name": "instance-state-name", "Filter.2.Value.1": "running",
			}
			want := []struct {
				action, token string
				filters       map[string]string
			}{
				{"DescribeSecurityGroups", "", sgFilters}, {"DescribeSecurityGroups", "1", sgFilters},
				{"DescribeInstances", "", instFilters}, {"DescribeInstances", "1", instFilters}, {"DescribeInstances", "2", instFilters},
			}
			reqs := srv.Requests()
			if len(reqs) != len(want) {
				t.Fatalf("server saw %d requests, want %d (2 DescribeSecurityGroups pages, 3 DescribeInstances pages)", len(reqs), len(want))
			}
			for i, w := range want {
				req := reqs[i]
				if req.Action != w.action || req.Form.Get("NextToken") != w.token || req.Region != "eu-west-1" {
					t.Errorf("request %d: %s NextToken %q in %s, want %s NextToken %q in eu-west-1", i, req.Action, req.Form.Get("NextToken"), req.Region, w.action, w.token)
				}
				for k, v := range w.filters {
					if req.Form.Get(k) != v {
						t.Errorf("request %d (%s) %s = %q, want %q", i, req.Action, k, req.Form.Get(k), v)
					}
				}
			}

			if got := byID(t, r, "srcdst-check-disabled"); !got.OK {
				t.Errorf("srcdst: %+v", got)
			}
			if withIPIP {
				if r.Failed() {
					t.Fatalf("complete cluster fails over the wire:\n%s", r)
				}
				return
			}
			missing := r.Missing()
			if len(missing) != 1 || missing[0].ID != "ipip-nodes-to-control-plane" ||
				missing[0].Group != "masters."+testCluster+" ("+mastersID+")" ||
				!strings.Contains(missing[0].Missing, "from-nodes."+testCluster+"-ingress-4-0to0-masters."+testCluster) {
				t.Fatalf("missing = %+v\n%s", missing, r)
			}
		})
	}
}
