package provider

import (
	"encoding/json"
	"errors"
	"sort"
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

// checks collects a Check's failures, each on the input a field of args
// holds (a pointer into the wire struct names it), and none on an input not
// known yet.
type checks struct {
	args     any
	unknown  map[string]bool
	failures []plugin.CheckFailure
}

func newChecks(args any, news resource.PropertyMap) *checks {
	return &checks{args: args, unknown: unknownKeys(news)}
}

func (c *checks) name(field any) string { return wireName(c.args, field) }

// known reports whether the field's input is known (at preview, one that
// comes from a resource still to be made is not).
func (c *checks) known(field any) bool { return !c.unknown[c.name(field)] }

// fail records err, if any, on the field's input, unless it is not known.
func (c *checks) fail(field any, err error) {
	if err != nil && c.known(field) {
		c.failures = append(c.failures, checkFailure(c.name(field), err))
	}
}

// response answers the Check: news as they are, the failures by input.
func (c *checks) response(news resource.PropertyMap) plugin.CheckResponse {
	sort.SliceStable(c.failures, func(i, j int) bool { return c.failures[i].Property < c.failures[j].Property })
	return plugin.CheckResponse{Properties: news, Failures: c.failures}
}

// wireName is the wire name of a field (pointers to a wire struct and to
// one of its fields).
func wireName(structPtr, fieldPtr any) string {
	f, err := pluginapi.FieldName(structPtr, fieldPtr)
	if err != nil {
		panic(err) // a field of another struct: a bug here, not bad input
	}
	return f.Name
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
