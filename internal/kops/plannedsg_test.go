package kops_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kopsplan"
	"github.com/kopscalico/kopscalico/internal/sgcheck"
	"github.com/kopscalico/kopscalico/internal/sgcheck/sgchecktest"
)

// updatePlanTestdata rewrites the real plans kept in internal/kopsplan/testdata
// from the contract test's own runs (KOPSCALICO_E2E=1 go test ./internal/kops
// -run TestRealKopsCreateConvertPlan -update-plan-testdata).
var updatePlanTestdata = flag.Bool("update-plan-testdata", false, "write the plans of real kops to internal/kopsplan/testdata")

// planTestdataStore stands for the test's state store directory in a kept plan.
const planTestdataStore = "/kops-state-store"

// notInAPlan are the security-group check's expectations a plan cannot
// show, with the reason; every other one is checked on the plan.
var notInAPlan = map[string]string{
	"srcdst-check-disabled": "source/destination checking is a setting of running instances' interfaces, which Felix switches off at run time: a plan has instance groups, not instances",
}

// checkPlan runs the program's security-group check on what a dry-run plan
// creates: its groups, rules and instance groups as EC2 would describe them.
func checkPlan(t *testing.T, plan string, in sgcheck.Input) sgcheck.Report {
	t.Helper()
	p, err := kopsplan.Parse(plan)
	if err != nil {
		t.Fatal(err)
	}
	f, err := sgchecktest.Planned(p)
	if err != nil {
		t.Fatal(err)
	}
	r, err := sgcheck.Check(context.Background(), f, in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// missingInPlan are the ids of the expectations that do not hold on a plan,
// leaving out (and requiring) those notInAPlan.
func missingInPlan(t *testing.T, r sgcheck.Report) []string {
	t.Helper()
	excluded := 0
	for _, e := range r.Expectations {
		if _, ok := notInAPlan[e.ID]; ok {
			excluded++
		}
	}
	if excluded != len(notInAPlan) {
		t.Fatalf("the report has %d of the %d expectations left out on a plan (%v):\n%s", excluded, len(notInAPlan), notInAPlan, r)
	}
	var ids []string
	for _, e := range r.Missing() {
		if _, ok := notInAPlan[e.ID]; !ok {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// assertPlanMeetsExpectations: every rule expectation of the program's
// check holds on the plan; with an etcd-backed Calico the etcd one is
// reported as blocked by kops, and the plan indeed leaves TCP 4001 from the
// nodes closed (without the blocked flag it is missing).
func assertPlanMeetsExpectations(t *testing.T, plan string, d kops.Desired) {
	t.Helper()
	in := sgcheck.Input{ClusterName: d.Name, Encapsulation: d.Encapsulation, AWSSrcDstCheck: d.AWSSrcDstCheck, KopsBlocksEtcd: true}
	r := checkPlan(t, plan, in)
	if missing := missingInPlan(t, r); len(missing) != 0 {
		t.Errorf("expectations missing on the plan of real kops: %v\n%s", missing, r)
	}
	enc := map[config.Encapsulation]string{config.EncapIPIP: "bgp", config.EncapVXLAN: "vxlan"}[d.Encapsulation]
	for _, id := range []string{"ipip-nodes-to-control-plane", enc + "-nodes-to-control-plane", enc + "-nodes-to-nodes"} {
		if !slices.ContainsFunc(r.Expectations, func(e sgcheck.Expectation) bool { return e.ID == id && e.OK }) {
			t.Errorf("expectation %s is not reported as held:\n%s", id, r)
		}
	}
	for id, why := range notInAPlan {
		t.Logf("not checked on a plan: %s: %s", id, why)
	}

	in.EtcdDatastore = true
	etcd := checkPlan(t, plan, in)
	blocked := etcd.BlockedByKops()
	if missing := missingInPlan(t, etcd); len(missing) != 0 || len(blocked) != 1 || blocked[0].ID != "etcd-nodes-to-control-plane" {
		t.Errorf("etcd-backed Calico on kops 1.36: missing %v, blocked %v, want none missing and etcd-nodes-to-control-plane blocked\n%s", missing, blocked, etcd)
	}
	in.KopsBlocksEtcd = false
	if missing := missingInPlan(t, checkPlan(t, plan, in)); !slices.Equal(missing, []string{"etcd-nodes-to-control-plane"}) {
		t.Errorf("the plan does not leave TCP 4001 from nodes closed as kops 1.20+ should: missing %v", missing)
	}
}

// holdPlanTestdata keeps the testdata plan file true: its security groups,
// rules and instance groups are the ones real kops plans now (or, under
// -update-plan-testdata, the file is rewritten from plan).
func (w kopsWorld) holdPlanTestdata(plan, file string) {
	w.t.Helper()
	path := filepath.Join("..", "kopsplan", "testdata", file)
	plan = strings.ReplaceAll(plan, w.StoreDir, planTestdataStore)
	if *updatePlanTestdata {
		if err := os.WriteFile(path, []byte(plan), 0o644); err != nil {
			w.t.Fatal(err)
		}
		return
	}
	kept, err := os.ReadFile(path)
	if err != nil {
		w.t.Fatalf("%v (write it with -update-plan-testdata)", err)
	}
	want, err := kopsplan.Parse(string(kept))
	if err != nil {
		w.t.Fatal(err)
	}
	got, err := kopsplan.Parse(plan)
	if err != nil {
		w.t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		w.t.Errorf("real kops plans otherwise than %s (-kept +now; rewrite it with -update-plan-testdata):\n%s", path, diff)
	}
}
