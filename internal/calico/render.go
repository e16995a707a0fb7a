package calico

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

//go:embed calico-update.yaml.tmpl
var updateTemplate string

// TemplateName names the embedded manifest in errors and decisions.
const TemplateName = "calico-update.yaml (Calico 2.4.1, embedded)"

var tmpl = template.Must(template.New("calico-update.yaml").Option("missingkey=error").Parse(updateTemplate))

// IPIP modes of Calico 2.x's CALICO_IPV4POOL_IPIP.
const (
	IPIPCrossSubnet = "cross-subnet"
	IPIPAlways      = "always"
	IPIPOff         = "off"
)

// Params are the values the tutorial hard-coded.
type Params struct {
	ClusterName string       // kops cluster name: etcd endpoints are etcd-<member>.internal.<ClusterName>
	Region      string       // AWS region, for the k8s-ec2-srcdst controller
	PodCIDR     netip.Prefix // Calico IPv4 pool, e.g. 100.96.0.0/11
	IPIPMode    string       // IPIPCrossSubnet, IPIPAlways or IPIPOff
	// EtcdMembers are the kops etcd member names ("a", "b", "c"); empty
	// means []string{"a"}, kops's single control plane in the first zone
	// suffixed a. See EtcdMemberNames.
	EtcdMembers []string
}

var (
	dnsName    = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	region     = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$`)
	memberName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
)

func (p Params) validate() error {
	var problems []string
	if !dnsName.MatchString(p.ClusterName) {
		problems = append(problems, fmt.Sprintf("cluster name %q is not a DNS name", p.ClusterName))
	}
	if !region.MatchString(p.Region) {
		problems = append(problems, fmt.Sprintf("region %q is not an AWS region", p.Region))
	}
	switch p.IPIPMode {
	case IPIPCrossSubnet, IPIPAlways, IPIPOff:
	default:
		problems = append(problems, fmt.Sprintf("IPIP mode %q: want cross-subnet, always or off", p.IPIPMode))
	}
	for _, m := range p.EtcdMembers {
		if !memberName.MatchString(m) {
			problems = append(problems, fmt.Sprintf("etcd member name %q is not a DNS label", m))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("render %s: %s", TemplateName, strings.Join(problems, "; "))
	}
	return nil
}

// Render fills the tutorial's manifest with the cluster's values and returns
// its objects in manifest order, ready for deployObject.
func Render(p Params) ([]map[string]any, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if len(p.EtcdMembers) == 0 {
		p.EtcdMembers = []string{"a"}
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("render %s: %w", TemplateName, err)
	}
	return ParseManifest(TemplateName, buf.Bytes())
}

// IPIPModeFor maps the stack's encapsulation to the manifest's IPIP mode.
// Calico 2.4 has no VXLAN, so the manifest cannot serve a vxlan cluster.
func IPIPModeFor(encapsulation config.Encapsulation) (string, error) {
	if encapsulation == config.EncapVXLAN {
		return "", fmt.Errorf("the Calico 2.4 upgrade manifest only does IP-in-IP; encapsulation vxlan needs kops's own Calico (kops %s or later)", kopsrelease.CalicoModes.MinorString())
	}
	return IPIPCrossSubnet, nil
}

// EtcdMemberNames returns the etcd member names `kops create cluster` gives a
// cluster with controlPlaneCount control-plane instances spread round-robin
// over zones (kops 1.7 cmd/kops/create_cluster.go: instance groups
// master-<zone>[-<n>], then trimCommonPrefix of the names without "master-").
// For zones us-east-1a,b,c and 3 instances: a, b, c.
func EtcdMemberNames(zones []string, controlPlaneCount int) []string {
	if len(zones) == 0 {
		return nil
	}
	if controlPlaneCount < 1 {
		controlPlaneCount = 1
	}
	names := make([]string, controlPlaneCount)
	for i := range names {
		names[i] = zones[i%len(zones)]
		if controlPlaneCount > len(zones) {
			names[i] += "-" + strconv.Itoa(1+i/len(zones))
		}
	}
	return trimCommonPrefix(names)
}

// trimCommonPrefix is kops's: drop the first character while every name
// shares it and the first name is longer than one character.
func trimCommonPrefix(names []string) []string {
	for len(names) != 0 && len(names[0]) > 1 {
		prefix := names[0][:1]
		for _, n := range names {
			if !strings.HasPrefix(n, prefix) {
				return names
			}
		}
		for i := range names {
			names[i] = strings.TrimPrefix(names[i], prefix)
		}
	}
	return names
}
