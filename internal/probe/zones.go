package probe

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Zones counts the cluster's nodes by their ZoneLabel, as the API server
// lists them when the verdicts are read; "" counts the nodes without one.
type Zones map[string]int

// CountZones counts nodes by zone.
func CountZones(nodes []corev1.Node) Zones {
	z := Zones{}
	for _, n := range nodes {
		z[n.Labels[ZoneLabel]]++
	}
	return z
}

// labelled are the zones some node carries, sorted.
func (z Zones) labelled() []string {
	var out []string
	for zone, n := range z {
		if zone != "" && n > 0 {
			out = append(out, zone)
		}
	}
	sort.Strings(out)
	return out
}

// String is "us-east-1a: 2, us-east-1b: 1", and the unlabelled nodes.
func (z Zones) String() string {
	var parts []string
	for _, zone := range z.labelled() {
		parts = append(parts, fmt.Sprintf("%s: %d", zone, z[zone]))
	}
	if n := z[""]; n > 0 {
		parts = append(parts, fmt.Sprintf("no %s label: %d", ZoneLabel, n))
	}
	return strings.Join(parts, ", ")
}

// Statement says, from the nodes as read (readErr when they could not be),
// whether the probes crossed subnets: only with nodes in two zones or more,
// every node labelled, and the probes placed by zone (placed), does each
// cross-zone probe run in another zone (subnet) than its target.
func (z Zones) Statement(placed bool, readErr error) string {
	zones := z.labelled()
	total := 0
	for _, n := range z {
		total += n
	}
	switch {
	case readErr != nil:
		return fmt.Sprintf("the nodes' zones were not read (%v): the table does not say whether any probe crossed a subnet", readErr)
	case total == 0:
		return "no node listed: the table does not say whether any probe crossed a subnet"
	case len(zones) < 2:
		where := "no zone"
		if len(zones) == 1 {
			where = "one zone, " + zones[0]
		}
		return fmt.Sprintf("%s, in %s (%s): no probe crossed a subnet, so neither cross-subnet encapsulation nor the source/destination check path is proven", nodes(total), where, z)
	case z[""] > 0:
		return fmt.Sprintf("%s in %d zones (%s): a probe on a node without a zone label may have crossed no subnet", nodes(total), len(zones), z)
	case !placed:
		return fmt.Sprintf("%s in %d zones (%s), but the probes are not placed by zone (the config lists fewer than two zones): they may have crossed no subnet", nodes(total), len(zones), z)
	}
	return fmt.Sprintf("%s in %d zones (%s): each cross-zone probe ran in another zone than its target, across subnets (required pod anti-affinity), each same-zone probe within its target's", nodes(total), len(zones), z)
}

func nodes(n int) string {
	if n == 1 {
		return "1 node"
	}
	return fmt.Sprintf("%d nodes", n)
}

// Placed says whether the probes are pinned by zone (Place on two zones).
func Placed(probes []Probe) bool {
	for _, p := range probes {
		if p.Placement != AnyZone {
			return true
		}
	}
	return false
}
