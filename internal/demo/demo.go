// Package demo builds the tutorial's demo workloads as typed Kubernetes
// objects: an echo server (Deployment and Service http-echo, label
// app=http-echo) and a client to connect from (Deployment busybox, label
// app=busybox). It is pure: the infra layer deploys what it returns.
package demo

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Images, pinned.
//
// hashicorp/http-echo is the tutorial's echo server. It writes one access-log
// line per request to stdout — time, host, client address, method, path,
// status, user agent — so `kubectl logs deploy/http-echo` shows each POST that
// got through and from which pod, which is all the tutorial reads from it.
// (mendhak/http-https-echo also logs bodies, but is a 150 MB Node.js image for
// no gain here.) Its image runs as uid 1005 and cannot bind port 80, so it
// listens on 5678 and the Service maps port 80 to it.
const (
	EchoImage    = "hashicorp/http-echo:1.0.0"
	BusyboxImage = "busybox:1.37.0"
)

// Names, labels and ports of the workloads. Policies select the labels.
const (
	EchoName      = "http-echo"
	ClientName    = "busybox"
	LabelKey      = "app"
	EchoPort      = 80   // Service port
	EchoContainer = 5678 // container port of http-echo
	echoUID       = 1005 // the image's own user; numeric so runAsNonRoot can be checked
	nobodyUID     = 65534
	echoText      = "hello from http-echo"
	// ClusterDomain is the cluster's DNS domain (kops's default).
	ClusterDomain = "cluster.local"
)

// EchoLabels and ClientLabels are the pod labels of the two workloads.
func EchoLabels() map[string]string   { return map[string]string{LabelKey: EchoName} }
func ClientLabels() map[string]string { return map[string]string{LabelKey: ClientName} }

// EchoHost is the cluster DNS name of the echo Service in namespace.
func EchoHost(namespace string) string {
	return fmt.Sprintf("%s.%s.svc.%s", EchoName, namespace, ClusterDomain)
}

// Workloads are the demo objects of one namespace.
type Workloads struct {
	Echo        appsv1.Deployment
	EchoService corev1.Service
	Client      appsv1.Deployment
}

// New returns the demo workloads in namespace.
func New(namespace string) Workloads {
	return Workloads{
		Echo:        echoDeployment(namespace),
		EchoService: echoService(namespace),
		Client:      clientDeployment(namespace),
	}
}

func echoDeployment(namespace string) appsv1.Deployment {
	return deployment(namespace, EchoName, EchoLabels(), corev1.Container{
		Name:  EchoName,
		Image: EchoImage,
		Args:  []string{fmt.Sprintf("-listen=:%d", EchoContainer), "-text=" + echoText},
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: EchoContainer, Protocol: corev1.ProtocolTCP}},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromString("http")}},
			PeriodSeconds: 5,
		},
		Resources:       smallResources(),
		SecurityContext: restricted(echoUID),
	})
}

func echoService(namespace string) corev1.Service {
	return corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: EchoName, Namespace: namespace, Labels: EchoLabels()},
		Spec: corev1.ServiceSpec{
			Selector: EchoLabels(),
			Ports: []corev1.ServicePort{{
				Name:       "http",
				Port:       EchoPort,
				TargetPort: intstr.FromString("http"),
				Protocol:   corev1.ProtocolTCP,
			}},
		},
	}
}

// clientDeployment sleeps forever, as the tutorial's `kubectl run busybox --
// sleep`; `kubectl exec deploy/busybox -- wget ...` connects from it. The
// shell traps TERM so the pod stops at once instead of after the grace period
// (a shell as PID 1 ignores TERM otherwise).
func clientDeployment(namespace string) appsv1.Deployment {
	return deployment(namespace, ClientName, ClientLabels(), corev1.Container{
		Name:            ClientName,
		Image:           BusyboxImage,
		Command:         []string{"sh", "-c", "trap 'exit 0' TERM INT; while true; do sleep 3600 & wait $!; done"},
		Resources:       smallResources(),
		SecurityContext: restricted(nobodyUID),
	})
}

func deployment(namespace, name string, labels map[string]string, c corev1.Container) appsv1.Deployment {
	return appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers:                   []corev1.Container{c},
					AutomountServiceAccountToken: ptr.To(false),
				},
			},
		},
	}
}

func smallResources() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("10m"),
			corev1.ResourceMemory: resource.MustParse("16Mi"),
		},
		Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")},
	}
}

// restricted is a container security context that passes the Pod Security
// "restricted" profile.
func restricted(uid int64) *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsUser:                ptr.To(uid),
		RunAsNonRoot:             ptr.To(true),
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// Restricted is the security context the probe containers share with the
// busybox client.
func Restricted() *corev1.SecurityContext { return restricted(nobodyUID) }

// SmallResources are the requests and limits of every demo and probe container.
func SmallResources() corev1.ResourceRequirements { return smallResources() }
