package netpol_test

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kopscalico/kopscalico/internal/netpol"
)

func deployment(ns, name string, port int32) appsv1.Deployment {
	return appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port}}}}},
		}},
	}
}

// The matrix of the demo shape: a client and a server in a namespace that
// denies all ingress, the server accepting the client: the concrete
// oracle the class model of internal/reachability is held to.
func ExampleEvaluator_Matrix() {
	e, err := netpol.NewEvaluator(netpol.Cluster{
		Pods: netpol.PodsFromDeployments([]appsv1.Deployment{
			deployment("ns-1", "busybox", 8080),
			deployment("ns-1", "http-echo", 5678),
		}),
		Policies: []networkingv1.NetworkPolicy{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns-1", Name: "deny-all-by-default"},
		}, {
			ObjectMeta: metav1.ObjectMeta{Namespace: "ns-1", Name: "allow"},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "http-echo"}},
				Ingress: []networkingv1.NetworkPolicyIngressRule{{
					From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "busybox"}}}},
				}},
			},
		}},
	})
	if err != nil {
		panic(err)
	}
	m, err := e.Matrix([]netpol.PortProto{{Port: 5678, Protocol: corev1.ProtocolTCP}})
	if err != nil {
		panic(err)
	}
	for _, c := range m.Cases {
		fmt.Printf("%s: %v\n", c.Key(), c.Allowed)
	}
	// Output:
	// ns-1/busybox -> ns-1/busybox 5678/TCP: true
	// ns-1/busybox -> ns-1/http-echo 5678/TCP: true
	// ns-1/http-echo -> ns-1/busybox 5678/TCP: false
	// ns-1/http-echo -> ns-1/http-echo 5678/TCP: true
}

// Decide says which policies decided a connection.
func ExampleEvaluator_Decide() {
	e, _ := netpol.NewEvaluator(netpol.Cluster{
		Pods: netpol.PodsFromDeployments([]appsv1.Deployment{deployment("x", "a", 80), deployment("x", "b", 80)}),
		Policies: []networkingv1.NetworkPolicy{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "default-deny"},
		}},
	})
	v, _ := e.Decide(netpol.PodRef{Namespace: "x", Name: "a"}, netpol.PodRef{Namespace: "x", Name: "b"}, netpol.PortProto{Port: 80, Protocol: corev1.ProtocolTCP})
	fmt.Println(v.Allowed, v.Ingress.IsolatedBy, v.Ingress.AllowedBy)
	// Output: false [x/default-deny] []
}
