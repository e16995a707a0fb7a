// Package policies loads the network policies users keep as YAML, one folder
// per namespace, and refuses bad files before anything is deployed.
//
// Layout: <dir>/<namespace>/*.yaml (or .yml). Each file holds one or more
// YAML documents, each a Namespace (apiVersion v1) or a NetworkPolicy
// (apiVersion networking.k8s.io/v1) of that namespace. <dir>/_cluster/*.yaml
// holds the cluster-scoped AdminNetworkPolicies and the one
// BaselineAdminNetworkPolicy (policy.networking.k8s.io/v1alpha1); its name is
// not a namespace name, so it never clashes with a namespace's folder.
//
// Ownership of the namespace is explicit: a folder that holds a Namespace
// object (by convention namespace.yaml) makes the program own the namespace —
// it creates it, and deletes it, with everything in it, on destroy. A folder
// without one puts its policies into an existing namespace the program never
// creates nor deletes (kube-system, default, a team's namespace...). Nothing is
// implied, so no namespace is ever deleted by surprise.
//
// Nothing is skipped silently, since a folder the loader skipped would be a
// namespace deleted on the next up: a symbolic link (the top folder included),
// a folder whose name is not a namespace name (such as _ns-1 or .ns-1), a
// nested folder, a hidden file, a file with another extension (.YAML, .json,
// .txt) or one that cannot be read is an error naming the path and the fix.
// Only notes (.md) are not read; the top holds only folders and notes.
//
// Budgets: a file holds at most 1 MiB and 1000 documents, no YAML anchors or
// aliases (a few kilobytes of aliases expand to gigabytes), and no metadata
// the cluster writes (ownerReferences, finalizers, managedFields). Every path
// in a message is quoted, so no file name can forge a line of its own.
//
// This is the one loader of policy files: the program and cmd/reachability
// both read policies through it, and it validates every object with the
// evaluator's own checks (netpol.ValidatePolicy, netpol.ValidateAdminPolicy...).
package policies

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	anpv1alpha1 "sigs.k8s.io/network-policy-api/apis/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/internal/netpol"
)

// Accepted apiVersion and kind pairs.
const (
	NamespaceAPIVersion            = "v1"
	NamespaceKind                  = "Namespace"
	NetworkPolicyAPIVersion        = "networking.k8s.io/v1"
	NetworkPolicyKind              = "NetworkPolicy"
	AdminNetworkPolicyAPIVersion   = "policy.networking.k8s.io/v1alpha1"
	AdminNetworkPolicyKind         = "AdminNetworkPolicy"
	BaselineAdminNetworkPolicyKind = "BaselineAdminNetworkPolicy"
)

// ClusterFolder holds the cluster-scoped policies. Not a namespace name, it
// cannot clash with a namespace's folder.
const ClusterFolder = "_cluster"

// kinds are the objects a tree holds, each in its place: a namespace folder,
// or ClusterFolder for the cluster-scoped ones.
var kinds = map[string]struct {
	apiVersion string
	cluster    bool
}{
	NamespaceKind:                  {NamespaceAPIVersion, false},
	NetworkPolicyKind:              {NetworkPolicyAPIVersion, false},
	AdminNetworkPolicyKind:         {AdminNetworkPolicyAPIVersion, true},
	BaselineAdminNetworkPolicyKind: {AdminNetworkPolicyAPIVersion, true},
}

// Namespace is a namespace the program owns, with the file it came from.
type Namespace struct {
	Object corev1.Namespace
	File   string // path as given to Load joined with the file name
}

// Policy is a NetworkPolicy with the file it came from.
type Policy struct {
	Object networkingv1.NetworkPolicy
	File   string
}

// AdminPolicy is an AdminNetworkPolicy with the file it came from.
type AdminPolicy struct {
	Object anpv1alpha1.AdminNetworkPolicy
	File   string
}

// BaselinePolicy is the BaselineAdminNetworkPolicy with the file it came from.
type BaselinePolicy struct {
	Object anpv1alpha1.BaselineAdminNetworkPolicy
	File   string
}

// Set is every object under a policies folder, validated. Namespaces are
// sorted by name, policies by namespace then name.
type Set struct {
	Namespaces []Namespace
	Policies   []Policy
	// AdminPolicies and Baseline are the cluster-scoped policies, sorted by
	// name; Baseline is nil when the tree declares none.
	AdminPolicies []AdminPolicy
	Baseline      *BaselinePolicy
	// Folders are the namespaces that have a folder, owned or not, sorted.
	Folders []string
}

// Owns reports whether the set holds a Namespace object named ns, that is
// whether the program creates and deletes that namespace.
func (s *Set) Owns(ns string) bool {
	for _, n := range s.Namespaces {
		if n.Object.Name == ns {
			return true
		}
	}
	return false
}

// OwnedNames returns the names of the namespaces the set owns, sorted.
func (s *Set) OwnedNames() []string {
	names := make([]string, 0, len(s.Namespaces))
	for _, n := range s.Namespaces {
		names = append(names, n.Object.Name)
	}
	return names
}

// PoliciesIn returns the policies of namespace ns.
func (s *Set) PoliciesIn(ns string) []networkingv1.NetworkPolicy {
	var out []networkingv1.NetworkPolicy
	for _, p := range s.Policies {
		if p.Object.Namespace == ns {
			out = append(out, p.Object)
		}
	}
	return out
}

// AllPolicies returns every NetworkPolicy of the set.
func (s *Set) AllPolicies() []networkingv1.NetworkPolicy {
	out := make([]networkingv1.NetworkPolicy, 0, len(s.Policies))
	for _, p := range s.Policies {
		out = append(out, p.Object)
	}
	return out
}

// Load reads and validates every file under dir. On any bad file it returns
// all the problems found, each naming the file and the field, and no set.
func Load(dir string) (*Set, error) {
	dir = filepath.Clean(dir) // "link/" would make Lstat follow the link
	info, err := os.Lstat(dir)
	switch {
	case err != nil:
		return nil, fmt.Errorf("read policies folder %q: %w", dir, pathErrorCause(err))
	case info.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("%q: %s", dir, symlinkProblem)
	case !info.IsDir():
		return nil, fmt.Errorf("%q: not a folder; give the policies folder, which holds one folder per namespace", dir)
	}
	return load(os.DirFS(dir), dir)
}

// load reads the tree fsys, whose paths errors show under dir. Nothing is
// skipped silently: an entry the loader does not read as policies is either
// notes (.md) or an error naming it and the fix.
func load(fsys fs.FS, dir string) (*Set, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read policies folder %q: %w", dir, pathErrorCause(err))
	}
	set := &Set{}
	var errs []error
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			errs = append(errs, fmt.Errorf("%q: %s", path, symlinkProblem))
		case e.IsDir() && e.Name() == ClusterFolder:
			errs = append(errs, loadFolder(set, fsys, dir, e.Name())...)
		case e.IsDir():
			set.Folders = append(set.Folders, e.Name())
			errs = append(errs, loadFolder(set, fsys, dir, e.Name())...)
		case looksLikeManifest(e.Name()):
			errs = append(errs, fmt.Errorf("%q: a policy file belongs in a namespace folder, or in %s for cluster-scoped policies; move it to %q", path, ClusterFolder, filepath.Join(dir, "<namespace>", e.Name())))
		case !e.Type().IsRegular():
			errs = append(errs, fmt.Errorf("%q: not a folder nor a regular file; remove it from %q", path, dir))
		case !strings.HasSuffix(e.Name(), ".md"):
			errs = append(errs, fmt.Errorf("%q: the top of %q holds only namespace folders, %s and notes (.md); move it into a folder or out of %q", path, dir, ClusterFolder, dir))
		}
	}
	errs = append(errs, checkDuplicates(set)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(set.AdminPolicies, func(i, j int) bool { return set.AdminPolicies[i].Object.Name < set.AdminPolicies[j].Object.Name })
	sort.Slice(set.Namespaces, func(i, j int) bool { return set.Namespaces[i].Object.Name < set.Namespaces[j].Object.Name })
	sort.Slice(set.Policies, func(i, j int) bool {
		a, b := set.Policies[i].Object, set.Policies[j].Object
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return set, nil
}

// symlinkProblem: links are refused, not followed, anywhere in the tree.
const symlinkProblem = "a symbolic link, which is not followed (its target could move and take policies with it); replace it with the folder or file itself"

// looksLikeManifest reports names a person means as a Kubernetes manifest
// (YAML or JSON), whatever the case.
func looksLikeManifest(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml" || ext == ".json"
}

// pathErrorCause drops the fs.FS-relative path of err ("open .") so that the
// message names the folder as the user gave it.
func pathErrorCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// loadFolder reads the files of one namespace folder, or of ClusterFolder,
// into set.
func loadFolder(set *Set, fsys fs.FS, dir, namespace string) []error {
	folder := filepath.Join(dir, namespace)
	if msgs := validation.IsDNS1123Label(namespace); len(msgs) > 0 && namespace != ClusterFolder {
		return []error{fmt.Errorf("%q: folder name %q is not a namespace name (%s); rename it to the name of its namespace (or %s for the cluster-scoped policies), or delete it to stop deploying that namespace (no folder is skipped)",
			folder, namespace, strings.Join(msgs, "; "), ClusterFolder)}
	}
	entries, err := fs.ReadDir(fsys, namespace)
	if err != nil {
		return []error{fmt.Errorf("read %q: %w; make the folder readable", folder, pathErrorCause(err))}
	}
	var errs []error
	for _, e := range entries {
		path := filepath.Join(folder, e.Name())
		if problem := folderEntryProblem(e, folder); problem != "" {
			errs = append(errs, fmt.Errorf("%q: %s", path, problem))
			continue
		}
		if strings.HasSuffix(e.Name(), ".md") {
			continue // notes about the namespace
		}
		data, err := readFile(fsys, namespace+"/"+e.Name(), path, e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, loadFile(set, path, namespace, data)...)
	}
	return errs
}

// folderEntryProblem says why an entry of a namespace folder cannot be read,
// with the fix, or "" for a policy file (.yaml, .yml) or notes (.md).
func folderEntryProblem(e fs.DirEntry, folder string) string {
	name := e.Name()
	ext := filepath.Ext(name)
	switch {
	case e.Type()&fs.ModeSymlink != 0:
		return symlinkProblem
	case e.IsDir():
		return fmt.Sprintf("nested folders are not read; move its files up into %q", folder)
	case !e.Type().IsRegular():
		return fmt.Sprintf("not a regular file; remove it from %q", folder)
	case strings.HasPrefix(name, "."):
		return "hidden files are not read (a hidden policy would silently not be deployed); rename it without the leading dot, or delete it"
	case ext == ".yaml" || ext == ".yml" || ext == ".md":
		return ""
	case looksLikeManifest(name) && strings.ToLower(ext) != ".json":
		return fmt.Sprintf("the extension must be .yaml or .yml in lower case; rename it to %q", strings.TrimSuffix(name, ext)+strings.ToLower(ext))
	default:
		return "a namespace folder holds only policy files (.yaml, .yml) and notes (.md); convert it to YAML, or move it out"
	}
}

// loadFile decodes each YAML document of one file.
func loadFile(set *Set, path, namespace string, data []byte) []error {
	docs, err := splitDocuments(data)
	if err != nil {
		return []error{fmt.Errorf("%q: %w", path, err)}
	}
	var errs []error
	for i, doc := range docs {
		where := fmt.Sprintf("%q", path)
		if len(docs) > 1 {
			where = fmt.Sprintf("%q (document %d)", path, i+1)
		}
		if err := loadDocument(set, path, where, namespace, doc); err != nil {
			errs = append(errs, err)
		}
	}
	return capProblems(path, errs)
}

// splitDocuments returns the non-empty YAML documents of data, at most
// maxDocuments.
func splitDocuments(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, oneLine(err)
		}
		if isBlank(doc) {
			continue
		}
		if len(docs) == maxDocuments {
			return nil, fmt.Errorf("over %d YAML documents, more than a policy file may hold; split it into smaller files", maxDocuments)
		}
		docs = append(docs, doc)
	}
}

// isBlank reports whether a document holds only comments and whitespace.
func isBlank(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") && t != "---" {
			return false
		}
	}
	return true
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// loadDocument checks one document's type, decodes it strictly (unknown or
// repeated fields are errors: a misspelt podSelector must not silently select
// every pod) and validates it.
func loadDocument(set *Set, file, where, namespace string, doc []byte) error {
	if err := checkNodes(doc); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return fmt.Errorf("%s: %w", where, oneLine(err))
	}
	if !bytes.HasPrefix(j, []byte("{")) {
		return fmt.Errorf("%s: not a YAML object; a document maps apiVersion, kind, metadata and spec to their values", where)
	}
	var tm typeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(j, &tm); err != nil {
		return fmt.Errorf("%s: %w", where, oneLine(err))
	}
	cluster := namespace == ClusterFolder
	here, these := "a namespace folder", []string{NamespaceKind, NetworkPolicyKind}
	if cluster {
		here, these = ClusterFolder, []string{AdminNetworkPolicyKind, BaselineAdminNetworkPolicyKind}
	}
	top := filepath.Dir(filepath.Dir(file))
	kind, known := kinds[tm.Kind]
	switch {
	case tm.Kind == "":
		return fmt.Errorf("%s: kind is missing; use %s", where, strings.Join(these, " or "))
	case !known:
		return fmt.Errorf("%s: kind %q is not allowed here; %s holds only %s objects", where, tm.Kind, here, strings.Join(these, " and "))
	case kind.cluster && !cluster:
		return fmt.Errorf("%s: kind %s is cluster-scoped; move it to %q", where, tm.Kind, filepath.Join(top, ClusterFolder, filepath.Base(file)))
	case !kind.cluster && cluster:
		return fmt.Errorf("%s: kind %s belongs in a namespace folder, not in %s; move it to %q", where, tm.Kind, ClusterFolder, filepath.Join(top, "<namespace>", filepath.Base(file)))
	case tm.APIVersion != kind.apiVersion:
		return fmt.Errorf("%s: apiVersion %q is wrong for kind %s; use %q", where, tm.APIVersion, tm.Kind, kind.apiVersion)
	}
	switch tm.Kind {
	case NamespaceKind:
		ns, err := decodeChecked(where, j, func(ns *corev1.Namespace) []string { return validateNamespace(ns, namespace) })
		if err != nil {
			return err
		}
		set.Namespaces = append(set.Namespaces, Namespace{Object: *ns, File: file})
	case NetworkPolicyKind:
		np, err := decodeChecked(where, j, func(np *networkingv1.NetworkPolicy) []string { return validatePolicy(np, namespace) })
		if err != nil {
			return err
		}
		set.Policies = append(set.Policies, Policy{Object: *np, File: file})
	case AdminNetworkPolicyKind:
		anp, err := decodeChecked(where, j, func(anp *anpv1alpha1.AdminNetworkPolicy) []string { return validateAdminPolicy(anp, j) })
		if err != nil {
			return err
		}
		set.AdminPolicies = append(set.AdminPolicies, AdminPolicy{Object: *anp, File: file})
	case BaselineAdminNetworkPolicyKind:
		banp, err := decodeChecked(where, j, func(b *anpv1alpha1.BaselineAdminNetworkPolicy) []string { return validateBaselinePolicy(b, j) })
		if err != nil {
			return err
		}
		if set.Baseline != nil {
			return fmt.Errorf("%s: metadata.name: a cluster has one BaselineAdminNetworkPolicy, already defined in %q; merge the two", where, set.Baseline.File)
		}
		set.Baseline = &BaselinePolicy{Object: *banp, File: file}
	}
	return nil
}

// decodeChecked decodes the document j (JSON) strictly into a new object and
// checks it: the metadata a file must not hold, then check.
func decodeChecked[T any, PT interface {
	*T
	metav1.Object
}](where string, j []byte, check func(PT) []string) (PT, error) {
	obj := PT(new(T))
	if p := decodeStrict(j, obj); len(p) > 0 {
		return nil, prefixed(where, p)
	}
	if p := append(writtenByCluster(obj), check(obj)...); len(p) > 0 {
		return nil, prefixed(where, p)
	}
	return obj, nil
}

// decodeStrict decodes like the API server does — field names are case
// sensitive — and refuses unknown and repeated fields, all listed.
func decodeStrict(j []byte, into any) []string {
	strict, err := kjson.UnmarshalStrict(j, into, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return []string{oneLine(err).Error()}
	}
	p := make([]string, len(strict))
	for i, e := range strict {
		p[i] = oneLine(e).Error()
	}
	return p
}

// oneLine joins the lines of a library's error: every line of the loader's
// messages starts with the path it is about.
// oneLine puts a library's error on one line, of at most 300 bytes: every
// line of the loader's messages starts with the path it is about.
func oneLine(err error) error {
	msg := err.Error()
	if len(msg) > 300 {
		msg = strings.ToValidUTF8(msg[:300], "") + "..."
	}
	return errors.New(strings.Join(strings.Fields(msg), " "))
}

// capProblems lists at most maxProblemsShown lines of problems of the file
// path: past them, the first ones tell what to fix.
func capProblems(path string, errs []error) []error {
	var lines []string
	for _, err := range errs {
		lines = append(lines, strings.Split(err.Error(), "\n")...)
	}
	if len(lines) <= maxProblemsShown {
		return errs
	}
	return []error{
		errors.New(strings.Join(lines[:maxProblemsShown], "\n")),
		fmt.Errorf("%q: %d more problems not shown; fix the ones above first", path, len(lines)-maxProblemsShown),
	}
}

func prefixed(where string, problems []string) error {
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = fmt.Errorf("%s: %s", where, p)
	}
	return errors.Join(errs...)
}

// checkDuplicates refuses two objects with the same name, naming both files.
func checkDuplicates(set *Set) []error {
	var errs []error
	seenNS := map[string]string{}
	for _, n := range set.Namespaces {
		if first, ok := seenNS[n.Object.Name]; ok {
			errs = append(errs, fmt.Errorf("%q: metadata.name: Namespace %q is already defined in %q", n.File, n.Object.Name, first))
			continue
		}
		seenNS[n.Object.Name] = n.File
	}
	seenNP := map[string]string{}
	for _, p := range set.Policies {
		key := p.Object.Namespace + "/" + p.Object.Name
		if first, ok := seenNP[key]; ok {
			errs = append(errs, fmt.Errorf("%q: metadata.name: NetworkPolicy %q is already defined in %q", p.File, key, first))
			continue
		}
		seenNP[key] = p.File
	}
	seenANP := map[string]string{}
	anps := make([]anpv1alpha1.AdminNetworkPolicy, len(set.AdminPolicies))
	for i, a := range set.AdminPolicies {
		anps[i] = a.Object
		if first, ok := seenANP[a.Object.Name]; ok {
			errs = append(errs, fmt.Errorf("%q: metadata.name: AdminNetworkPolicy %q is already defined in %q", a.File, a.Object.Name, first))
			continue
		}
		seenANP[a.Object.Name] = a.File
	}
	for _, c := range netpol.PriorityClashes(anps) {
		first, later := set.AdminPolicies[c[0]], set.AdminPolicies[c[1]]
		errs = append(errs, fmt.Errorf("%q: spec.priority: AdminNetworkPolicy %q has priority %d, as has %q in %q, and the order of two policies of one priority is undefined; pick distinct priorities",
			later.File, later.Object.Name, later.Object.Spec.Priority, first.Object.Name, first.File))
	}
	return errs
}
