package netpol

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
)

// goodAdmin is an AdminNetworkPolicy with one rule of each direction.
func goodAdmin() *anpv1alpha1.AdminNetworkPolicy {
	return &anpv1alpha1.AdminNetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-control"},
		Spec: anpv1alpha1.AdminNetworkPolicySpec{
			Priority: 10,
			Subject:  anpv1alpha1.AdminNetworkPolicySubject{Namespaces: &metav1.LabelSelector{}},
			Ingress: []anpv1alpha1.AdminNetworkPolicyIngressRule{{
				Name:   "from-monitoring",
				Action: anpv1alpha1.AdminNetworkPolicyRuleActionAllow,
				From: []anpv1alpha1.AdminNetworkPolicyIngressPeer{{Pods: &anpv1alpha1.NamespacedPod{
					NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}},
				}}},
				Ports: &[]anpv1alpha1.AdminNetworkPolicyPort{{PortNumber: &anpv1alpha1.Port{Protocol: corev1.ProtocolTCP, Port: 9090}}},
			}},
			Egress: []anpv1alpha1.AdminNetworkPolicyEgressRule{{
				Action: anpv1alpha1.AdminNetworkPolicyRuleActionDeny,
				To:     []anpv1alpha1.AdminNetworkPolicyEgressPeer{{Networks: []anpv1alpha1.CIDR{"169.254.169.254/32"}}},
			}},
		},
	}
}

func TestValidateAdminPolicy(t *testing.T) {
	t.Parallel()
	ports := func(ps ...anpv1alpha1.AdminNetworkPolicyPort) *[]anpv1alpha1.AdminNetworkPolicyPort { return &ps }
	named := func(n string) *string { return &n }
	tests := []struct {
		name   string
		change func(*anpv1alpha1.AdminNetworkPolicy)
		want   string // "" when valid
	}{
		{"good", func(*anpv1alpha1.AdminNetworkPolicy) {}, ""},
		{"priority 0 and 1000", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Priority = 1000 }, ""},
		{"priority over", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Priority = 1001 }, "spec.priority: 1001 is over 1000; use a priority from 0 to 1000"},
		{"priority below", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Priority = -1 }, "spec.priority: -1 is below 0"},
		{"name", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Name = "Cluster_Control" }, `metadata.name "Cluster_Control" is invalid`},
		{"namespace", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Namespace = "ns-1" }, `metadata.namespace: "ns-1" is set, but an AdminNetworkPolicy is cluster-scoped; remove it`},
		{"label", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Labels = map[string]string{"a": "b c"} }, `metadata.labels["a"] value "b c" is invalid`},
		{"subject empty", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Subject = anpv1alpha1.AdminNetworkPolicySubject{} }, "spec.subject: is empty; set one of namespaces, pods"},
		{"subject both", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Subject.Pods = &anpv1alpha1.NamespacedPod{} }, "spec.subject: sets namespaces and pods; set exactly one"},
		{"subject selector", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Subject.Namespaces.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "team", Operator: "Like"}}
		}, "spec.subject.namespaces does not parse"},
		{"pods selector", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Ingress[0].From[0].Pods.PodSelector.MatchLabels = map[string]string{"bad key!": "x"}
		}, "spec.ingress[0].from[0].pods.podSelector does not parse"},
		{"rule name", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Ingress[0].Name = strings.Repeat("é", 101) }, "spec.ingress[0].name: 101 characters, over 100; shorten it"},
		{"rule name 100", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Ingress[0].Name = strings.Repeat("é", 100) }, ""},
		{"action", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Egress[0].Action = "Drop" }, `spec.egress[0].action: "Drop" is not an action here; use Allow, Deny, Pass`},
		{"action missing", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Egress[0].Action = "" }, `spec.egress[0].action: "" is not an action here`},
		{"pass", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Egress[0].Action = "Pass" }, ""},
		{"no peer", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Ingress[0].From = nil }, "spec.ingress[0].from: no peer; list 1 to 100 peers"},
		{"too many peers", func(a *anpv1alpha1.AdminNetworkPolicy) {
			for range 100 {
				a.Spec.Egress[0].To = append(a.Spec.Egress[0].To, anpv1alpha1.AdminNetworkPolicyEgressPeer{Namespaces: &metav1.LabelSelector{}})
			}
		}, "spec.egress[0].to: 101 peers, over 100; split the rule"},
		{"too many rules", func(a *anpv1alpha1.AdminNetworkPolicy) {
			for range 100 {
				a.Spec.Egress = append(a.Spec.Egress, a.Spec.Egress[0])
			}
		}, "spec.egress: 101 rules, over 100; split the policy"},
		{"empty peer", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Egress[0].To[0] = anpv1alpha1.AdminNetworkPolicyEgressPeer{}
		}, "spec.egress[0].to[0]: is empty; set one of namespaces, pods, networks"},
		{"two peer fields", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Egress[0].To[0].Namespaces = &metav1.LabelSelector{} }, "spec.egress[0].to[0]: sets namespaces and networks; set exactly one"},
		{"nodes", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Egress[0].To[0] = anpv1alpha1.AdminNetworkPolicyEgressPeer{Nodes: &metav1.LabelSelector{}}
		}, "spec.egress[0].to[0].nodes: the reachability model has no nodes; use networks with the nodes' CIDR instead"},
		{"domain names", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Egress[0].To[0] = anpv1alpha1.AdminNetworkPolicyEgressPeer{DomainNames: []anpv1alpha1.DomainName{"example.com"}}
		}, "spec.egress[0].to[0].domainNames: not in the CRD kops installs"},
		{"networks empty", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Egress[0].To[0].Networks = []anpv1alpha1.CIDR{} }, "spec.egress[0].to[0].networks: 0 CIDRs; list 1 to 25"},
		{"networks 26", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Egress[0].To[0].Networks = nil
			for i := range 26 {
				a.Spec.Egress[0].To[0].Networks = append(a.Spec.Egress[0].To[0].Networks, anpv1alpha1.CIDR(fmt.Sprintf("10.%d.0.0/16", i)))
			}
		}, "spec.egress[0].to[0].networks: 26 CIDRs; list 1 to 25"},
		{"networks twice", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Egress[0].To[0].Networks = []anpv1alpha1.CIDR{"10.0.0.0/8", "10.0.0.0/8"}
		}, `spec.egress[0].to[0].networks[1]: "10.0.0.0/8" is listed twice`},
		{"network host bits", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Egress[0].To[0].Networks[0] = "10.244.1.29/30" },
			`spec.egress[0].to[0].networks[0] "10.244.1.29/30" must not have bits set beyond the prefix length; use 10.244.1.28/30`},
		{"network not a CIDR", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Egress[0].To[0].Networks[0] = "10.0.0.0/33" }, `networks[0] "10.0.0.0/33" is not a CIDR`},
		{"network v4 in v6", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Egress[0].To[0].Networks[0] = "::10.0.0.0/100" },
			`networks[0]: "::10.0.0.0/100" is neither IPv4 nor IPv6`},
		{"network long", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Egress[0].To[0].Networks[0] = "fd00:0000:0000:0000:0000:0000:0000:0000/0128"
		}, `networks[0]: "fd00:0000:0000:0000:0000:0000:0000:0000/0128" is over 43 characters`},
		{"ipv6 network", func(a *anpv1alpha1.AdminNetworkPolicy) { a.Spec.Egress[0].To[0].Networks[0] = "fd00::/8" }, ""},
		{"port empty", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Ingress[0].Ports = ports(anpv1alpha1.AdminNetworkPolicyPort{})
		},
			"spec.ingress[0].ports[0]: is empty; set one of portNumber, namedPort, portRange"},
		{"port two fields", func(a *anpv1alpha1.AdminNetworkPolicy) {
			(*a.Spec.Ingress[0].Ports)[0].NamedPort = named("http")
		}, "spec.ingress[0].ports[0]: sets portNumber and namedPort; set exactly one"},
		{"port number", func(a *anpv1alpha1.AdminNetworkPolicy) { (*a.Spec.Ingress[0].Ports)[0].PortNumber.Port = 0 },
			"spec.ingress[0].ports[0].portNumber.port: 0 is not a port; use 1 to 65535"},
		{"protocol", func(a *anpv1alpha1.AdminNetworkPolicy) { (*a.Spec.Ingress[0].Ports)[0].PortNumber.Protocol = "ICMP" },
			`spec.ingress[0].ports[0].portNumber.protocol: "ICMP" is not a protocol; use TCP, UDP or SCTP`},
		{"protocol default", func(a *anpv1alpha1.AdminNetworkPolicy) { (*a.Spec.Ingress[0].Ports)[0].PortNumber.Protocol = "" }, ""},
		{"named port", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Ingress[0].Ports = ports(anpv1alpha1.AdminNetworkPolicyPort{NamedPort: named("metrics")})
		}, ""},
		{"named port name", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Ingress[0].Ports = ports(anpv1alpha1.AdminNetworkPolicyPort{NamedPort: named("Metrics_Port")})
		}, `spec.ingress[0].ports[0].namedPort: "Metrics_Port" is not a port name`},
		{"named port to networks", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Egress[0].Ports = ports(anpv1alpha1.AdminNetworkPolicyPort{NamedPort: named("http")})
		}, "spec.egress[0].ports[0].namedPort: networks and nodes peers have no named ports"},
		{"port range", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Egress[0].Ports = ports(anpv1alpha1.AdminNetworkPolicyPort{PortRange: &anpv1alpha1.PortRange{Protocol: corev1.ProtocolUDP, Start: 30000, End: 32767}})
		}, ""},
		{"port range backwards", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Egress[0].Ports = ports(anpv1alpha1.AdminNetworkPolicyPort{PortRange: &anpv1alpha1.PortRange{Start: 90, End: 90}})
		}, "spec.egress[0].ports[0].portRange: start 90 is not below end 90; make start < end (portNumber for one port)"},
		{"port range bound", func(a *anpv1alpha1.AdminNetworkPolicy) {
			a.Spec.Egress[0].Ports = ports(anpv1alpha1.AdminNetworkPolicyPort{PortRange: &anpv1alpha1.PortRange{Start: 1, End: 65536}})
		}, "spec.egress[0].ports[0].portRange.end: 65536 is not a port"},
		{"too many ports", func(a *anpv1alpha1.AdminNetworkPolicy) {
			for range 100 {
				*a.Spec.Ingress[0].Ports = append(*a.Spec.Ingress[0].Ports, (*a.Spec.Ingress[0].Ports)[0])
			}
		}, "spec.ingress[0].ports: 101 ports, over 100; split the rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			anp := goodAdmin()
			tt.change(anp)
			got := ValidateAdminPolicy(anp)
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("refused a valid policy: %q", got)
			case tt.want != "" && !strings.Contains(strings.Join(got, "\n"), tt.want):
				t.Errorf("problems %q do not contain %q", got, tt.want)
			}
		})
	}
}

func TestValidateBaselinePolicy(t *testing.T) {
	t.Parallel()
	good := func() *anpv1alpha1.BaselineAdminNetworkPolicy {
		return &anpv1alpha1.BaselineAdminNetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "default"},
			Spec: anpv1alpha1.BaselineAdminNetworkPolicySpec{
				Subject: anpv1alpha1.AdminNetworkPolicySubject{Namespaces: &metav1.LabelSelector{}},
				Ingress: []anpv1alpha1.BaselineAdminNetworkPolicyIngressRule{{
					Action: anpv1alpha1.BaselineAdminNetworkPolicyRuleActionDeny,
					From:   []anpv1alpha1.AdminNetworkPolicyIngressPeer{{Namespaces: &metav1.LabelSelector{}}},
				}},
				Egress: []anpv1alpha1.BaselineAdminNetworkPolicyEgressRule{{
					Action: anpv1alpha1.BaselineAdminNetworkPolicyRuleActionAllow,
					To:     []anpv1alpha1.BaselineAdminNetworkPolicyEgressPeer{{Networks: []anpv1alpha1.CIDR{"10.0.0.0/8"}}},
				}},
			},
		}
	}
	if got := ValidateBaselinePolicy(good()); len(got) > 0 {
		t.Fatalf("refused a valid baseline: %q", got)
	}
	for _, tt := range []struct {
		name   string
		change func(*anpv1alpha1.BaselineAdminNetworkPolicy)
		want   string
	}{
		{"name", func(b *anpv1alpha1.BaselineAdminNetworkPolicy) { b.Name = "baseline" }, `metadata.name: "baseline" is not default; name it default`},
		{"pass", func(b *anpv1alpha1.BaselineAdminNetworkPolicy) { b.Spec.Ingress[0].Action = "Pass" }, `spec.ingress[0].action: "Pass" is not an action here; use Allow, Deny`},
		{"namespace", func(b *anpv1alpha1.BaselineAdminNetworkPolicy) { b.Namespace = "x" }, "a BaselineAdminNetworkPolicy is cluster-scoped"},
		{"nodes", func(b *anpv1alpha1.BaselineAdminNetworkPolicy) {
			b.Spec.Egress[0].To[0] = anpv1alpha1.BaselineAdminNetworkPolicyEgressPeer{Nodes: &metav1.LabelSelector{}}
		}, "spec.egress[0].to[0].nodes: the reachability model has no nodes"},
		{"subject", func(b *anpv1alpha1.BaselineAdminNetworkPolicy) { b.Spec.Subject.Namespaces = nil }, "spec.subject: is empty"},
		{"network", func(b *anpv1alpha1.BaselineAdminNetworkPolicy) { b.Spec.Egress[0].To[0].Networks[0] = "10.0.0.1/8" }, "use 10.0.0.0/8"},
	} {
		b := good()
		tt.change(b)
		if got := ValidateBaselinePolicy(b); !strings.Contains(strings.Join(got, "\n"), tt.want) {
			t.Errorf("%s: problems %q do not contain %q", tt.name, got, tt.want)
		}
	}
}

func TestPriorityClashes(t *testing.T) {
	t.Parallel()
	anps := make([]anpv1alpha1.AdminNetworkPolicy, 4)
	for i, pr := range []int32{5, 7, 5, 5} {
		anps[i].Spec.Priority = pr
	}
	if got, want := PriorityClashes(anps), [][2]int{{0, 2}, {0, 3}}; !reflect.DeepEqual(got, want) {
		t.Errorf("PriorityClashes = %v, want %v", got, want)
	}
}
