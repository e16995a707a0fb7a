package realkops

import (
	"strings"
	"testing"
)

// TestVarsLeaveNothingOfTheCallersEnvironment: what kops, the AWS SDK and
// Go's HTTP client would read from the test's environment is replaced or
// cleared, whatever the machine has set.
func TestVarsLeaveNothingOfTheCallersEnvironment(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_PROFILE": "prod", "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_EC2": "https://ec2.example", "KOPS_CLUSTER_NAME": "other.example.com",
		"KOPS_FEATURE_FLAGS": "Spotinst", "HTTPS_PROXY": "http://proxy.example:3128", "no_proxy": "*", "KUBECONFIG": "/root/.kube/config",
		"SSL_CERT_FILE": "/etc/ssl/cert.pem",
	} {
		t.Setenv(k, v)
	}
	e := NewEnv(t, "double", "kops")
	vars := e.Vars()
	for _, k := range []string{"AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL_EC2", "KOPS_CLUSTER_NAME", "KOPS_FEATURE_FLAGS", "no_proxy"} {
		if v, ok := vars[k]; !ok || v != "" {
			t.Errorf("%s = %q, set: %v; want it cleared", k, v, ok)
		}
	}
	for k, want := range map[string]string{
		"AWS_ENDPOINT_URL": e.AWS.URL(), "KOPS_STATE_STORE": "file://" + e.StoreDir, "HOME": e.Home, "KUBECONFIG": e.Kubeconfig,
	} {
		if vars[k] != want {
			t.Errorf("%s = %q, want %q", k, vars[k], want)
		}
	}
	if !strings.HasPrefix(vars["HTTPS_PROXY"], "http://127.0.0.1:") || vars["SSL_CERT_FILE"] != e.AWS.Env()["SSL_CERT_FILE"] {
		t.Errorf("proxy %q, CA %q: not the fake's", vars["HTTPS_PROXY"], vars["SSL_CERT_FILE"])
	}
}
