package controlplane

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki holds the files the control plane needs, written under dir.
type pki struct {
	CACert, CAKey           string // cluster CA (also the client CA)
	ServingCert, ServingKey string // kube-apiserver serving cert
	ClientCert, ClientKey   string // admin client, group system:masters
	SAKey, SAPub            string // service-account token signing key pair

	caPEM, clientCertPEM, clientKeyPEM []byte
}

type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	der  []byte
}

func newKey() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }

func serial() (*big.Int, error) { return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120)) }

func sign(tmpl *x509.Certificate, parent *keyPair) (*keyPair, error) {
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	if tmpl.SerialNumber, err = serial(); err != nil {
		return nil, err
	}
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	signer, signerCert := key, tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signer)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: key, der: der}, nil
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func pemKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// generatePKI writes a CA, the API server's serving cert (for loopback and the
// in-cluster names), an admin client cert and a service-account key pair.
func generatePKI(dir string, serviceIP net.IP) (*pki, error) {
	ca, err := sign(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "kopscalico-e2e-ca"},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("generate CA: %w", err)
	}
	serving, err := sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), serviceIP},
	}, ca)
	if err != nil {
		return nil, fmt.Errorf("generate serving cert: %w", err)
	}
	client, err := sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kopscalico-e2e-admin", Organization: []string{"system:masters"}},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca)
	if err != nil {
		return nil, fmt.Errorf("generate client cert: %w", err)
	}
	saKey, err := newKey()
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
		p.CACert:      func() ([]byte, error) { return pemCert(ca.der), nil },
		p.CAKey:       func() ([]byte, error) { return pemKey(ca.key) },
		p.ServingCert: func() ([]byte, error) { return append(pemCert(serving.der), pemCert(ca.der)...), nil },
		p.ServingKey:  func() ([]byte, error) { return pemKey(serving.key) },
		p.ClientCert:  func() ([]byte, error) { return pemCert(client.der), nil },
		p.ClientKey:   func() ([]byte, error) { return pemKey(client.key) },
		p.SAKey:       func() ([]byte, error) { return pemKey(saKey) },
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
	p.caPEM = pemCert(ca.der)
	p.clientCertPEM = pemCert(client.der)
	p.clientKeyPEM, _ = pemKey(client.key)
	return p, nil
}
