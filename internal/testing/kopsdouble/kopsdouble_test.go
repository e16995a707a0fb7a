package kopsdouble

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
	"github.com/kopscalico/kopscalico/internal/testing/kubeconfigtest"
	"github.com/kopscalico/kopscalico/internal/testing/testfs"
)

const name = "demo.example.com"

// kubeconfigEnv hands the double an admin kubeconfig for a local API and
// returns a KUBECONFIG for the commands that write one.
func kubeconfigEnv(t *testing.T, s *Store) []string {
	t.Helper()
	s.SetKubeconfig(t, kubeconfigtest.ClientCert(t, "https://127.0.0.1:6443"))
	return []string{"KUBECONFIG=" + t.TempDir() + "/kubeconfig"}
}

func mustRun(t *testing.T, s *Store, env []string, args ...string) string {
	t.Helper()
	o, e, code := s.Run(t, env, args...)
	if code != 0 {
		t.Fatalf("kops %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, o, e)
	}
	return o
}

func TestVersionOutputPerRelease(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]string{
		"1.34.1": "Client version: 1.34.1 (git-v1.34.1)\n",
		"1.7.0":  "Version 1.7.0 (git-v1.7.0)\n",
	} {
		s := NewStore(t, v)
		out := mustRun(t, s, nil, "version")
		if out != want {
			t.Errorf("%s: %q, want %q", v, out, want)
		}
		got, err := kopsrelease.ParseOutput(out)
		if err != nil || got.String() != v {
			t.Errorf("program parses %q as %v, %v", out, got, err)
		}
	}
}

func TestFlagsPerVersion(t *testing.T) {
	t.Parallel()
	s := NewStore(t, "1.25.4")
	_, e, code := s.Run(t, nil, "create", "cluster", "--name", name, "--cloud", "aws", "--zones", "eu-west-1a", "--control-plane-count", "1")
	if code != 1 || !strings.Contains(e, "Error: unknown flag: --control-plane-count") {
		t.Errorf("kops 1.25 --control-plane-count: exit %d, stderr %q", code, e)
	}
	mustRun(t, s, nil, "create", "cluster", "--name", name, "--cloud", "aws", "--zones", "eu-west-1a", "--master-count", "1", "--networking", "calico")
	igs := mustRun(t, s, nil, "get", "ig", "--name", name)
	if !strings.Contains(igs, "master-eu-west-1a") {
		t.Errorf("kops 1.25 instance groups:\n%s", igs)
	}

	s = NewStore(t, "1.34.1")
	// Deprecated, still accepted, with the note real kops 1.34.3 prints.
	_, e, code = s.Run(t, nil, "create", "cluster", "--name", name, "--cloud", "aws", "--zones", "eu-west-1a", "--master-count", "1")
	if code != 0 || !strings.Contains(e, "Flag --master-count has been deprecated, use --control-plane-count instead") {
		t.Errorf("kops 1.34 --master-count: exit %d, stderr %q", code, e)
	}
}

func TestCreateGetAndErrors(t *testing.T) {
	t.Parallel()
	s := NewStore(t, "")
	_, e, code := s.Run(t, nil, "get", "cluster", name, "-o", "yaml")
	if code != 1 || lastLine(e) != `Error: cluster not found "demo.example.com"` {
		t.Errorf("get missing: exit %d, stderr %q", code, e)
	}
	args := kops.CreateClusterArgs(kops.Desired{
		Name: name, StateStore: s.URL(), Zones: []string{"eu-west-1a", "eu-west-1b"}, ControlPlaneCount: 1, NodeCount: 3,
		AdminAccess: config.MustParseAccessList("203.0.113.0/24"), Encapsulation: config.EncapIPIP, AWSSrcDstCheck: config.SrcDstDisable, KopsVersion: kopsrelease.MustParse("1.34"),
	})
	mustRun(t, s, nil, args...)
	_, e, code = s.Run(t, nil, args...)
	if code != 1 || !strings.Contains(e, `cluster "demo.example.com" already exists`) {
		t.Errorf("second create: exit %d, stderr %q", code, e)
	}
	spec := mustRun(t, s, nil, "get", "cluster", name, "-o", "yaml")
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(spec), &obj); err != nil {
		t.Fatal(err)
	}
	if got := obj["spec"].(map[string]any)["sshAccess"]; len(got.([]any)) != 1 || got.([]any)[0] != "203.0.113.0/24" {
		t.Errorf("sshAccess %v: kops defaults it to --admin-access", got)
	}
	igs := kops.SplitDocuments([]byte(mustRun(t, s, nil, "get", "instancegroups", "--name", name, "-o", "yaml")))
	if len(igs) != 3 {
		t.Fatalf("%d instance groups, want control-plane + 2 node groups", len(igs))
	}
	// Messages and exit codes as real kops 1.34.3 prints them for a missing cluster.
	for args, want := range map[string]string{
		"delete cluster --name missing.example.com --yes":     `Error: error reading cluster configuration: Cluster.kops.k8s.io "missing.example.com" not found`,
		"validate cluster --name missing.example.com":         `Error: validation failed: error reading cluster configuration: Cluster.kops.k8s.io "missing.example.com" not found`,
		"rolling-update cluster missing.example.com":          `Error: error reading cluster configuration: Cluster.kops.k8s.io "missing.example.com" not found`,
		"get instancegroups --name missing.example.com":       `Error: error fetching cluster "missing.example.com": Cluster.kops.k8s.io "missing.example.com" not found`,
		"update cluster missing.example.com --yes":            `Error: error reading cluster configuration: Cluster.kops.k8s.io "missing.example.com" not found`,
		"create cluster --name demo.example.com --zones a-1a": `Error: cluster "demo.example.com" already exists; use 'kops update cluster' to apply changes`,
	} {
		_, e, code := s.Run(t, nil, strings.Fields(args)...)
		if code != 1 || lastLine(e) != want {
			t.Errorf("kops %s: exit %d, stderr %q\nwant exit 1, %q", args, code, e, want)
		}
	}
}

func TestReplaceValidates(t *testing.T) {
	t.Parallel()
	s := NewStore(t, "1.34.1")
	s.SeedCluster(t, name, "--zones", "eu-west-1a", "--networking", "kubenet")
	spec := mustRun(t, s, nil, "get", "cluster", name, "-o", "yaml")
	two := strings.Replace(spec, "kubenet: {}", "kubenet: {}\n    calico: {}", 1)
	cmd := s.Bin
	_ = cmd
	o, e, code := runStdin(t, s, two, "replace", "-f", "-")
	if code != 1 || !strings.Contains(e, "only one networking option permitted, found calico, kubenet") {
		t.Errorf("two providers: exit %d\n%s%s", code, o, e)
	}
	bad := strings.Replace(spec, "kubenet: {}", "calico:\n      encapsulationMode: vxlan\n      ipipMode: CrossSubnet", 1)
	_, e, code = runStdin(t, s, bad, "replace", "-f", "-")
	if code != 1 || !strings.Contains(e, `IP-in-IP encapsulation requires use of Calico's "ipip" encapsulation mode`) {
		t.Errorf("ipipMode with vxlan: exit %d, %s", code, e)
	}
}

func runStdin(t *testing.T, s *Store, stdin string, args ...string) (string, string, int) {
	t.Helper()
	return s.RunStdin(t, nil, []byte(stdin), args...)
}

func TestConvertRollsOnceAndResizeDoesNotRoll(t *testing.T) {
	t.Parallel()
	s := NewStore(t, "1.34.1")
	env := kubeconfigEnv(t, s)
	s.SeedCluster(t, name, "--zones", "eu-west-1a,eu-west-1b", "--networking", "kubenet", "--node-count", "2")
	mustRun(t, s, env, "export", "kubecfg", name, "--admin")

	plan := func() kops.RollingUpdatePlan {
		t.Helper()
		p, err := kops.ParseRollingUpdate(mustRun(t, s, env, "rolling-update", "cluster", name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if plan().NeedsRoll() {
		t.Fatal("a freshly applied cluster needs a roll")
	}
	d := kops.Desired{Name: name, StateStore: s.URL(), Zones: []string{"eu-west-1a", "eu-west-1b"}, ControlPlaneCount: 1, NodeCount: 2,
		AdminAccess: config.MustParseAccessList("203.0.113.0/24"), Encapsulation: config.EncapIPIP, AWSSrcDstCheck: config.SrcDstDisable, KopsVersion: kopsrelease.MustParse("1.34")}
	conv, err := kops.ConvertClusterSpec([]byte(mustRun(t, s, nil, "get", "cluster", name, "-o", "yaml")), d)
	if err != nil {
		t.Fatal(err)
	}
	if _, e, code := s.RunStdin(t, nil, conv.YAML, "replace", "-f", "-"); code != 0 {
		t.Fatal(e)
	}
	// Replaced but not applied: the cloud still runs the old templates.
	if plan().NeedsRoll() {
		t.Error("NeedsUpdate before `update cluster --yes`")
	}
	if pending, _ := kops.UpdatePending(mustRun(t, s, nil, "update", "cluster", name)); !pending {
		t.Error("update dry run reports nothing to apply after a replace")
	}
	mustRun(t, s, nil, "update", "cluster", name, "--yes", "--create-kube-config=false")
	p := plan()
	if !p.NeedsRoll() || len(p.Groups) != 3 {
		t.Fatalf("after a networking change: %+v", p)
	}
	mustRun(t, s, env, "rolling-update", "cluster", name, "--yes")
	if plan().NeedsRoll() {
		t.Error("still NeedsUpdate after rolling-update --yes")
	}
	if pending, _ := kops.UpdatePending(mustRun(t, s, nil, "update", "cluster", name)); pending {
		t.Error("update pending after apply")
	}

	// A node count change is an ASG size change: applied, no roll.
	d.NodeCount = 4
	igc, err := kops.ReconcileInstanceGroups([]byte(mustRun(t, s, nil, "get", "ig", "--name", name, "-o", "yaml")), d)
	if err != nil {
		t.Fatal(err)
	}
	if _, e, code := s.RunStdin(t, nil, igc.YAML, "replace", "-f", "-"); code != 0 {
		t.Fatal(e)
	}
	mustRun(t, s, nil, "update", "cluster", name, "--yes", "--create-kube-config=false")
	if p := plan(); p.NeedsRoll() {
		t.Errorf("node count change needs a roll: %+v", p)
	} else if p.Groups[1].Target != 2 || p.Groups[2].Target != 2 {
		t.Errorf("targets after resize: %+v", p.Groups)
	}
	// A node size change is a launch template change: roll.
	d.NodeSize = "m6i.large"
	igc, _ = kops.ReconcileInstanceGroups([]byte(mustRun(t, s, nil, "get", "ig", "--name", name, "-o", "yaml")), d)
	s.RunStdin(t, nil, igc.YAML, "replace", "-f", "-")
	mustRun(t, s, nil, "update", "cluster", name, "--yes", "--create-kube-config=false")
	if p := plan(); !p.NeedsRoll() || p.Groups[0].NeedUpdate != 0 {
		t.Errorf("node size change: %+v (want node groups only)", p.Groups)
	}
}

func TestRollingUpdateNeedsTheAPI(t *testing.T) {
	t.Parallel()
	s := NewStore(t, "")
	s.SeedCluster(t, name, "--zones", "eu-west-1a")
	_, e, code := s.Run(t, []string{"KUBECONFIG="}, "rolling-update", "cluster", name)
	if code != 1 || !strings.Contains(e, "Unable to reach the kubernetes API.") {
		t.Errorf("exit %d, stderr %q", code, e)
	}
	out := mustRun(t, s, []string{"KUBECONFIG="}, "rolling-update", "cluster", name, "--cloudonly")
	if p, err := kops.ParseRollingUpdate(out); err != nil || p.Groups[0].Nodes != -1 {
		t.Errorf("--cloudonly table: %+v, %v\n%s", p, err, out)
	}
}

func TestValidateAndExport(t *testing.T) {
	t.Parallel()
	s := NewStore(t, "")
	env := kubeconfigEnv(t, s)
	mustRun(t, s, nil, "create", "cluster", "--name", name, "--cloud", "aws", "--zones", "eu-west-1a")
	if _, e, code := s.Run(t, env, "export", "kubecfg", name, "--admin"); code != 1 || !strings.Contains(e, "cannot find CA certificate") {
		t.Errorf("export before update: exit %d, %q", code, e)
	}
	mustRun(t, s, env, "update", "cluster", name, "--yes", "--admin=1h0m0s")
	kc := strings.TrimPrefix(env[0], "KUBECONFIG=")
	out := mustRun(t, s, env, "validate", "cluster", "--name", name, "--wait", "1m")
	if !strings.Contains(out, "Your cluster demo.example.com is ready") {
		t.Errorf("validate: %s", out)
	}
	path := t.TempDir() + "/exported"
	mustRun(t, s, nil, "export", "kubecfg", name, "--admin=2h0m0s", "--kubeconfig", path)
	handed := kubeconfigtest.ReadFile(t, s.control("kubeconfig"))
	for _, p := range []string{kc, path} {
		got := kubeconfigtest.ReadFile(t, p)
		if got.CurrentContext != name || got.Cluster.Server != "https://127.0.0.1:6443" || !bytes.Equal(got.User.ClientCertificateData, handed.User.ClientCertificateData) {
			t.Errorf("%s:\n%s", p, testfs.Read(t, p))
		}
	}
}

// TestValidateFailsBeforeApply: before the first `update --yes` there is no
// cluster CA to make credentials from; once applied, an API that does not
// answer fails the wait (the double's API is a handed-out kubeconfig).
func TestValidateFailsBeforeApply(t *testing.T) {
	t.Parallel()
	s := NewStore(t, "")
	mustRun(t, s, nil, "create", "cluster", "--name", name, "--cloud", "aws", "--zones", "eu-west-1a")
	_, e, code := s.Run(t, nil, "validate", "cluster", "--name", name, "--wait", "1m")
	if code != 1 || lastLine(e) != "Error: validation failed: getting rest config: cannot find CA certificate" {
		t.Errorf("before apply: exit %d, stderr %q", code, e)
	}
	mustRun(t, s, nil, "update", "cluster", name, "--yes", "--create-kube-config=false")
	_, e, code = s.Run(t, nil, "validate", "cluster", "--name", name, "--wait", "1m")
	if code != 1 || lastLine(e) != "Error: validation failed: wait time exceeded during validation" {
		t.Errorf("without an API: exit %d, stderr %q", code, e)
	}
}

func TestInjectedFailureOnceThenSuccess(t *testing.T) {
	t.Parallel()
	s := NewStore(t, "")
	s.SeedCluster(t, name, "--zones", "eu-west-1a")
	s.InjectFailures(t, Failure{Command: "update cluster", ArgsContain: "--yes", Exit: 1, Stderr: "Error: error running tasks: deadline exceeded executing task LaunchTemplate/nodes", Times: 1})
	mustRun(t, s, nil, "update", "cluster", name) // the dry run is not matched
	_, e, code := s.Run(t, nil, "update", "cluster", name, "--yes", "--create-kube-config=false")
	if code != 1 || !strings.Contains(e, "deadline exceeded executing task") {
		t.Errorf("injected: exit %d, %q", code, e)
	}
	mustRun(t, s, nil, "update", "cluster", name, "--yes", "--create-kube-config=false")
	if fs := s.Failures(t); len(fs) != 0 {
		t.Errorf("failures left: %v", fs)
	}
	got := Commands(s.Calls(t))
	want := []string{"kops update cluster demo.example.com", "kops update cluster demo.example.com --yes --create-kube-config=false   [exit 1]", "kops update cluster demo.example.com --yes --create-kube-config=false"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if m := Mutating(s.Calls(t)); len(m) != 2 {
		t.Errorf("mutating calls %v", m)
	}
}

func TestDeleteRemovesCluster(t *testing.T) {
	t.Parallel()
	s := NewStore(t, "")
	s.SeedCluster(t, name, "--zones", "eu-west-1a")
	out := mustRun(t, s, nil, "delete", "cluster", "--name", name)
	if !strings.Contains(out, "Must specify --yes to delete cluster") || !s.Exists(name) {
		t.Errorf("delete without --yes: %s", out)
	}
	mustRun(t, s, nil, "delete", "cluster", "--name", name, "--yes")
	if s.Exists(name) {
		t.Error("cluster still in the store")
	}
}

func TestGossipNamesPerVersion(t *testing.T) {
	t.Parallel()
	const gossip = "demo.k8s.local"
	dnsType := func(s *Store) string {
		spec := s.ClusterSpec(t, gossip)["spec"].(map[string]any)
		return spec["topology"].(map[string]any)["dns"].(map[string]any)["type"].(string)
	}
	s := NewStore(t, "1.28.5")
	mustRun(t, s, nil, "create", "cluster", "--name", gossip, "--cloud", "aws", "--zones", "eu-west-1a")
	if got := dnsType(s); got != "Private" {
		t.Errorf("kops 1.28 gossip dns type %q, want Private (legacy gossip)", got)
	}
	s = NewStore(t, "1.29.0")
	_, e, _ := s.Run(t, nil, "create", "cluster", "--name", gossip, "--cloud", "aws", "--zones", "eu-west-1a")
	if got := dnsType(s); got != "None" || !strings.Contains(e, "Gossip is deprecated, using None DNS instead") {
		t.Errorf("kops 1.29 gossip dns type %q (stderr %q), want None with the deprecation warning", got, e)
	}
	s = NewStore(t, "1.37.0")
	if _, e, code := s.Run(t, nil, "create", "cluster", "--name", gossip, "--cloud", "aws", "--zones", "eu-west-1a", "--dns", "public"); code != 1 || !strings.Contains(e, "gossip DNS support was removed in kOps 1.37") {
		t.Errorf("kops 1.37 gossip: exit %d, %q", code, e)
	}
	mustRun(t, s, nil, "create", "cluster", "--name", gossip, "--cloud", "aws", "--zones", "eu-west-1a", "--dns", "none")
}

// TestSlowRollStoppedMidway: with the delay knob a `rolling-update --yes`
// is still replacing its first instance when it is stopped, which leaves
// every instance pending; without the delay the next roll replaces them.
func TestSlowRollStoppedMidway(t *testing.T) {
	t.Parallel()
	s := NewStore(t, "1.34.1")
	env := kubeconfigEnv(t, s)
	s.SeedCluster(t, name, "--zones", "eu-west-1a", "--node-count", "2")
	newNodeTemplate(t, s)
	if staleNodes(t, s) != 2 {
		t.Fatalf("%d stale nodes after a template change, want 2", staleNodes(t, s))
	}

	s.SetRollingUpdateDelay(t, time.Hour)
	cmd := exec.Command(s.Bin, "rolling-update", "cluster", name, "--yes")
	cmd.Env = append(append(os.Environ(), "KOPS_STATE_STORE="+s.URL()), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.Contains(sc.Text(), "Stopping instance") {
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("the slow roll finished before it was stopped")
	}
	if got := staleNodes(t, s); got != 2 {
		t.Errorf("%d stale nodes after the stopped roll, want both", got)
	}

	s.SetRollingUpdateDelay(t, 0)
	mustRun(t, s, env, "rolling-update", "cluster", name, "--yes")
	if got := staleNodes(t, s); got != 0 {
		t.Errorf("%d stale nodes after a full roll", got)
	}
}

const rolledGroup = "nodes-eu-west-1a"

// newNodeTemplate gives the node group a new launch template, as a node
// size change applied by `update cluster --yes` does.
func newNodeTemplate(t *testing.T, s *Store) {
	t.Helper()
	c := s.Cloud(t, name)
	c.Templates[rolledGroup] = "new-template"
	if err := writeJSON(filepath.Join(s.Dir, name, "cloud.json"), c); err != nil {
		t.Fatal(err)
	}
}

// staleNodes counts the nodes not running their group's template.
func staleNodes(t *testing.T, s *Store) int {
	t.Helper()
	c := s.Cloud(t, name)
	n := 0
	for _, h := range c.Instances[rolledGroup] {
		if h != c.Templates[rolledGroup] {
			n++
		}
	}
	return n
}

// From kops 1.31 an upgrade by update and roll stops half-way: update keeps
// the nodes on the kubelet the control plane runs, so the roll replaces the
// control plane only; a second update and roll, or reconcile cluster, finish
// it. Before 1.31 update moves every group at once.
func TestUpgradeHoldsNodesBackFrom131(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		version   string
		holdsBack bool
	}{{"1.36.2", true}, {"1.31.0", true}, {"1.30.1", false}} {
		s := NewStore(t, c.version)
		env := kubeconfigEnv(t, s)
		s.SeedCluster(t, name, "--zones", "eu-west-1a", "--node-count", "2", "--kubernetes-version", "1.33.4")
		spec := strings.Replace(mustRun(t, s, nil, "get", "cluster", name, "-o", "yaml"), "kubernetesVersion: 1.33.4", "kubernetesVersion: 1.34.1", 1)
		if _, e, code := s.RunStdin(t, nil, []byte(spec), "replace", "-f", "-"); code != 0 {
			t.Fatal(e)
		}
		mustRun(t, s, nil, "update", "cluster", name, "--yes", "--create-kube-config=false")
		p, err := kops.ParseRollingUpdate(mustRun(t, s, env, "rolling-update", "cluster", name))
		if err != nil {
			t.Fatal(err)
		}
		var pending []string
		for _, g := range p.Groups {
			if g.NeedUpdate > 0 {
				pending = append(pending, g.Name)
			}
		}
		want := []string{"control-plane-eu-west-1a", "nodes-eu-west-1a"}
		if c.holdsBack {
			want = want[:1]
		}
		if strings.Join(pending, ",") != strings.Join(want, ",") {
			t.Errorf("kops %s: needs update %v, want %v", c.version, pending, want)
		}
		if !c.holdsBack {
			continue
		}
		out := mustRun(t, s, env, "reconcile", "cluster", "--name", name, "--yes")
		for _, heading := range []string{"Updating control plane configuration", "Performing rolling-update for control plane", "Updating node configuration", "Performing rolling-update for nodes", "Pruning old resources"} {
			if !strings.Contains(out, heading) {
				t.Errorf("kops %s reconcile: no %q in\n%s", c.version, heading, out)
			}
		}
		cloud := s.Cloud(t, name)
		for ig, inst := range cloud.Instances {
			for _, tmpl := range inst {
				if v := cloud.Versions[tmpl]; v != "1.34.1" {
					t.Errorf("kops %s: after reconcile %s runs %q", c.version, ig, v)
				}
			}
		}
	}
	s := NewStore(t, "1.30.1")
	if _, e, code := s.Run(t, nil, "reconcile", "cluster", "--name", name); code == 0 || !strings.Contains(e, `unknown command "reconcile"`) {
		t.Errorf("kops 1.30 reconcile: exit %d, %s", code, e)
	}
}

// TestPauseAfterTheNthCallOfAParent: the armed call stops after its work,
// recorded, until released; calls of another parent are not counted, and
// the pause fires once.
func TestPauseAfterTheNthCallOfAParent(t *testing.T) {
	t.Parallel()
	s := NewStore(t, "")
	self := filepath.Base(os.Args[0])
	s.PauseAfter(t, self, 2)
	other := exec.Command("/bin/sh", "-c", `"$0" version; true`, s.Bin) // parent: sh
	other.Env = append(os.Environ(), "KOPS_STATE_STORE="+s.URL())
	if out, err := other.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	mustRun(t, s, nil, "version")

	cmd := exec.Command(s.Bin, "create", "cluster", "--name", name, "--cloud", "aws", "--zones", "eu-west-1a")
	cmd.Env = append(os.Environ(), "KOPS_STATE_STORE="+s.URL())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	p, ok := s.WaitPaused(t, done, time.Minute)
	if !ok {
		t.Fatalf("the second call of %s did not pause (exit %v)", self, waitErr)
	}
	if p.N != 2 || p.PID != cmd.Process.Pid || p.PPID != os.Getpid() || !strings.HasPrefix(p.String(), "create cluster") || !s.Exists(name) {
		t.Errorf("paused %+v; cluster made %v", p, s.Exists(name))
	}
	select {
	case <-done:
		t.Fatal("the paused call exited before its release")
	case <-time.After(200 * time.Millisecond):
	}
	s.Release(t)
	<-done
	if waitErr != nil {
		t.Errorf("released call: %v", waitErr)
	}
	mustRun(t, s, nil, "get", "cluster", "--name", name) // the pause fired once
	calls := s.Calls(t)
	if len(calls) != 4 || calls[0].Parent != "sh" || calls[3].Parent != self {
		t.Errorf("calls %v", Commands(calls))
	}
}
