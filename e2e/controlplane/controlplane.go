package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kopscalico/kopscalico/internal/testing/kubeconfigtest"
)

const (
	// NodeName is the fake node kwok manages; pods schedule onto it.
	NodeName = "kwok-node-0"
	// ServiceCIDR is the cluster's service IP range.
	ServiceCIDR = "10.96.0.0/16"
	// PodCIDR is where kwok hands out pod IPs.
	PodCIDR = "10.244.0.0/16"

	// ContextName is the kubeconfig's context, cluster and user name.
	ContextName = "kopscalico-e2e"

	startTimeout = 3 * time.Minute
	stopGrace    = 5 * time.Second
)

// ControlPlane is a running local control plane. Stop it with Stop, or let
// the test's cleanup do it.
type ControlPlane struct {
	// Dir holds the data, certificates, logs and kubeconfig; removed on Stop.
	Dir string
	// Marker is set as KOPSCALICO_E2E_MARKER in every component's
	// environment (see MarkedProcesses).
	Marker string
	// Server is the API server URL (https://127.0.0.1:<port>).
	Server string
	// RESTConfig authenticates as an admin (group system:masters).
	RESTConfig *rest.Config
	// Client is a ready clientset for assertions.
	Client kubernetes.Interface

	kubeconfigPath string
	kubeconfig     []byte

	t        testing.TB
	mu       sync.Mutex
	procs    []*process // in start order
	stopOnce sync.Once
	stopped  chan struct{}
}

// Kubeconfig is the path of an admin kubeconfig (client cert embedded).
func (c *ControlPlane) Kubeconfig() string { return c.kubeconfigPath }

// KubeconfigBytes is the admin kubeconfig's content.
func (c *ControlPlane) KubeconfigBytes() []byte { return append([]byte(nil), c.kubeconfig...) }

// Start brings up etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok with one Ready fake node, and returns once the
// default ServiceAccount exists and the node is schedulable. Everything stops
// and is removed when the test ends (t.Cleanup), before the test's deadline
// (a watchdog), or when the test binary dies (Pdeathsig).
func Start(t testing.TB) *ControlPlane {
	t.Helper()
	tools := RequireTools(t, ControlPlaneTools...)
	c, err := start(t, tools)
	if err != nil {
		t.Fatalf("start control plane: %v", err)
	}
	return c
}

func start(t testing.TB, tools map[string]string) (_ *ControlPlane, err error) {
	toolsDir, err := ToolsDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kopscalico-e2e-cp-")
	if err != nil {
		return nil, err
	}
	c := &ControlPlane{Dir: dir, Marker: filepath.Base(dir), t: t, stopped: make(chan struct{})}
	t.Cleanup(c.Stop)
	c.watchDeadline()
	defer func() {
		if err != nil {
			c.logTails()
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	env := append(os.Environ(), EnvMarker+"="+c.Marker)

	serviceIP, err := firstServiceIP(ServiceCIDR)
	if err != nil {
		return nil, err
	}
	certs, err := generatePKI(dir, serviceIP)
	if err != nil {
		return nil, err
	}

	began := time.Now()
	etcdURL, err := c.startEtcd(ctx, tools["etcd"], env)
	if err != nil {
		return nil, err
	}
	t.Logf("controlplane: etcd ready at %s (%s)", etcdURL, time.Since(began).Round(time.Millisecond))

	if err := c.startAPIServer(ctx, tools["kube-apiserver"], env, etcdURL, certs); err != nil {
		return nil, err
	}
	t.Logf("controlplane: kube-apiserver ready at %s (%s)", c.Server, time.Since(began).Round(time.Millisecond))

	if err := c.writeKubeconfig(certs); err != nil {
		return nil, err
	}
	if err := c.startControllers(tools, env, certs, toolsDir); err != nil {
		return nil, err
	}
	if err := c.registerNode(ctx); err != nil {
		return nil, err
	}
	if err := c.waitSettled(ctx); err != nil {
		return nil, err
	}
	t.Logf("controlplane: ready, node %s schedulable (%s); kubeconfig %s", NodeName, time.Since(began).Round(time.Millisecond), c.kubeconfigPath)
	return c, nil
}

func (c *ControlPlane) add(p *process) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.procs = append(c.procs, p)
}

// startWithPorts starts a component on fresh loopback ports, retrying when
// it dies early (e.g. a port taken between choosing and binding it).
func (c *ControlPlane) startWithPorts(ctx context.Context, name string, nports int, launch func(ports []int) (*process, error), ready func(ctx context.Context, ports []int) error) ([]int, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := freePorts(nports)
		if err != nil {
			return nil, err
		}
		p, err := launch(ports)
		if err != nil {
			return nil, err
		}
		c.add(p)
		wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		err = waitFor(wctx, name+" readiness", []*process{p}, func(ctx context.Context) error { return ready(ctx, ports) })
		cancel()
		if err == nil {
			return ports, nil
		}
		lastErr = err
		if !p.exited() || !strings.Contains(p.logTail(8000), "address already in use") {
			return nil, err
		}
		c.t.Logf("controlplane: %s lost a port race, retrying: %v", name, err)
	}
	return nil, lastErr
}

func (c *ControlPlane) startEtcd(ctx context.Context, bin string, env []string) (string, error) {
	ports, err := c.startWithPorts(ctx, "etcd", 2, func(ports []int) (*process, error) {
		client := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
		peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
		return startProcess("etcd", bin, []string{
			"--name=e2e",
			"--data-dir=" + filepath.Join(c.Dir, "etcd"),
			"--listen-client-urls=" + client,
			"--advertise-client-urls=" + client,
			"--listen-peer-urls=" + peer,
			"--initial-advertise-peer-urls=" + peer,
			"--initial-cluster=e2e=" + peer,
			"--unsafe-no-fsync=true",
			"--log-level=warn",
		}, env, c.Dir)
	}, func(ctx context.Context, ports []int) error {
		return httpOK(ctx, http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/health", ports[0]), `"health":"true"`)
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("http://127.0.0.1:%d", ports[0]), nil
}

func (c *ControlPlane) startAPIServer(ctx context.Context, bin string, env []string, etcdURL string, certs *pki) error {
	clientCert, err := tls.LoadX509KeyPair(certs.ClientCert, certs.ClientKey)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certs.caPEM)
	httpClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pool, Certificates: []tls.Certificate{clientCert}, MinVersion: tls.VersionTLS12,
	}}}
	defer httpClient.CloseIdleConnections()

	ports, err := c.startWithPorts(ctx, "kube-apiserver", 1, func(ports []int) (*process, error) {
		return startProcess("kube-apiserver", bin, []string{
			"--etcd-servers=" + etcdURL,
			"--etcd-prefix=/registry",
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(ports[0]),
			"--tls-cert-file=" + certs.ServingCert,
			"--tls-private-key-file=" + certs.ServingKey,
			"--client-ca-file=" + certs.CACert,
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + certs.SAPub,
			"--service-account-signing-key-file=" + certs.SAKey,
			"--service-cluster-ip-range=" + ServiceCIDR,
			"--authorization-mode=RBAC",
			"--allow-privileged=true",
			// Nothing here needs a kubelet, persistent volumes or webhooks.
			"--disable-admission-plugins=DefaultStorageClass,StorageObjectInUseProtection,PersistentVolumeClaimResize,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,MutatingAdmissionPolicy",
			"--enable-priority-and-fairness=false",
			"--profiling=false",
			"--cert-dir=" + filepath.Join(c.Dir, "apiserver-certs"),
			"--v=1",
		}, env, c.Dir)
	}, func(ctx context.Context, ports []int) error {
		return httpOK(ctx, httpClient, fmt.Sprintf("https://127.0.0.1:%d/readyz", ports[0]), "ok")
	})
	if err != nil {
		return err
	}
	c.Server = fmt.Sprintf("https://127.0.0.1:%d", ports[0])
	return nil
}

func (c *ControlPlane) writeKubeconfig(certs *pki) error {
	b, err := kubeconfigtest.Write(kubeconfigtest.Spec{Name: ContextName, Server: c.Server, CA: certs.caPEM,
		ClientCert: certs.clientCertPEM, ClientKey: certs.clientKeyPEM, Namespace: "default"})
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	c.kubeconfig = b
	c.kubeconfigPath = filepath.Join(c.Dir, "kubeconfig")
	if err := os.WriteFile(c.kubeconfigPath, b, 0o600); err != nil {
		return err
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(b)
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	rc.QPS, rc.Burst = 100, 200
	c.RESTConfig = rc
	c.Client, err = kubernetes.NewForConfig(rc)
	return err
}

func (c *ControlPlane) startControllers(tools map[string]string, env []string, certs *pki, toolsDir string) error {
	kcm, err := startProcess("kube-controller-manager", tools["kube-controller-manager"], []string{
		"--kubeconfig=" + c.kubeconfigPath,
		"--authentication-kubeconfig=" + c.kubeconfigPath,
		"--authorization-kubeconfig=" + c.kubeconfigPath,
		"--secure-port=0",
		"--leader-elect=false",
		"--controllers=*",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file=" + certs.SAKey,
		"--root-ca-file=" + certs.CACert,
		"--cluster-signing-cert-file=" + certs.CACert,
		"--cluster-signing-key-file=" + certs.CAKey,
		"--service-cluster-ip-range=" + ServiceCIDR,
		"--allocate-node-cidrs=false",
		// kwok's node heartbeats lag on a loaded machine; past the default
		// 40 s the node and its pods would read not ready, mid-test.
		"--node-monitor-grace-period=10m",
		"--v=1",
	}, env, c.Dir)
	if err != nil {
		return err
	}
	c.add(kcm)
	sched, err := startProcess("kube-scheduler", tools["kube-scheduler"], []string{
		"--kubeconfig=" + c.kubeconfigPath,
		"--authentication-kubeconfig=" + c.kubeconfigPath,
		"--authorization-kubeconfig=" + c.kubeconfigPath,
		"--secure-port=0",
		"--leader-elect=false",
		"--v=1",
	}, env, c.Dir)
	if err != nil {
		return err
	}
	c.add(sched)
	kwokPort, err := freePorts(1)
	if err != nil {
		return err
	}
	stages, err := filepath.Glob(filepath.Join(toolsDir, "share", "kwok", "*.yaml"))
	if err != nil || len(stages) == 0 {
		return fmt.Errorf("no kwok stages in %s: run `make tools` (tools/build.sh kwok)", filepath.Join(toolsDir, "share", "kwok"))
	}
	args := []string{
		"--kubeconfig=" + c.kubeconfigPath,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--cidr=" + PodCIDR,
		"--node-ip=127.0.0.1",
		"--server-address=127.0.0.1:" + strconv.Itoa(kwokPort[0]),
	}
	for _, s := range stages {
		args = append(args, "--config="+s)
	}
	kwok, err := startProcess("kwok", tools["kwok"], args, append(env, "HOME="+c.Dir), c.Dir)
	if err != nil {
		return err
	}
	c.add(kwok)
	return nil
}

func (c *ControlPlane) registerNode(ctx context.Context) error {
	return c.createNode(ctx, NodeName, "us-east-1a")
}

// createNode registers a fake node kwok manages, in zone.
func (c *ControlPlane) createNode(ctx context.Context, name, zone string) error {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels: map[string]string{
				"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
				"kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": zone,
			},
		},
		Status: corev1.NodeStatus{
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("250")},
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("32"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("250")},
		},
	}
	_, err := c.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s: %w", name, err)
	}
	return nil
}

// AddNode registers another fake node, in zone (topology.kubernetes.io/zone),
// and returns once kwok reports it Ready: a cluster of several zones for
// tests that place pods by zone.
func (c *ControlPlane) AddNode(t testing.TB, name, zone string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.createNode(ctx, name, zone); err != nil {
		t.Fatal(err)
	}
	err := waitFor(ctx, "node "+name+" Ready", c.snapshot(), func(ctx context.Context) error {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("not Ready")
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitSettled waits until Pods can be admitted (default ServiceAccount) and
// scheduled (node Ready without the not-ready taint).
func (c *ControlPlane) waitSettled(ctx context.Context) error {
	watch := c.snapshot()
	err := waitFor(ctx, "default ServiceAccount", watch, func(ctx context.Context) error {
		_, err := c.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	if err != nil {
		return err
	}
	return waitFor(ctx, "node "+NodeName+" Ready and untainted", watch, func(ctx context.Context) error {
		n, err := c.Client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ready := false
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		if !ready {
			return fmt.Errorf("node not Ready: %w", errNotYet)
		}
		if len(n.Spec.Taints) > 0 {
			return fmt.Errorf("node tainted %v: %w", n.Spec.Taints, errNotYet)
		}
		return nil
	})
}

func (c *ControlPlane) snapshot() []*process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*process(nil), c.procs...)
}

// watchDeadline stops everything shortly before the test's deadline, so a
// `go test -timeout` panic (which skips cleanups) leaves nothing behind.
func (c *ControlPlane) watchDeadline() {
	d, ok := c.t.(interface{ Deadline() (time.Time, bool) })
	if !ok {
		return
	}
	deadline, ok := d.Deadline()
	if !ok {
		return
	}
	margin := 30 * time.Second
	if rest := time.Until(deadline); rest < 2*margin {
		margin = rest / 4
	}
	timer := time.NewTimer(time.Until(deadline) - margin)
	go func() {
		select {
		case <-timer.C:
			c.t.Logf("controlplane: test deadline %s is near: stopping the control plane", deadline.Format(time.RFC3339))
			c.Stop()
		case <-c.stopped:
			timer.Stop()
		}
	}()
}

// Stop stops every component (process group SIGTERM, then SIGKILL), kills
// any process still carrying the marker, and removes Dir. It is idempotent
// and safe to call from cleanups and other goroutines.
func (c *ControlPlane) Stop() {
	c.stopOnce.Do(func() {
		defer close(c.stopped)
		if c.t.Failed() {
			c.logTails()
		}
		procs := c.snapshot()
		var wg sync.WaitGroup
		// Stop clients first, then the API server, then etcd.
		for i := len(procs) - 1; i >= 0; i-- {
			p := procs[i]
			if p.name == "kube-apiserver" || p.name == "etcd" {
				continue
			}
			wg.Add(1)
			go func() { defer wg.Done(); p.stop() }()
		}
		wg.Wait()
		for i := len(procs) - 1; i >= 0; i-- {
			if procs[i].name == "kube-apiserver" || procs[i].name == "etcd" {
				procs[i].stop()
			}
		}
		if left, err := KillMarked(c.Marker, 5*time.Second); err != nil || len(left) > 0 {
			c.t.Errorf("controlplane: processes outlived their process groups: %v %v", left, err)
		}
		if os.Getenv("KOPSCALICO_E2E_KEEP") != "" {
			c.t.Logf("controlplane: KOPSCALICO_E2E_KEEP set: leaving %s", c.Dir)
			return
		}
		if err := os.RemoveAll(c.Dir); err != nil {
			c.t.Errorf("controlplane: remove %s: %v", c.Dir, err)
		}
	})
}

// logTails writes the end of every component's log to the test log.
func (c *ControlPlane) logTails() {
	for _, p := range c.snapshot() {
		c.t.Logf("controlplane: --- %s log tail (%s) ---\n%s", p.name, p.logPath, p.logTail(3000))
	}
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("choose a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func firstServiceIP(cidr string) (net.IP, error) {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, err
	}
	ip := n.IP.To4()
	return net.IPv4(ip[0], ip[1], ip[2], ip[3]+1), nil
}

func httpOK(ctx context.Context, client *http.Client, url, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	n, _ := resp.Body.Read(buf)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(buf[:n]), want) {
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, strings.TrimSpace(string(buf[:n])))
	}
	return nil
}
