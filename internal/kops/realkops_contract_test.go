package kops_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
	"github.com/kopscalico/kopscalico/internal/sgcheck"
	"github.com/kopscalico/kopscalico/internal/testing/kubeconfigtest"
)

// Contract tests: every command shape the kops.Manager issues, run against real
// kops 1.36.2 offline (skipped when .tools/bin/kops is not built, failed
// under KOPSCALICO_E2E=1), and what the program reads from it.

func TestRealKopsVersion(t *testing.T) {
	t.Parallel()
	w := realKops(t)
	d := w.desired("ipip")
	m := &kops.Manager{Runner: &kops.ExecRunner{Binary: w.Bin, Env: w.Vars()}, Timeouts: kops.Timeouts{Command: time.Minute}}
	got, err := m.CheckVersion(context.Background(), d)
	if err != nil || got.String() != "1.36.2" {
		t.Fatalf("CheckVersion: %v, %v", got, err)
	}
	d.KopsVersion = kopsrelease.MustParse("1.34")
	if _, err := m.CheckVersion(context.Background(), d); err == nil || !strings.Contains(err.Error(), "the kops binary is 1.36.2 but kopscalico:kopsVersion pins 1.34") {
		t.Errorf("CheckVersion against a 1.34 pin: %v", err)
	}
}

// TestRealKopsMissingCluster holds kops.IsNotFound to what real kops says about
// a cluster the store does not have, command by command.
func TestRealKopsMissingCluster(t *testing.T) {
	t.Parallel()
	w := realKops(t)
	const name = "calico.k8s.local"
	for _, c := range []struct {
		args     string
		stderr   string
		notFound bool
	}{
		{"get cluster --name " + name + " -o yaml", `Error: cluster not found "calico.k8s.local"`, true},
		{"get instancegroups --name " + name + " -o yaml", `Error: error fetching cluster "calico.k8s.local": Cluster.kops.k8s.io "calico.k8s.local" not found`, true},
		{"update cluster --name " + name, `Error: error reading cluster configuration: Cluster.kops.k8s.io "calico.k8s.local" not found`, true},
		{"rolling-update cluster --name " + name, `Error: error reading cluster configuration: Cluster.kops.k8s.io "calico.k8s.local" not found`, true},
		{"reconcile cluster --name " + name + " --yes", `Error: error reading cluster configuration: Cluster.kops.k8s.io "calico.k8s.local" not found`, true},
		{"export kubecfg --name " + name + " --admin=18h0m0s --kubeconfig " + filepath.Join(t.TempDir(), "kc"), `Error: error reading cluster configuration: Cluster.kops.k8s.io "calico.k8s.local" not found`, true},
		{"delete cluster --name " + name, `Error: error reading cluster configuration: Cluster.kops.k8s.io "calico.k8s.local" not found`, true},
		{"validate cluster --name " + name + " --wait 10s", `Error: validation failed: error reading cluster configuration: Cluster.kops.k8s.io "calico.k8s.local" not found`, true},
		// An empty store has no clusters to list: an error, and not a
		// missing-cluster one.
		{"get clusters -o yaml", `Error: no clusters found`, false},
	} {
		r := w.run(nil, strings.Fields(c.args)...)
		if r.exit != 1 || !strings.Contains(r.stderr, c.stderr) {
			t.Errorf("kops %s: exit %d, stderr:\n%s\nwant exit 1 and %q", c.args, r.exit, r.stderr, c.stderr)
		}
		r.classifiedAs(t, c.notFound)
	}
	if calls := w.AWS.Calls(); len(calls) != 0 {
		t.Errorf("commands on a missing cluster called AWS: %v", calls)
	}
}

// TestRealKopsRefusesNameTwice: kops binds KOPS_CLUSTER_NAME to --name, and
// refuses a positional name next to it (cmd/kops/root.go ProcessArgs,
// cmd/kops/get_cluster.go), even when both say the same.
func TestRealKopsRefusesNameTwice(t *testing.T) {
	t.Parallel()
	w := realKops(t)
	d := w.desired("ipip")
	w.must(nil, kops.CreateClusterArgs(d)...)
	for args, want := range map[string]string{
		"get cluster " + d.Name + " -o yaml": "Error: cannot mix --name for cluster with positional arguments",
		"update cluster " + d.Name:           "Error: cannot specify cluster via --name and positional argument",
	} {
		r := w.RunEnv(t, map[string]string{"KOPS_CLUSTER_NAME": d.Name}, nil, strings.Fields(args)...)
		if r.Exit != 1 || !strings.Contains(r.Stderr, want) || kops.IsNotFound(&kops.CommandError{ExitCode: r.Exit, Stderr: r.Stderr}, d.Name) {
			t.Errorf("KOPS_CLUSTER_NAME=%s kops %s: exit %d, stderr:\n%s\nwant %q", d.Name, args, r.Exit, r.Stderr, want)
		}
	}
}

// TestRealKopsCreateConvertPlan is the program's create path up to the
// first `update --yes`: create, read, convert to Calico cross-subnet,
// replace, and the update plan; for each encapsulation, and for a cluster
// kops created with kubenet that the program converts. The program's
// security-group check runs on the groups, rules and instances each plan
// creates.
func TestRealKopsCreateConvertPlan(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		encapsulation config.Encapsulation
		createdWith   string
	}{
		{config.EncapIPIP, "calico"}, {config.EncapVXLAN, "calico"}, {config.EncapIPIP, "kubenet"},
	} {
		t.Run(string(c.encapsulation)+"-from-"+c.createdWith, func(t *testing.T) {
			t.Parallel()
			w := realKops(t)
			d := w.desired(c.encapsulation)
			created := w.create(d, c.createdWith)
			if created.exit != 0 || !strings.Contains(created.stdout, "Cluster configuration has been created.") {
				t.Fatalf("create: exit %d\n%s\n%s", created.exit, created.stdout, created.stderr)
			}
			spec := w.must(nil, "get", "cluster", "--name", d.Name, "-o", "yaml").stdout
			before := w.must(nil, "update", "cluster", "--name", d.Name).stdout
			if c.createdWith == "kubenet" {
				// The negative control: kops opens IP-in-IP to the control
				// plane only for Calico, and the check on its plan says so.
				in := sgcheck.Input{ClusterName: d.Name, Encapsulation: d.Encapsulation, AWSSrcDstCheck: d.AWSSrcDstCheck, KopsBlocksEtcd: true}
				if missing := missingInPlan(t, checkPlan(t, before, in)); !slices.Equal(missing, []string{"ipip-nodes-to-control-plane"}) {
					t.Errorf("the plan of the kubenet cluster as created misses %v, want only ipip-nodes-to-control-plane", missing)
				}
				w.holdPlanTestdata(before, "update-kubenet-as-created-1.36.2.txt")
			}

			conv, err := kops.ConvertClusterSpec([]byte(spec), d)
			if err != nil || !conv.Changed() {
				t.Fatalf("convert: %+v, %v", conv.Changes, err)
			}
			t.Logf("conversion: %s", strings.Join(conv.Changes, "; "))
			w.must(conv.YAML, "replace", "-f", "-")
			stored := w.must(nil, "get", "cluster", "--name", d.Name, "-o", "yaml").stdout
			if again, err := kops.ConvertClusterSpec([]byte(stored), d); err != nil || again.Changed() {
				t.Errorf("the spec kops stored after replace still needs %v (%v):\n%s", again.Changes, err, stored)
			}
			assertCalicoCrossSubnet(t, stored, c.encapsulation)

			plan := w.must(nil, "update", "cluster", "--name", d.Name).stdout
			if pending, err := kops.UpdatePending(plan); err != nil || !pending {
				t.Errorf("UpdatePending on the dry-run plan: %v, %v", pending, err)
			}
			assertPlanMeetsExpectations(t, plan, d)
			if c.encapsulation == "ipip" && c.createdWith == "calico" {
				w.holdPlanTestdata(plan, "update-calico-ipip-1.36.2.txt")
			}
			if refused := w.AWS.Refused(); len(refused) != 0 {
				t.Errorf("dry runs called mutating AWS APIs: %v", refused)
			}
		})
	}
}

func assertCalicoCrossSubnet(t *testing.T, spec string, encapsulation config.Encapsulation) {
	t.Helper()
	var obj struct {
		Spec struct {
			Networking map[string]map[string]any `json:"networking"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(spec), &obj); err != nil {
		t.Fatal(err)
	}
	calico := obj.Spec.Networking["calico"]
	mode := map[config.Encapsulation]string{config.EncapIPIP: "ipipMode", config.EncapVXLAN: "vxlanMode"}[encapsulation]
	if len(obj.Spec.Networking) != 1 || calico["encapsulationMode"] != string(encapsulation) || calico[mode] != "CrossSubnet" {
		t.Errorf("stored networking %v, want only calico with %s in CrossSubnet mode", obj.Spec.Networking, encapsulation)
	}
}

// TestRealKopsUpdateValidatesTheCompletedSpec: replace stores a spec that
// update then refuses when it completes the cluster (a VXLAN mode without
// VXLAN encapsulation), so the program must not write one.
func TestRealKopsUpdateValidatesTheCompletedSpec(t *testing.T) {
	t.Parallel()
	w := realKops(t)
	d := w.desired("ipip")
	w.must(nil, kops.CreateClusterArgs(d)...)
	spec := w.must(nil, "get", "cluster", "--name", d.Name, "-o", "yaml").stdout
	bad := strings.Replace(spec, "calico: {}", "calico:\n      vxlanMode: CrossSubnet", 1)
	w.must([]byte(bad), "replace", "-f", "-")
	u := w.run(nil, "update", "cluster", "--name", d.Name)
	const want = `Error: completed cluster failed validation: spec.networking.calico.vxlanMode: Forbidden: VXLAN encapsulation requires use of Calico's "vxlan" encapsulation mode`
	if u.exit != 1 || !strings.Contains(u.stderr, want) {
		t.Errorf("update of a VXLAN mode without VXLAN encapsulation: exit %d\n%s\nwant %s", u.exit, u.stderr, want)
	}
}

// TestRealKopsInstanceGroups: what `get instancegroups` prints is what
// kops.ReconcileInstanceGroups reads, and kops takes back what it writes.
func TestRealKopsInstanceGroups(t *testing.T) {
	t.Parallel()
	w := realKops(t)
	d := w.desired("ipip")
	w.must(nil, kops.CreateClusterArgs(d)...)
	igs := w.must(nil, "get", "instancegroups", "--name", d.Name, "-o", "yaml").stdout
	if same, err := kops.ReconcileInstanceGroups([]byte(igs), d); err != nil || same.Changed() {
		t.Fatalf("instance groups as created need %v (%v):\n%s", same.Changes, err, igs)
	}
	d.NodeCount, d.NodeSize = 5, "m6i.large"
	conv, err := kops.ReconcileInstanceGroups([]byte(igs), d)
	if err != nil || !conv.Changed() {
		t.Fatalf("resize: %+v, %v", conv.Changes, err)
	}
	w.must(conv.YAML, "replace", "-f", "-")
	after := w.must(nil, "get", "instancegroups", "--name", d.Name, "-o", "yaml").stdout
	if again, err := kops.ReconcileInstanceGroups([]byte(after), d); err != nil || again.Changed() {
		t.Errorf("after replace still %v (%v)", again.Changes, err)
	}
	if pending, err := kops.UpdatePending(w.must(nil, "update", "cluster", "--name", d.Name).stdout); err != nil || !pending {
		t.Errorf("UpdatePending after a resize: %v, %v", pending, err)
	}

	// A Node group deleted behind the program's back is restored with
	// `replace --force`, which a retry may repeat (`create -f` would fail
	// with "file already exists"), and is as kops makes it: its node label
	// names the group itself.
	if err := os.Remove(filepath.Join(w.StoreDir, d.Name, "instancegroup", "nodes-us-east-1b")); err != nil {
		t.Fatal(err)
	}
	lost := w.must(nil, "get", "instancegroups", "--name", d.Name, "-o", "yaml").stdout
	restore, err := kops.ReconcileInstanceGroups([]byte(lost), d)
	if err != nil || len(restore.Create) == 0 {
		t.Fatalf("restore: %+v, %v", restore.Changes, err)
	}
	w.must(restore.Create, "replace", "--force", "-f", "-")
	w.must(restore.Create, "replace", "--force", "-f", "-")
	restored := w.must(nil, "get", "instancegroups", "--name", d.Name, "-o", "yaml").stdout
	if again, err := kops.ReconcileInstanceGroups([]byte(restored), d); err != nil || again.Changed() {
		t.Errorf("after the restore still %v (%v)", again.Changes, err)
	}
	for _, doc := range kops.SplitDocuments([]byte(restored)) {
		var ig struct {
			Metadata struct{ Name string } `json:"metadata"`
			Spec     struct {
				NodeLabels map[string]string `json:"nodeLabels"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(doc, &ig); err != nil {
			t.Fatal(err)
		}
		if got := ig.Spec.NodeLabels["kops.k8s.io/instancegroup"]; got != ig.Metadata.Name {
			t.Errorf("instance group %s labels its nodes kops.k8s.io/instancegroup=%s", ig.Metadata.Name, got)
		}
	}
}

// TestRealKopsExportKubeconfig: the program's kubeconfig (export
// --auth-plugin) needs the cluster CA, which `update --yes` creates; offline
// `kops create keypair kubernetes-ca` stands in for that step of it. The
// file holds no credential, is the same from export to export, and its exec
// plugin (`kops helpers kubectl-auth`) issues one.
func TestRealKopsExportKubeconfig(t *testing.T) {
	t.Parallel()
	w := realKops(t)
	d := w.desired("ipip")
	w.must(nil, kops.CreateClusterArgs(d)...)
	m := &kops.Manager{Runner: &kops.ExecRunner{Binary: w.Bin, Env: w.Vars()}, Timeouts: kops.Timeouts{Command: time.Minute}, Kubeconfig: filepath.Join(t.TempDir(), "kubeconfig")}
	ctx := context.Background()
	_, err := m.ExportKubeconfig(ctx, d)
	if err == nil || !strings.Contains(err.Error(), "Error: cannot find CA certificate") || kops.IsNotFound(err, d.Name) {
		t.Errorf("export before the CA exists: %v", err)
	}
	w.must(nil, "create", "keypair", "kubernetes-ca", "--name", d.Name, "--primary")

	first, err := m.ExportKubeconfig(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	kc := kubeconfigtest.Parse(t, first)
	if kc.CurrentContext != d.Name || kc.Cluster.Server != "https://api."+d.Name || len(kc.Cluster.CertificateAuthorityData) == 0 {
		t.Errorf("exported kubeconfig:\n%s", first)
	}
	exec := kc.User.Exec
	if want := []string{"helpers", "kubectl-auth", "--cluster=" + d.Name, "--state=" + w.StoreURL()}; exec == nil || exec.Command != "kops" || !reflect.DeepEqual(exec.Args, want) {
		t.Errorf("exec plugin %+v, want kops %v", exec, want)
	}
	if strings.Contains(string(first), "client-certificate") || strings.Contains(string(first), "token") {
		t.Errorf("the --auth-plugin kubeconfig holds a credential:\n%s", first)
	}
	if again, err := m.ExportKubeconfig(ctx, d); err != nil || string(again) != string(first) {
		t.Errorf("a second export differs (%v):\n%s\nfirst:\n%s", err, again, first)
	}

	cred := w.must(nil, exec.Args...).stdout
	var ec struct {
		Kind   string `json:"kind"`
		Status struct {
			ClientCertificateData string    `json:"clientCertificateData"`
			ExpirationTimestamp   time.Time `json:"expirationTimestamp"`
		} `json:"status"`
	}
	if err := yaml.Unmarshal([]byte(cred), &ec); err != nil || ec.Kind != "ExecCredential" || !strings.Contains(ec.Status.ClientCertificateData, "BEGIN CERTIFICATE") ||
		!ec.Status.ExpirationTimestamp.After(time.Now()) {
		t.Errorf("kops helpers kubectl-auth: %v\n%s", err, cred)
	}
	missing := w.run(nil, "helpers", "kubectl-auth", "--cluster=missing.k8s.local")
	if missing.exit != 1 || !strings.Contains(missing.stderr, `Cluster.kops.k8s.io "missing.k8s.local" not found`) {
		t.Errorf("kubectl-auth for a missing cluster: exit %d\n%s", missing.exit, missing.stderr)
	}

	// --admin: a client certificate valid for the given lifetime.
	admin := filepath.Join(t.TempDir(), "admin")
	w.must(nil, "export", "kubecfg", "--name", d.Name, "--admin=18h0m0s", "--kubeconfig", admin)
	if left := time.Until(kubeconfigtest.ReadFile(t, admin).ClientCertificate(t).NotAfter); left < 17*time.Hour || left > 19*time.Hour {
		t.Errorf("--admin=18h0m0s certificate expires in %s", left)
	}
}

// TestRealKopsNeedsTheAPI: rolling-update and validate build their own
// credentials from the state store (kops >= 1.30: not from KUBECONFIG) and
// then need the Kubernetes API, which does not exist offline.
func TestRealKopsNeedsTheAPI(t *testing.T) {
	t.Parallel()
	w := realKops(t)
	d := w.desired("ipip")
	w.must(nil, kops.CreateClusterArgs(d)...)
	for args, want := range map[string]string{
		"rolling-update cluster --name " + d.Name:          "Error: getting rest config: cannot find CA certificate",
		"validate cluster --name " + d.Name + " --wait 1s": "Error: validation failed: getting rest config: cannot find CA certificate",
	} {
		r := w.run(nil, strings.Fields(args)...)
		if r.exit != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("kops %s without the CA: exit %d\n%s", args, r.exit, r.stderr)
		}
		r.classifiedAs(t, false)
	}
	w.must(nil, "create", "keypair", "kubernetes-ca", "--name", d.Name, "--primary")
	r := w.run(nil, "rolling-update", "cluster", "--name", d.Name)
	if r.exit != 1 || !strings.Contains(r.stderr, "Unable to reach the kubernetes API.") {
		t.Errorf("rolling-update without an API: exit %d\n%s", r.exit, r.stderr)
	}
	r.classifiedAs(t, false)
	r = w.run(nil, "validate", "cluster", "--name", d.Name, "--wait", "10s")
	if r.exit != 1 || !strings.Contains(r.stderr, "Error: validation failed: wait time exceeded during validation") {
		t.Errorf("validate without an API: exit %d\n%s", r.exit, r.stderr)
	}
	r.classifiedAs(t, false)
}

// TestRealKopsDelete: without --yes delete lists what it would remove and
// changes nothing; with --yes a cluster that never ran (no cloud resources)
// is unregistered offline, and deleting it again is the missing-cluster
// error kops.Manager.Delete takes as done.
func TestRealKopsDelete(t *testing.T) {
	t.Parallel()
	w := realKops(t)
	d := w.desired("ipip")
	w.must(nil, kops.CreateClusterArgs(d)...)
	r := w.must(nil, "delete", "cluster", "--name", d.Name)
	if !strings.Contains(r.stdout, "No cloud resources to delete") || !strings.Contains(r.stdout, "Must specify --yes to unregister the cluster") {
		t.Errorf("delete dry run:\n%s", r.stdout)
	}
	w.must(nil, "get", "cluster", "--name", d.Name, "-o", "yaml")

	r = w.must(nil, "delete", "cluster", "--name", d.Name, "--yes")
	if !strings.Contains(r.stdout, `Deleted cluster: "calico.k8s.local"`) {
		t.Errorf("delete --yes:\n%s", r.stdout)
	}
	w.run(nil, "get", "cluster", "--name", d.Name, "-o", "yaml").classifiedAs(t, true)
	again := w.run(nil, "delete", "cluster", "--name", d.Name, "--yes")
	if again.exit != 1 {
		t.Errorf("second delete --yes: exit %d", again.exit)
	}
	again.classifiedAs(t, true)
	if refused := w.AWS.Refused(); len(refused) != 0 {
		t.Errorf("deleting a cluster that never ran called mutating AWS APIs: %v", refused)
	}
}

// TestRealKopsRollingUpdatePlan: the table a dry-run rolling-update prints,
// which the program parses to decide on a roll, for a cluster whose API
// answers (fakeaws's, trusted through the cluster CA) and whose groups run
// in the fake's account.
func TestRealKopsRollingUpdatePlan(t *testing.T) {
	t.Parallel()
	w := realKops(t)
	d := w.desired("ipip")
	w.must(nil, kops.CreateClusterArgs(d)...)
	cert, key := w.AWS.CA()
	w.must(nil, "create", "keypair", "kubernetes-ca", "--name", d.Name, "--cert", cert, "--key", key, "--primary")
	w.AWS.ServeClusterAPI(d.Name)

	none := w.must(nil, "rolling-update", "cluster", "--name", d.Name).stdout
	if plan, err := kops.ParseRollingUpdate(none); err != nil || len(plan.Groups) != 0 || plan.NeedsRoll() || !strings.Contains(none, "No rolling-update required.") {
		t.Errorf("nothing running: %+v, %v\n%s", plan, err, none)
	}

	for _, g := range runningGroups(d.Name) {
		w.AWS.AddAutoScalingGroup(g)
	}
	out := w.must(nil, "rolling-update", "cluster", "--name", d.Name).stdout
	plan, err := kops.ParseRollingUpdate(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []kops.GroupStatus{
		{Name: "control-plane-us-east-1a", Status: "Ready", NeedUpdate: 0, Ready: 1, Min: 1, Target: 1, Max: 1, Nodes: 0},
		{Name: "nodes-us-east-1a", Status: "NeedsUpdate", NeedUpdate: 1, Ready: 0, Min: 1, Target: 1, Max: 1, Nodes: 0},
		{Name: "nodes-us-east-1b", Status: "Ready", NeedUpdate: 0, Ready: 1, Min: 1, Target: 1, Max: 1, Nodes: 0},
	}
	if !reflect.DeepEqual(plan.Groups, want) || !plan.NeedsRoll() || strings.Join(plan.Pending(), ",") != "nodes-us-east-1a (1 of 1)" ||
		!strings.Contains(out, "Must specify --yes to rolling-update.") {
		t.Errorf("rolling-update plan %+v\n%s", plan.Groups, out)
	}
	// The control plane alone, as an upgrade rolls it first before kops
	// 1.31 (kops.StepRollControlPlane's shape, without --yes).
	out = w.must(nil, "rolling-update", "cluster", "--name", d.Name, "--instance-group-roles", "control-plane,apiserver").stdout
	if plan, err := kops.ParseRollingUpdate(out); err != nil || len(plan.Groups) != 1 || plan.Groups[0].Name != "control-plane-us-east-1a" || plan.NeedsRoll() {
		t.Errorf("rolling-update of the control plane: %+v, %v\n%s", plan, err, out)
	}
	// The roll's shape (kops.StepRoll: the planned groups by
	// --instance-group, the roll's options, --admin from kops 1.32), without
	// --yes: only the named group is listed.
	roll := append([]string{"rolling-update", "cluster", "--name", d.Name, "--instance-group", "nodes-us-east-1a"}, rollOptions(d)...)
	out = w.must(nil, roll...).stdout
	if plan, err := kops.ParseRollingUpdate(out); err != nil || len(plan.Groups) != 1 || plan.Groups[0].Name != "nodes-us-east-1a" || !plan.NeedsRoll() {
		t.Errorf("kops %s: %+v, %v\n%s", strings.Join(roll, " "), plan, err, out)
	}
	// A group the cluster lacks is refused before anything runs.
	if r := w.run(nil, "rolling-update", "cluster", "--name", d.Name, "--instance-group", "nodes-us-east-1a,gpu"); r.exit != 1 || !strings.Contains(r.stderr, `Error: InstanceGroup "gpu" not found`) {
		t.Errorf("rolling-update of a group not there: exit %d\n%s", r.exit, r.stderr)
	}
	if refused := w.AWS.Refused(); len(refused) != 0 {
		t.Errorf("a dry-run rolling-update called mutating AWS APIs: %v", refused)
	}
}

// rollOptions are the options the Manager gives a roll of d with every roll
// option set, and the --admin kops 1.32 and later take.
func rollOptions(d kops.Desired) []string {
	flags := kops.RollFlags(d, kops.Timeouts{}, kops.RollOptions{DrainTimeout: 20 * time.Minute, ValidateCount: 3})
	if !slices.ContainsFunc(flags, func(f string) bool { return strings.HasPrefix(f, "--admin=") }) {
		panic("no --admin in the roll's options of kops " + d.KopsVersion.String())
	}
	return flags
}

// TestRealKopsUpgradeShapes: the dry runs of the commands an upgrade issues
// (kops.StepReconcile, kops.StepUpdateControlPlane) print the update plan the
// program reads, and change nothing.
func TestRealKopsUpgradeShapes(t *testing.T) {
	t.Parallel()
	w := realKops(t)
	d := w.desired("ipip")
	w.must(nil, kops.CreateClusterArgs(d)...)
	for _, args := range [][]string{
		{"reconcile", "cluster", "--name", d.Name},
		{"update", "cluster", "--name", d.Name, "--instance-group-roles", "control-plane,apiserver"},
	} {
		out := w.must(nil, args...).stdout
		if pending, err := kops.UpdatePending(out); err != nil || !pending {
			t.Errorf("kops %s: pending %v, %v\n%s", strings.Join(args, " "), pending, err, out)
		}
	}
	// reconcile takes no role or group of its own (cmd/kops/reconcile_cluster.go).
	if r := w.run(nil, "reconcile", "cluster", "--name", d.Name, "--instance-group-roles", "node"); r.exit == 0 || !strings.Contains(r.stderr, "unknown flag: --instance-group-roles") {
		t.Errorf("reconcile with --instance-group-roles: exit %d\n%s", r.exit, r.stderr)
	}
	if refused := w.AWS.Refused(); len(refused) != 0 {
		t.Errorf("dry runs called mutating AWS APIs: %v", refused)
	}
}

// TestRealKopsDNSZoneNeedsDNS: a cluster in a Route53 zone cannot be planned
// offline. kops finds the zone through Route53 (fakeaws answers), then
// checks the zone's NS records in public DNS (upup/pkg/fi/cloudup/dns.go
// validateDNS, on every create and update), which a .invalid name never
// has. create fails after it stored the spec, so the program's next run
// finds the cluster and converts it.
func TestRealKopsDNSZoneNeedsDNS(t *testing.T) {
	t.Parallel()
	w := realKops(t)
	d := w.desired("ipip")
	d.Name, d.DNSZone = "calico.example.invalid", "example.invalid"
	w.AWS.AddHostedZone(d.DNSZone)
	r := w.create(d, "")
	if r.exit != 1 || !strings.Contains(r.stderr, `error doing DNS lookup for NS records for "example.invalid"`) {
		t.Errorf("create in a zone offline: exit %d\n%s", r.exit, r.stderr)
	}
	var spec struct {
		Spec struct {
			DNSZone string `json:"dnsZone"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(w.must(nil, "get", "cluster", "--name", d.Name, "-o", "yaml").stdout), &spec); err != nil || spec.Spec.DNSZone != d.DNSZone {
		t.Errorf("stored spec: %+v, %v", spec, err)
	}
	var route53 []string
	for _, c := range w.AWS.Calls() {
		if c.Service == "route53" {
			route53 = append(route53, c.Action)
		}
	}
	if len(route53) == 0 {
		t.Error("kops looked the zone up without Route53")
	}
	t.Logf("Route53 reads: %v", route53)
}

// TestRealKopsDefaultMachineTypes: without sizes kops picks a machine type
// sold in every zone of the cluster (fakeaws offers each one everywhere).
func TestRealKopsDefaultMachineTypes(t *testing.T) {
	t.Parallel()
	w := realKops(t)
	d := w.desired("ipip")
	d.ControlPlaneSize, d.NodeSize = "", ""
	w.must(nil, kops.CreateClusterArgs(d)...)
	igs := w.must(nil, "get", "instancegroups", "--name", d.Name, "-o", "yaml").stdout
	if n := strings.Count(igs, "machineType: t3.medium"); n != 3 {
		t.Errorf("%d of 3 groups on t3.medium:\n%s", n, igs)
	}
}

// declaredForContract are the groups the contract and differential tests
// declare: kops's own nodes-us-east-1a under an autoscaler's range, and a new
// GPU group on spot with every field the list has.
func declaredForContract() kops.DeclaredGroups {
	zero, none := 0, 0
	return kops.DeclaredGroups{
		{Name: "nodes-us-east-1a", MachineType: "t3.medium", MinSize: 1, MaxSize: 4, Zones: []string{"us-east-1a"}},
		{Name: "gpu", Role: "Node", MachineType: "g5.xlarge", MinSize: 0, MaxSize: 2, Zones: []string{"us-east-1b"}, MaxPrice: "0.50",
			MixedInstancesPolicy: &config.MixedInstancesPolicy{Instances: []string{"g5.xlarge", "g4dn.xlarge"}, OnDemandBase: &zero, OnDemandAboveBase: &none, SpotAllocationStrategy: "price-capacity-optimized"},
			NodeLabels:           map[string]string{"nvidia.com/gpu": "present"}, Taints: []string{"nvidia.com/gpu=present:NoSchedule"}, MaxSurge: "1", MaxUnavailable: "0"},
	}
}

// TestRealKopsDeclaredInstanceGroups: kops takes the declared groups the
// program writes (a group created with `replace --force`, kops's own group
// rewritten with `replace`) and prints them back as the program wrote them;
// update's dry run accepts them; `delete instancegroup` without --yes asks
// on stdin and, with none, deletes nothing; with --yes it removes the group
// (offline there is no cloud group to terminate); the undeclared group's file in
// the store keeps its bytes throughout.
func TestRealKopsDeclaredInstanceGroups(t *testing.T) {
	t.Parallel()
	w := realKops(t)
	d := w.desired("ipip")
	w.must(nil, kops.CreateClusterArgs(d)...)
	undeclared := filepath.Join(w.StoreDir, d.Name, "instancegroup", "nodes-us-east-1b")
	before, err := os.ReadFile(undeclared)
	if err != nil {
		t.Fatal(err)
	}
	getGroups := func() []byte {
		return []byte(w.must(nil, "get", "instancegroups", "--name", d.Name, "-o", "yaml").stdout)
	}

	d.InstanceGroups = declaredForContract()
	conv, err := kops.ReconcileInstanceGroups(getGroups(), d)
	if err != nil || !reflect.DeepEqual(conv.CreatedNames(), []string{"gpu"}) || len(kops.SplitDocuments(conv.YAML)) != 1 {
		t.Fatalf("declare: created %v, %v:\n%s", conv.CreatedNames(), err, conv.YAML)
	}
	w.must(conv.Create, "replace", "--force", "-f", "-")
	w.must(conv.YAML, "replace", "-f", "-")
	if again, err := kops.ReconcileInstanceGroups(getGroups(), d); err != nil || again.Changed() {
		t.Errorf("kops printed the declared groups back otherwise: %v (%v)", again.Changes, err)
	}
	if pending, err := kops.UpdatePending(w.must(nil, "update", "cluster", "--name", d.Name).stdout); err != nil || !pending {
		t.Errorf("UpdatePending after declaring groups: %v, %v", pending, err)
	}

	d.InstanceGroups, d.AllowInstanceGroupRemoval = d.InstanceGroups[:1], []string{"gpu"}
	conv, err = kops.ReconcileInstanceGroups(getGroups(), d)
	if err != nil || !reflect.DeepEqual(conv.Delete, []string{"gpu"}) {
		t.Fatalf("remove: %v, %v", conv.Delete, err)
	}
	asked := w.run(nil, "delete", "instancegroup", "gpu", "--name", d.Name)
	if asked.exit != 1 || !strings.Contains(asked.stderr, "error reading from input: EOF") || !strings.Contains(string(getGroups()), "name: gpu") {
		t.Errorf("delete without --yes: exit %d %q, or the group is gone", asked.exit, asked.stderr)
	}
	w.must(nil, "delete", "instancegroup", "gpu", "--name", d.Name, "--yes")
	if again, err := kops.ReconcileInstanceGroups(getGroups(), d); err != nil || again.Changed() {
		t.Errorf("after delete still %v (%v)", again.Changes, err)
	}
	gone := w.run(nil, "delete", "instancegroup", "gpu", "--name", d.Name, "--yes")
	if gone.exit != 1 || !strings.Contains(gone.stderr, `error reading InstanceGroup "gpu": InstanceGroup.kops.k8s.io "gpu" not found`) {
		t.Errorf("delete of a deleted group: exit %d\n%s", gone.exit, gone.stderr)
	}
	if after, err := os.ReadFile(undeclared); err != nil || string(after) != string(before) {
		t.Errorf("the undeclared group's file changed (%v):\nbefore:\n%s\nafter:\n%s", err, before, after)
	}
}
