package provider

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// decode fills v (a pointer to a struct with json tags) from a property map,
// secrets unwrapped. Unknown values decode as zero values; check
// props.ContainsUnknowns() first where that matters.
func decode(props resource.PropertyMap, v any) error {
	b, err := json.Marshal(plain(resource.NewObjectProperty(props)))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode properties: %w", err)
	}
	return nil
}

// encode turns v (a struct with json tags) into a property map.
func encode(v any) (resource.PropertyMap, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return resource.NewPropertyMapFromMap(m), nil
}

// plain is v as plain Go values, secrets and known outputs unwrapped,
// unknowns as nil.
func plain(v resource.PropertyValue) any {
	switch {
	case v.IsComputed():
		return nil
	case v.IsSecret():
		return plain(v.SecretValue().Element)
	case v.IsOutput():
		if !v.OutputValue().Known {
			return nil
		}
		return plain(v.OutputValue().Element)
	case v.IsObject():
		m := map[string]any{}
		for k, e := range v.ObjectValue() {
			m[string(k)] = plain(e)
		}
		return m
	case v.IsArray():
		a := []any{}
		for _, e := range v.ArrayValue() {
			a = append(a, plain(e))
		}
		return a
	}
	return v.Mappable()
}

// unknownKeys lists the top-level keys whose values are not known yet (at
// preview, inputs that come from resources still to be created).
func unknownKeys(props resource.PropertyMap) map[string]bool {
	out := map[string]bool{}
	for k, v := range props {
		if v.ContainsUnknowns() {
			out[string(k)] = true
		}
	}
	return out
}
