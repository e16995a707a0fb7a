package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// InstanceGroup is one Node instance group the stack declares
// (kopscalico:instanceGroups), in the terms of kops's InstanceGroupSpec
// (pkg/apis/kops/v1alpha2/instancegroup.go). A group the list does not name
// is never rewritten.
type InstanceGroup struct {
	Name        string `json:"name"`
	Role        string `json:"role,omitempty"` // "Node", the only role the list drives
	MachineType string `json:"machineType"`
	MinSize     int    `json:"minSize"`
	MaxSize     int    `json:"maxSize"` // above minSize: a cluster-autoscaler's range
	// Zones are the group's subnets, zones of kopscalico:zones; empty: all.
	Zones []string `json:"zones,omitempty"`
	// MaxPrice makes the group spot instances at this hourly bid (kops's maxPrice).
	MaxPrice             string                `json:"maxPrice,omitempty"`
	MixedInstancesPolicy *MixedInstancesPolicy `json:"mixedInstancesPolicy,omitempty"`
	NodeLabels           map[string]string     `json:"nodeLabels,omitempty"`
	Taints               []string              `json:"taints,omitempty"` // key[=value]:Effect
	// MaxSurge and MaxUnavailable are the group's rollingUpdate, a count or a percentage.
	MaxSurge       IntOrPercent `json:"maxSurge,omitempty"`
	MaxUnavailable IntOrPercent `json:"maxUnavailable,omitempty"`
}

// MixedInstancesPolicy is kops's mixedInstancesPolicy: several instance
// types, and how many on-demand instances before spot ones.
type MixedInstancesPolicy struct {
	Instances              []string `json:"instances"`
	OnDemandBase           *int     `json:"onDemandBase,omitempty"`
	OnDemandAboveBase      *int     `json:"onDemandAboveBase,omitempty"` // a percentage
	SpotAllocationStrategy string   `json:"spotAllocationStrategy,omitempty"`
}

// IntOrPercent is a count ("1") or a percentage ("25%"), written either way
// in the stack file, as Kubernetes's IntOrString.
type IntOrPercent string

// UnmarshalJSON reads a number or a string.
func (v *IntOrPercent) UnmarshalJSON(b []byte) error {
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*v = IntOrPercent(n.String())
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a count or a percentage such as 1 or 25%%")
	}
	*v = IntOrPercent(s)
	return nil
}

// Int is the count, and false for a percentage.
func (v IntOrPercent) Int() (int, bool) {
	n, err := strconv.Atoi(string(v))
	return n, err == nil
}

// MaxInstanceGroups bounds the list: a typo guard like MaxNodeCount.
const MaxInstanceGroups = 20

// kops's spot allocation strategies (pkg/apis/kops/instancegroup.go).
var spotStrategies = []string{"lowest-price", "diversified", "capacity-optimized", "capacity-optimized-prioritized", "price-capacity-optimized"}

var (
	taintPattern = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?(=[-A-Za-z0-9_.]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$`)
	labelKey     = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	labelValue   = regexp.MustCompile(`^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)
	price        = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
	percent      = regexp.MustCompile(`^[0-9]{1,3}%$`)
)

// instanceGroupLabel is the node label kops sets to the group's name itself.
const instanceGroupLabel = "kops.k8s.io/instancegroup"

// instanceGroups reads the list: a JSON array of objects (how Pulumi hands
// a structured value to the program), every field known. nil when unset.
func (r *reader) instanceGroups(key string) []InstanceGroup {
	v := r.str(key, "")
	if v == "" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(v)))
	dec.DisallowUnknownFields()
	var groups []InstanceGroup
	if err := dec.Decode(&groups); err != nil {
		r.errs = append(r.errs, keyErr(key, v, "must be a list of instance groups, each with name, machineType, minSize and maxSize, and optionally role, zones, maxPrice, mixedInstancesPolicy, nodeLabels, taints, maxSurge, maxUnavailable (%v); see the README", err))
		return nil
	}
	if groups == nil {
		groups = []InstanceGroup{}
	}
	return groups
}

// instanceGroupsRule: the list replaces the shorthand (nodeCount and
// nodeSize then stay at their defaults), each group is one kops would
// accept, and a group named for removal is not declared too.
func instanceGroupsRule(c Cluster) []error {
	var errs []error
	add := func(format string, g InstanceGroup, args ...any) {
		errs = append(errs, keyErr(KeyInstanceGroups, g.Name, format, args...))
	}
	if c.InstanceGroups != nil {
		for _, k := range []struct {
			key, v, def string
		}{{KeyNodeCount, strconv.Itoa(c.NodeCount), strconv.Itoa(DefaultNodeCount)}, {KeyNodeSize, c.NodeSize, DefaultInstanceSize}} {
			if k.v != k.def {
				errs = append(errs, keyErr(k.key, k.v, "is the shorthand for one Node group per zone, and %s is set: the list replaces it; declare the groups' sizes in the list and unset %s", FullKey(KeyInstanceGroups), FullKey(k.key)))
			}
		}
		if len(c.InstanceGroups) == 0 {
			errs = append(errs, keyErr(KeyInstanceGroups, "[]", "must declare at least one Node group, or be unset to use %s and %s", FullKey(KeyNodeCount), FullKey(KeyNodeSize)))
		}
		if len(c.InstanceGroups) > MaxInstanceGroups {
			errs = append(errs, keyErr(KeyInstanceGroups, strconv.Itoa(len(c.InstanceGroups))+" groups", "must declare at most %d groups (a typo guard: every group is billed and rolled)", MaxInstanceGroups))
		}
	}
	seen := map[string]bool{}
	for _, g := range c.InstanceGroups {
		if !dnsLabel.MatchString(g.Name) {
			add("name must be a DNS label (a-z, 0-9 and '-', at most 63 characters), as kops names groups, e.g. gpu-nodes", g)
		}
		if seen[g.Name] {
			add("is declared twice: group names are unique in a cluster", g)
		}
		seen[g.Name] = true
		if g.Role != "" && g.Role != "Node" {
			add("role %q: the list drives Node groups only; the control plane is %s and %s", g, g.Role, FullKey(KeyControlPlaneCount), FullKey(KeyControlPlaneSize))
		}
		if !instanceType.MatchString(g.MachineType) {
			add("machineType %q must be an EC2 instance type such as t3.medium or g5.xlarge", g, g.MachineType)
		}
		if g.MinSize < 0 || g.MaxSize < g.MinSize || g.MaxSize < 1 || g.MaxSize > MaxNodeCount {
			add("minSize %d, maxSize %d: need 0 <= minSize <= maxSize, 1 <= maxSize <= %d (maxSize above minSize leaves the count to a cluster-autoscaler)", g, g.MinSize, g.MaxSize, MaxNodeCount)
		}
		for _, z := range g.Zones {
			if !slices.Contains(c.Zones, z) {
				add("zone %q is not one of %s (%s): a group runs in the cluster's subnets", g, z, FullKey(KeyZones), strings.Join(c.Zones, ","))
			}
		}
		if g.MaxPrice != "" && !price.MatchString(g.MaxPrice) {
			add("maxPrice %q must be an hourly price in dollars such as \"0.05\" (spot instances bid up to it)", g, g.MaxPrice)
		}
		if p := g.MixedInstancesPolicy; p != nil {
			errs = append(errs, mixedPolicyRule(g, p)...)
		}
		for k, v := range g.NodeLabels {
			if k == instanceGroupLabel {
				add("nodeLabels: %s is set by kops to the group's name; leave it out", g, k)
			} else if !labelKey.MatchString(k) || !labelValue.MatchString(v) {
				add("nodeLabels: %s=%s is not a Kubernetes label (key [prefix/]name, value up to 63 of A-Z a-z 0-9 - _ .)", g, k, v)
			}
		}
		for _, t := range g.Taints {
			if !taintPattern.MatchString(t) {
				add("taint %q must be key[=value]:Effect with Effect NoSchedule, PreferNoSchedule or NoExecute, e.g. nvidia.com/gpu=present:NoSchedule", g, t)
			}
		}
		for _, f := range []struct {
			name string
			v    IntOrPercent
		}{{"maxSurge", g.MaxSurge}, {"maxUnavailable", g.MaxUnavailable}} {
			if n, ok := f.v.Int(); f.v != "" && (ok && n < 0 || !ok && !percent.MatchString(string(f.v))) {
				add("%s %q must be a count such as 1 or a percentage such as 25%%", g, f.name, f.v)
			}
		}
	}
	for _, name := range c.AllowGroupRemoval {
		if seen[name] {
			errs = append(errs, keyErr(KeyAllowGroupRemoval, name, "is declared in %s too: a group is either kept or removed; drop it from one of the two", FullKey(KeyInstanceGroups)))
		}
	}
	return errs
}

func mixedPolicyRule(g InstanceGroup, p *MixedInstancesPolicy) []error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, keyErr(KeyInstanceGroups, g.Name, "mixedInstancesPolicy: "+format, args...))
	}
	if len(p.Instances) == 0 {
		add("instances must list the EC2 instance types to mix, e.g. [m6i.large, m5.large]")
	}
	for _, it := range p.Instances {
		if !instanceType.MatchString(it) {
			add("instance %q must be an EC2 instance type such as m6i.large", it)
		}
	}
	if p.OnDemandBase != nil && *p.OnDemandBase < 0 {
		add("onDemandBase %d must be 0 or more", *p.OnDemandBase)
	}
	if p.OnDemandAboveBase != nil && (*p.OnDemandAboveBase < 0 || *p.OnDemandAboveBase > 100) {
		add("onDemandAboveBase %d must be a percentage, 0 to 100 (0: all spot above the base)", *p.OnDemandAboveBase)
	}
	if s := p.SpotAllocationStrategy; s != "" && !slices.Contains(spotStrategies, s) {
		add("spotAllocationStrategy %q must be one of %s", s, strings.Join(spotStrategies, ", "))
	}
	return errs
}

// removalRule: the names allowed for removal are group names.
func removalRule(names []string) []error {
	var errs []error
	for _, n := range names {
		if !dnsLabel.MatchString(n) {
			errs = append(errs, keyErr(KeyAllowGroupRemoval, n, "must list instance group names (DNS labels), e.g. gpu-nodes"))
		}
	}
	return errs
}
