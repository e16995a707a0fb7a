// Package manifest reads the Kubernetes objects reachability needs from YAML
// files: Namespaces, Pods, Deployments and NetworkPolicies.
//
// Paths may be files or directories; directories are read recursively, in
// lexical order, taking every *.yaml and *.yml file; folders named testdata
// or starting with "." or "_" are skipped, as the Go tool does. A file may
// hold several documents separated by "---", and a document may be a v1 List
// whose items are read in turn. Other kinds (Services, ConfigMaps...) are
// ignored. Documents are decoded strictly: an unknown or repeated field is an
// error, since a misspelt `podselector` would otherwise silently select every
// pod. Errors name the file and the document (counted from 1).
package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/internal/netpol"
)

// Objects are the objects read, in the order met.
type Objects struct {
	Namespaces  []corev1.Namespace
	Pods        []corev1.Pod
	Deployments []appsv1.Deployment
	Policies    []networkingv1.NetworkPolicy
}

// Cluster converts the objects for the evaluator: each Deployment becomes
// one representative pod (netpol.PodsFromDeployment).
func (o Objects) Cluster() netpol.Cluster {
	c := netpol.Cluster{Namespaces: o.Namespaces, Policies: o.Policies}
	for _, p := range o.Pods {
		c.Pods = append(c.Pods, netpol.PodFromPod(p))
	}
	c.Pods = append(c.Pods, netpol.PodsFromDeployments(o.Deployments)...)
	return c
}

// Load reads every YAML file under the given paths.
func Load(paths ...string) (Objects, error) {
	var o Objects
	for _, root := range paths {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != root && skipDir(d.Name()) {
					return filepath.SkipDir
				}
				return nil
			}
			if path != root && !isYAML(path) {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return o.Decode(path, data)
		})
		if err != nil {
			return Objects{}, err
		}
	}
	return o, nil
}

// skipDir follows the Go tool: testdata and folders starting with "." or "_"
// are not read (policies/ keeps its loader's test files in testdata).
func skipDir(name string) bool {
	return name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

func isYAML(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yaml" || ext == ".yml"
}

// Decode adds the objects of one (possibly multi-document) YAML file; name
// is used in errors.
func (o *Objects) Decode(name string, data []byte) error {
	r := utilyaml.NewYAMLReader(bufioReader(data))
	for doc := 1; ; doc++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", name, doc, err)
		}
		if err := o.decodeDoc(raw); err != nil {
			return fmt.Errorf("%s: document %d: %w", name, doc, err)
		}
	}
}

// wantAPIVersion lists the kinds read and their only accepted apiVersion.
var wantAPIVersion = map[string]string{
	"Namespace":     "v1",
	"Pod":           "v1",
	"Deployment":    "apps/v1",
	"NetworkPolicy": "networking.k8s.io/v1",
	"List":          "v1",
}

// decodeDoc decodes one document, given as YAML or JSON (JSON is YAML). The
// YAML to JSON conversion and the case-sensitive strict decoding are the API
// machinery's (sigs.k8s.io/yaml, sigs.k8s.io/json), so a document is read as
// kubectl would read it, minus kubectl's tolerance of unknown fields.
func (o *Objects) decodeDoc(doc []byte) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return fmt.Errorf("not valid YAML: %w", err)
	}
	if t := bytes.TrimSpace(js); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil // empty document or comments only
	}
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(js, &tm); err != nil {
		return fmt.Errorf("not a Kubernetes object (want a mapping with string apiVersion and kind): %w", err)
	}
	if tm.Kind == "" {
		return errors.New("kind is missing")
	}
	want, ok := wantAPIVersion[tm.Kind]
	if !ok {
		return nil // a kind reachability does not need
	}
	what := describe(tm.Kind, js)
	if tm.APIVersion != want {
		return fmt.Errorf("%s: apiVersion %q is not supported; use %q", what, tm.APIVersion, want)
	}
	switch tm.Kind {
	case "Namespace":
		var v corev1.Namespace
		if err = strict(js, &v); err == nil {
			o.Namespaces = append(o.Namespaces, v)
		}
	case "Pod":
		var v corev1.Pod
		if err = strict(js, &v); err == nil {
			o.Pods = append(o.Pods, v)
		}
	case "Deployment":
		var v appsv1.Deployment
		if err = strict(js, &v); err == nil {
			o.Deployments = append(o.Deployments, v)
		}
	case "NetworkPolicy":
		var v networkingv1.NetworkPolicy
		if err = strict(js, &v); err == nil {
			o.Policies = append(o.Policies, v)
		}
	case "List":
		var l struct {
			Items []json.RawMessage `json:"items"`
		}
		if err = json.Unmarshal(js, &l); err == nil {
			for i, item := range l.Items {
				if err := o.decodeDoc(item); err != nil {
					return fmt.Errorf("List items[%d]: %w", i, err)
				}
			}
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// describe names an object for errors: "NetworkPolicy ns-1/allow".
func describe(kind string, js []byte) string {
	var m struct {
		Metadata map[string]any `json:"metadata"`
	}
	_ = json.Unmarshal(js, &m) // best effort: only for the message
	name, _ := m.Metadata["name"].(string)
	ns, _ := m.Metadata["namespace"].(string)
	switch {
	case name == "":
		return kind
	case ns == "":
		return kind + " " + name
	default:
		return kind + " " + ns + "/" + name
	}
}

// strict decodes like the API server: field names are case-sensitive, and
// unknown or repeated fields are errors.
func strict(js []byte, into any) error {
	strictErrs, err := kjson.UnmarshalStrict(js, into, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return err
	}
	return errors.Join(strictErrs...)
}

func bufioReader(data []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(data)) }
