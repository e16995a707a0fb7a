package kops

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

// GroupRoll is one instance group a roll replaces, and why.
type GroupRoll struct {
	Name    string   `json:"name"`
	Role    string   `json:"role"`
	Reasons []string `json:"reasons"`
}

// RollPlan is the groups kops will roll, in kops's order
// (pkg/instancegroups/rollingupdate.go: bastions, control plane, API
// servers, nodes), predicted without running kops.
type RollPlan struct {
	Groups []GroupRoll
}

// Names are the planned groups' names, in roll order.
func (p RollPlan) Names() []string {
	out := make([]string, len(p.Groups))
	for i, g := range p.Groups {
		out[i] = g.Name
	}
	return out
}

// Has reports whether the plan rolls the group.
func (p RollPlan) Has(name string) bool {
	for _, g := range p.Groups {
		if g.Name == name {
			return true
		}
	}
	return false
}

// Lines are the plan as the preview prints it, one group a line.
func (p RollPlan) Lines() []string {
	out := make([]string, len(p.Groups))
	for i, g := range p.Groups {
		out[i] = fmt.Sprintf("%s (%s): %s", g.Name, g.Role, strings.Join(g.Reasons, "; "))
	}
	return out
}

// NeedsUpdateReason is why a group an earlier run left unrolled (planned by
// a run that stopped before its roll, or listed by kops beyond the plan) is
// in the plan.
const NeedsUpdateReason = "an earlier up left it to roll (planned or listed by kops as NeedsUpdate, not rolled)"

// groupFieldsOutsideTheLaunchTemplate are the InstanceGroup spec fields kops
// 1.36 writes to the autoscaling group, or reads only while rolling, never
// to the launch template or the nodeup config: changing them replaces no
// instance (pkg/model/awsmodel/autoscalinggroup.go: sizes, subnets and the
// mixed-instances policy are the ASG's; rollingUpdate is read by
// pkg/instancegroups/settings.go). Every other field of an instance group
// reaches its launch template (machineType, image, maxPrice, volumes) or its
// tags (nodeLabels and taints, pkg/model/context.go CloudTagsForInstanceGroup).
var groupFieldsOutsideTheLaunchTemplate = []string{"minSize", "maxSize", "subnets", "rollingUpdate", "mixedInstancesPolicy"}

// PredictRoll says which instance groups kops will roll once the desired
// cluster d is applied to the spec and instance groups kops printed
// (liveSpec, liveIGs), and why: an instance needs an update when its launch
// template changed (upup/pkg/fi/cloudup/awsup/aws_cloud.go buildCloudInstance),
// which the fields of the nodeup config (pkg/apis/nodeup/config.go NewConfig:
// the Kubernetes version, the networking provider, not Calico's pool modes)
// and the group's own launch-template fields change. needsUpdate are groups
// an earlier run left to roll (Outcome.NeedsUpdate). Groups the update
// creates or deletes are not rolled.
func PredictRoll(liveSpec, liveIGs []byte, d Desired, needsUpdate []string) (RollPlan, error) {
	if len(liveSpec) == 0 || len(SplitDocuments(liveIGs)) == 0 {
		return RollPlan{}, nil
	}
	clusterWide, err := nodeConfigChanges(liveSpec, d)
	if err != nil {
		return RollPlan{}, err
	}
	igc, err := ReconcileInstanceGroups(liveIGs, d)
	if err != nil {
		return RollPlan{}, err
	}
	rewritten := map[string]*instanceGroup{}
	for _, doc := range SplitDocuments(igc.YAML) {
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return RollPlan{}, fmt.Errorf("parse rewritten instance groups: %w", err)
		}
		g := newInstanceGroup(obj)
		rewritten[g.name] = g
	}
	live, err := parseInstanceGroups(liveIGs, d)
	if err != nil {
		return RollPlan{}, err
	}
	var plan RollPlan
	for _, g := range live.all {
		if slices.Contains(igc.Delete, g.name) {
			continue
		}
		reasons := append([]string(nil), clusterWide...)
		if after, ok := rewritten[g.name]; ok {
			reasons = append(reasons, launchTemplateChanges(g.spec, after.spec)...)
		}
		if slices.Contains(needsUpdate, g.name) {
			reasons = append(reasons, NeedsUpdateReason)
		}
		if len(reasons) > 0 {
			plan.Groups = append(plan.Groups, GroupRoll{Name: g.name, Role: g.role, Reasons: reasons})
		}
	}
	sort.SliceStable(plan.Groups, func(i, j int) bool {
		a, b := rollOrder(plan.Groups[i].Role), rollOrder(plan.Groups[j].Role)
		if a != b {
			return a < b
		}
		return plan.Groups[i].Name < plan.Groups[j].Name
	})
	return plan, nil
}

// rollOrder is a role's place in kops's roll.
func rollOrder(role string) int {
	switch role {
	case "Bastion":
		return 0
	case "Master", "ControlPlane":
		return 1
	case "APIServer":
		return 2
	}
	return 3
}

// nodeConfigChanges are the changes the spec's conversion makes that reach
// every group's nodeup config: the Kubernetes version, and the networking
// provider and fields outside its options (Calico's pool modes and
// awsSrcDstCheck are the addon's, applied without a roll; only
// wireguardEnabled reaches the nodes).
func nodeConfigChanges(liveSpec []byte, d Desired) ([]string, error) {
	_, before, err := parseClusterEnvelope(liveSpec, d.Name)
	if err != nil {
		return nil, err
	}
	conv, err := ConvertClusterSpec(liveSpec, d)
	if err != nil || !conv.Changed() {
		return nil, err
	}
	_, after, err := parseClusterEnvelope(conv.YAML, d.Name)
	if err != nil {
		return nil, err
	}
	var out []string
	if a, b := fmt.Sprint(before["kubernetesVersion"]), fmt.Sprint(after["kubernetesVersion"]); a != b {
		out = append(out, fmt.Sprintf("kubernetesVersion %s -> %s", a, b))
	}
	nb, _ := before["networking"].(map[string]any)
	na, _ := after["networking"].(map[string]any)
	if a, b := strings.Join(providersIn(nb), ","), strings.Join(providersIn(na), ","); a != b {
		out = append(out, fmt.Sprintf("networking %s -> %s", a, b))
	} else if a, b := NodeNetworking(nb), NodeNetworking(na); !reflect.DeepEqual(a, b) {
		out = append(out, "networking "+compact(a, b))
	}
	return out, nil
}

// NodeNetworking is the part of spec.networking the nodes are configured
// with: the fields that select no provider, which provider, and Calico's
// wireguardEnabled (pkg/apis/nodeup/config.go NewConfig).
func NodeNetworking(networking map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range networking {
		if !networkingProviders[k] {
			out[k] = v
			continue
		}
		opts := map[string]any{}
		if m, ok := v.(map[string]any); ok && k == "calico" && m["wireguardEnabled"] != nil {
			opts["wireguardEnabled"] = m["wireguardEnabled"]
		}
		out[k] = opts
	}
	return out
}

// launchTemplateChanges are the fields of an instance group's spec that
// change its launch template, from before to after.
func launchTemplateChanges(before, after map[string]any) []string {
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var out []string
	for _, k := range sortedKeys(keys) {
		if slices.Contains(groupFieldsOutsideTheLaunchTemplate, k) || reflect.DeepEqual(before[k], after[k]) {
			continue
		}
		// With a mixed-instances policy the spot price is the ASG's
		// (autoscalinggroup.go: MixedSpotMaxPrice), not the template's.
		if k == "maxPrice" && after["mixedInstancesPolicy"] != nil {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s -> %s", k, showValue(before[k]), showValue(after[k])))
	}
	return out
}

// showValue is a field's value on one line: a string as itself, anything
// else as show writes it.
func showValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return show(v)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// RollOptions are the roll's flags config sets (kopscalico:
// rollingUpdateDrainTimeout, rollingUpdateValidateCount); zero keeps kops's
// default.
type RollOptions struct {
	DrainTimeout  time.Duration
	ValidateCount int
}

// adminMargin is how much longer than the roll's bound its credential lives.
const adminMargin = 5 * time.Minute

// AdminLifetime is the admin credential a roll asks for from kops 1.32
// (--admin; kops's own default is 18h): the roll's bound, which the roll
// cannot outlive (the Manager stops it), plus a margin.
func AdminLifetime(t Timeouts) time.Duration {
	return t.WithDefaults().RollingUpdate + adminMargin
}

// RollFlags are the options of every `rolling-update cluster --yes` of
// cluster d.
func RollFlags(d Desired, t Timeouts, o RollOptions) []string {
	var flags []string
	if o.DrainTimeout > 0 {
		flags = append(flags, "--drain-timeout", o.DrainTimeout.String())
	}
	if o.ValidateCount > 0 {
		flags = append(flags, "--validate-count", strconv.Itoa(o.ValidateCount))
	}
	if d.KopsVersion.AtLeast(kopsrelease.RollingUpdateAdminLifetime) {
		flags = append(flags, "--admin="+AdminLifetime(t).String())
	}
	return flags
}

func (m *Manager) rollFlags(d Desired) []string { return RollFlags(d, m.Timeouts, m.Roll) }

// Describe is the plan as the preview shows it: the kops command that rolls
// it (`reconcile cluster` for an upgrade from kops 1.31, upgrade.go), then
// one line a group; "" for no roll.
func (p RollPlan) Describe(d Desired, t Timeouts, o RollOptions) string {
	if len(p.Groups) == 0 {
		return ""
	}
	command := fmt.Sprintf("kops rolling-update cluster --instance-group %s %s", strings.Join(p.Names(), ","), strings.Join(RollFlags(d, t, o), " "))
	if p.upgrade() && d.KopsVersion.AtLeast(kopsrelease.ReconcileCluster) {
		command = "kops reconcile cluster: control plane, then nodes"
	} else if p.upgrade() {
		command = fmt.Sprintf("kops rolling-update cluster --instance-group-roles %s first, then the nodes", controlPlaneRoles(d.KopsVersion))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "kops cluster %s: the update rolls %d instance group(s), in kops's order (%s):", d.Name, len(p.Groups), strings.TrimSpace(command))
	for _, l := range p.Lines() {
		b.WriteString("\n  " + l)
	}
	return b.String()
}

// upgrade reports whether the plan moves Kubernetes to another version.
func (p RollPlan) upgrade() bool {
	for _, g := range p.Groups {
		for _, r := range g.Reasons {
			if strings.HasPrefix(r, "kubernetesVersion ") {
				return true
			}
		}
	}
	return false
}

// ShortCredentialWarning is what a roll of groups on kops v risks when v
// mints rolling-update's credential for one hour and takes no lifetime
// (kops 1.31); "" otherwise.
func ShortCredentialWarning(v kopsrelease.Version, groups int, t Timeouts) string {
	if groups == 0 || !v.AtLeast(kopsrelease.MintedAdminCredential) || v.AtLeast(kopsrelease.RollingUpdateAdminLifetime) {
		return ""
	}
	return fmt.Sprintf("kops %s's rolling-update reaches the cluster with an admin credential it mints for one hour (cmd/kops/util/factory.go): "+
		"a roll of %d instance group(s) that lasts longer fails when it expires (%s allows %s). kops %s takes --admin=<lifetime>, which the program sizes to the roll: "+
		"pin %s %s or later, or roll fewer groups per up",
		v.MinorString(), groups, config.FullKey(config.KeyRollingUpdateTimeout), t.WithDefaults().RollingUpdate,
		kopsrelease.RollingUpdateAdminLifetime.MinorString(), config.FullKey(config.KeyKopsVersion), kopsrelease.RollingUpdateAdminLifetime.MinorString())
}

// warnShortCredential warns before a roll that kops's credential may not
// outlast.
func (m *Manager) warnShortCredential(d Desired, groups int) {
	if w := ShortCredentialWarning(d.KopsVersion, groups, m.Timeouts); w != "" {
		m.warnf("%s", w)
	}
}
