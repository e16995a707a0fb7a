package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// helpersCommand is `kops helpers kubectl-auth`, the exec credential plugin
// of a kubeconfig exported with --auth-plugin: a client certificate issued
// from the cluster CA in the state store, as real kops does
// (pkg/commands/helpers/kubectl_auth.go RunKubectlAuthHelper), or, when a
// test handed out a kubeconfig (<store>/.kopsdouble/kubeconfig, a local
// control plane's), that kubeconfig's credential.
func (d *double) helpersCommand() *cobra.Command {
	helpers := &cobra.Command{Use: "helpers", Short: "Commands for use with other tools.", Hidden: true}
	var cluster, apiVersion string
	var lifetime time.Duration
	cmd := &cobra.Command{
		Use: "kubectl-auth",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := d.inject("helpers kubectl-auth", args); err != nil {
				return err
			}
			if cluster == "" {
				return errors.New("ClusterName is required")
			}
			if apiVersion != "v1beta1" && apiVersion != "v1alpha1" {
				return fmt.Errorf("api-version %q is not supported", apiVersion)
			}
			if err := d.needStore(); err != nil {
				return err
			}
			if !d.exists(cluster) {
				return fmt.Errorf("Cluster.kops.k8s.io %q not found", cluster)
			}
			cert, key, err := d.credential(cluster, lifetime)
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(map[string]any{
				"apiVersion": "client.authentication.k8s.io/" + apiVersion,
				"kind":       "ExecCredential",
				"status": map[string]any{
					"clientCertificateData": cert,
					"clientKeyData":         key,
					"expirationTimestamp":   time.Now().Add(lifetime).UTC().Format(time.RFC3339),
				},
			}, "", "  ")
			if err != nil {
				return err
			}
			if _, err := d.stdout.Write(b); err != nil {
				return err
			}
			d.cacheCredential(cluster, b)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&apiVersion, "api-version", "v1beta1", "version of client.authentication.k8s.io schema in use")
	f.StringVar(&cluster, "cluster", "", "cluster to target")
	f.DurationVar(&lifetime, "lifetime", time.Hour, "lifetime of the credential to issue")
	helpers.AddCommand(cmd)
	return helpers
}

// credential is the PEM client certificate and key kubectl-auth hands out.
func (d *double) credential(cluster string, lifetime time.Duration) (cert, key string, err error) {
	b, err := os.ReadFile(filepath.Join(d.control, "kubeconfig"))
	if errors.Is(err, os.ErrNotExist) {
		ca, err := d.loadCA(cluster)
		if err != nil {
			return "", "", fmt.Errorf("unable to issue certificate: %v", err)
		}
		c, k, err := ca.adminCredential(lifetime)
		return string(c), string(k), err
	}
	if err != nil {
		return "", "", err
	}
	var src kubeconfigFile
	if err := yaml.Unmarshal(b, &src); err != nil {
		return "", "", fmt.Errorf("kops test double: handed-out kubeconfig: %v", err)
	}
	for _, c := range src.Contexts {
		if c.Name != src.CurrentContext {
			continue
		}
		for _, u := range src.Users {
			if u.Name != str(c.Context["user"]) {
				continue
			}
			certPEM, err1 := base64.StdEncoding.DecodeString(str(u.User["client-certificate-data"]))
			keyPEM, err2 := base64.StdEncoding.DecodeString(str(u.User["client-key-data"]))
			if err1 != nil || err2 != nil || len(certPEM) == 0 || len(keyPEM) == 0 {
				return "", "", errors.New("kops test double: the handed-out kubeconfig's user has no client certificate")
			}
			return string(certPEM), string(keyPEM), nil
		}
	}
	return "", "", errors.New("kops test double: the handed-out kubeconfig has no current user")
}

// cacheCredential keeps the credential where kops 1.36 does, under
// $HOME/.kube/cache/kops-authentication/ (kubectl_auth.go cacheFilePath: the
// cluster name cut to 32 safe characters, "_", and the base-62 SHA-224 of
// the store and the name), a failure to write it only a warning.
func (d *double) cacheCredential(cluster string, b []byte) {
	path := credentialCachePath(os.Getenv("HOME"), d.state, cluster)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		fmt.Fprintf(d.stderr, "W failed to make cache directory for %q: %v\n", path, err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		fmt.Fprintf(d.stderr, "W failed to write cache file %q: %v\n", path, err)
	}
}

func credentialCachePath(home, store, cluster string) string {
	var b bytes.Buffer
	b.WriteString(store)
	b.WriteByte(0)
	b.WriteString(cluster)
	b.WriteByte(0)
	sum := sha256.Sum224(b.Bytes())
	hash := new(big.Int).SetBytes(sum[:]).Text(62)
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, cluster)
	if len(name) > 32 {
		name = name[:32]
	}
	return filepath.Join(home, ".kube", "cache", "kops-authentication", name+"_"+hash)
}
