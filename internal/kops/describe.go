package kops

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/internal/config"
)

// Live is what a cluster's spec and instance groups say about the fields
// the program sets: refresh shows drift in these terms.
type Live struct {
	Name              string
	Region            string
	Zones             []string
	DNSZone           string
	ControlPlaneCount int
	NodeCount         int    // of the shorthand's groups (IsShorthandGroup)
	ControlPlaneSize  string // "" when the control-plane groups differ
	NodeSize          string // "" when the shorthand's groups differ
	KubernetesVersion string
	SSHAccess         config.AccessList
	AdminAccess       config.AccessList
	// Encapsulation is "ipip" or "vxlan" for Calico in cross-subnet mode,
	// else what runs instead, e.g. "kubenet" or "calico (ipipMode Always)".
	Encapsulation  string
	AWSSrcDstCheck string
	Networking     string // spec.networking as YAML
	Owner          string // the stack that marked the cluster, "" for none
}

// OwnerAnnotation marks the cluster spec with the stack that owns the
// cluster, so a second stack with the same cluster name is refused.
const OwnerAnnotation = "kopscalico.io/owner"

// Describe reads a cluster as `kops get cluster` and `kops get
// instancegroups` print it.
func Describe(obs Observed) (Live, error) {
	var obj map[string]any
	if err := yaml.Unmarshal(obs.Spec, &obj); err != nil || obj == nil {
		return Live{}, fmt.Errorf("parse kops cluster spec: %v", err)
	}
	meta, _ := obj["metadata"].(map[string]any)
	spec, _ := obj["spec"].(map[string]any)
	var l Live
	l.Name, _ = meta["name"].(string)
	annotations, _ := meta["annotations"].(map[string]any)
	l.Owner, _ = annotations[OwnerAnnotation].(string)
	l.DNSZone, _ = spec["dnsZone"].(string)
	l.KubernetesVersion, _ = spec["kubernetesVersion"].(string)
	var err error
	if l.SSHAccess, err = accessList(spec, "sshAccess"); err != nil {
		return Live{}, err
	}
	if l.AdminAccess, err = accessList(spec, "kubernetesApiAccess"); err != nil {
		return Live{}, err
	}
	subnets, _ := spec["subnets"].([]any)
	zones := map[string]bool{}
	for _, s := range subnets {
		sub, _ := s.(map[string]any)
		if z, _ := sub["zone"].(string); z != "" && !zones[z] {
			zones[z] = true
			l.Zones = append(l.Zones, z)
		}
	}
	sort.Strings(l.Zones)
	if len(l.Zones) > 0 {
		// An AWS zone is its region plus a letter (us-east-1a).
		l.Region = strings.TrimRight(l.Zones[0], "abcdefghijklmnopqrstuvwxyz")
	}
	networking, _ := spec["networking"].(map[string]any)
	if b, err := yaml.Marshal(networking); err == nil {
		l.Networking = string(b)
	}
	l.Encapsulation, l.AWSSrcDstCheck = describeNetworking(networking)

	cpSizes, nodeSizes := map[string]bool{}, map[string]bool{}
	for _, doc := range SplitDocuments(obs.InstanceGroups) {
		var ig map[string]any
		if err := yaml.Unmarshal(doc, &ig); err != nil {
			return Live{}, fmt.Errorf("parse kops instance groups: %w", err)
		}
		if kind, _ := ig["kind"].(string); kind != "InstanceGroup" {
			continue
		}
		igSpec, _ := ig["spec"].(map[string]any)
		role, _ := igSpec["role"].(string)
		size, _ := igSpec["machineType"].(string)
		switch {
		case isControlPlaneRole(role):
			l.ControlPlaneCount += intOf(igSpec["minSize"])
			cpSizes[size] = true
		case role == "Node" && IsShorthandGroup(objectName(ig), toStrings(igSpec["subnets"])):
			l.NodeCount += intOf(igSpec["minSize"])
			nodeSizes[size] = true
		}
	}
	l.ControlPlaneSize, l.NodeSize = only(cpSizes), only(nodeSizes)
	return l, nil
}

// accessList reads an access list of the spec: kops holds CIDRs and AWS
// prefix lists there, as config does.
func accessList(spec map[string]any, field string) (config.AccessList, error) {
	out := config.AccessList{}
	for _, s := range toStrings(spec[field]) {
		a, err := config.ParseAccess(s)
		if err != nil {
			return nil, fmt.Errorf("kops cluster spec: spec.%s entry %q %v", field, s, err)
		}
		out = append(out, a)
	}
	return out, nil
}

// describeNetworking names the networking in the terms of the desired
// cluster: the encapsulation of Calico cross-subnet, or what runs instead.
func describeNetworking(networking map[string]any) (encapsulation, srcDst string) {
	providers := providersIn(networking)
	calico, isCalico := networking["calico"].(map[string]any)
	if !isCalico || len(providers) != 1 {
		return strings.Join(providers, ","), ""
	}
	srcDst, _ = calico["awsSrcDstCheck"].(string)
	mode, _ := calico["encapsulationMode"].(string)
	if cross, _ := calico["crossSubnet"].(bool); cross && mode == "" {
		return "ipip", srcDst // before kops 1.22
	}
	switch {
	case mode == "ipip" && calico["ipipMode"] == "CrossSubnet":
		return "ipip", srcDst
	case mode == "vxlan" && calico["vxlanMode"] == "CrossSubnet":
		return "vxlan", srcDst
	}
	return fmt.Sprintf("calico (encapsulationMode %v, ipipMode %v, vxlanMode %v)", calico["encapsulationMode"], calico["ipipMode"], calico["vxlanMode"]), srcDst
}

func objectName(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	return name
}

func only(set map[string]bool) string {
	if len(set) != 1 {
		return ""
	}
	for k := range set {
		return k
	}
	return ""
}

// MarkOwner sets the owner annotation on a Cluster object.
func MarkOwner(spec []byte, owner string) ([]byte, error) {
	var obj map[string]any
	if err := yaml.Unmarshal(spec, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("parse kops cluster spec: %v", err)
	}
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		obj["metadata"] = meta
	}
	annotations, _ := meta["annotations"].(map[string]any)
	if annotations == nil {
		annotations = map[string]any{}
		meta["annotations"] = annotations
	}
	annotations[OwnerAnnotation] = owner
	return yaml.Marshal(obj)
}
