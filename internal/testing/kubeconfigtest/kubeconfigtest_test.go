package kubeconfigtest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

func TestClientCertIsAnAdminKubeconfigValidADay(t *testing.T) {
	b := ClientCert(t, "https://127.0.0.1:6443")
	rc, err := clientcmd.RESTConfigFromKubeConfig(b)
	if err != nil || rc.Host != "https://127.0.0.1:6443" {
		t.Fatalf("clientcmd: %v, host %q", err, rc.Host)
	}
	if _, err := tls.X509KeyPair(rc.CertData, rc.KeyData); err != nil {
		t.Errorf("client certificate and key do not match: %v", err)
	}
	kc := Parse(t, b)
	cert := kc.ClientCertificate(t)
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(kc.Cluster.CertificateAuthorityData) {
		t.Fatalf("CA data is not PEM:\n%s", b)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate does not verify against the CA: %v", err)
	}
	if left := time.Until(cert.NotAfter); left < CertLifetime-time.Minute || left > CertLifetime {
		t.Errorf("client certificate expires in %s, want about %s", left, CertLifetime)
	}
	if got := cert.Subject.Organization; len(got) != 1 || got[0] != "system:masters" {
		t.Errorf("client certificate organization %v, want system:masters", got)
	}
	if other := Parse(t, ClientCert(t, "https://127.0.0.1:6443")); string(other.Cluster.CertificateAuthorityData) == string(kc.Cluster.CertificateAuthorityData) {
		t.Error("two kubeconfigs share a CA")
	}
}

func TestTokenTrustsTheServer(t *testing.T) {
	srv := httptest.NewTLSServer(nil)
	defer srv.Close()
	kc := Parse(t, Token(t, srv.URL, srv.Certificate(), "s3cr3t"))
	if kc.Cluster.Server != srv.URL || kc.User.Token != "s3cr3t" || kc.User.ClientCertificateData != nil {
		t.Errorf("cluster %+v, user %+v", kc.Cluster, kc.User)
	}
	rc, err := clientcmd.RESTConfigFromKubeConfig(Token(t, srv.URL, srv.Certificate(), "s3cr3t"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(rc.CAData)
	if _, err := srv.Certificate().Verify(x509.VerifyOptions{Roots: roots}); err != nil {
		t.Errorf("the kubeconfig's CA is not the server's: %v", err)
	}
}

func TestWriteNamesEverythingAfterTheSpec(t *testing.T) {
	b, err := Write(Spec{Name: "demo", Server: "https://api.demo", Namespace: "ns-1", Token: "x"})
	if err != nil {
		t.Fatal(err)
	}
	kc := Parse(t, b)
	if kc.CurrentContext != "demo" || kc.Contexts["demo"].Namespace != "ns-1" || kc.Clusters["demo"].Server != "https://api.demo" || kc.AuthInfos["demo"].Token != "x" {
		t.Errorf("written:\n%s", b)
	}
}

// fatalRecorder records a Fatalf and stops the goroutine, as testing.T does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestParseRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"not yaml":           {"kind: [", "not a kubeconfig"},
		"no current context": {"apiVersion: v1\nkind: Config\n", `current context ""`},
		"context without a user": {"apiVersion: v1\nkind: Config\ncurrent-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n" +
			"clusters:\n- name: c\n  cluster: {server: https://a}\n", `current context "x"`},
	} {
		r := &fatalRecorder{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); Parse(r, []byte(tc.yaml)) }()
		<-done
		if !strings.Contains(r.msg, tc.want) {
			t.Errorf("%s: Parse failed with %q, want %q", name, r.msg, tc.want)
		}
	}
}
