package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// The cluster CA, kept where kops keeps it in a file:// store (a Keyset in
// <cluster>/pki/private/kubernetes-ca/keyset.yaml, pkg/client/simple/
// vfsclientset), made by `update --yes` or `create keypair kubernetes-ca`.
// Commands that hand out credentials need it, as in kops.

const caKeyset = "kubernetes-ca"

type keyset struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       keysetSpec     `json:"spec"`
}

type keysetSpec struct {
	Keys      []keysetKey `json:"keys"`
	PrimaryID string      `json:"primaryId,omitempty"`
	Type      string      `json:"type"`
}

type keysetKey struct {
	ID              string `json:"id"`
	PrivateMaterial string `json:"privateMaterial"`
	PublicMaterial  string `json:"publicMaterial"`
}

type ca struct {
	cert *x509.Certificate
	key  *rsa.PrivateKey
	pem  []byte
}

func (d *double) caPath(name string) string {
	return filepath.Join(d.clusterDir(name), "pki", "private", caKeyset, "keyset.yaml")
}

func (d *double) hasCA(name string) bool {
	_, err := os.Stat(d.caPath(name))
	return err == nil
}

// loadCA is the primary CA keypair; without one it logs what kops logs
// (vfs_keystorereader.go) and fails like kubeconfig.BuildKubecfg.
func (d *double) loadCA(name string) (*ca, error) {
	var ks keyset
	b, err := os.ReadFile(d.caPath(name))
	if err == nil {
		err = yaml.Unmarshal(b, &ks)
	}
	if err == nil {
		for _, k := range ks.Spec.Keys {
			if k.ID == ks.Spec.PrimaryID {
				return parseCA(k)
			}
		}
	}
	d.klogWarnAt("vfs_keystorereader.go:163", "CA private key was not found")
	return nil, errors.New("cannot find CA certificate")
}

func parseCA(k keysetKey) (*ca, error) {
	certPEM, err := base64.StdEncoding.DecodeString(k.PublicMaterial)
	if err != nil {
		return nil, err
	}
	keyPEM, err := base64.StdEncoding.DecodeString(k.PrivateMaterial)
	if err != nil {
		return nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, errors.New("keyset material is not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS1PrivateKey(kb.Bytes)
	if err != nil {
		return nil, err
	}
	return &ca{cert: cert, key: key, pem: certPEM}, nil
}

// addCA generates a CA keypair like `kops create keypair` (cmd/kops/
// create_keypair.go: the first keypair of a keyset must be primary).
func (d *double) addCA(name string, primary bool) (string, error) {
	var ks keyset
	if b, err := os.ReadFile(d.caPath(name)); err == nil {
		if err := yaml.Unmarshal(b, &ks); err != nil {
			return "", err
		}
	} else {
		d.klogWarnAt("vfs_keystorereader.go:163", "CA private key was not found")
		if !primary {
			return "", errors.New("the first keypair added to a keyset must be primary")
		}
		ks = keyset{APIVersion: "kops.k8s.io/v1alpha2", Kind: "Keyset", Metadata: map[string]any{"name": caKeyset}, Spec: keysetSpec{Type: "Keypair"}}
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	serial := new(big.Int).Lsh(big.NewInt(time.Now().UnixNano()), 32)
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: caKeyset, SerialNumber: serial.String()},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	id := serial.String()
	ks.Spec.Keys = append(ks.Spec.Keys, keysetKey{
		ID:              id,
		PrivateMaterial: base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})),
		PublicMaterial:  base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
	})
	if primary {
		ks.Spec.PrimaryID = id
	}
	b, err := yaml.Marshal(ks)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(d.caPath(name)), 0o755); err != nil {
		return "", err
	}
	return id, os.WriteFile(d.caPath(name), b, 0o600)
}

// adminCredential issues a client certificate for the cluster admin, valid
// for ttl, as kubeconfig.BuildKubecfg does for --admin.
func (c *ca) adminCredential(ttl time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "kubecfg", Organization: []string{"system:masters"}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(ttl),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), nil
}

// createKeypairCommand is `kops create keypair KEYSET`; the double keeps
// the kubernetes-ca keyset only.
func (d *double) createKeypairCommand() *cobra.Command {
	var primary bool
	cmd := &cobra.Command{
		Use:  "keypair KEYSET",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name, err := d.prepare("create keypair", nil)
			if err != nil {
				return err
			}
			if args[0] != caKeyset {
				return fmt.Errorf("the kops test double keeps the %s keyset only, not %q", caKeyset, args[0])
			}
			if err := d.mustGetCluster(name); err != nil {
				return fmt.Errorf("error getting cluster: %q: %v", name, err)
			}
			id, err := d.addCA(name, primary)
			if err != nil {
				return err
			}
			fmt.Fprintf(d.stdout, "Created %s %s\n", caKeyset, id)
			return nil
		},
	}
	cmd.Flags().BoolVar(&primary, "primary", false, "Make the keypair the one used to issue certificates")
	cmd.Flags().String("cert", "", "Path to CA certificate")
	cmd.Flags().String("key", "", "Path to CA private key")
	return cmd
}
