package provider

import (
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// changedInputs are the inputs of r whose value differs between olds and
// news, or is not known yet in news, by name; those whose change alone
// updates nothing (nodiff) are left out.
func changedInputs(r pluginapi.Resource, olds, news resource.PropertyMap) []pluginapi.Field {
	var out []pluginapi.Field
	for _, f := range r.Inputs {
		key := resource.PropertyKey(f.Name)
		if f.NoDiff || (!news[key].ContainsUnknowns() && olds[key].DeepEquals(news[key])) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// detailedDiff builds a DiffResponse one changed property at a time.
type detailedDiff struct {
	changed, replace []resource.PropertyKey
	detailed         map[string]plugin.PropertyDiff
}

// add records a change of key: an update, or a replacement; inputDiff says
// whether the inputs differ (else the recorded state does).
func (d *detailedDiff) add(key string, replace, inputDiff bool) {
	if _, ok := d.detailed[key]; ok {
		return
	}
	if d.detailed == nil {
		d.detailed = map[string]plugin.PropertyDiff{}
	}
	kind := plugin.DiffUpdate
	if replace {
		kind = plugin.DiffUpdateReplace
		d.replace = append(d.replace, resource.PropertyKey(key))
	}
	d.changed = append(d.changed, resource.PropertyKey(key))
	d.detailed[key] = plugin.PropertyDiff{Kind: kind, InputDiff: inputDiff}
}

func (d *detailedDiff) response() plugin.DiffResponse {
	if len(d.changed) == 0 {
		return plugin.DiffResponse{Changes: plugin.DiffNone}
	}
	return plugin.DiffResponse{Changes: plugin.DiffSome, ChangedKeys: d.changed, ReplaceKeys: d.replace, DetailedDiff: d.detailed}
}

// updateDiff is the diff of a resource that every changed input updates in
// place.
func updateDiff(r pluginapi.Resource, olds, news resource.PropertyMap) plugin.DiffResponse {
	var d detailedDiff
	for _, f := range changedInputs(r, olds, news) {
		d.add(f.Name, false, true)
	}
	return d.response()
}

// previewState is the state a preview shows: the state fields that are
// inputs from inputs, the others from old (an update's recorded state), and
// the outputs the operation will produce unknown (old is nil for a create).
func previewState(r pluginapi.Resource, inputs, old resource.PropertyMap) resource.PropertyMap {
	out := resource.PropertyMap{}
	for _, f := range r.State {
		key := resource.PropertyKey(f.Name)
		_, isInput := r.Input(f.Name)
		switch {
		case f.Unknown || (f.UnknownOnCreate && old == nil):
			out[key] = resource.MakeComputed(resource.NewStringProperty(""))
		case isInput:
			if v, ok := inputs[key]; ok {
				out[key] = v
			}
		default:
			if v, ok := old[key]; ok {
				out[key] = v
			}
		}
	}
	return out
}
