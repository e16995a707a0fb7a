package demo

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestNewWiresLabelsPortsAndNamespace(t *testing.T) {
	t.Parallel()
	w := New("team-a")

	for _, d := range []struct {
		name string
		ns   string
	}{{w.Echo.Name, w.Echo.Namespace}, {w.EchoService.Name, w.EchoService.Namespace}, {w.Client.Name, w.Client.Namespace}} {
		if d.ns != "team-a" {
			t.Errorf("%s is in namespace %q, want team-a", d.name, d.ns)
		}
	}

	// Each Deployment's selector selects its own pod template.
	for _, d := range []struct {
		name     string
		selector map[string]string
		pod      map[string]string
		want     map[string]string
	}{
		{"http-echo", w.Echo.Spec.Selector.MatchLabels, w.Echo.Spec.Template.Labels, map[string]string{"app": "http-echo"}},
		{"busybox", w.Client.Spec.Selector.MatchLabels, w.Client.Spec.Template.Labels, map[string]string{"app": "busybox"}},
	} {
		if !reflect.DeepEqual(d.pod, d.want) {
			t.Errorf("%s pod labels = %v, want %v (the policies select them)", d.name, d.pod, d.want)
		}
		if !labels.SelectorFromSet(d.selector).Matches(labels.Set(d.pod)) {
			t.Errorf("%s selector %v does not select its pods %v", d.name, d.selector, d.pod)
		}
	}

	// The Service selects the echo pods and maps port 80 to the port the
	// server listens on.
	svc := w.EchoService.Spec
	if !labels.SelectorFromSet(svc.Selector).Matches(labels.Set(w.Echo.Spec.Template.Labels)) {
		t.Errorf("service selector %v does not select the echo pods", svc.Selector)
	}
	if len(svc.Ports) != 1 || svc.Ports[0].Port != 80 {
		t.Fatalf("service ports = %+v, want one on 80", svc.Ports)
	}
	echo := w.Echo.Spec.Template.Spec.Containers[0]
	var target *corev1.ContainerPort
	for i, p := range echo.Ports {
		if p.Name == svc.Ports[0].TargetPort.StrVal {
			target = &echo.Ports[i]
		}
	}
	if target == nil {
		t.Fatalf("service targetPort %q names no container port of %+v", svc.Ports[0].TargetPort.StrVal, echo.Ports)
	}
	listen := ""
	for _, a := range echo.Args {
		if strings.HasPrefix(a, "-listen=") {
			listen = a
		}
	}
	if want := "-listen=:5678"; listen != want || target.ContainerPort != 5678 {
		t.Errorf("echo listens with %q on container port %d, want %s and 5678", listen, target.ContainerPort, want)
	}
	if got := EchoHost("team-a"); got != "http-echo.team-a.svc.cluster.local" {
		t.Errorf("EchoHost = %q", got)
	}
}

func TestContainersArePinnedSmallAndRestricted(t *testing.T) {
	t.Parallel()
	w := New("ns-1")
	for _, c := range []corev1.Container{w.Echo.Spec.Template.Spec.Containers[0], w.Client.Spec.Template.Spec.Containers[0]} {
		tag := c.Image[strings.LastIndex(c.Image, ":")+1:]
		if !strings.Contains(c.Image, ":") || tag == "latest" || tag == "" {
			t.Errorf("%s image %q is not pinned to a version tag", c.Name, c.Image)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s has no small requests and memory limit: %+v", c.Name, c.Resources)
		}
		sc := c.SecurityContext
		if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser == 0 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s security context is not restricted: %+v", c.Name, sc)
		}
	}
}
