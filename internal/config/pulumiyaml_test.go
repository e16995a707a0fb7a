package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/internal/kopsrelease"
	"github.com/kopscalico/kopscalico/internal/policies"
)

// repoFS resolves relative paths against the repository root.
type repoFS struct{}

func (repoFS) IsDir(p string) bool {
	st, err := os.Stat(filepath.Join("../..", p))
	return err == nil && st.IsDir()
}

func (repoFS) IsFile(p string) bool {
	st, err := os.Stat(filepath.Join("../..", p))
	return err == nil && st.Mode().IsRegular()
}

func (repoFS) HomeDir() (string, error) { return os.UserHomeDir() }

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// listKeys are read by reader.list: declared without a type in Pulumi.yaml,
// because the CLI refuses a comma-separated string for a declared array.
var listKeys = []string{KeyZones, KeySSHAccess, KeyAdminAccess, KeyNamespaces, KeyAllowGroupRemoval}

// structuredKeys take a list of objects, which no type of the CLI's
// declares: they are declared without one and read as JSON.
var structuredKeys = []string{KeyInstanceGroups}

// TestPulumiYAMLDeclaresEveryKey: Pulumi.yaml declares exactly the keys the
// program reads, each with a description, and a type unless it is a list.
func TestPulumiYAMLDeclaresEveryKey(t *testing.T) {
	t.Parallel()
	var project struct {
		Name   string
		Config map[string]struct {
			Type        string
			Description string
			Default     any
		}
	}
	readYAML(t, "../../Pulumi.yaml", &project)
	if project.Name != Namespace {
		t.Errorf("project name %q, want %q (the config namespace)", project.Name, Namespace)
	}
	var declared []string
	for full, decl := range project.Config {
		key, ok := strings.CutPrefix(full, Namespace+":")
		if !ok {
			t.Errorf("Pulumi.yaml declares %q outside the %s namespace", full, Namespace)
			continue
		}
		declared = append(declared, key)
		if !slices.Contains(AllKeys, key) {
			t.Errorf("Pulumi.yaml declares %s, which the program does not read", full)
		}
		if decl.Description == "" {
			t.Errorf("%s lacks a description", full)
		}
		switch isList := slices.Contains(listKeys, key); {
		case isList && decl.Type != "":
			t.Errorf("%s declares type %s: the CLI would refuse the comma-separated form the README shows", full, decl.Type)
		case isList && !strings.Contains(decl.Description, "comma-separated"):
			t.Errorf("%s: the description does not say a comma-separated string is accepted", full)
		case slices.Contains(structuredKeys, key) && decl.Type != "":
			t.Errorf("%s declares type %s: the CLI has no object type for a list of groups", full, decl.Type)
		case !isList && !slices.Contains(structuredKeys, key) && decl.Type == "":
			t.Errorf("%s lacks a type", full)
		}
	}
	for _, k := range AllKeys {
		if !slices.Contains(declared, k) {
			t.Errorf("the program reads %s:%s but Pulumi.yaml does not declare it", Namespace, k)
		}
	}

	// The CLI's own loader (schema and rules) accepts the file, and leaves
	// the lists untyped: it validates only explicitly typed keys.
	proj, err := workspace.LoadProject("../../Pulumi.yaml")
	if err != nil {
		t.Fatalf("the pulumi CLI would refuse Pulumi.yaml: %v", err)
	}
	for _, k := range append(listKeys, structuredKeys...) {
		if decl, ok := proj.Config[Namespace+":"+k]; !ok || decl.IsExplicitlyTyped() {
			t.Errorf("%s:%s is typed for the CLI (declared: %v)", Namespace, k, ok)
		}
	}

	// The CLI refuses to run a stack that lacks a value for a declared key
	// without a default: the dev stack must set every such key.
	var stack struct{ Config map[string]any }
	readYAML(t, "../../Pulumi.dev.yaml", &stack)
	for full, decl := range project.Config {
		if decl.Default == nil {
			if _, ok := stack.Config[full]; !ok {
				t.Errorf("%s has no default in Pulumi.yaml and no value in Pulumi.dev.yaml: `pulumi up` would refuse the dev stack", full)
			}
		}
	}
}

// devStackValues reads Pulumi.dev.yaml as the CLI hands it to the program:
// lists as JSON text.
func devStackValues(t *testing.T) map[string]string {
	t.Helper()
	var stack struct{ Config map[string]any }
	readYAML(t, "../../Pulumi.dev.yaml", &stack)
	values := map[string]string{}
	for full, v := range stack.Config {
		key := strings.TrimPrefix(full, Namespace+":")
		switch v := v.(type) {
		case []any:
			b, _ := json.Marshal(v)
			values[key] = string(b)
		default:
			values[key] = fmt.Sprint(v)
		}
	}
	return values
}

// devStackPlaceholders are the keys Pulumi.dev.yaml leaves to its user, and
// what a user fills them with.
var devStackPlaceholders = map[string]string{
	KeyClusterName: "calico.dev.acme.io",
	KeyDNSZone:     "dev.acme.io",
	KeyAdminAccess: `["198.51.100.0/24"]`,
}

// TestDevStackRefusesItsPlaceholders: Pulumi.dev.yaml is refused, naming
// exactly its placeholder keys, each with what replaces it.
func TestDevStackRefusesItsPlaceholders(t *testing.T) {
	t.Parallel()
	values := devStackValues(t)
	_, err := Parse(Namespace, "dev", func(k string) (string, bool) { v, ok := values[k]; return v, ok }, repoFS{})
	if err == nil {
		t.Fatal("the example stack was accepted with its placeholders")
	}
	var want []string
	for k := range devStackPlaceholders {
		want = append(want, k)
	}
	got := Keys(err)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("refused keys %v, want exactly the placeholders %v:\n%v", got, want, err)
	}
	for _, k := range want {
		if !strings.Contains(err.Error(), fmt.Sprintf("kopscalico:%s = \"", k)) {
			t.Errorf("%s not named with its value:\n%v", k, err)
		}
	}
	if n := strings.Count(err.Error(), "replace the example's placeholder with"); n != len(want) {
		t.Errorf("%d placeholder fixes, want %d:\n%v", n, len(want), err)
	}
}

// TestDevStackIsValidOnceFilled: Pulumi.dev.yaml with its placeholders
// filled is a working configuration.
func TestDevStackIsValidOnceFilled(t *testing.T) {
	t.Parallel()
	values := devStackValues(t)
	for k, v := range devStackPlaceholders {
		values[k] = v
	}
	for k, v := range values {
		if strings.Contains(v, Placeholder) {
			t.Fatalf("%s = %q still holds a placeholder: add it to devStackPlaceholders", k, v)
		}
	}
	c, err := Parse(Namespace, "dev", func(k string) (string, bool) { v, ok := values[k]; return v, ok }, repoFS{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Cluster.Zones) < 2 {
		t.Errorf("dev stack should span two zones so cross-subnet has subnets to cross: %v", c.Cluster.Zones)
	}
	set, err := policies.Load(filepath.Join("../..", c.Workloads.PoliciesDir))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Workloads.CheckOwnedNamespaces(set.OwnedNames(), set.Folders); err != nil {
		t.Errorf("the dev stack would be refused: %v", err)
	}
}

// TestREADMETableListsEveryKey: the README's configuration table has a row
// for every key the program reads, and none for a key it does not, and it
// states the count caps validation enforces.
func TestREADMETableListsEveryKey(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	_, section, _ := strings.Cut(readme, "\n## Configuration\n")
	section, _, _ = strings.Cut(section, "\n## ")
	var rows []string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(line, "| "), " |")
		for _, k := range strings.Split(first, ", ") {
			rows = append(rows, strings.Trim(k, "`"))
		}
	}
	for _, k := range AllKeys {
		if !slices.Contains(rows, k) {
			t.Errorf("README's configuration table has no row for %s", k)
		}
	}
	for _, k := range rows {
		if !slices.Contains(AllKeys, k) {
			t.Errorf("README's configuration table lists %s, which the program does not read", k)
		}
	}
	for _, cap := range []string{fmt.Sprintf("1 to %d", MaxNodeCount), fmt.Sprintf("1, 3, 5 or %d", MaxControlPlaneCount)} {
		if !strings.Contains(section, cap) {
			t.Errorf("README does not state the cap %q", cap)
		}
	}
}

// TestREADMENamesTheSupportedReleases: the README states the kops releases
// the program creates clusters with, as kopsrelease's table has them.
func TestREADMENamesTheSupportedReleases(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("(%s to %s)", kopsrelease.OldestToCreate.MinorString(), kopsrelease.Newest.MinorString())
	if !strings.Contains(string(b), want) {
		t.Errorf("README does not state the supported kops releases %s", want)
	}
}
