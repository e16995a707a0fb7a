package netpol

import (
	"fmt"
	"maps"
	"testing"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
)

// The benchmark cluster: 1,000 pods in 50 namespaces (20 each) and 200
// policies (4 per namespace), probed on two ports: 2,000,000 cases.
const (
	benchNamespaces  = 50
	benchPodsPerNS   = 20
	benchPoliciesPer = 4
)

var benchPorts = []PortProto{{80, tcp}, {8080, tcp}}

func benchCluster() Cluster {
	var c Cluster
	for n := 0; n < benchNamespaces; n++ {
		ns := fmt.Sprintf("ns-%02d", n)
		c.Namespaces = append(c.Namespaces, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: ns, Labels: map[string]string{"team": fmt.Sprintf("t%d", n%5), "env": []string{"prod", "dev"}[n%2]},
		}})
		for i := 0; i < benchPodsPerNS; i++ {
			c.Pods = append(c.Pods, Pod{
				Namespace: ns,
				Name:      fmt.Sprintf("pod-%02d", i),
				Labels:    map[string]string{"app": fmt.Sprintf("app-%d", i%10), "tier": []string{"web", "api", "db"}[i%3]},
				IP:        fmt.Sprintf("100.96.%d.%d", n, i+1),
				Ports: []corev1.ContainerPort{
					{Name: "http", ContainerPort: 80, Protocol: tcp},
					{Name: "metrics", ContainerPort: 8080, Protocol: tcp},
				},
			})
		}
		http, metrics := intstr.FromString("http"), intstr.FromInt32(8080)
		c.Policies = append(c.Policies,
			// default deny of ingress and egress for the namespace
			networkingv1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default-deny"},
				Spec: networkingv1.NetworkPolicySpec{
					PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
				},
			},
			// web accepts http from the same team's namespaces
			networkingv1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-from-team"},
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}},
					Ingress: []networkingv1.NetworkPolicyIngressRule{{
						From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": fmt.Sprintf("t%d", n%5)}}}},
						Ports: []networkingv1.NetworkPolicyPort{{Port: &http}},
					}},
				},
			},
			// api accepts from web pods of prod namespaces, and metrics from anywhere in the pod range
			networkingv1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "api"},
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"api", "db"}}}},
					Ingress: []networkingv1.NetworkPolicyIngressRule{
						{From: []networkingv1.NetworkPolicyPeer{{
							NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}},
							PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "web"}},
						}}},
						{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "100.96.0.0/11", Except: []string{fmt.Sprintf("100.96.%d.0/24", n)}}}},
							Ports: []networkingv1.NetworkPolicyPort{{Port: &metrics}}},
					},
				},
			},
			// everyone may send http to its own team and metrics anywhere
			networkingv1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "egress"},
				Spec: networkingv1.NetworkPolicySpec{
					Egress: []networkingv1.NetworkPolicyEgressRule{
						{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": fmt.Sprintf("t%d", n%5)}}}},
							Ports: []networkingv1.NetworkPolicyPort{{Port: &http}}},
						{Ports: []networkingv1.NetworkPolicyPort{{Port: &metrics}}},
					},
				},
			},
		)
	}
	return c
}

// BenchmarkMatrix is the whole job: validate and compile the cluster, then
// decide all 2,000,000 cases.
func BenchmarkMatrix(b *testing.B) {
	c := benchCluster()
	b.ReportAllocs()
	allowed := 0
	for b.Loop() {
		e, err := NewEvaluator(c)
		if err != nil {
			b.Fatal(err)
		}
		m, err := e.Matrix(benchPorts)
		if err != nil {
			b.Fatal(err)
		}
		allowed = 0
		for _, cs := range m.Cases {
			if cs.Allowed {
				allowed++
			}
		}
	}
	b.ReportMetric(float64(allowed), "allowed")
}

// BenchmarkNewEvaluator is the compile step alone: parse every selector and
// CIDR, compute the policies' subjects and rules' peers as bitsets.
func BenchmarkNewEvaluator(b *testing.B) {
	c := benchCluster()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewEvaluator(c); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGrid decides the same cases without expanding them into Case
// values: the compact form, comparable with cyclonus's one bool per case.
func BenchmarkGrid(b *testing.B) {
	benchGrid(b, benchCluster())
}

// benchGrid compiles c and decides its grid on benchPorts per iteration.
func benchGrid(b *testing.B, c Cluster) {
	b.ReportAllocs()
	allowed := 0
	for b.Loop() {
		e, err := NewEvaluator(c)
		if err != nil {
			b.Fatal(err)
		}
		t, err := e.Grid(benchPorts)
		if err != nil {
			b.Fatal(err)
		}
		allowed = t.bits.count()
	}
	b.ReportMetric(float64(allowed), "allowed")
}

// BenchmarkGridAdmin is BenchmarkGrid with admin policies on every pod: a
// metrics allow, a pass within the team, a deny of prod from dev, and a
// baseline that denies the pod range.
func BenchmarkGridAdmin(b *testing.B) {
	c := benchCluster()
	every := anpv1alpha1.AdminNetworkPolicySubject{Namespaces: &metav1.LabelSelector{}}
	metrics := []anpv1alpha1.AdminNetworkPolicyPort{{PortNumber: &anpv1alpha1.Port{Protocol: tcp, Port: 8080}}}
	c.AdminPolicies = []anpv1alpha1.AdminNetworkPolicy{
		withEgress(anp("metrics", 5, every), anpv1alpha1.AdminNetworkPolicyEgressRule{Action: allow, To: []anpv1alpha1.AdminNetworkPolicyEgressPeer{{Namespaces: &metav1.LabelSelector{}}}, Ports: &metrics}),
		withIngress(anp("team", 20, inNamespaces("team", "t0")), ingressRule(pass, anpv1alpha1.AdminNetworkPolicyIngressPeer{Namespaces: ml("team", "t0")})),
		withIngress(anp("prod", 30, inNamespaces("env", "prod")), ingressRule(deny, anpv1alpha1.AdminNetworkPolicyIngressPeer{Namespaces: ml("env", "dev")})),
	}
	c.Baseline = &anpv1alpha1.BaselineAdminNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default"}, Spec: anpv1alpha1.BaselineAdminNetworkPolicySpec{
		Subject: every,
		Egress:  []anpv1alpha1.BaselineAdminNetworkPolicyEgressRule{{Action: "Deny", To: []anpv1alpha1.BaselineAdminNetworkPolicyEgressPeer{{Networks: []anpv1alpha1.CIDR{"100.96.0.0/11"}}}}},
	}}
	benchGrid(b, c)
}

// BenchmarkCyclonusMatrix decides the same 2,000,000 cases with cyclonus's
// matcher: build its policy model, then one IsTrafficAllowed per case.
func BenchmarkCyclonusMatrix(b *testing.B) {
	c := benchCluster()
	b.ReportAllocs()
	allowed := 0
	for b.Loop() {
		var ptrs []*networkingv1.NetworkPolicy
		for i := range c.Policies {
			p := c.Policies[i].DeepCopy()
			if len(p.Spec.PolicyTypes) == 0 { // cyclonus needs the API default applied
				p.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
				if len(p.Spec.Egress) > 0 {
					p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
				}
			}
			ptrs = append(ptrs, p)
		}
		policy := matcher.BuildNetworkPolicies(false, ptrs)
		nsLabels := map[string]map[string]string{}
		for _, ns := range c.Namespaces {
			l := maps.Clone(ns.Labels)
			l[corev1.LabelMetadataName] = ns.Name
			nsLabels[ns.Name] = l
		}
		peers := make([]*matcher.TrafficPeer, len(c.Pods))
		for i, p := range c.Pods {
			peers[i] = &matcher.TrafficPeer{IP: p.IP, Internal: &matcher.InternalPeer{PodLabels: p.Labels, NamespaceLabels: nsLabels[p.Namespace], Namespace: p.Namespace}}
		}
		allowed = 0
		for s := range c.Pods {
			for d := range c.Pods {
				for _, pp := range benchPorts {
					tr := &matcher.Traffic{Source: peers[s], Destination: peers[d], ResolvedPort: int(pp.Port), ResolvedPortName: portName(c.Pods[d], pp), Protocol: pp.Protocol}
					if policy.IsTrafficAllowed(tr).IsAllowed() || s == d {
						allowed++
					}
				}
			}
		}
	}
	b.ReportMetric(float64(allowed), "allowed")
}
