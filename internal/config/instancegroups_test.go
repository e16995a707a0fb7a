package config

import (
	"reflect"
	"strings"
	"testing"
)

const gpuAndSpot = `[
 {"name":"gpu","machineType":"g5.xlarge","minSize":0,"maxSize":3,"zones":["us-east-1a"],
  "nodeLabels":{"nvidia.com/gpu":"present"},"taints":["nvidia.com/gpu=present:NoSchedule"],"maxSurge":1,"maxUnavailable":"25%"},
 {"name":"spot","role":"Node","machineType":"m6i.large","minSize":2,"maxSize":6,"maxPrice":"0.05",
  "mixedInstancesPolicy":{"instances":["m6i.large","m5.large"],"onDemandBase":0,"onDemandAboveBase":0,"spotAllocationStrategy":"price-capacity-optimized"}}]`

func TestInstanceGroupsRead(t *testing.T) {
	t.Parallel()
	m := good()
	m[KeyInstanceGroups] = gpuAndSpot
	m[KeyAllowGroupRemoval] = "old-gpu,old-spot"
	c, err := parse(t, "dev", m)
	if err != nil {
		t.Fatal(err)
	}
	gs := c.Cluster.InstanceGroups
	if len(gs) != 2 || gs[0].Name != "gpu" || gs[0].MaxSize != 3 || gs[0].MaxSurge != "1" || gs[0].MaxUnavailable != "25%" ||
		gs[1].MixedInstancesPolicy == nil || *gs[1].MixedInstancesPolicy.OnDemandBase != 0 || gs[1].MaxPrice != "0.05" {
		t.Errorf("groups %+v", gs)
	}
	if !reflect.DeepEqual(c.Cluster.AllowGroupRemoval, []string{"old-gpu", "old-spot"}) {
		t.Errorf("removal %v", c.Cluster.AllowGroupRemoval)
	}
	// Unset: the shorthand, no list.
	c, err = parse(t, "dev", good())
	if err != nil || c.Cluster.InstanceGroups != nil {
		t.Errorf("unset list read as %v (err %v)", c.Cluster.InstanceGroups, err)
	}
}

func TestInstanceGroupsRefused(t *testing.T) {
	t.Parallel()
	one := func(fields string) string {
		return `[{"name":"g","machineType":"m6i.large","minSize":1,"maxSize":2` + fields + `}]`
	}
	for _, c := range []struct {
		name    string
		set     map[string]string
		wantKey string
		wantFix string
	}{
		{"not a list of objects", map[string]string{KeyInstanceGroups: `["gpu"]`}, KeyInstanceGroups, "must be a list of instance groups"},
		{"unknown field", map[string]string{KeyInstanceGroups: one(`,"spot":true`)}, KeyInstanceGroups, `unknown field "spot"`},
		{"empty list", map[string]string{KeyInstanceGroups: `[]`}, KeyInstanceGroups, "at least one Node group"},
		{"with nodeCount", map[string]string{KeyInstanceGroups: one(""), KeyNodeCount: "3"}, KeyNodeCount, "the list replaces it"},
		{"with nodeSize", map[string]string{KeyInstanceGroups: one(""), KeyNodeSize: "m6i.large"}, KeyNodeSize, "kopscalico:instanceGroups is set"},
		{"bad name", map[string]string{KeyInstanceGroups: `[{"name":"GPU","machineType":"m6i.large","minSize":1,"maxSize":1}]`}, KeyInstanceGroups, "DNS label"},
		{"twice", map[string]string{KeyInstanceGroups: `[{"name":"g","machineType":"m6i.large","minSize":1,"maxSize":1},{"name":"g","machineType":"m6i.large","minSize":1,"maxSize":1}]`}, KeyInstanceGroups, "declared twice"},
		{"control plane role", map[string]string{KeyInstanceGroups: one(`,"role":"ControlPlane"`)}, KeyInstanceGroups, "Node groups only"},
		{"bad machine type", map[string]string{KeyInstanceGroups: `[{"name":"g","machineType":"large","minSize":1,"maxSize":1}]`}, KeyInstanceGroups, "EC2 instance type"},
		{"min above max", map[string]string{KeyInstanceGroups: `[{"name":"g","machineType":"m6i.large","minSize":3,"maxSize":2}]`}, KeyInstanceGroups, "minSize <= maxSize"},
		{"max zero", map[string]string{KeyInstanceGroups: `[{"name":"g","machineType":"m6i.large","minSize":0,"maxSize":0}]`}, KeyInstanceGroups, "1 <= maxSize"},
		{"zone outside", map[string]string{KeyInstanceGroups: one(`,"zones":["us-east-1c"]`)}, KeyInstanceGroups, `zone "us-east-1c" is not one of kopscalico:zones`},
		{"bad price", map[string]string{KeyInstanceGroups: one(`,"maxPrice":"cheap"`)}, KeyInstanceGroups, "hourly price"},
		{"mixed without instances", map[string]string{KeyInstanceGroups: one(`,"mixedInstancesPolicy":{"instances":[]}`)}, KeyInstanceGroups, "instances must list"},
		{"mixed bad strategy", map[string]string{KeyInstanceGroups: one(`,"mixedInstancesPolicy":{"instances":["m5.large"],"spotAllocationStrategy":"cheapest"}`)}, KeyInstanceGroups, "spotAllocationStrategy"},
		{"mixed above 100%", map[string]string{KeyInstanceGroups: one(`,"mixedInstancesPolicy":{"instances":["m5.large"],"onDemandAboveBase":101}`)}, KeyInstanceGroups, "0 to 100"},
		{"kops's own label", map[string]string{KeyInstanceGroups: one(`,"nodeLabels":{"kops.k8s.io/instancegroup":"x"}`)}, KeyInstanceGroups, "set by kops"},
		{"bad label", map[string]string{KeyInstanceGroups: one(`,"nodeLabels":{"a b":"x"}`)}, KeyInstanceGroups, "not a Kubernetes label"},
		{"bad taint", map[string]string{KeyInstanceGroups: one(`,"taints":["gpu:Sometimes"]`)}, KeyInstanceGroups, "key[=value]:Effect"},
		{"bad surge", map[string]string{KeyInstanceGroups: one(`,"maxSurge":"lots"`)}, KeyInstanceGroups, "maxSurge"},
		{"negative unavailable", map[string]string{KeyInstanceGroups: one(`,"maxUnavailable":-1`)}, KeyInstanceGroups, "maxUnavailable"},
		{"removal of a declared group", map[string]string{KeyInstanceGroups: one(""), KeyAllowGroupRemoval: "g"}, KeyAllowGroupRemoval, "declared in kopscalico:instanceGroups too"},
		{"removal of a bad name", map[string]string{KeyAllowGroupRemoval: "Not_A_Name"}, KeyAllowGroupRemoval, "instance group names"},
	} {
		m := good()
		for k, v := range c.set {
			m[k] = v
		}
		_, err := parse(t, "dev", m)
		if err == nil || !strings.Contains(err.Error(), FullKey(c.wantKey)+" = ") || !strings.Contains(err.Error(), c.wantFix) {
			t.Errorf("%s: err = %v\nwant %s naming %q", c.name, err, FullKey(c.wantKey), c.wantFix)
		}
	}
}
