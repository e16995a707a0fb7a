package pluginapi

import (
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"github.com/kopscalico/kopscalico/internal/config"
)

// propertySpec, objectSpec, resourceSpec and packageSpec are the parts of
// Pulumi's package schema (pkg/codegen/schema) the wire structs fill.
type propertySpec struct {
	Type                 string        `json:"type,omitempty"`
	Ref                  string        `json:"$ref,omitempty"`
	Items                *propertySpec `json:"items,omitempty"`
	AdditionalProperties *propertySpec `json:"additionalProperties,omitempty"`
	Description          string        `json:"description,omitempty"`
	Secret               bool          `json:"secret,omitempty"`
	WillReplaceOnChanges bool          `json:"willReplaceOnChanges,omitempty"`
}

type objectSpec struct {
	Description string                  `json:"description,omitempty"`
	Type        string                  `json:"type,omitempty"`
	Properties  map[string]propertySpec `json:"properties,omitempty"`
	Required    []string                `json:"required,omitempty"`
}

type resourceSpec struct {
	objectSpec
	InputProperties map[string]propertySpec `json:"inputProperties,omitempty"`
	RequiredInputs  []string                `json:"requiredInputs,omitempty"`
}

type packageSpec struct {
	Name      string                  `json:"name"`
	Version   string                  `json:"version"`
	Provider  resourceSpec            `json:"provider"`
	Resources map[string]resourceSpec `json:"resources"`
	Types     map[string]objectSpec   `json:"types,omitempty"`
}

// Schema is the package schema of the plugin at version: the provider's
// configuration and every resource with its inputs and outputs, from the
// wire structs.
func Schema(version string) ([]byte, error) {
	s := schemaBuilder{types: map[string]objectSpec{}}
	pkg := packageSpec{Name: Name, Version: version, Resources: map[string]resourceSpec{}}
	pkg.Provider = s.resource(Provider)
	for _, r := range Resources {
		pkg.Resources[r.Token] = s.resource(r)
	}
	if len(s.types) > 0 {
		pkg.Types = s.types
	}
	if s.err != nil {
		return nil, s.err
	}
	return json.MarshalIndent(pkg, "", "  ")
}

type schemaBuilder struct {
	types map[string]objectSpec
	err   error
}

func (s *schemaBuilder) resource(r Resource) resourceSpec {
	spec := resourceSpec{objectSpec: objectSpec{Description: r.Description}}
	spec.InputProperties, spec.RequiredInputs = s.properties(r.Inputs, true)
	if r.State != nil {
		spec.Properties, spec.Required = s.properties(r.State, false)
	}
	return spec
}

func (s *schemaBuilder) properties(fields []Field, inputs bool) (map[string]propertySpec, []string) {
	props := map[string]propertySpec{}
	var required []string
	for _, f := range fields {
		p := s.typeOf(f.Type)
		p.Secret = f.Secret
		if f.Replace != "" && inputs {
			p.WillReplaceOnChanges = true
			p.Description = fmt.Sprintf("A change replaces the resource, which the Cluster refuses without %s: %s.", config.KeyAllowReplacement, f.Replace)
		}
		props[f.Name] = p
		if !f.Optional {
			required = append(required, f.Name)
		}
	}
	return props, required
}

var textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()

// typeOf is the schema type of the JSON form of a Go type.
func (s *schemaBuilder) typeOf(t reflect.Type) propertySpec {
	if t.Implements(textMarshaler) {
		return propertySpec{Type: "string"}
	}
	switch t.Kind() {
	case reflect.Pointer: // an optional value: JSON writes it or null
		return s.typeOf(t.Elem())
	case reflect.String:
		return propertySpec{Type: "string"}
	case reflect.Bool:
		return propertySpec{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return propertySpec{Type: "integer"}
	case reflect.Float32, reflect.Float64:
		return propertySpec{Type: "number"}
	case reflect.Slice, reflect.Array:
		items := s.typeOf(t.Elem())
		return propertySpec{Type: "array", Items: &items}
	case reflect.Map:
		if t.Key().Kind() == reflect.String {
			values := s.typeOf(t.Elem())
			return propertySpec{Type: "object", AdditionalProperties: &values}
		}
	case reflect.Struct:
		name := []rune(t.Name())
		name[0] = unicode.ToUpper(name[0])
		token := Name + ":index:" + string(name)
		if _, ok := s.types[token]; !ok {
			s.types[token] = objectSpec{} // a recursive type refers to itself
			props, required := s.properties(FieldsOf(t), false)
			s.types[token] = objectSpec{Type: "object", Properties: props, Required: required}
		}
		return propertySpec{Ref: "#/types/" + token}
	}
	if s.err == nil {
		s.err = fmt.Errorf("pluginapi: no schema type for %s", strings.TrimPrefix(t.String(), "*"))
	}
	return propertySpec{}
}
