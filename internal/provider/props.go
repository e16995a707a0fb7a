package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/config"
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

// checkFailure reports a problem on the property it belongs to: a
// *config.KeyError (the property is named after its key) gives its value and
// fix, any other error its text.
func checkFailure(property string, err error) plugin.CheckFailure {
	var ke *config.KeyError
	if errors.As(err, &ke) {
		return plugin.CheckFailure{Property: resource.PropertyKey(property), Reason: ke.Detail()}
	}
	return plugin.CheckFailure{Property: resource.PropertyKey(property), Reason: err.Error()}
}

// lookup answers config's rules from a property map, by property name:
// strings as they are, numbers and booleans as written, lists as JSON text,
// unknown and null values as unset.
func lookup(props resource.PropertyMap) config.Lookup {
	values, _ := plain(resource.NewObjectProperty(props)).(map[string]any)
	return func(key string) (string, bool) {
		switch v := values[key].(type) {
		case nil:
			return "", false
		case string:
			return v, true
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64), true
		case bool:
			return strconv.FormatBool(v), true
		default:
			b, err := json.Marshal(v)
			return string(b), err == nil
		}
	}
}
