package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	pk8sappsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	pk8scorev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	pk8smetav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	pk8snetv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/kopscalico/kopscalico/e2e/controlplane"
	"github.com/kopscalico/kopscalico/e2e/pulumitest"
)

// TestControlPlaneSchedulesAndDeletes checks the pieces other e2e tests rely
// on: a real server version, pods admitted (default ServiceAccount),
// scheduled and Running (kwok), and namespace deletion finishing
// (kube-controller-manager).
func TestControlPlaneSchedulesAndDeletes(t *testing.T) {
	cp := controlplane.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	v, err := cp.Client.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if v.GitVersion != "v1.36.4" || v.Major != "1" || v.Minor != "36" {
		t.Errorf("server version = %+v, want v1.36.4 (1.36): the kube-* binaries need their -ldflags version", v)
	}

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "harness"}}
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "echo"}
	replicas := int32(2)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "echo", Namespace: "harness"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "echo", Image: "example.invalid/echo:1"}}},
			},
		},
	}
	if _, err := cp.Client.AppsV1().Deployments("harness").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		d, err := cp.Client.AppsV1().Deployments("harness").Get(ctx, "echo", metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == replicas, nil
	})
	if err != nil {
		t.Fatalf("deployment never became available: %v", err)
	}
	pods, err := cp.Client.CoreV1().Pods("harness").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || p.Spec.NodeName != controlplane.NodeName {
			t.Errorf("pod %s: phase %s, IP %q, node %q; want Running with an IP on %s", p.Name, p.Status.Phase, p.Status.PodIP, p.Spec.NodeName, controlplane.NodeName)
		}
	}

	if err := cp.Client.CoreV1().Namespaces().Delete(ctx, "harness", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := cp.Client.CoreV1().Namespaces().Get(ctx, "harness", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("namespace deletion never finished: %v", err)
	}
}

// smallProgram is a stand-in for infra.Program: a namespace, two
// NetworkPolicies and a Deployment (so Pulumi's await logic runs) on a
// provider built from the secret kubeconfig config.
func smallProgram(ctx *pulumi.Context) error {
	cfg := config.New(ctx, "harness")
	k8s, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{
		Kubeconfig:        cfg.RequireSecret("kubeconfig"),
		ClusterIdentifier: pulumi.String("harness"),
	})
	if err != nil {
		return err
	}
	ns, err := pk8scorev1.NewNamespace(ctx, "ns-1", &pk8scorev1.NamespaceArgs{
		Metadata: &pk8smetav1.ObjectMetaArgs{Name: pulumi.String("ns-1")},
	}, pulumi.Provider(k8s))
	if err != nil {
		return err
	}
	opts := []pulumi.ResourceOption{pulumi.Provider(k8s), pulumi.DependsOn([]pulumi.Resource{ns})}
	if _, err := pk8snetv1.NewNetworkPolicy(ctx, "default-deny", &pk8snetv1.NetworkPolicyArgs{
		Metadata: &pk8smetav1.ObjectMetaArgs{Name: pulumi.String("default-deny"), Namespace: ns.Metadata.Name()},
		Spec: &pk8snetv1.NetworkPolicySpecArgs{
			PodSelector: &pk8smetav1.LabelSelectorArgs{},
			PolicyTypes: pulumi.StringArray{pulumi.String("Ingress")},
		},
	}, opts...); err != nil {
		return err
	}
	if _, err := pk8snetv1.NewNetworkPolicy(ctx, "allow-same-namespace", &pk8snetv1.NetworkPolicyArgs{
		Metadata: &pk8smetav1.ObjectMetaArgs{Name: pulumi.String("allow-same-namespace"), Namespace: ns.Metadata.Name()},
		Spec: &pk8snetv1.NetworkPolicySpecArgs{
			PodSelector: &pk8smetav1.LabelSelectorArgs{},
			Ingress: pk8snetv1.NetworkPolicyIngressRuleArray{&pk8snetv1.NetworkPolicyIngressRuleArgs{
				From: pk8snetv1.NetworkPolicyPeerArray{&pk8snetv1.NetworkPolicyPeerArgs{PodSelector: &pk8smetav1.LabelSelectorArgs{}}},
			}},
		},
	}, opts...); err != nil {
		return err
	}
	labels := pulumi.StringMap{"app": pulumi.String("echo")}
	dep, err := pk8sappsv1.NewDeployment(ctx, "echo", &pk8sappsv1.DeploymentArgs{
		Metadata: &pk8smetav1.ObjectMetaArgs{Name: pulumi.String("echo"), Namespace: ns.Metadata.Name()},
		Spec: &pk8sappsv1.DeploymentSpecArgs{
			Replicas: pulumi.Int(1),
			Selector: &pk8smetav1.LabelSelectorArgs{MatchLabels: labels},
			Template: &pk8scorev1.PodTemplateSpecArgs{
				Metadata: &pk8smetav1.ObjectMetaArgs{Labels: labels},
				Spec: &pk8scorev1.PodSpecArgs{Containers: pk8scorev1.ContainerArray{&pk8scorev1.ContainerArgs{
					Name: pulumi.String("echo"), Image: pulumi.String("example.invalid/echo:1"),
				}}},
			},
		},
	}, opts...)
	if err != nil {
		return err
	}
	ctx.Export("namespace", ns.Metadata.Name())
	ctx.Export("readyReplicas", dep.Status.ReadyReplicas())
	return nil
}

// TestHarnessUpPreviewDestroy drives smallProgram through the real engine
// and provider: up, an empty preview, destroy, and nothing left behind.
func TestHarnessUpPreviewDestroy(t *testing.T) {
	cp := controlplane.Start(t)
	kubeconfig := string(cp.KubeconfigBytes())
	s := pulumitest.New(t, smallProgram, pulumitest.Config{
		"harness:kubeconfig": pulumitest.Secret(kubeconfig),
	}, pulumitest.Options{Project: "harness"})

	up := s.Up()
	if got := up.Outputs["namespace"].Value; got != "ns-1" {
		t.Errorf("output namespace = %v, want ns-1", got)
	}
	if got := up.Outputs["readyReplicas"].Value; got != float64(1) {
		t.Errorf("output readyReplicas = %v, want 1 (the provider awaited the Deployment)", got)
	}
	ctx := context.Background()
	nps, err := cp.Client.NetworkingV1().NetworkPolicies("ns-1").List(ctx, metav1.ListOptions{})
	if err != nil || len(nps.Items) != 2 {
		t.Fatalf("NetworkPolicies in ns-1: %v, err %v; want 2", nps, err)
	}

	s.Preview(optpreview.ExpectNoChanges())

	state, err := os.ReadFile(s.ExportState())
	if err != nil {
		t.Fatal(err)
	}
	for _, secretPart := range kubeconfigSecrets(t, cp.KubeconfigBytes()) {
		if strings.Contains(string(state), secretPart) {
			t.Errorf("exported state holds kubeconfig material in plaintext (%.16s...)", secretPart)
		}
	}

	s.Destroy()
	_, err = cp.Client.CoreV1().Namespaces().Get(ctx, "ns-1", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("namespace ns-1 after destroy: err = %v, want NotFound", err)
	}
}

// Leak checks: a child `go test` process (this binary, running
// TestLeakHelper) starts the control plane and a pulumi up whose program
// blocks, then dies midway: by t.Fatal, by panic, or by SIGKILL. Afterwards no
// process carrying the child's markers (etcd, kube-*, kwok, the pulumi CLI,
// pulumi-resource-kubernetes) may remain.

const (
	envLeakMode   = "KOPSCALICO_LEAK_HELPER_MODE"
	envLeakReport = "KOPSCALICO_LEAK_HELPER_REPORT"
)

func TestNoProcessOutlivesATest(t *testing.T) {
	controlplane.RequireTools(t, append(controlplane.ControlPlaneTools, pulumitest.Tools...)...)
	for _, mode := range []string{"fail", "panic", "kill"} {
		t.Run(mode, func(t *testing.T) {
			report := filepath.Join(t.TempDir(), "report")
			cmd := exec.Command(os.Args[0], "-test.run=^TestLeakHelper$", "-test.v", "-test.timeout=5m")
			cmd.Env = append(os.Environ(), envLeakMode+"="+mode, envLeakReport+"="+report)
			// Plain exec, not childproc: childproc kills the helper's
			// process group after it exits, which would hide a leak there.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
			var out strings.Builder
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()

			markers, err := waitForReport(report, done, 4*time.Minute)
			if err != nil {
				_ = cmd.Process.Kill()
				t.Fatalf("helper never got midway: %v\n%s", err, out.String())
			}
			if mode == "kill" {
				_ = cmd.Process.Signal(syscall.SIGKILL)
			}
			var exitErr *exec.ExitError
			select {
			case err = <-done:
			case <-time.After(2 * time.Minute):
				_ = cmd.Process.Kill()
				t.Fatalf("helper did not end\n%s", out.String())
			}
			if !errors.As(err, &exitErr) {
				t.Fatalf("helper exit = %v, want a failure\n%s", err, out.String())
			}
			if mode != "kill" && !strings.Contains(out.String(), "--- FAIL: TestLeakHelper") {
				t.Errorf("helper output lacks its failure:\n%s", out.String())
			}
			sawPlugin := false
			for _, m := range markers {
				for _, c := range m.Cmdlines {
					if strings.Contains(c, "pulumi-resource-kubernetes") {
						sawPlugin = true
					}
				}
				// The kernel delivers Pdeathsig at once; a plugin whose
				// engine vanished exits on its next health check.
				var left []controlplane.Process
				deadline := time.Now().Add(20 * time.Second)
				for {
					left, err = controlplane.MarkedProcesses(m.Marker)
					if err != nil {
						t.Fatal(err)
					}
					if len(left) == 0 || time.Now().After(deadline) {
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
				t.Logf("mode %s: %d process(es) with marker %s seen midway, %d left after %s", mode, len(m.Cmdlines), m.Marker, len(left), time.Since(deadline.Add(-20*time.Second)).Round(time.Millisecond))
				if len(left) > 0 {
					t.Errorf("mode %s: processes outlived the test: %v", mode, left)
					_, _ = controlplane.KillMarked(m.Marker, 5*time.Second)
				}
				if mode != "kill" {
					if _, err := os.Stat(m.Dir); !os.IsNotExist(err) {
						t.Errorf("mode %s: %s still exists (err %v)", mode, m.Dir, err)
					}
				}
				_ = os.RemoveAll(m.Dir) // a SIGKILLed test cannot clean up its files
			}
			if !sawPlugin {
				t.Errorf("the helper was not midway an update (no pulumi-resource-kubernetes seen): %+v", markers)
			}
			if t.Failed() {
				t.Logf("helper output:\n%s", out.String())
			}
		})
	}
}

// leakMarker is one marker of the helper: the processes carrying it and
// the directory its owner should remove, as the helper saw them midway.
type leakMarker struct {
	Marker   string   `json:"marker"`
	Dir      string   `json:"dir"`
	Cmdlines []string `json:"cmdlines"`
}

// waitForReport waits for the helper's report (written atomically).
func waitForReport(path string, done <-chan error, timeout time.Duration) ([]leakMarker, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil {
			var ms []leakMarker
			return ms, json.Unmarshal(b, &ms)
		}
		select {
		case err := <-done:
			return nil, fmt.Errorf("helper exited early: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil, errors.New("timed out")
}

func writeLeakReport(path string, markers map[string]string) error {
	var ms []leakMarker
	for marker, dir := range markers {
		procs, err := controlplane.MarkedProcesses(marker)
		if err != nil {
			return err
		}
		m := leakMarker{Marker: marker, Dir: dir}
		for _, p := range procs {
			m.Cmdlines = append(m.Cmdlines, p.Cmdline)
		}
		ms = append(ms, m)
	}
	b, err := json.Marshal(ms)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".tmp", b, 0o600); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// TestLeakHelper runs only as TestNoProcessOutlivesATest's child.
func TestLeakHelper(t *testing.T) {
	mode := os.Getenv(envLeakMode)
	if mode == "" {
		t.Skip("helper for TestNoProcessOutlivesATest")
	}
	report := os.Getenv(envLeakReport)
	cp := controlplane.Start(t)
	midway := make(chan struct{})
	blocking := func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "harness")
		k8s, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{Kubeconfig: cfg.RequireSecret("kubeconfig")})
		if err != nil {
			return err
		}
		ns, err := pk8scorev1.NewNamespace(ctx, "leak", &pk8scorev1.NamespaceArgs{}, pulumi.Provider(k8s))
		if err != nil {
			return err
		}
		ns.Metadata.Name().ApplyT(func(*string) string {
			close(midway)
			select {} // midway through the update, forever
		})
		return nil
	}
	s := pulumitest.New(t, blocking, pulumitest.Config{"harness:kubeconfig": pulumitest.Secret(string(cp.KubeconfigBytes()))},
		pulumitest.Options{Project: "harness"})
	upErr := make(chan error, 1)
	go func() { _, err := s.TryUp(); upErr <- err }()
	select {
	case <-midway:
	case err := <-upErr:
		t.Fatalf("update ended before getting midway: %v", err)
	case <-time.After(3 * time.Minute):
		t.Fatal("update never got midway")
	}
	if err := writeLeakReport(report, map[string]string{cp.Marker: cp.Dir, s.Marker: s.Dir}); err != nil {
		t.Fatal(err)
	}
	switch mode {
	case "fail":
		t.Fatal("failing midway on purpose")
	case "panic":
		panic("panicking midway on purpose")
	default: // "kill": wait for the parent's SIGKILL
		time.Sleep(3 * time.Minute)
		t.Fatal("was not killed")
	}
}
