package kops

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

func testKubeconfig(t *testing.T, name string, notAfter time.Time) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "admin"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- cluster:
    server: https://api.%[1]s
  name: %[1]s
contexts:
- context:
    cluster: %[1]s
    user: %[1]s
  name: %[1]s
current-context: %[1]s
users:
- name: %[1]s
  user:
    client-certificate-data: %[2]s
    client-key-data: c2VjcmV0
`, name, cert)
}

func TestKubeconfigFreshness(t *testing.T) {
	now := time.Now()
	name := "demo.example.com"
	fresh := testKubeconfig(t, name, now.Add(10*time.Hour))
	if r := KubeconfigFreshness([]byte(fresh), name, now, 2*time.Hour); r != "" {
		t.Errorf("fresh kubeconfig: %q", r)
	}
	for what, c := range map[string]struct {
		content string
		want    string
	}{
		"other cluster": {fresh, "not cluster other.example.com"},
		"expiring":      {testKubeconfig(t, name, now.Add(time.Hour)), "within the renewal window"},
		"expired":       {testKubeconfig(t, name, now.Add(-time.Minute)), "expired"},
		"garbage":       {"{{", "not a kubeconfig"},
		"no server":     {strings.Replace(fresh, "server: https://api."+name, "server: \"\"", 1), "no server"},
	} {
		cluster := name
		if what == "other cluster" {
			cluster = "other.example.com"
		}
		if r := KubeconfigFreshness([]byte(c.content), cluster, now, 2*time.Hour); !strings.Contains(r, c.want) {
			t.Errorf("%s: %q, want it to say %q", what, r, c.want)
		}
	}
	token := "apiVersion: v1\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\nclusters:\n- name: c\n  cluster: {server: https://x}\nusers:\n- name: u\n  user: {token: abc}\n"
	if r := KubeconfigFreshness([]byte(token), "c", now, time.Hour); r != "" {
		t.Errorf("token kubeconfig: %q", r)
	}
}
