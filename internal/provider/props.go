package provider

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

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
	values := pluginapi.Plain(props)
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
