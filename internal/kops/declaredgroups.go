package kops

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/kopscalico/kopscalico/internal/config"
)

// declared, with the list: each declared group created when missing, else
// its declared fields set and every other field kept.
func (r *igRewrite) declared(d Desired) error {
	for _, decl := range d.InstanceGroups {
		i := slices.IndexFunc(r.all, func(g *instanceGroup) bool { return g.name == decl.Name })
		if i < 0 {
			g := newInstanceGroup(newGroupObject(d.Name, decl.Name))
			g.created = true
			if _, err := declaredFields(g, decl, d.Zones); err != nil {
				return err
			}
			r.add(g)
			r.changef("instancegroup %s: created (%s)", g.name, describeDeclared(decl))
			continue
		}
		g := r.all[i]
		if g.role != "Node" {
			return fmt.Errorf("%s declares %s, which is a %s group of kops cluster %s: the list drives Node groups only; rename the declared group",
				config.FullKey(config.KeyInstanceGroups), decl.Name, g.role, d.Name)
		}
		changes, err := declaredFields(g, decl, d.Zones)
		if err != nil {
			return err
		}
		for _, c := range changes {
			r.changef("instancegroup %s: %s", g.name, c)
			g.changed = true
		}
	}
	return nil
}

// removals: a group this stack declared (DeclaredAnnotation) and no longer
// declares is deleted when allowInstanceGroupRemoval names it, else refused.
func (r *igRewrite) removals(d Desired) error {
	var refused []string
	for _, g := range r.all {
		if g.declaredMark() == "" || r.declaredNames[g.name] {
			continue
		}
		if !slices.Contains(d.AllowInstanceGroupRemoval, g.name) {
			refused = append(refused, g.name)
			continue
		}
		r.deletes = append(r.deletes, g.name)
		r.changef("instancegroup %s: deleted (named in %s)", g.name, config.FullKey(config.KeyAllowGroupRemoval))
	}
	if len(refused) > 0 {
		return fmt.Errorf("%[1]s no longer declares instance group(s) %[2]s of kops cluster %[3]s, which this stack declared: deleting a group terminates its nodes; "+
			"to delete them add %[2]s to %[4]s, or declare them again in %[1]s",
			config.FullKey(config.KeyInstanceGroups), strings.Join(refused, ","), d.Name, config.FullKey(config.KeyAllowGroupRemoval))
	}
	return nil
}

// newGroupObject is a new InstanceGroup of a cluster, as `kops create
// instancegroup` starts one; kops fills the image at `update cluster`.
func newGroupObject(cluster, name string) map[string]any {
	return map[string]any{
		"apiVersion": "kops.k8s.io/v1alpha2",
		"kind":       "InstanceGroup",
		"metadata": map[string]any{
			"name":   name,
			"labels": map[string]any{"kops.k8s.io/cluster": cluster},
		},
		"spec": map[string]any{
			"role":       "Node",
			"nodeLabels": map[string]any{igLabel: name},
		},
	}
}

// declaredFields sets the fields the list declares on g, removes those it
// leaves unset, marks g as declared, and says what changed.
func declaredFields(g *instanceGroup, decl config.InstanceGroup, clusterZones []string) ([]string, error) {
	zones := decl.Zones
	if len(zones) == 0 {
		zones = clusterZones
	}
	labels := map[string]string{}
	for k, v := range decl.NodeLabels {
		labels[k] = v
	}
	if old, ok := g.spec["nodeLabels"].(map[string]any); ok {
		if own, ok := old[igLabel].(string); ok {
			labels[igLabel] = own // kops's own label, kept as kops set it
		}
	}
	rolling, _ := g.spec["rollingUpdate"].(map[string]any)
	rollingWant := map[string]any{}
	for k, v := range rolling {
		if k != "maxSurge" && k != "maxUnavailable" {
			rollingWant[k] = v
		}
	}
	for k, v := range map[string]config.IntOrPercent{"maxSurge": decl.MaxSurge, "maxUnavailable": decl.MaxUnavailable} {
		if n, ok := v.Int(); ok {
			rollingWant[k] = n
		} else if v != "" {
			rollingWant[k] = string(v)
		}
	}
	var mixed any
	if p := decl.MixedInstancesPolicy; p != nil {
		m := map[string]any{"instances": p.Instances}
		if p.OnDemandBase != nil {
			m["onDemandBase"] = *p.OnDemandBase
		}
		if p.OnDemandAboveBase != nil {
			m["onDemandAboveBase"] = *p.OnDemandAboveBase
		}
		if p.SpotAllocationStrategy != "" {
			m["spotAllocationStrategy"] = p.SpotAllocationStrategy
		}
		mixed = m
	}
	want := []struct {
		field string
		v     any
	}{
		{"machineType", decl.MachineType},
		{"minSize", decl.MinSize},
		{"maxSize", decl.MaxSize},
		{"subnets", zones},
		{"maxPrice", orNil(decl.MaxPrice != "", decl.MaxPrice)},
		{"mixedInstancesPolicy", mixed},
		{"nodeLabels", orNil(len(labels) > 0, labels)},
		{"taints", orNil(len(decl.Taints) > 0, decl.Taints)},
		{"rollingUpdate", orNil(len(rollingWant) > 0, rollingWant)},
	}
	var changes []string
	for _, w := range want {
		v, err := asYAMLValue(w.v)
		if err != nil {
			return nil, fmt.Errorf("instance group %s: %s: %w", decl.Name, w.field, err)
		}
		old, had := g.spec[w.field]
		if reflect.DeepEqual(old, v) || !had && v == nil {
			continue
		}
		changes = append(changes, fmt.Sprintf("%s %s -> %s", w.field, show(old), show(v)))
		if v == nil {
			delete(g.spec, w.field)
		} else {
			g.spec[w.field] = v
		}
	}
	if g.declaredMark() == "" {
		meta, _ := g.obj["metadata"].(map[string]any)
		annotations, _ := meta["annotations"].(map[string]any)
		if annotations == nil {
			annotations = map[string]any{}
			meta["annotations"] = annotations
		}
		annotations[DeclaredAnnotation] = config.KeyInstanceGroups
		changes = append(changes, fmt.Sprintf("metadata.annotations[%s]: %s", DeclaredAnnotation, config.KeyInstanceGroups))
	}
	return changes, nil
}

func orNil(ok bool, v any) any {
	if !ok {
		return nil
	}
	return v
}

// asYAMLValue is v as parsed YAML holds it (numbers float64, maps
// map[string]any), so it compares with what kops printed.
func asYAMLValue(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

func show(v any) string {
	if v == nil {
		return "(unset)"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// describeDeclared is a declared group in one line, for the change log.
func describeDeclared(g config.InstanceGroup) string {
	return fmt.Sprintf("%s %s", g.MachineType, sizeRange(g.MinSize, g.MaxSize))
}
