// Package kubeconfigtest builds and reads kubeconfigs for tests with
// client-go's clientcmd, so no test writes or parses the YAML by hand.
package kubeconfigtest

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kopscalico/kopscalico/internal/testing/pkitest"
)

// Spec is a kubeconfig of one cluster, one user and one context, all named
// Name ("local" when empty), the context current.
type Spec struct {
	Name                  string
	Server                string
	CA                    []byte // PEM
	ClientCert, ClientKey []byte // PEM
	Token                 string
	Namespace             string
}

// Write encodes s as clientcmd writes a kubeconfig file.
func Write(s Spec) ([]byte, error) {
	name := s.Name
	if name == "" {
		name = "local"
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: s.Server, CertificateAuthorityData: s.CA}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: s.ClientCert, ClientKeyData: s.ClientKey, Token: s.Token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name, Namespace: s.Namespace}
	cfg.CurrentContext = name
	return clientcmd.Write(*cfg)
}

// CertLifetime is how long ClientCert's certificates are valid.
const CertLifetime = 24 * time.Hour

// ClientCert is an admin kubeconfig for server, as `kops export kubecfg
// --admin` writes one: a fresh self-signed CA and a system:masters client
// certificate it signed, valid for CertLifetime.
func ClientCert(t testing.TB, server string) []byte {
	t.Helper()
	ca, err := pkitest.Issue(&x509.Certificate{Subject: pkix.Name{CommonName: "kubernetes-ca"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}, nil, CertLifetime)
	if err != nil {
		t.Fatal(err)
	}
	client, err := pkitest.Issue(&x509.Certificate{Subject: pkix.Name{CommonName: "kubecfg", Organization: []string{"system:masters"}},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca, CertLifetime)
	if err != nil {
		t.Fatal(err)
	}
	key, err := client.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return write(t, Spec{Server: server, CA: ca.CertPEM(), ClientCert: client.CertPEM(), ClientKey: key})
}

// Token is a kubeconfig for server, trusting ca, whose user sends a bearer
// token.
func Token(t testing.TB, server string, ca *x509.Certificate, token string) []byte {
	t.Helper()
	return write(t, Spec{Server: server, CA: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), Token: token})
}

func write(t testing.TB, s Spec) []byte {
	t.Helper()
	b, err := Write(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Kubeconfig is a parsed kubeconfig with its current context's cluster and
// user.
type Kubeconfig struct {
	*clientcmdapi.Config
	Cluster *clientcmdapi.Cluster
	User    *clientcmdapi.AuthInfo
}

// Parse loads b with clientcmd; it fails the test unless the current
// context names a cluster and a user that exist.
func Parse(t testing.TB, b []byte) *Kubeconfig {
	t.Helper()
	cfg, err := clientcmd.Load(b)
	if err != nil {
		t.Fatalf("not a kubeconfig (%v):\n%s", err, b)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil || cfg.Clusters[ctx.Cluster] == nil || cfg.AuthInfos[ctx.AuthInfo] == nil {
		t.Fatalf("kubeconfig: current context %q does not name a cluster and a user:\n%s", cfg.CurrentContext, b)
	}
	return &Kubeconfig{Config: cfg, Cluster: cfg.Clusters[ctx.Cluster], User: cfg.AuthInfos[ctx.AuthInfo]}
}

// ReadFile parses the kubeconfig at path.
func ReadFile(t testing.TB, path string) *Kubeconfig {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(t, b)
}

// ClientCertificate is the current user's client certificate; it fails the
// test when the user has none.
func (k *Kubeconfig) ClientCertificate(t testing.TB) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(k.User.ClientCertificateData)
	if block == nil {
		t.Fatalf("kubeconfig: the user's client certificate is not PEM: %q", k.User.ClientCertificateData)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("kubeconfig: the user's client certificate: %v", err)
	}
	return cert
}
