package sgcheck

import (
	"fmt"

	"github.com/kopscalico/kopscalico/internal/config"
)

// Traffic kinds an expectation asks for. IP protocol numbers are the ones EC2
// uses in IpPermission.IpProtocol ("-1" means every protocol).
const (
	protoAll  = "-1"
	protoTCP  = "tcp"
	protoUDP  = "udp"
	protoIPIP = "4" // IP-in-IP, IP protocol 4
)

// Well-known ports Calico needs between cluster members.
const (
	portBGP   = 179  // BIRD's BGP sessions (ipip mode); kops wellknownports.BGP
	portVXLAN = 4789 // Calico's VXLAN (vxlan mode); kops removes unknown rules on it
	portEtcd  = 4001 // kops's main etcd client port, Calico's datastore before Calico 3 on kops
)

// Roles of the two kops security groups. kops names them after the cluster:
// pkg/model/names.go SecurityGroupName: "masters.<cluster>" for the control
// plane (still "masters" on kops 1.28+, for the control-plane and apiserver
// roles alike) and "nodes.<cluster>" for nodes. Both carry the tag
// KubernetesCluster=<cluster> (pkg/model/context.go CloudTags,
// awsup.TagClusterName).
type role string

const (
	controlPlane role = "masters"
	nodes        role = "nodes"
)

func (r role) groupName(cluster string) string { return string(r) + "." + cluster }

func (r role) label() string {
	if r == controlPlane {
		return "control plane"
	}
	return "nodes"
}

// traffic is what must be allowed: a protocol and, for tcp/udp, one port.
type traffic struct {
	proto string
	port  int32 // only for tcp and udp
}

func (t traffic) String() string {
	switch t.proto {
	case protoAll:
		return "all traffic"
	case protoTCP, protoUDP:
		return fmt.Sprintf("%s %d", t.proto, t.port)
	case protoIPIP:
		return "IP protocol 4 (IP-in-IP)"
	default:
		return "IP protocol " + t.proto
	}
}

// ruleExpectation is one ingress permission the kops groups must carry:
// traffic from the members of group from into the members of group to.
type ruleExpectation struct {
	id      string
	name    string
	from    role
	to      role
	traffic traffic
	// kopsRule is the name kops gives the security-group rule that carries
	// this traffic on a correct cluster (the rule's Name tag), %s = cluster.
	kopsRule string
	// hint is what to do when the rule is missing; empty: let kops restore it.
	hint string
	// source says where in kops the rule comes from.
	source string
	// blockedByKops, when set, says why kops from 1.20 never opens this
	// traffic: such an expectation is reported, not checked.
	blockedByKops string
}

// Where the expectations come from. All of them are in kops
// pkg/model/awsmodel/firewall.go (FirewallModelBuilder), rule names from its
// generateName: from-<src>-ingress-<proto>-<from>to<to>-<dst>.
const (
	srcNodeToMasterBlock = "kops pkg/model/awsmodel/firewall.go applyNodeToMasterBlockSpecificPorts"
	srcNodeRules         = "kops pkg/model/awsmodel/firewall.go buildNodeRules (all-node-to-node)"
	srcMasterToNode      = "kops pkg/model/awsmodel/firewall.go buildMasterRules (all-master-to-node)"
	srcMasterToMaster    = "kops pkg/model/awsmodel/firewall.go buildMasterRules (all-master-to-master)"
	srcEtcdLegacy        = "kops pkg/model/firewall.go applyNodeToMasterBlockSpecificPorts before kops 1.20 (\"Calico needs to access etcd\"; kops 1.7: node-to-master-tcp-1-4001)"
	srcSrcDst            = "kops networking.projectcalico.org addon template (FELIX_AWSSRCDSTCHECK, default Disable); kops 1.7: k8s-ec2-srcdst controller"
)

// ruleExpectations lists, for an encapsulation mode, the ingress permissions
// Calico cross-subnet needs and a correct kops cluster has.
//
//   - IP-in-IP nodes -> control plane: kops adds a protocol-4 rule
//     (node-to-master-protocol-ipip) whenever spec.networking.calico is set,
//     whatever the encapsulation, because node -> master traffic is otherwise
//     limited to tcp/udp port ranges.
//   - all traffic nodes -> nodes and control plane -> nodes: kops's
//     all-node-to-node and all-master-to-node rules (IpProtocol -1, source the
//     group itself / the masters group).
//   - ipip mode runs BIRD, so TCP 179 (BGP) must flow between every pair of
//     members. nodes -> nodes, control plane -> nodes and control plane ->
//     control plane are covered by the all-traffic rules; nodes -> control
//     plane by the tcp 1-2379 range kops opens (it only blocks the etcd ports
//     2380-2381 and 4001-4002, plus leases/cilium etcd ports when present).
//   - vxlan mode sends UDP 4789 between every pair; nodes -> control plane is
//     covered by kops's udp 1-65535 rule.
//   - an etcd-backed Calico (kops 1.7's own, or the Calico 2.4 upgrade
//     manifest) runs calico-node on every node against kops's etcd on the
//     control plane, TCP 4001. kops before 1.20 opened it from nodes when
//     Calico was on (kops 1.7: tcp 1-4001); kops 1.20+ blocks it and removes
//     other rules on that port.
func ruleExpectations(encapsulation config.Encapsulation, etcdDatastore bool) []ruleExpectation {
	exps := []ruleExpectation{
		{
			id: "ipip-nodes-to-control-plane", name: "IP-in-IP from nodes to control plane",
			from: nodes, to: controlPlane, traffic: traffic{proto: protoIPIP},
			kopsRule: "from-nodes.%[1]s-ingress-4-0to0-masters.%[1]s", source: srcNodeToMasterBlock,
		},
		{
			id: "all-nodes-to-nodes", name: "All traffic from nodes to nodes",
			from: nodes, to: nodes, traffic: traffic{proto: protoAll},
			kopsRule: "from-nodes.%[1]s-ingress-all-0to0-nodes.%[1]s", source: srcNodeRules,
		},
		{
			id: "all-control-plane-to-nodes", name: "All traffic from control plane to nodes",
			from: controlPlane, to: nodes, traffic: traffic{proto: protoAll},
			kopsRule: "from-masters.%[1]s-ingress-all-0to0-nodes.%[1]s", source: srcMasterToNode,
		},
	}
	if etcdDatastore {
		exps = append(exps, ruleExpectation{
			id: "etcd-nodes-to-control-plane", name: "Calico's etcd (TCP 4001) from nodes to control plane",
			from: nodes, to: controlPlane, traffic: traffic{proto: protoTCP, port: portEtcd},
			kopsRule: "node-to-master-tcp-1-4001, in kops 1.7 to 1.19 with Calico",
			hint:     "kops 1.20+ blocks etcd from nodes and removes other rules on port 4001, so an etcd-backed Calico cannot work there: use kops's own Calico",
			source:   srcEtcdLegacy,
			blockedByKops: "kops 1.20+ never opens TCP 4001 from nodes to the control plane (pkg/model/awsmodel/firewall.go applyNodeToMasterBlockSpecificPorts leaves 2380-2381 and 4001-4002 out) and removes rules added there by hand, " +
				"so an etcd-backed Calico (the legacy upgrade manifest) cannot reach its datastore: use kops's own Calico (" + config.FullKey(config.KeyCalicoManifest) + "=auto or never)",
		})
	}
	var t traffic
	var id, what, nodeToMasterRule string
	switch encapsulation {
	case config.EncapVXLAN:
		t, id, what = traffic{proto: protoUDP, port: portVXLAN}, "vxlan", "VXLAN (UDP 4789)"
		nodeToMasterRule = "from-nodes.%[1]s-ingress-udp-1to65535-masters.%[1]s"
	default:
		t, id, what = traffic{proto: protoTCP, port: portBGP}, "bgp", "BGP (TCP 179)"
		nodeToMasterRule = "from-nodes.%[1]s-ingress-tcp-1to2379-masters.%[1]s"
	}
	exps = append(exps,
		ruleExpectation{
			id: id + "-nodes-to-nodes", name: what + " from nodes to nodes",
			from: nodes, to: nodes, traffic: t,
			kopsRule: "from-nodes.%[1]s-ingress-all-0to0-nodes.%[1]s", source: srcNodeRules,
		},
		ruleExpectation{
			id: id + "-nodes-to-control-plane", name: what + " from nodes to control plane",
			from: nodes, to: controlPlane, traffic: t,
			kopsRule: nodeToMasterRule, source: srcNodeToMasterBlock,
		},
		ruleExpectation{
			id: id + "-control-plane-to-nodes", name: what + " from control plane to nodes",
			from: controlPlane, to: nodes, traffic: t,
			kopsRule: "from-masters.%[1]s-ingress-all-0to0-nodes.%[1]s", source: srcMasterToNode,
		},
		ruleExpectation{
			id: id + "-control-plane-to-control-plane", name: what + " between control-plane members",
			from: controlPlane, to: controlPlane, traffic: t,
			kopsRule: "from-masters.%[1]s-ingress-all-0to0-masters.%[1]s", source: srcMasterToMaster,
		},
	)
	return exps
}
