package kopsrelease

import (
	"strings"
	"testing"
)

func TestCheckKubernetesUpgrade(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		from, to string
		kubelets []string
		want     string // a part of the error; "" for none
	}{
		{"1.33.4", "1.34.1", []string{"v1.33.4"}, ""},
		{"1.33.4", "1.33.6", nil, ""},
		{"v1.34.0", "1.34.0", []string{"v1.31.9"}, ""},
		{"1.33.4", "1.35.0", nil, "skips 1 minor release(s)"},
		{"1.30.1", "1.34.1", nil, "skips 3 minor release(s)"},
		{"1.33.4", "1.34.1", []string{"v1.34.1", "v1.30.2"}, "nodes still run kubelet v1.30.2, more than 3 minors behind Kubernetes 1.34.1"},
		{"1.33.4", "1.34.1", []string{"v1.31.2"}, ""},
		{"https://example.com/k8s/", "1.34.1", nil, ""},
		{"1.33.4", "2.0.0", nil, "skips"},
		{"1.26.1", "1.27.1", []string{"v1.24.0"}, "more than 2 minors behind"},
		{"1.26.1", "1.27.1", []string{"v1.25.0"}, ""},
	} {
		err := CheckKubernetesUpgrade(c.from, c.to, c.kubelets)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s -> %s with %v: %v", c.from, c.to, c.kubelets, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s -> %s with %v: %v, want %q", c.from, c.to, c.kubelets, err, c.want)
		}
	}
}
