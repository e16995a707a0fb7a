package kops

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"sigs.k8s.io/yaml"
)

// KubeconfigFreshness says whether a kubeconfig written by `kops export
// kubecfg --admin` can still be used for the cluster: it must select the
// cluster's context (kops names context, cluster and user after the kops
// cluster) and its client certificate must not expire within renewBefore.
// A credential that is not a client certificate (token, exec plugin) is
// taken as fresh. It returns "" when fresh, else why it is not.
func KubeconfigFreshness(content []byte, clusterName string, now time.Time, renewBefore time.Duration) string {
	var kc struct {
		CurrentContext string `json:"current-context"`
		Contexts       []struct {
			Name    string `json:"name"`
			Context struct {
				Cluster string `json:"cluster"`
				User    string `json:"user"`
			} `json:"context"`
		} `json:"contexts"`
		Clusters []struct {
			Name    string `json:"name"`
			Cluster struct {
				Server string `json:"server"`
			} `json:"cluster"`
		} `json:"clusters"`
		Users []struct {
			Name string `json:"name"`
			User struct {
				ClientCertificateData string `json:"client-certificate-data"`
				ClientCertificate     string `json:"client-certificate"`
			} `json:"user"`
		} `json:"users"`
	}
	if err := yaml.Unmarshal(content, &kc); err != nil {
		return fmt.Sprintf("not a kubeconfig: %v", err)
	}
	if kc.CurrentContext != clusterName {
		return fmt.Sprintf("current context is %q, not cluster %s", kc.CurrentContext, clusterName)
	}
	var clusterRef, userRef string
	found := false
	for _, c := range kc.Contexts {
		if c.Name == kc.CurrentContext {
			clusterRef, userRef, found = c.Context.Cluster, c.Context.User, true
		}
	}
	if !found {
		return fmt.Sprintf("context %q is missing", kc.CurrentContext)
	}
	server := ""
	for _, c := range kc.Clusters {
		if c.Name == clusterRef {
			server = c.Cluster.Server
		}
	}
	if server == "" {
		return fmt.Sprintf("context %q points at cluster entry %q, which has no server", kc.CurrentContext, clusterRef)
	}
	for _, u := range kc.Users {
		if u.Name != userRef {
			continue
		}
		var certPEM []byte
		switch {
		case u.User.ClientCertificateData != "":
			b, err := base64.StdEncoding.DecodeString(u.User.ClientCertificateData)
			if err != nil {
				return "client certificate data is not base64"
			}
			certPEM = b
		case u.User.ClientCertificate != "":
			b, err := os.ReadFile(u.User.ClientCertificate)
			if err != nil {
				return fmt.Sprintf("client certificate file: %v", err)
			}
			certPEM = b
		default:
			return "" // token or exec credential: kops does not set an expiry we can read
		}
		block, _ := pem.Decode(certPEM)
		if block == nil {
			return "client certificate is not PEM"
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return fmt.Sprintf("client certificate: %v", err)
		}
		if left := cert.NotAfter.Sub(now); left < renewBefore {
			if left <= 0 {
				return fmt.Sprintf("client certificate expired at %s", cert.NotAfter.UTC().Format(time.RFC3339))
			}
			return fmt.Sprintf("client certificate expires at %s, within the renewal window of %s", cert.NotAfter.UTC().Format(time.RFC3339), renewBefore)
		}
		return ""
	}
	return fmt.Sprintf("context %q points at user %q, which is missing", kc.CurrentContext, userRef)
}
