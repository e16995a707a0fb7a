package policies

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/testing/testfs"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestLoadGood(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "good")
	set, err := Load(dir)
	if err != nil {
		t.Fatalf("Load(%s): %v", dir, err)
	}
	if got, want := set.Folders, []string{"empty", "kube-system", "ns-a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Folders = %v, want %v", got, want)
	}
	if len(set.Namespaces) != 1 {
		t.Fatalf("Namespaces = %d, want 1 (kube-system has no Namespace object, so it is not owned)", len(set.Namespaces))
	}
	ns := set.Namespaces[0]
	if ns.Object.Name != "ns-a" || ns.Object.Labels["team"] != "blue" || ns.File != filepath.Join(dir, "ns-a", "namespace.yaml") {
		t.Errorf("namespace = %+v from %s", ns.Object.ObjectMeta, ns.File)
	}
	if !set.Owns("ns-a") || set.Owns("kube-system") || set.Owns("empty") {
		t.Errorf("Owns: ns-a=%v kube-system=%v empty=%v, want true false false", set.Owns("ns-a"), set.Owns("kube-system"), set.Owns("empty"))
	}
	if got := set.OwnedNames(); !reflect.DeepEqual(got, []string{"ns-a"}) {
		t.Errorf("OwnedNames = %v, want [ns-a]", got)
	}

	var names, files []string
	for _, p := range set.Policies {
		names = append(names, p.Object.Namespace+"/"+p.Object.Name)
		files = append(files, filepath.Base(p.File))
	}
	if want := []string{"kube-system/allow-dns", "ns-a/web-egress", "ns-a/web-ingress"}; !reflect.DeepEqual(names, want) {
		t.Errorf("policies = %v, want %v (sorted by namespace, name)", names, want)
	}
	if want := []string{"allow-dns.yml", "web.yaml", "web.yaml"}; !reflect.DeepEqual(files, want) {
		t.Errorf("policy files = %v, want %v", files, want)
	}

	tcp := corev1.ProtocolTCP
	end := int32(8080)
	port := intstr.FromInt32(8000)
	named := intstr.FromString("http")
	want := networkingv1.NetworkPolicySpec{
		PodSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "api"}},
		}},
		PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		Ingress: []networkingv1.NetworkPolicyIngressRule{{
			From: []networkingv1.NetworkPolicyPeer{
				{IPBlock: &networkingv1.IPBlock{CIDR: "10.0.0.0/8", Except: []string{"10.1.0.0/16"}}},
				{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "blue"}}},
			},
			Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port, EndPort: &end}, {Port: &named}},
		}},
	}
	if got := set.Policies[2].Object.Spec; !reflect.DeepEqual(got, want) {
		t.Errorf("web-ingress spec =\n%+v\nwant\n%+v", got, want)
	}
	if got := set.PoliciesIn("ns-a"); len(got) != 2 {
		t.Errorf("PoliciesIn(ns-a) = %d policies, want 2", len(got))
	}
	if got := set.AllPolicies(); len(got) != 3 {
		t.Errorf("AllPolicies = %d policies, want 3", len(got))
	}

	var admin []string
	for _, a := range set.AdminPolicies {
		admin = append(admin, fmt.Sprintf("%s@%d", a.Object.Name, a.Object.Spec.Priority))
	}
	if want := []string{"allow-monitoring@0", "deny-metadata-service@10"}; !reflect.DeepEqual(admin, want) {
		t.Errorf("AdminPolicies = %v, want %v (sorted by name)", admin, want)
	}
	monitoring := set.AdminPolicies[0].Object.Spec
	if ports := *monitoring.Ingress[0].Ports; set.AdminPolicies[0].File != filepath.Join(dir, "_cluster", "admin.yaml") ||
		*ports[0].NamedPort != "metrics" || ports[1].PortRange.End != 9199 || monitoring.Ingress[1].Action != "Pass" ||
		monitoring.Subject.Pods.NamespaceSelector.MatchExpressions[0].Values[0] != "kube-system" {
		t.Errorf("allow-monitoring from %s = %+v", set.AdminPolicies[0].File, monitoring)
	}
	if b := set.Baseline; b == nil || b.Object.Name != "default" || b.Object.Spec.Egress[0].To[0].Networks[0] != "10.0.0.0/8" ||
		b.File != filepath.Join(dir, "_cluster", "baseline.yaml") {
		t.Errorf("Baseline = %+v", b)
	}
}

// TestLoadShipped loads the repository's own policies: the tutorial's.
func TestLoadShipped(t *testing.T) {
	t.Parallel()
	set, err := Load(filepath.Join("..", "..", "policies"))
	if err != nil {
		t.Fatalf("Load(policies): %v", err)
	}
	if len(set.AdminPolicies) != 0 || set.Baseline != nil {
		t.Errorf("the tutorial declares no cluster-scoped policy, got %+v and %+v", set.AdminPolicies, set.Baseline)
	}
	if !set.Owns("ns-1") || len(set.Namespaces) != 1 {
		t.Errorf("namespaces = %+v, want only ns-1, owned", set.Namespaces)
	}
	byName := map[string]networkingv1.NetworkPolicy{}
	for _, p := range set.Policies {
		byName[p.Object.Name] = p.Object
	}
	for _, name := range []string{"deny-all-by-default", "allow", "deny-egress-except-dns-and-namespace"} {
		if _, ok := byName[name]; !ok {
			t.Errorf("shipped policy %q is missing; have %v", name, byName)
		}
	}
	deny := byName["deny-all-by-default"]
	if len(deny.Spec.PodSelector.MatchLabels)+len(deny.Spec.PodSelector.MatchExpressions) != 0 || len(deny.Spec.Ingress) != 0 {
		t.Errorf("deny-all-by-default must select every pod and allow nothing: %+v", deny.Spec)
	}
	allow := byName["allow"]
	if allow.Spec.PodSelector.MatchLabels["app"] != "http-echo" || len(allow.Spec.Ingress) != 1 ||
		allow.Spec.Ingress[0].From[0].PodSelector.MatchLabels["app"] != "busybox" {
		t.Errorf("allow must let app=busybox reach app=http-echo: %+v", allow.Spec)
	}
	egress := byName["deny-egress-except-dns-and-namespace"]
	if len(egress.Spec.Egress) != 2 {
		t.Fatalf("egress lock-down: want a DNS rule and a same-namespace rule, got %+v", egress.Spec.Egress)
	}
	dns := egress.Spec.Egress[0]
	if dns.To[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "kube-system" ||
		dns.To[0].PodSelector.MatchLabels["k8s-app"] != "kube-dns" || len(dns.Ports) != 2 {
		t.Errorf("DNS rule = %+v", dns)
	}
}

// bad is the quoted path of a file of testdata/bad/<dir>, as messages show it.
func bad(dir, rel string) string {
	return strconv.Quote(filepath.Join("testdata", "bad", dir, rel))
}

func TestLoadBad(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dir  string
		want []string // every substring must appear in the error
	}{
		{"namespace-mismatch", []string{bad("namespace-mismatch", "ns-1/allow.yaml") + ": metadata.namespace \"ns-2\" does not match its folder \"ns-1\""}},
		{"namespace-missing", []string{bad("namespace-missing", "ns-1/allow.yaml") + ": metadata.namespace is missing; set it to \"ns-1\""}},
		{"kind-not-allowed", []string{bad("kind-not-allowed", "ns-1/deploy.yaml") + ": kind \"Deployment\" is not allowed here"}},
		{"kind-missing", []string{bad("kind-missing", "ns-1/x.yaml") + ": kind is missing"}},
		{"api-version", []string{bad("api-version", "ns-1/allow.yaml") + ": apiVersion \"extensions/v1beta1\" is wrong for kind NetworkPolicy; use \"networking.k8s.io/v1\""}},
		{"namespace-api-version", []string{bad("namespace-api-version", "ns-1/namespace.yaml") + ": apiVersion \"core/v1\" is wrong for kind Namespace"}},
		{"namespace-name", []string{bad("namespace-name", "ns-1/namespace.yaml") + ": metadata.name \"ns-2\" does not match its folder \"ns-1\""}},
		{"system-namespace", []string{bad("system-namespace", "kube-system/namespace.yaml") + ": metadata.name \"kube-system\" is a system namespace"}},
		{"selector", []string{bad("selector", "ns-1/allow.yaml") + ": spec.podSelector does not parse", "Like"}},
		{"selector-label", []string{bad("selector-label", "ns-1/allow.yaml") + ": spec.podSelector does not parse", "bad key!"}},
		{"namespace-selector", []string{bad("namespace-selector", "ns-1/allow.yaml") + ": spec.ingress[0].from[0].namespaceSelector does not parse"}},
		{"cidr", []string{bad("cidr", "ns-1/allow.yaml") + ": spec.egress[0].to[0].ipBlock.cidr \"10.0.0.0/33\" is not a CIDR"}},
		{"cidr-host-bits", []string{
			`spec.egress[0].to[0].ipBlock.cidr "10.244.1.29/30" must not have bits set beyond the prefix length; use 10.244.1.28/30`,
			`spec.egress[0].to[0].ipBlock.except[0] "10.244.1.29/31" must not have bits set beyond the prefix length; use 10.244.1.28/31`,
		}},
		{"cidr-except", []string{"spec.egress[0].to[0].ipBlock.except[0] \"10.1.0.0/24\" must be a strict subset of cidr \"10.0.0.0/16\""}},
		{"ipblock-with-selector", []string{"spec.egress[0].to[0] sets ipBlock together with a selector"}},
		{"end-port-below", []string{"spec.ingress[0].ports[0].endPort 8000 is below spec.ingress[0].ports[0].port 8080"}},
		{"end-port-named", []string{"spec.ingress[0].ports[0].endPort needs a numeric spec.ingress[0].ports[0].port"}},
		{"port-range", []string{"spec.ingress[0].ports[0].port 70000 is invalid"}},
		{"protocol", []string{"spec.ingress[0].ports[0].protocol \"ICMP\" is not a protocol"}},
		{"policy-type", []string{"spec.policyTypes[1] \"Outgress\" is not a policy type"}},
		{"ignored-egress", []string{"spec.egress has rules but spec.policyTypes does not list Egress"}},
		{"unknown-field", []string{bad("unknown-field", "ns-1/allow.yaml") + ": ", "unknown field \"spec.podselector\""}},
		{"duplicate", []string{bad("duplicate", "ns-1/b.yaml") + ": metadata.name: NetworkPolicy \"ns-1/allow\" is already defined in " + bad("duplicate", "ns-1/a.yaml")}},
		{"not-yaml", []string{bad("not-yaml", "ns-1/allow.yaml") + ": not YAML: "}},
		{"folder-name", []string{bad("folder-name", "Ns_1") + ": folder name \"Ns_1\" is not a namespace name"}},
		{"nested-folder", []string{bad("nested-folder", "ns-1/more") + ": nested folders are not read"}},
		{"renamed-underscore", []string{bad("renamed-underscore", "_ns-1") + ": folder name \"_ns-1\" is not a namespace name", "rename it to the name of its namespace (or _cluster for the cluster-scoped policies), or delete it"}},
		{"renamed-dot", []string{bad("renamed-dot", ".ns-1") + ": folder name \".ns-1\" is not a namespace name"}},
		{"top-level-yaml", []string{bad("top-level-yaml", "deny.yaml") + ": a policy file belongs in a namespace folder, or in _cluster for cluster-scoped policies; move it to"}},
		{"uppercase-extension", []string{bad("uppercase-extension", "ns-1/deny.YAML") + ": the extension must be .yaml or .yml in lower case; rename it to \"deny.yaml\""}},
		{"hidden-file", []string{bad("hidden-file", "ns-1/.deny.yaml") + ": hidden files are not read", "rename it without the leading dot"}},
		{"other-file", []string{bad("other-file", "ns-1/notes.txt") + ": a namespace folder holds only policy files (.yaml, .yml) and notes (.md)"}},
		{"json-file", []string{bad("json-file", "ns-1/deny.json") + ": a namespace folder holds only policy files", "convert it to YAML"}},
		{"written-by-cluster", []string{
			bad("written-by-cluster", "ns-1/allow.yaml") + ": metadata.ownerReferences is set; remove it",
			"metadata.finalizers is set; remove it",
			"metadata.managedFields is set; remove it",
			"metadata.generateName is not supported; use metadata.name",
		}},
		{"annotation-key", []string{bad("annotation-key", "ns-1/allow.yaml") + `: metadata.annotations key "not a key" is invalid`}},
		{"anchor", []string{bad("anchor", "ns-1/allow.yaml") + ": line 6: YAML anchor &labels: anchors and aliases are not accepted"}},
		{"anp-priority", []string{bad("anp-priority", "_cluster/anp.yaml") + ": spec.priority: 1001 is over 1000; use a priority from 0 to 1000"}},
		{"anp-priority-missing", []string{bad("anp-priority-missing", "_cluster/anp.yaml") + ": spec.priority is missing; set a priority from 0 to 1000"}},
		{"anp-subject-both", []string{"spec.subject: sets namespaces and pods; set exactly one"}},
		{"anp-subject-empty", []string{"spec.subject: is empty; set one of namespaces, pods"}},
		{"anp-pods-selector-missing", []string{"spec.ingress[0].from[0].pods.podSelector is missing; set it ({} selects every pod)"}},
		{"anp-action", []string{`spec.egress[0].action: "Drop" is not an action here; use Allow, Deny, Pass`}},
		{"anp-no-peer", []string{"spec.ingress[0].from: no peer; list 1 to 100 peers"}},
		{"anp-peer-two-fields", []string{"spec.ingress[0].from[0]: sets namespaces and pods; set exactly one"}},
		{"anp-nodes", []string{"spec.egress[0].to[0].nodes: the reachability model has no nodes; use networks with the nodes' CIDR instead"}},
		{"anp-domain-names", []string{"spec.egress[0].to[0].domainNames: not in the CRD kops installs"}},
		{"anp-networks-host-bits", []string{`spec.egress[0].to[0].networks[0] "10.244.1.29/30" must not have bits set beyond the prefix length; use 10.244.1.28/30`}},
		{"anp-networks-not-cidr", []string{`spec.egress[0].to[0].networks[0] "10.0.0.0/33" is not a CIDR`}},
		{"anp-networks-v4-in-v6", []string{`spec.egress[0].to[0].networks[0]: "::ffff:10.0.0.0/104" is neither IPv4 nor IPv6`}},
		{"anp-networks-twice", []string{`spec.egress[0].to[0].networks[1]: "10.0.0.0/8" is listed twice`}},
		{"anp-networks-26", []string{"spec.egress[0].to[0].networks: 26 CIDRs; list 1 to 25"}},
		{"anp-port-two-fields", []string{"spec.ingress[0].ports[0]: sets portNumber and namedPort; set exactly one"}},
		{"anp-port-range-backwards", []string{"spec.ingress[0].ports[0].portRange: start 90 is not below end 80"}},
		{"anp-port-range-bound", []string{"spec.ingress[0].ports[0].portRange.start: 0 is not a port; use 1 to 65535"}},
		{"anp-port-number", []string{"spec.ingress[0].ports[0].portNumber.port: 70000 is not a port"}},
		{"anp-protocol", []string{`spec.ingress[0].ports[0].portNumber.protocol: "ICMP" is not a protocol`}},
		{"anp-named-port-name", []string{`spec.ingress[0].ports[0].namedPort: "Metrics_Port" is not a port name`}},
		{"anp-named-port-networks", []string{"spec.egress[0].ports[0].namedPort: networks and nodes peers have no named ports"}},
		{"anp-selector-operator", []string{`spec.ingress[0].from[0].namespaces does not parse: "Like" is not a valid label selector operator`}},
		{"anp-rule-name", []string{"spec.egress[0].name: 101 characters, over 100"}},
		{"anp-too-many-rules", []string{"spec.egress: 101 rules, over 100; split the policy"}},
		{"anp-unknown-field", []string{`unknown field "spec.subjects"`}},
		{"anp-duplicate-field", []string{bad("anp-duplicate-field", "_cluster/anp.yaml") + `: line 7: key "priority" is repeated; keep one`}},
		{"anp-namespace", []string{`metadata.namespace: "ns-1" is set, but an AdminNetworkPolicy is cluster-scoped; remove it`}},
		{"anp-status", []string{"status is written by the cluster; remove it"}},
		{"anp-written-by-cluster", []string{"metadata.finalizers is set; remove it"}},
		{"anp-same-priority", []string{bad("anp-same-priority", "_cluster/b.yaml") + `: spec.priority: AdminNetworkPolicy "b" has priority 10, as has "a" in ` + bad("anp-same-priority", "_cluster/a.yaml") +
			", and the order of two policies of one priority is undefined; pick distinct priorities"}},
		{"anp-duplicate-name", []string{bad("anp-duplicate-name", "_cluster/b.yaml") + `: metadata.name: AdminNetworkPolicy "a" is already defined in ` + bad("anp-duplicate-name", "_cluster/a.yaml")}},
		{"anp-outside-cluster", []string{bad("anp-outside-cluster", "ns-1/anp.yaml") + ": kind AdminNetworkPolicy is cluster-scoped; move it to " + bad("anp-outside-cluster", "_cluster/anp.yaml")}},
		{"anp-api-version", []string{`apiVersion "policy.networking.k8s.io/v1beta1" is wrong for kind AdminNetworkPolicy; use "policy.networking.k8s.io/v1alpha1"`}},
		{"networkpolicy-in-cluster", []string{bad("networkpolicy-in-cluster", "_cluster/deny.yaml") + ": kind NetworkPolicy belongs in a namespace folder, not in _cluster; move it to " + bad("networkpolicy-in-cluster", "<namespace>/deny.yaml")}},
		{"namespace-in-cluster", []string{bad("namespace-in-cluster", "_cluster/namespace.yaml") + ": kind Namespace belongs in a namespace folder, not in _cluster"}},
		{"banp-name", []string{bad("banp-name", "_cluster/baseline.yaml") + `: metadata.name: "baseline" is not default; name it default`}},
		{"banp-pass", []string{`spec.ingress[0].action: "Pass" is not an action here; use Allow, Deny`}},
		{"banp-priority", []string{`unknown field "spec.priority"`}},
		{"banp-two", []string{bad("banp-two", "_cluster/b.yaml") + ": metadata.name: a cluster has one BaselineAdminNetworkPolicy, already defined in " + bad("banp-two", "_cluster/a.yaml")}},
		{"cluster-folder-name", []string{bad("cluster-folder-name", "_Cluster") + `: folder name "_Cluster" is not a namespace name`}},
		{"multi-document", []string{bad("multi-document", "ns-1/two.yaml") + " (document 2): spec.policyTypes[0] \"Sideways\""}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			set, err := Load(filepath.Join("testdata", "bad", tt.dir))
			if err == nil {
				t.Fatalf("Load accepted a bad folder: %+v", set)
			}
			if set != nil {
				t.Errorf("Load returned a set along with its error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestLoadReportsEveryProblem: one run lists all bad files, not just the first.
func TestLoadReportsEveryProblem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	testfs.Write(t, filepath.Join(dir, "ns-1", "a.yaml"), "apiVersion: v1\nkind: Secret\n")
	testfs.Write(t, filepath.Join(dir, "ns-2", "b.yaml"), "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: b, namespace: ns-1}\nspec: {podSelector: {}}\n")
	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load accepted two bad files")
	}
	for _, w := range []string{"a.yaml\": kind \"Secret\"", "b.yaml\": metadata.namespace \"ns-1\" does not match its folder \"ns-2\""} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
}

func TestLoadMissingFolder(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nope")
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("read policies folder %q: ", dir)) {
		t.Errorf("Load(missing) error = %v, want a read policies folder error naming %s", err, dir)
	}
}

// A symbolic link, to a folder or to a file, is refused: its target may move
// and take a namespace's policies with it.
func TestLoadRefusesSymlinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := t.TempDir()
	testfs.Write(t, filepath.Join(target, "ns-2", "deny.yaml"), "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: ns-2}\nspec: {podSelector: {}}\n")
	if err := os.Symlink(filepath.Join(target, "ns-2"), filepath.Join(dir, "ns-2")); err != nil {
		t.Fatal(err)
	}
	testfs.Write(t, filepath.Join(dir, "ns-1", "namespace.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns-1}\n")
	if err := os.Symlink(filepath.Join(target, "ns-2", "deny.yaml"), filepath.Join(dir, "ns-1", "deny.yaml")); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load followed symbolic links")
	}
	for _, w := range []string{
		strconv.Quote(filepath.Join(dir, "ns-2")) + ": a symbolic link, which is not followed",
		strconv.Quote(filepath.Join(dir, "ns-1", "deny.yaml")) + ": a symbolic link, which is not followed",
		"replace it with the",
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
}

// deniedFS fails to open one path with a permission error, as os does for a
// file or folder its user cannot read (TestLoadUnreadableOnDisk holds it to
// that where the tests do not run as root).
type deniedFS struct {
	fs.FS
	denied string
}

func (d deniedFS) Open(name string) (fs.File, error) {
	if name == d.denied {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return d.FS.Open(name)
}

func TestLoadUnreadable(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("testdata", "good")
	for _, tc := range []struct{ denied, want string }{
		{"ns-a/web.yaml", "read " + strconv.Quote(filepath.Join(dir, "ns-a", "web.yaml")) + ": permission denied; make the file readable"},
		{"ns-a", "read " + strconv.Quote(filepath.Join(dir, "ns-a")) + ": permission denied; make the folder readable"},
		{".", "read policies folder " + strconv.Quote(dir) + ": permission denied"},
	} {
		_, err := load(deniedFS{os.DirFS(dir), tc.denied}, dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s unreadable: error %v, want %q", tc.denied, err, tc.want)
		}
	}
}

func TestLoadUnreadableOnDisk(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode; TestLoadUnreadable covers the error path")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "ns-1", "deny.yaml")
	testfs.Write(t, file, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: ns-1}\nspec: {podSelector: {}}\n")
	if err := os.Chmod(file, 0); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if want := "read " + strconv.Quote(file) + ": permission denied; make the file readable"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}
