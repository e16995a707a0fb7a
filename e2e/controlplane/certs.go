package controlplane

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/kopscalico/kopscalico/internal/testing/pkitest"
)

// pki holds the files the control plane needs, written under dir.
type pki struct {
	CACert, CAKey           string // cluster CA (also the client CA)
	ServingCert, ServingKey string // kube-apiserver serving cert
	ClientCert, ClientKey   string // admin client, group system:masters
	SAKey, SAPub            string // service-account token signing key pair

	caPEM, clientCertPEM, clientKeyPEM []byte
}

// generatePKI writes a CA, the API server's serving cert (for loopback and the
// in-cluster names), an admin client cert and a service-account key pair.
func generatePKI(dir string, serviceIP net.IP) (*pki, error) {
	ca, err := pkitest.Issue(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "kopscalico-e2e-ca"},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil, 24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("generate CA: %w", err)
	}
	serving, err := pkitest.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), serviceIP},
	}, ca, 24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("generate serving cert: %w", err)
	}
	client, err := pkitest.Issue(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kopscalico-e2e-admin", Organization: []string{"system:masters"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, 24*time.Hour)
	if err != nil {
		return nil, fmt.Errorf("generate client cert: %w", err)
	}
	saKey, err := pkitest.NewKey()
	if err != nil {
		return nil, fmt.Errorf("generate service-account key: %w", err)
	}

	p := &pki{
		CACert: filepath.Join(dir, "ca.crt"), CAKey: filepath.Join(dir, "ca.key"),
		ServingCert: filepath.Join(dir, "apiserver.crt"), ServingKey: filepath.Join(dir, "apiserver.key"),
		ClientCert: filepath.Join(dir, "admin.crt"), ClientKey: filepath.Join(dir, "admin.key"),
		SAKey: filepath.Join(dir, "sa.key"), SAPub: filepath.Join(dir, "sa.pub"),
	}
	files := map[string]func() ([]byte, error){
		p.CACert:      func() ([]byte, error) { return ca.CertPEM(), nil },
		p.CAKey:       func() ([]byte, error) { return ca.KeyPEM() },
		p.ServingCert: func() ([]byte, error) { return append(serving.CertPEM(), ca.CertPEM()...), nil },
		p.ServingKey:  func() ([]byte, error) { return serving.KeyPEM() },
		p.ClientCert:  func() ([]byte, error) { return client.CertPEM(), nil },
		p.ClientKey:   func() ([]byte, error) { return client.KeyPEM() },
		p.SAKey:       func() ([]byte, error) { return pkitest.KeyPEM(saKey) },
		p.SAPub: func() ([]byte, error) {
			der, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
			return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), err
		},
	}
	for path, content := range files {
		b, err := content()
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", filepath.Base(path), err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, err
		}
	}
	p.caPEM = ca.CertPEM()
	p.clientCertPEM = client.CertPEM()
	p.clientKeyPEM, _ = client.KeyPEM()
	return p, nil
}
