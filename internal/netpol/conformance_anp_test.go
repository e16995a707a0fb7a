package netpol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	"sigs.k8s.io/yaml"
)

// This file holds the evaluator to the AdminNetworkPolicy and
// BaselineAdminNetworkPolicy conformance suite of
// sigs.k8s.io/network-policy-api v0.1.7 (conformance/tests/*.go), which runs
// on a live cluster. Everything is read from the module itself, downloaded
// through the Go module proxy: the base objects (conformance/base/
// manifests.yaml), each test's manifests, and each probe (the arguments of
// every kubernetes.PokeServer call, with the server pod its variable was
// last fetched into), read from the Go source with go/ast. Only the patches
// each step makes to the policies are restated here, in conformanceSteps,
// each citing its upstream step; a check holds that table to the steps that
// call Patch or Delete upstream. Upstream's steps run in order on one
// cluster, so a patch stays for the steps after it, as here.

const conformanceModule = "sigs.k8s.io/network-policy-api@v0.1.7"

// conformanceLeftOut are the upstream tests not translated, and why.
var conformanceLeftOut = map[string]string{
	"AdminNetworkPolicyEgressNodePeers":         "nodes peers and host-networked pods: the model has no nodes, and the loader refuses nodes peers",
	"BaselineAdminNetworkPolicyEgressNodePeers": "nodes peers and host-networked pods: the model has no nodes, and the loader refuses nodes peers",
}

// mutation is what one upstream step changes before its probes.
type mutation func(t *testing.T, w *conformanceWorld)

// conformanceSteps restates each upstream step that patches a policy or
// deletes one, by test and step name (the t.Run text).
func conformanceSteps() map[string]map[string]mutation {
	steps := map[string]map[string]mutation{}
	add := func(test, step string, m mutation) {
		if steps[test] == nil {
			steps[test] = map[string]mutation{}
		}
		steps[test][step] = m
	}
	// admin-network-policy-standard-{egress,ingress}-{tcp,udp,sctp}-rules.go:
	// each test swaps rules 0 and 1, then 0 and 2, then 3 and 4 of its one ANP.
	for _, dir := range []string{"egress", "ingress"} {
		for _, proto := range []string{"TCP", "UDP", "SCTP"} {
			test := "AdminNetworkPolicy" + upperFirst(dir) + proto
			add(test, fmt.Sprintf("Should support an 'deny-%s' policy for %s protocol; ensure rule ordering is respected", dir, proto), swap(false, dir, 0, 1))
			add(test, fmt.Sprintf("Should support an 'pass-%s' policy for %s protocol; ensure rule ordering is respected", dir, proto), swap(false, dir, 0, 2))
			add(test, fmt.Sprintf("Should support a 'pass-%s' policy for %s protocol at the specified port", dir, proto), swap(false, dir, 3, 4))
			// baseline-admin-network-policy-standard-*-rules.go: rules 0 and 1 of the BANP.
			add("Baseline"+test, fmt.Sprintf("Should support an 'deny-%s' policy for %s protocol; ensure rule ordering is respected", dir, proto), swap(true, dir, 0, 1))
		}
	}
	// admin-network-policy-standard-gress-rules.go: both directions at once.
	both := func(banp bool, i, j int) mutation {
		return func(t *testing.T, w *conformanceWorld) {
			swap(banp, "egress", i, j)(t, w)
			swap(banp, "ingress", i, j)(t, w)
		}
	}
	add("AdminNetworkPolicyGress", "Should support an 'deny-gress' policy across different protocols", both(false, 0, 1))
	add("AdminNetworkPolicyGress", "Should support an 'pass-gress' policy across different protocols", both(false, 0, 2))
	add("AdminNetworkPolicyGress", "Should support a 'pass-gress' policy across different protocols at the specified ports", both(false, 3, 4))
	// baseline-admin-network-policy-standard-gress-rules.go
	add("BaselineAdminNetworkPolicyGress", "Should support an 'deny-gress' policy across different protocols", both(true, 0, 1))
	// *-experimental-*-rules.go: one rule's ports become a named port.
	add("AdminNetworkPolicyEgressNamedPort", "Should support an 'allow-egress' policy for named port", setNamedPort(false, "egress", 5, "web"))
	add("AdminNetworkPolicyIngressNamedPort", "Should support an 'allow-ingress' policy for named port", setNamedPort(false, "ingress", 5, "dns"))
	add("BaselineAdminNetworkPolicyEgressNamedPort", "Should support an 'allow-egress' policy for named port", setNamedPort(true, "egress", 3, "dns"))
	add("BaselineAdminNetworkPolicyIngressNamedPort", "Should support an 'allow-ingress' policy for named port", setNamedPort(true, "ingress", 3, "web"))
	// *-standard-egress-inline-cidr-rules.go: a first rule allowing two pod IPs.
	allowIPs := "Should support an 'allow-egress' rule policy for egress-cidr-peer"
	add("AdminNetworkPolicyEgressInlineCIDRPeers", allowIPs, prependAllowIPs(false))
	add("BaselineAdminNetworkPolicyEgressInlineCIDRPeers", allowIPs, prependAllowIPs(true))
	// admin-network-policy-standard-integration.go
	add("AdminNetworkPolicyIntegration", "Should support a 'pass-ingress' policy for ANP and respect the match for network policy",
		func(t *testing.T, w *conformanceWorld) {
			w.anp(t, "pass-example").Spec.Ingress[0].Action = anpv1alpha1.AdminNetworkPolicyRuleActionPass
		})
	add("AdminNetworkPolicyIntegration", "Should support a 'pass-egress' policy for ANP and respect the match for network policy",
		func(t *testing.T, w *conformanceWorld) {
			w.anp(t, "pass-example").Spec.Egress[0].Action = anpv1alpha1.AdminNetworkPolicyRuleActionPass
		})
	add("AdminNetworkPolicyIntegration", "Should support a 'pass-ingress' policy for ANP and respect the match for baseline admin network policy",
		func(t *testing.T, w *conformanceWorld) {
			n := len(w.policies)
			w.policies = slices.DeleteFunc(w.policies, func(p networkingv1.NetworkPolicy) bool {
				return p.Namespace == "network-policy-conformance-gryffindor" && p.Name == "allow-gress-from-to-slytherin-to-gryffindor"
			})
			if len(w.policies) != n-1 {
				t.Fatal("no NetworkPolicy allow-gress-from-to-slytherin-to-gryffindor to delete")
			}
		})
	// admin-network-policy-standard-priority.go
	add("AdminNetworkPolicyPriorityField", "Should respect ANP priority field; thus passing both ingress and egress traffic over to BANP",
		func(t *testing.T, w *conformanceWorld) {
			w.anp(t, "old-priority-60-new-priority-40-example").Spec.Priority = 40
		})
	return steps
}

func upperFirst(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// conformanceWorld is the cluster of one upstream test as its steps change it.
type conformanceWorld struct {
	base     Cluster
	admin    []anpv1alpha1.AdminNetworkPolicy
	baseline *anpv1alpha1.BaselineAdminNetworkPolicy
	policies []networkingv1.NetworkPolicy
}

func (w *conformanceWorld) cluster() Cluster {
	c := w.base
	c.AdminPolicies, c.Baseline, c.Policies = w.admin, w.baseline, w.policies
	return c
}

func (w *conformanceWorld) anp(t *testing.T, name string) *anpv1alpha1.AdminNetworkPolicy {
	t.Helper()
	for i := range w.admin {
		if w.admin[i].Name == name || name == "" && len(w.admin) == 1 {
			return &w.admin[i]
		}
	}
	t.Fatalf("no AdminNetworkPolicy %q among %d", name, len(w.admin))
	return nil
}

// rules returns the rule slice of the test's one ANP, or of the BANP, in
// direction dir.
func (w *conformanceWorld) rules(t *testing.T, banp bool, dir string) any {
	t.Helper()
	switch {
	case banp && w.baseline == nil:
		t.Fatal("no BaselineAdminNetworkPolicy")
	case banp && dir == "egress":
		return w.baseline.Spec.Egress
	case banp:
		return w.baseline.Spec.Ingress
	case dir == "egress":
		return w.anp(t, "").Spec.Egress
	}
	return w.anp(t, "").Spec.Ingress
}

func swap(banp bool, dir string, i, j int) mutation {
	return func(t *testing.T, w *conformanceWorld) { reflect.Swapper(w.rules(t, banp, dir))(i, j) }
}

func setNamedPort(banp bool, dir string, rule int, name string) mutation {
	return func(t *testing.T, w *conformanceWorld) {
		ports := &[]anpv1alpha1.AdminNetworkPolicyPort{{NamedPort: &name}}
		switch r := w.rules(t, banp, dir).(type) {
		case []anpv1alpha1.AdminNetworkPolicyEgressRule:
			r[rule].Ports = ports
		case []anpv1alpha1.AdminNetworkPolicyIngressRule:
			r[rule].Ports = ports
		case []anpv1alpha1.BaselineAdminNetworkPolicyEgressRule:
			r[rule].Ports = ports
		case []anpv1alpha1.BaselineAdminNetworkPolicyIngressRule:
			r[rule].Ports = ports
		}
	}
}

// prependAllowIPs inserts upstream's allow-egress-to-specific-podIPs rule:
// the /32s of luna-lovegood-0 and cedric-diggory-0.
func prependAllowIPs(banp bool) mutation {
	return func(t *testing.T, w *conformanceWorld) {
		var networks []anpv1alpha1.CIDR
		for _, ref := range []string{"network-policy-conformance-ravenclaw/luna-lovegood-0", "network-policy-conformance-hufflepuff/cedric-diggory-0"} {
			i := slices.IndexFunc(w.base.Pods, func(p Pod) bool { return p.Ref().String() == ref })
			if i < 0 {
				t.Fatalf("no pod %s", ref)
			}
			networks = append(networks, anpv1alpha1.CIDR(w.base.Pods[i].IP+"/32"))
		}
		const name = "allow-egress-to-specific-podIPs"
		if banp {
			r := anpv1alpha1.BaselineAdminNetworkPolicyEgressRule{Name: name, Action: "Allow", To: []anpv1alpha1.BaselineAdminNetworkPolicyEgressPeer{{Networks: networks}}}
			w.baseline.Spec.Egress = append([]anpv1alpha1.BaselineAdminNetworkPolicyEgressRule{r}, w.baseline.Spec.Egress...)
			return
		}
		p := w.anp(t, "")
		r := anpv1alpha1.AdminNetworkPolicyEgressRule{Name: name, Action: "Allow", To: []anpv1alpha1.AdminNetworkPolicyEgressPeer{{Networks: networks}}}
		p.Spec.Egress = append([]anpv1alpha1.AdminNetworkPolicyEgressRule{r}, p.Spec.Egress...)
	}
}

func TestConformanceAdminNetworkPolicy(t *testing.T) {
	t.Parallel()
	dir := conformanceDir(t)
	base := conformanceBase(t, filepath.Join(dir, "base", "manifests.yaml"))
	tests := parseConformanceTests(t, filepath.Join(dir, "tests"))
	steps := conformanceSteps()

	translated, probes := 0, 0
	for _, ut := range tests {
		if reason, ok := conformanceLeftOut[ut.name]; ok {
			t.Logf("%s: left out: %s", ut.name, reason)
			continue
		}
		translated++
		t.Run(ut.name, func(t *testing.T) {
			w := &conformanceWorld{base: base}
			for _, m := range ut.manifests {
				w.load(t, filepath.Join(dir, m))
			}
			for _, st := range ut.steps {
				if mutate, ok := steps[ut.name][st.name]; ok != st.mutates {
					t.Fatalf("step %q: upstream patches or deletes=%v, conformanceSteps restates it=%v", st.name, st.mutates, ok)
				} else if ok {
					mutate(t, w)
				}
				probes += checkConformanceStep(t, w.cluster(), st)
			}
		})
		for step := range steps[ut.name] {
			if !slices.ContainsFunc(ut.steps, func(s conformanceStep) bool { return s.name == step }) {
				t.Errorf("%s: conformanceSteps restates step %q, which upstream does not have", ut.name, step)
			}
		}
	}
	for name := range steps {
		if !slices.ContainsFunc(tests, func(ut conformanceTest) bool { return ut.name == name }) {
			t.Errorf("conformanceSteps restates test %s, which upstream does not have", name)
		}
	}
	if translated < 22 || probes < 250 {
		t.Fatalf("%d upstream tests translated, %d probes: want at least 22 and 250", translated, probes)
	}
	t.Logf("%d upstream tests translated (%d left out), %d probes checked", translated, len(tests)-translated, probes)
}

// checkConformanceStep checks every probe of one step through Decide and
// through Grid.
func checkConformanceStep(t *testing.T, c Cluster, st conformanceStep) int {
	t.Helper()
	e, err := NewEvaluator(c)
	if err != nil {
		t.Fatalf("step %q: %v", st.name, err)
	}
	for _, p := range st.probes {
		from, _ := ParsePodRef(p.from)
		to, _ := ParsePodRef(p.to)
		d, err := e.Decide(from, to, p.port)
		if err != nil {
			t.Fatalf("%s: %v", p.at, err)
		}
		g, err := e.Grid([]PortProto{p.port})
		if err != nil {
			t.Fatal(err)
		}
		fromGrid := g.Allowed(slices.Index(g.Pods(), p.from), slices.Index(g.Pods(), p.to), 0)
		if d.Allowed != p.want || fromGrid != p.want {
			t.Errorf("%s: step %q: %s -> %s %s: Decide=%v Grid=%v, upstream expects %v (%s)",
				p.at, st.name, p.from, p.to, p.port, d.Allowed, fromGrid, p.want, d.Reason())
		}
	}
	return len(st.probes)
}

var conformanceDirOnce = sync.OnceValues(func() (string, error) {
	out, err := exec.Command("go", "mod", "download", "-json", conformanceModule).Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", conformanceModule, err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s %v", conformanceModule, mod.Error, err)
	}
	return filepath.Join(mod.Dir, "conformance"), nil
})

// conformanceDir returns the upstream conformance folder, downloading the
// module through the Go module proxy (or finding it in the module cache).
func conformanceDir(t *testing.T) string {
	t.Helper()
	dir, err := conformanceDirOnce()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// conformanceBase reads upstream's namespaces and StatefulSets: each
// StatefulSet stands for its pods <name>-0, <name>-1, ..., with fixed IPs.
// Host-networked pods are left out: AdminNetworkPolicy subjects and pod
// peers never select them, and only the left-out nodes tests probe them.
func conformanceBase(t *testing.T, path string) Cluster {
	t.Helper()
	var c Cluster
	for i, doc := range yamlDocs(t, path) {
		switch kindOf(t, doc) {
		case "Namespace":
			var ns corev1.Namespace
			decodeStrict(t, doc, &ns)
			c.Namespaces = append(c.Namespaces, ns)
		case "StatefulSet":
			var ss appsv1.StatefulSet
			decodeStrict(t, doc, &ss)
			if ss.Spec.Template.Spec.HostNetwork {
				continue
			}
			for n := int32(0); n < *ss.Spec.Replicas; n++ {
				c.Pods = append(c.Pods, Pod{
					Namespace: ss.Namespace,
					Name:      fmt.Sprintf("%s-%d", ss.Name, n),
					Labels:    ss.Spec.Template.Labels,
					IP:        fmt.Sprintf("10.128.%d.%d", i, n+1),
					Ports:     containerPorts(ss.Spec.Template.Spec),
				})
			}
		default:
			t.Fatalf("%s: document %d: unexpected kind %s", path, i, kindOf(t, doc))
		}
	}
	if len(c.Namespaces) < 4 || len(c.Pods) < 8 {
		t.Fatalf("%s: %d namespaces and %d pods, want the 4 houses and their 8 pods", path, len(c.Namespaces), len(c.Pods))
	}
	return c
}

// load adds the objects of one test manifest.
func (w *conformanceWorld) load(t *testing.T, path string) {
	t.Helper()
	for _, doc := range yamlDocs(t, path) {
		switch kindOf(t, doc) {
		case "AdminNetworkPolicy":
			var p anpv1alpha1.AdminNetworkPolicy
			decodeStrict(t, doc, &p)
			w.admin = append(w.admin, p)
		case "BaselineAdminNetworkPolicy":
			var p anpv1alpha1.BaselineAdminNetworkPolicy
			decodeStrict(t, doc, &p)
			w.baseline = &p
		case "NetworkPolicy":
			var p networkingv1.NetworkPolicy
			decodeStrict(t, doc, &p)
			w.policies = append(w.policies, p)
		default:
			t.Fatalf("%s: unexpected kind %s", path, kindOf(t, doc))
		}
	}
}

func yamlDocs(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var out [][]byte
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(doc)) > 0 && strings.Contains(string(doc), "kind:") {
			out = append(out, doc)
		}
	}
}

func kindOf(t *testing.T, doc []byte) string {
	t.Helper()
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		t.Fatal(err)
	}
	return tm.Kind
}

// decodeStrict refuses unknown fields, so that a field of v0.1.7 the v0.3.0
// types lack fails the test instead of vanishing.
func decodeStrict(t *testing.T, doc []byte, into any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, into); err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
}

// conformanceTest is one upstream suite.ConformanceTest.
type conformanceTest struct {
	name      string // ShortName
	manifests []string
	steps     []conformanceStep
}

// conformanceStep is one t.Run of a test; probes outside any t.Run belong to
// the step named "".
type conformanceStep struct {
	name    string
	mutates bool // calls s.Client.Patch or s.Client.Delete
	probes  []conformanceProbe
}

type conformanceProbe struct {
	at       string // upstream file:line
	from, to string // "namespace/pod"
	port     PortProto
	want     bool
}

// parseConformanceTests reads every suite.ConformanceTest of the upstream
// test sources, in file order.
func parseConformanceTests(t *testing.T, dir string) []conformanceTest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no upstream tests in %s: %v", dir, err)
	}
	fset := token.NewFileSet()
	var out []conformanceTest
	for _, path := range files {
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok || exprString(lit.Type) != "suite.ConformanceTest" {
				return true
			}
			out = append(out, parseConformanceTest(t, fset, lit))
			return false
		})
	}
	return out
}

func parseConformanceTest(t *testing.T, fset *token.FileSet, lit *ast.CompositeLit) conformanceTest {
	t.Helper()
	var ct conformanceTest
	var body ast.Node
	for _, el := range lit.Elts {
		kv := el.(*ast.KeyValueExpr)
		switch exprString(kv.Key) {
		case "ShortName":
			ct.name = stringLit(t, kv.Value)
		case "Manifests":
			for _, m := range kv.Value.(*ast.CompositeLit).Elts {
				ct.manifests = append(ct.manifests, stringLit(t, m))
			}
		case "Test":
			body = kv.Value
		}
	}
	p := probeParser{t: t, fset: fset, test: &ct, servers: map[string]string{}}
	p.step("")
	ast.Inspect(body, p.visit)
	ct.steps = slices.DeleteFunc(ct.steps, func(s conformanceStep) bool { return s.name == "" && len(s.probes) == 0 })
	return ct
}

// probeParser walks one test's body in source order, tracking which pod each
// variable was last fetched into (s.Client.Get with a namespaced ObjectKey).
type probeParser struct {
	t       *testing.T
	fset    *token.FileSet
	test    *conformanceTest
	cur     int
	servers map[string]string
}

func (p *probeParser) step(name string) {
	p.test.steps = append(p.test.steps, conformanceStep{name: name})
	p.cur = len(p.test.steps) - 1
}

func (p *probeParser) visit(n ast.Node) bool {
	call, ok := n.(*ast.CallExpr)
	if !ok {
		return true
	}
	switch exprString(call.Fun) {
	case "t.Run":
		outer := p.cur
		p.step(stringLit(p.t, call.Args[0]))
		ast.Inspect(call.Args[1], p.visit)
		p.cur = outer
		return false
	case "s.Client.Patch", "s.Client.Delete":
		p.test.steps[p.cur].mutates = true
	case "s.Client.Get":
		key, ok := call.Args[1].(*ast.CompositeLit)
		v, isVar := call.Args[2].(*ast.Ident)
		if !ok || !isVar {
			break
		}
		fields := map[string]string{}
		for _, el := range key.Elts {
			kv := el.(*ast.KeyValueExpr)
			fields[exprString(kv.Key)] = stringLit(p.t, kv.Value)
		}
		if fields["Namespace"] != "" {
			p.servers[v.Name] = fields["Namespace"] + "/" + fields["Name"]
		}
	case "kubernetes.PokeServer":
		p.probe(call)
	}
	return true
}

// probe reads PokeServer(t, client, kubeConfig, clientNamespace, clientPod,
// protocol, <server>.Status.PodIP, int32(port), timeout, shouldConnect).
func (p *probeParser) probe(call *ast.CallExpr) {
	t := p.t
	at := p.fset.Position(call.Pos())
	at.Filename = filepath.Base(at.Filename)
	server := exprString(call.Args[6])
	to, ok := p.servers[strings.TrimSuffix(server, ".Status.PodIP")]
	if !ok {
		t.Fatalf("%s: no pod fetched into %s", at, server)
	}
	port, err := strconv.Atoi(stringLit(t, call.Args[7].(*ast.CallExpr).Args[0]))
	if err != nil {
		t.Fatalf("%s: port: %v", at, err)
	}
	want, err := strconv.ParseBool(exprString(call.Args[9]))
	if err != nil {
		t.Fatalf("%s: shouldConnect: %v", at, err)
	}
	st := &p.test.steps[p.cur]
	st.probes = append(st.probes, conformanceProbe{
		at:   at.String(),
		from: stringLit(t, call.Args[3]) + "/" + stringLit(t, call.Args[4]),
		to:   to,
		port: PortProto{Port: int32(port), Protocol: corev1.Protocol(strings.ToUpper(stringLit(t, call.Args[5])))},
		want: want,
	})
}

// exprString renders identifiers and selector chains ("s.Client.Get").
func exprString(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return exprString(e.X) + "." + e.Sel.Name
	}
	return fmt.Sprintf("%T", e)
}

// stringLit returns the value of a string or number literal.
func stringLit(t *testing.T, e ast.Expr) string {
	t.Helper()
	lit, ok := e.(*ast.BasicLit)
	if !ok {
		t.Fatalf("want a literal, got %T", e)
	}
	if lit.Kind == token.STRING {
		s, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return lit.Value
}
