package sgcheck

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kopsplan"
	"github.com/kopscalico/kopscalico/internal/sgcheck/sgchecktest"
)

// realPlan is what real kops 1.36.2 plans for calico.k8s.local converted to
// ipip cross-subnet (see internal/kopsplan's TestParseRealPlans); its
// security groups are the same for vxlan.
const (
	realPlan        = "../kopsplan/testdata/update-calico-ipip-1.36.2.txt"
	realPlanCluster = "calico.k8s.local"
)

// TestKopsRulesAreTheOnesKopsPlans: the rule a missing expectation names is
// a rule real kops plans, and the one that carries the traffic: without it,
// and only then, the expectation fails on the plan, naming it.
func TestKopsRulesAreTheOnesKopsPlans(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(realPlan)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := kopsplan.Parse(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	check := func(p kopsplan.Plan, in Input) Report {
		t.Helper()
		f, err := sgchecktest.Planned(p)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Check(context.Background(), f, in)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	for _, enc := range []config.Encapsulation{config.EncapIPIP, config.EncapVXLAN} {
		in := Input{ClusterName: realPlanCluster, Encapsulation: enc, KopsBlocksEtcd: true}
		whole := check(plan, in)
		for _, x := range ruleExpectations(enc, false) {
			rule := fmt.Sprintf(x.kopsRule, realPlanCluster)
			if e := byID(t, whole, x.id); !e.OK {
				t.Errorf("%s: %s fails on the plan of real kops: %s", enc, x.id, e.Missing)
			}
			without := plan
			without.SecurityGroupRules = slices.DeleteFunc(slices.Clone(plan.SecurityGroupRules), func(r kopsplan.SecurityGroupRule) bool { return r.Name == rule })
			if len(without.SecurityGroupRules) != len(plan.SecurityGroupRules)-1 {
				t.Errorf("%s: %s names rule %s, which real kops does not plan", enc, x.id, rule)
				continue
			}
			e := byID(t, check(without, in), x.id)
			if e.OK || !strings.Contains(e.Missing, "kops creates it as rule "+rule+" (") {
				t.Errorf("%s: without rule %s, %s: ok=%v, %q", enc, rule, x.id, e.OK, e.Missing)
			}
		}
	}
}
