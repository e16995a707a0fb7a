package pkitest

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"testing"
	"time"
)

func TestIssuedCertificateVerifiesAgainstItsCA(t *testing.T) {
	ca, err := Issue(&x509.Certificate{Subject: pkix.Name{CommonName: "ca"}, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := Issue(&x509.Certificate{Subject: pkix.Name{CommonName: "leaf"}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}, ca, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("leaf does not verify against the CA: %v", err)
	}
	if left := time.Until(leaf.Cert.NotAfter); left < 2*time.Hour-time.Minute || left > 2*time.Hour {
		t.Errorf("leaf expires in %s, want 2h", left)
	}
	if ca.Cert.SerialNumber.Cmp(leaf.Cert.SerialNumber) == 0 {
		t.Error("two certificates share a serial number")
	}
	keyPEM, err := leaf.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(leaf.CertPEM(), keyPEM); err != nil {
		t.Errorf("PEM certificate and key do not pair: %v", err)
	}
}
