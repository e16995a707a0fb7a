package pluginapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Field is one property on the wire, read from its struct's tags:
//
//	json:"name[,omitempty]"  its name: the config key where there is one
//	replace:"why"            a change replaces the resource, for this reason
//	wire:"secret"            secret in the state
//	wire:"nodiff"            a change of it alone updates nothing
//	wire:"unknown"           an output not known at the preview of a create or an update
//	wire:"unknownOnCreate"   an output not known at the preview of a create
//	wire:"was=name"          its former name, read in its place from older states
//	wire:"program"           set by the program from its own context, not from a config key
type Field struct {
	Name            string
	Type            reflect.Type
	Optional        bool
	Replace         string
	Secret          bool
	NoDiff          bool
	Unknown         bool
	UnknownOnCreate bool
	Was             string
	Program         bool
	index           []int
}

var fieldCache sync.Map // reflect.Type -> []Field

// FieldsOf lists the wire fields of a struct type (or a pointer to one), the
// fields of embedded structs in place, as encoding/json reads them.
func FieldsOf(t reflect.Type) []Field {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]Field)
	}
	fs := fieldsOf(t, nil)
	fieldCache.Store(t, fs)
	return fs
}

func fieldsOf(t reflect.Type, index []int) []Field {
	var out []Field
	for i := range t.NumField() {
		sf := t.Field(i)
		at := append(append([]int(nil), index...), i)
		tag, hasTag := sf.Tag.Lookup("json")
		if sf.Anonymous && !hasTag && sf.Type.Kind() == reflect.Struct {
			out = append(out, fieldsOf(sf.Type, at)...)
			continue
		}
		if !sf.IsExported() || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		f := Field{Name: name, Type: sf.Type, Optional: strings.Contains(","+opts+",", ",omitempty,"), Replace: sf.Tag.Get("replace"), index: at}
		for _, o := range strings.Split(sf.Tag.Get("wire"), ",") {
			switch {
			case o == "":
			case o == "secret":
				f.Secret = true
			case o == "nodiff":
				f.NoDiff = true
			case o == "unknown":
				f.Unknown = true
			case o == "unknownOnCreate":
				f.UnknownOnCreate = true
			case o == "program":
				f.Program = true
			case strings.HasPrefix(o, "was="):
				f.Was = strings.TrimPrefix(o, "was=")
			default:
				panic(fmt.Sprintf("pluginapi: %s.%s: unknown wire tag option %q", t, sf.Name, o))
			}
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// fieldNamed returns the field of this name.
func fieldNamed(fs []Field, name string) (Field, bool) {
	for _, f := range fs {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Encode is v's wire form: the JSON form of its struct as a property map,
// the fields tagged secret made secret.
func Encode(v any) (resource.PropertyMap, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	props := resource.NewPropertyMapFromMap(m)
	for _, f := range FieldsOf(reflect.TypeOf(v)) {
		if p, ok := props[resource.PropertyKey(f.Name)]; ok && f.Secret && !p.IsNull() {
			props[resource.PropertyKey(f.Name)] = resource.MakeSecret(p)
		}
	}
	return props, nil
}

// Decode fills v (a pointer to a wire struct) from a property map: secrets
// unwrapped, former names read as the fields' names, values not known yet as
// zero values (check props.ContainsUnknowns() first where that matters).
func Decode(props resource.PropertyMap, v any) error {
	b, err := json.Marshal(Plain(Migrate(FieldsOf(reflect.TypeOf(v)), props)))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode properties: %w", err)
	}
	return nil
}

// Migrate renames the former names of fields to their names (a present new
// name wins); props is not changed.
func Migrate(fields []Field, props resource.PropertyMap) resource.PropertyMap {
	var out resource.PropertyMap
	for _, f := range fields {
		old, name := resource.PropertyKey(f.Was), resource.PropertyKey(f.Name)
		v, ok := props[old]
		if f.Was == "" || !ok {
			continue
		}
		if out == nil {
			out = props.Copy()
		}
		delete(out, old)
		if _, ok := props[name]; !ok {
			out[name] = v
		}
	}
	if out == nil {
		return props
	}
	return out
}

// Plain is props as plain Go values: secrets and known outputs unwrapped,
// values not known yet as nil.
func Plain(props resource.PropertyMap) map[string]any {
	m, _ := PlainValue(resource.NewObjectProperty(props)).(map[string]any)
	return m
}

// PlainValue is v as a plain Go value, as Plain has it.
func PlainValue(v resource.PropertyValue) any {
	switch {
	case v.IsComputed():
		return nil
	case v.IsSecret():
		return PlainValue(v.SecretValue().Element)
	case v.IsOutput():
		if !v.OutputValue().Known {
			return nil
		}
		return PlainValue(v.OutputValue().Element)
	case v.IsObject():
		m := map[string]any{}
		for k, e := range v.ObjectValue() {
			m[string(k)] = PlainValue(e)
		}
		return m
	case v.IsArray():
		a := []any{}
		for _, e := range v.ArrayValue() {
			a = append(a, PlainValue(e))
		}
		return a
	}
	return v.Mappable()
}

// FieldName is the wire name of the field fieldPtr points to in the struct
// structPtr points to: how the program names an input it sets from another
// resource's output.
func FieldName(structPtr, fieldPtr any) (Field, error) {
	s := reflect.ValueOf(structPtr)
	p := reflect.ValueOf(fieldPtr)
	if s.Kind() != reflect.Pointer || p.Kind() != reflect.Pointer {
		return Field{}, fmt.Errorf("pluginapi.FieldName: want two pointers, got %T and %T", structPtr, fieldPtr)
	}
	for _, f := range FieldsOf(s.Type()) {
		fv := s.Elem().FieldByIndex(f.index)
		if fv.Addr().Pointer() == p.Pointer() && fv.Type() == p.Elem().Type() {
			return f, nil
		}
	}
	return Field{}, fmt.Errorf("pluginapi.FieldName: %T is not a wire field of %T", fieldPtr, structPtr)
}
