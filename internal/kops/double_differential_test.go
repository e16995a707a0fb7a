package kops_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
	"github.com/kopscalico/kopscalico/internal/testing/kubeconfigtest"

	"sigs.k8s.io/yaml"
)

// The differential test holds the kops test double to real kops 1.36.2: the
// same command shapes, in the same order, against the same kind of offline
// world, must give the same exit code, stdout the program parses to the same
// values, and errors the program's matching classifies the same way.

type kopsPair struct {
	t            *testing.T
	real, double kopsWorld
}

func newKopsPair(t *testing.T) kopsPair {
	return kopsPair{t: t, real: realKops(t), double: doubleKops(t)}
}

// both runs one shape in each world (fn builds it from the world: its store
// and paths differ) and compares exit codes and error classification.
func (p kopsPair) both(fn func(w kopsWorld) kopsRun) (real, double kopsRun) {
	p.t.Helper()
	real, double = fn(p.real), fn(p.double)
	if real.exit != double.exit {
		p.t.Errorf("kops %s: real kops exits %d, the double %d\nreal stdout:\n%s\nreal stderr:\n%s\ndouble stdout:\n%s\ndouble stderr:\n%s",
			real.args, real.exit, double.exit, real.stdout, real.stderr, double.stdout, double.stderr)
	}
	if a, b := kops.IsNotFound(real.err, clusterName), kops.IsNotFound(double.err, clusterName); a != b {
		p.t.Errorf("kops %s: kops.IsNotFound is %v on real kops's error, %v on the double's\nreal stderr:\n%s\ndouble stderr:\n%s", real.args, a, b, real.stderr, double.stderr)
	}
	return real, double
}

func (p kopsPair) args(args ...string) (real, double kopsRun) {
	p.t.Helper()
	return p.both(func(w kopsWorld) kopsRun { return w.run(nil, args...) })
}

// normalizedObjects parses `kops get ... -o yaml` output and drops what
// differs between two worlds without the program depending on it.
func normalizedObjects(t *testing.T, w kopsWorld, out string) []map[string]any {
	t.Helper()
	var objs []map[string]any
	for _, doc := range kops.SplitDocuments([]byte(out)) {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			t.Fatalf("%s printed YAML the program cannot parse: %v\n%s", w.Label, err, doc)
		}
		if meta, ok := obj["metadata"].(map[string]any); ok {
			// The time of creation: kops.ConvertClusterSpec and
			// kops.ReconcileInstanceGroups pass it through untouched.
			delete(meta, "creationTimestamp")
		}
		if spec, ok := obj["spec"].(map[string]any); ok {
			if base, ok := spec["configBase"].(string); ok {
				// The store's own directory differs between the worlds; the
				// rest of the value must agree.
				spec["configBase"] = strings.Replace(base, w.StoreDir, "<store>", 1)
			}
		}
		objs = append(objs, obj)
	}
	return objs
}

func (p kopsPair) sameObjects(real, double kopsRun) {
	p.t.Helper()
	a, b := normalizedObjects(p.t, p.real, real.stdout), normalizedObjects(p.t, p.double, double.stdout)
	if !reflect.DeepEqual(a, b) {
		ya, _ := yaml.Marshal(a)
		yb, _ := yaml.Marshal(b)
		diff := lineDiff(string(ya), string(yb))
		if diff == "" { // the same lines in another order
			diff = "real kops:\n" + string(ya) + "\nthe double:\n" + string(yb)
		}
		p.t.Errorf("kops %s: the double prints other objects than real kops\n%s", real.args, diff)
	}
}

// lineDiff lists the lines only real kops (-) or only the double (+) printed.
func lineDiff(real, double string) string {
	count := map[string]int{}
	for _, l := range strings.Split(double, "\n") {
		count[l]++
	}
	var out []string
	for _, l := range strings.Split(real, "\n") {
		if count[l] > 0 {
			count[l]--
			continue
		}
		out = append(out, "- "+l)
	}
	for _, l := range strings.Split(double, "\n") {
		if count[l] > 0 {
			count[l]--
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

func TestDoubleMatchesRealKops(t *testing.T) {
	t.Parallel()
	p := newKopsPair(t)
	d := func(w kopsWorld) kops.Desired { return w.desired("ipip") }
	name := d(p.real).Name

	r, o := p.args("version")
	if a, b := mustVersion(t, r.stdout), mustVersion(t, o.stdout); a != b {
		t.Errorf("version: real %v, double %v", a, b)
	}

	// Every shape on a store without the cluster.
	for _, shape := range [][]string{
		{"get", "cluster", "--name", name, "-o", "yaml"},
		{"get", "clusters", "-o", "yaml"},
		{"get", "instancegroups", "--name", name, "-o", "yaml"},
		{"update", "cluster", "--name", name},
		{"rolling-update", "cluster", "--name", name},
		{"reconcile", "cluster", "--name", name, "--yes"},
		{"delete", "cluster", "--name", name},
		{"validate", "cluster", "--name", name, "--wait", "10s"},
	} {
		p.args(shape...)
	}
	p.both(func(w kopsWorld) kopsRun {
		return w.run(nil, "export", "kubecfg", "--name", name, "--auth-plugin", "--kubeconfig", filepath.Join(w.Home, "missing"))
	})

	// Created with the program's arguments.
	p.both(func(w kopsWorld) kopsRun { return w.run(nil, kops.CreateClusterArgs(d(w))...) })
	p.sameObjects(p.args("get", "cluster", "--name", name, "-o", "yaml"))
	p.sameObjects(p.args("get", "clusters", "-o", "yaml"))
	p.sameObjects(p.args("get", "instancegroups", "--name", name, "-o", "yaml"))
	p.samePending(p.args("update", "cluster", "--name", name))
	p.samePending(p.args("reconcile", "cluster", "--name", name))
	p.samePending(p.args("update", "cluster", "--name", name, "--instance-group-roles", "control-plane,apiserver"))
	p.args("reconcile", "cluster", "--name", name, "--instance-group-roles", "node")

	// Converted and replaced.
	p.convertAndPlan(d)

	// Resized.
	p.both(func(w kopsWorld) kopsRun {
		want := d(w)
		want.NodeCount, want.NodeSize = 3, "m6i.large"
		conv, err := kops.ReconcileInstanceGroups([]byte(w.must(nil, "get", "instancegroups", "--name", name, "-o", "yaml").stdout), want)
		if err != nil {
			t.Fatal(err)
		}
		return w.run(conv.YAML, "replace", "-f", "-")
	})
	p.sameObjects(p.args("get", "instancegroups", "--name", name, "-o", "yaml"))

	// Credentials: none before the cluster CA exists; `create keypair`
	// stands in offline for the step of `update --yes` that makes it.
	export := func(flag, file string) func(w kopsWorld) kopsRun {
		return func(w kopsWorld) kopsRun {
			return w.run(nil, "export", "kubecfg", "--name", name, flag, "--kubeconfig", filepath.Join(w.Home, file))
		}
	}
	p.both(export("--auth-plugin", "before-ca"))
	p.args("rolling-update", "cluster", "--name", name)
	p.args("validate", "cluster", "--name", name, "--wait", "1s")
	p.args("create", "keypair", "kubernetes-ca", "--name", name, "--primary")
	p.both(export("--auth-plugin", "kubeconfig"))
	p.sameKubeconfig("kubeconfig")
	p.sameCredentialCache(name)
	p.both(export("--admin=18h0m0s", "admin"))
	for _, w := range []kopsWorld{p.real, p.double} {
		if left := time.Until(kubeconfigtest.ReadFile(t, filepath.Join(w.Home, "admin")).ClientCertificate(t).NotAfter); left < 17*time.Hour || left > 19*time.Hour {
			t.Errorf("%s: the --admin=18h0m0s certificate expires in %s", w.Label, left)
		}
	}

	// The API does not exist offline.
	p.args("rolling-update", "cluster", "--name", name)
	p.args("validate", "cluster", "--name", name, "--wait", "10s")

	// Deleted: listed, then unregistered (nothing ran in the cloud).
	p.args("delete", "cluster", "--name", name)
	p.args("delete", "cluster", "--name", name, "--yes")
	p.args("get", "cluster", "--name", name, "-o", "yaml")
	p.args("delete", "cluster", "--name", name, "--yes")
}

// convertAndPlan runs the program's conversion of the desired cluster in
// each world, compares the stored specs and the update plans.
func (p kopsPair) convertAndPlan(d func(kopsWorld) kops.Desired) {
	p.t.Helper()
	name := d(p.real).Name
	p.both(func(w kopsWorld) kopsRun {
		conv, err := kops.ConvertClusterSpec([]byte(w.must(nil, "get", "cluster", "--name", name, "-o", "yaml").stdout), d(w))
		if err != nil {
			p.t.Fatal(err)
		}
		return w.run(conv.YAML, "replace", "-f", "-")
	})
	p.sameObjects(p.args("get", "cluster", "--name", name, "-o", "yaml"))
	p.samePending(p.args("update", "cluster", "--name", name))
}

func mustVersion(t *testing.T, out string) kopsrelease.Version {
	t.Helper()
	v, err := kopsrelease.ParseOutput(out)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (p kopsPair) samePending(real, double kopsRun) {
	p.t.Helper()
	a, errA := kops.UpdatePending(real.stdout)
	b, errB := kops.UpdatePending(double.stdout)
	if a != b || (errA == nil) != (errB == nil) {
		p.t.Errorf("kops %s: kops.UpdatePending %v (%v) on real kops's plan, %v (%v) on the double's", real.args, a, errA, b, errB)
	}
}

// sameKubeconfig compares the kubeconfigs both wrote to file under their
// HOME, as the program uses them: context, server, CA and exec plugin.
func (p kopsPair) sameKubeconfig(file string) {
	p.t.Helper()
	type view struct {
		Context, Server string
		HasCA           bool
		Command         string
		Args            []string
	}
	var views [2]view
	for i, w := range []kopsWorld{p.real, p.double} {
		kc := kubeconfigtest.ReadFile(p.t, filepath.Join(w.Home, file))
		v := view{Context: kc.CurrentContext, Server: kc.Cluster.Server, HasCA: len(kc.Cluster.CertificateAuthorityData) > 0}
		if e := kc.User.Exec; e != nil {
			v.Command = e.Command
			for _, a := range e.Args {
				// Each world's own store; the flag must agree.
				v.Args = append(v.Args, strings.Replace(a, w.StoreURL(), "<store>", 1))
			}
		}
		views[i] = v
	}
	if !reflect.DeepEqual(views[0], views[1]) {
		p.t.Errorf("exported kubeconfig: real kops %+v, the double %+v", views[0], views[1])
	}
}

// sameCredentialCache runs the kubeconfig's exec plugin, `kops helpers
// kubectl-auth`, in both worlds: each caches the credential it printed in
// one 0600 file under $HOME/.kube/cache/kops-authentication/, named after
// the cluster and a hash of its own store.
func (p kopsPair) sameCredentialCache(name string) {
	p.t.Helper()
	var names [2]string
	for i, w := range []kopsWorld{p.real, p.double} {
		out := w.must(nil, "helpers", "kubectl-auth", "--cluster="+name, "--state="+w.StoreURL()).stdout
		dir := filepath.Join(w.Home, ".kube", "cache", "kops-authentication")
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 1 {
			p.t.Errorf("%s: credential cache %s: %v, %v; want one file", w.Label, dir, entries, err)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, entries[0].Name()))
		fi, _ := entries[0].Info()
		if err != nil || string(b) != out || fi.Mode().Perm() != 0o600 {
			p.t.Errorf("%s: cached credential (%v, mode %v) is not the printed one:\n%s\nprinted:\n%s", w.Label, err, fi.Mode(), b, out)
		}
		// The hash: SHA-224 in base 62, 38 digits or (leading zeros) fewer.
		prefix, hash, _ := strings.Cut(entries[0].Name(), "_k8s_local_")
		if len(hash) >= 30 && len(hash) <= 38 && strings.Trim(hash, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
			hash = "<hash>"
		}
		names[i] = prefix + "_k8s_local_" + hash
	}
	if names[0] != names[1] {
		p.t.Errorf("credential cache file: real kops %s, the double %s", names[0], names[1])
	}
}

// TestDoubleMatchesRealKopsOnMistakes: what each refuses, and how.
func TestDoubleMatchesRealKopsOnMistakes(t *testing.T) {
	t.Parallel()
	p := newKopsPair(t)
	d := func(w kopsWorld) kops.Desired { return w.desired("ipip") }
	name := d(p.real).Name

	// The cluster named two ways, and only by KOPS_CLUSTER_NAME.
	byEnv := func(args ...string) func(w kopsWorld) kopsRun {
		return func(w kopsWorld) kopsRun {
			env := w.Vars()
			env["KOPS_CLUSTER_NAME"] = name
			runner := &kops.ExecRunner{Binary: w.Bin, Env: env, StderrTail: 1 << 16}
			out, err := runner.Run(context.Background(), kops.Command{Args: args})
			r := kopsRun{args: "KOPS_CLUSTER_NAME=" + name + " " + strings.Join(args, " "), stdout: string(out), err: err}
			var ce *kops.CommandError
			if errors.As(err, &ce) {
				r.exit, r.stderr = ce.ExitCode, ce.Stderr
			}
			return r
		}
	}
	r, o := p.both(byEnv("get", "cluster", "-o", "yaml"))
	for _, x := range []kopsRun{r, o} {
		if !strings.Contains(x.stderr, `cluster not found "calico.k8s.local"`) {
			t.Errorf("%s: %s", x.args, x.stderr)
		}
	}
	p.both(func(w kopsWorld) kopsRun {
		args := kops.CreateClusterArgs(d(w))
		for i := range args {
			if args[i] == "--cloud" {
				return w.run(nil, append(args[:i:i], args[i+2:]...)...)
			}
		}
		t.Fatal("no --cloud in the create arguments")
		return kopsRun{}
	})
	p.both(func(w kopsWorld) kopsRun {
		return w.run(nil, "create", "cluster", "--name", name, "--cloud", "aws", "--zones", "us-east-1a", "--dns", "none", "--admin-access", "10.0.0.0/33")
	})
	p.both(func(w kopsWorld) kopsRun { return w.run(nil, kops.CreateClusterArgs(d(w))...) })
	p.both(byEnv("get", "cluster", name, "-o", "yaml"))
	p.both(byEnv("update", "cluster", name))
	p.args("replace")

	spec := func(w kopsWorld) string { return w.must(nil, "get", "cluster", "--name", name, "-o", "yaml").stdout }
	p.both(func(w kopsWorld) kopsRun {
		return w.run([]byte(strings.Replace(spec(w), "- 203.0.113.0/24\n  kubernetesVersion", "- bogus\n  kubernetesVersion", 1)), "replace", "-f", "-")
	})
	// Stored by replace, refused by update once completed.
	p.both(func(w kopsWorld) kopsRun {
		return w.run([]byte(strings.Replace(spec(w), "calico: {}", "calico:\n      vxlanMode: CrossSubnet", 1)), "replace", "-f", "-")
	})
	r, o = p.args("update", "cluster", "--name", name)
	for _, x := range []kopsRun{r, o} {
		if !strings.Contains(x.stderr, `completed cluster failed validation: spec.networking.calico.vxlanMode: Forbidden: VXLAN encapsulation requires use of Calico's "vxlan" encapsulation mode`) {
			t.Errorf("update: %s", x.stderr)
		}
	}
}

// TestDoubleMatchesRealKopsOnOtherClusters: a kubenet cluster the program
// converts, three zones with three control-plane nodes and default machine
// types next to it in the same store, and an instance group deleted behind
// the program's back.
func TestDoubleMatchesRealKopsOnOtherClusters(t *testing.T) {
	t.Parallel()
	p := newKopsPair(t)
	d := func(w kopsWorld) kops.Desired { return w.desired("vxlan") }
	three := func(w kopsWorld) kops.Desired {
		x := w.desired("ipip")
		x.Name, x.Zones, x.ControlPlaneCount, x.NodeCount = "three.k8s.local", []string{"us-east-1c", "us-east-1a", "us-east-1b"}, 3, 4
		x.ControlPlaneSize, x.NodeSize = "", "" // kops's default machine type
		return x
	}
	name := d(p.real).Name

	p.both(func(w kopsWorld) kopsRun { return w.create(d(w), "kubenet") })
	p.both(func(w kopsWorld) kopsRun { return w.create(three(w), "") })
	p.sameObjects(p.args("get", "clusters", "-o", "yaml"))
	p.sameObjects(p.args("get", "instancegroups", "--name", "three.k8s.local", "-o", "yaml"))
	p.convertAndPlan(d)

	p.both(func(w kopsWorld) kopsRun {
		if err := os.Remove(filepath.Join(w.StoreDir, name, "instancegroup", "nodes-us-east-1b")); err != nil {
			t.Fatal(err)
		}
		conv, err := kops.ReconcileInstanceGroups([]byte(w.must(nil, "get", "instancegroups", "--name", name, "-o", "yaml").stdout), d(w))
		if err != nil || len(conv.Create) == 0 {
			t.Fatalf("%s: restore %v, %v", w.Label, conv.Changes, err)
		}
		return w.run(conv.Create, "replace", "--force", "-f", "-")
	})
	p.sameObjects(p.args("get", "instancegroups", "--name", name, "-o", "yaml"))
}

// TestDoubleMatchesRealKopsRollingUpdate: the dry-run rolling-update table
// with an API that answers, before anything runs and with one group whose
// instance started from an older launch template. Real kops's cloud is
// fakeaws's groups; the double's is its own model, brought to the same
// state by the paths only it can take (update --yes).
func TestDoubleMatchesRealKopsRollingUpdate(t *testing.T) {
	t.Parallel()
	p := newKopsPair(t)
	d := p.real.desired("ipip")
	name := d.Name
	p.both(func(w kopsWorld) kopsRun { return w.run(nil, kops.CreateClusterArgs(w.desired("ipip"))...) })
	cert, key := p.real.AWS.CA()
	p.real.must(nil, "create", "keypair", "kubernetes-ca", "--name", name, "--cert", cert, "--key", key, "--primary")
	p.real.AWS.ServeClusterAPI(name)
	p.double.must(nil, "create", "keypair", "kubernetes-ca", "--name", name, "--primary")
	p.double.Double.SetKubeconfig(t, []byte("apiVersion: v1\nkind: Config\n"))
	p.sameRollingPlan(p.args("rolling-update", "cluster", "--name", name))

	for _, g := range runningGroups(name) {
		p.real.AWS.AddAutoScalingGroup(g)
	}
	p.double.must(nil, "update", "cluster", "--name", name, "--yes", "--create-kube-config=false")
	changed := strings.Replace(p.double.must(nil, "get", "instancegroups", "--name", name, "nodes-us-east-1a", "-o", "yaml").stdout, "machineType: t3.medium", "machineType: t3.large", 1)
	p.double.must([]byte(changed), "replace", "-f", "-")
	p.double.must(nil, "update", "cluster", "--name", name, "--yes", "--create-kube-config=false")
	p.sameRollingPlan(p.args("rolling-update", "cluster", "--name", name))
	p.sameRollingPlan(p.args("rolling-update", "cluster", "--name", name, "--instance-group-roles", "control-plane,apiserver"))
	// The roll's shape (kops.StepRoll) without --yes, and a group not there.
	p.sameRollingPlan(p.args(append([]string{"rolling-update", "cluster", "--name", name, "--instance-group", "nodes-us-east-1a,nodes-us-east-1b"}, rollOptions(d)...)...))
	p.args("rolling-update", "cluster", "--name", name, "--instance-group", "gpu")
	p.args("rolling-update", "cluster", "--name", name, "--admin=forever")
}

func (p kopsPair) sameRollingPlan(real, double kopsRun) {
	p.t.Helper()
	a, errA := kops.ParseRollingUpdate(real.stdout)
	b, errB := kops.ParseRollingUpdate(double.stdout)
	if errA != nil || errB != nil {
		p.t.Fatalf("ParseRollingUpdate: real kops %v, the double %v", errA, errB)
	}
	for i := range a.Groups {
		// NODES counts instances registered as nodes with the API; the
		// program reads NEEDUPDATE and STATUS only.
		a.Groups[i].Nodes = 0
	}
	for i := range b.Groups {
		b.Groups[i].Nodes = 0
	}
	if !reflect.DeepEqual(a, b) {
		p.t.Errorf("rolling-update plan: real kops %+v, the double %+v\nreal stdout:\n%s\ndouble stdout:\n%s", a.Groups, b.Groups, real.stdout, double.stdout)
	}
}

// TestDoubleMatchesRealKopsDeclaredGroups: the shapes of declared instance
// groups (replace --force of a new group, replace of kops's own, the update
// dry run, delete instancegroup asked on stdin, with --yes, and of a group
// already gone) give the same exits and the same objects.
func TestDoubleMatchesRealKopsDeclaredGroups(t *testing.T) {
	t.Parallel()
	p := newKopsPair(t)
	d := func(w kopsWorld) kops.Desired {
		x := w.desired("ipip")
		x.InstanceGroups = declaredForContract()
		return x
	}
	name := d(p.real).Name
	groups := func(w kopsWorld) []byte {
		return []byte(w.must(nil, "get", "instancegroups", "--name", name, "-o", "yaml").stdout)
	}
	p.both(func(w kopsWorld) kopsRun { return w.create(d(w), "") })
	p.both(func(w kopsWorld) kopsRun {
		conv, err := kops.ReconcileInstanceGroups(groups(w), d(w))
		if err != nil || len(conv.Create) == 0 {
			t.Fatalf("%s: create %v, %v", w.Label, conv.Changes, err)
		}
		return w.run(conv.Create, "replace", "--force", "-f", "-")
	})
	p.both(func(w kopsWorld) kopsRun {
		conv, err := kops.ReconcileInstanceGroups(groups(w), d(w))
		if err != nil || len(conv.YAML) == 0 {
			t.Fatalf("%s: replace %v, %v", w.Label, conv.Changes, err)
		}
		return w.run(conv.YAML, "replace", "-f", "-")
	})
	p.sameObjects(p.args("get", "instancegroups", "--name", name, "-o", "yaml"))
	real, double := p.args("update", "cluster", "--name", name)
	for _, r := range []kopsRun{real, double} {
		if pending, err := kops.UpdatePending(r.stdout); err != nil || !pending {
			t.Errorf("UpdatePending: %v, %v\n%s", pending, err, r.stdout)
		}
	}
	p.args("delete", "instancegroup", "gpu", "--name", name)
	p.args("delete", "instancegroup", "--name", name, "--yes")
	p.args("delete", "instancegroup", "gpu", "--name", name, "--yes")
	p.sameObjects(p.args("get", "instancegroups", "--name", name, "-o", "yaml"))
	p.args("delete", "instancegroup", "gpu", "--name", name, "--yes")
	p.args("delete", "instancegroup", "control-plane-us-east-1a", "--name", name, "--yes")
}
