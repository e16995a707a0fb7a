package sgcheck

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/sgcheck/sgchecktest"
)

// The kops-shaped fake and its fixture (sgchecktest) under short names.
const (
	testCluster = "calico.example.com"
	mastersID   = sgchecktest.MastersID
	nodesID     = sgchecktest.NodesID
)

type fakeEC2 = sgchecktest.FakeEC2

var (
	perm = sgchecktest.Perm
	pair = sgchecktest.Pair
	cidr = sgchecktest.CIDR
)

func completeKopsCluster() *fakeEC2 { return sgchecktest.KopsCluster(testCluster) }

func ipip() Input {
	return Input{ClusterName: testCluster, Encapsulation: "ipip", AWSSrcDstCheck: "Disable"}
}
func vxlan() Input {
	return Input{ClusterName: testCluster, Encapsulation: "vxlan", AWSSrcDstCheck: "Disable"}
}

func mustCheck(t *testing.T, f *fakeEC2, in Input) Report {
	t.Helper()
	r, err := Check(context.Background(), f, in)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return r
}

func byID(t *testing.T, r Report, id string) Expectation {
	t.Helper()
	for _, e := range r.Expectations {
		if e.ID == id {
			return e
		}
	}
	t.Fatalf("no expectation %q in report:\n%s", id, r)
	return Expectation{}
}

func ids(es []Expectation) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func proto(p types.IpPermission) string { return aws.ToString(p.IpProtocol) }

func TestCompleteKopsClusterPasses(t *testing.T) {
	t.Parallel()
	for _, in := range []Input{ipip(), vxlan()} {
		t.Run(string(in.Encapsulation), func(t *testing.T) {
			f := completeKopsCluster()
			f.PageSize = 1 // every describe answer spans several pages
			r := mustCheck(t, f, in)
			if r.Failed() {
				t.Fatalf("complete kops cluster fails:\n%s", r)
			}
			want := []string{
				"group-control-plane", "group-nodes",
				"ipip-nodes-to-control-plane", "all-nodes-to-nodes", "all-control-plane-to-nodes",
			}
			mode := map[config.Encapsulation]string{config.EncapIPIP: "bgp", config.EncapVXLAN: "vxlan"}[in.Encapsulation]
			for _, dir := range []string{"nodes-to-nodes", "nodes-to-control-plane", "control-plane-to-nodes", "control-plane-to-control-plane"} {
				want = append(want, mode+"-"+dir)
			}
			want = append(want, "srcdst-check-disabled")
			if got := ids(r.Expectations); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("expectations = %v, want %v", got, want)
			}
			for _, e := range r.Expectations {
				if e.Source == "" || e.Skipped != "" {
					t.Errorf("%s: source %q skipped %q", e.ID, e.Source, e.Skipped)
				}
			}
			if g := byID(t, r, "ipip-nodes-to-control-plane").Group; g != "masters."+testCluster+" ("+mastersID+")" {
				t.Errorf("group = %q", g)
			}
			// 2 groups of this cluster, 3 running instances: paged one by one.
			if len(f.SecurityGroupCalls) != 2 || len(f.InstanceCalls) != 3 {
				t.Errorf("calls: %d DescribeSecurityGroups, %d DescribeInstances; want 2 and 3", len(f.SecurityGroupCalls), len(f.InstanceCalls))
			}
			if aws.ToString(f.SecurityGroupCalls[1].NextToken) != "1" || aws.ToString(f.InstanceCalls[2].NextToken) != "2" {
				t.Errorf("NextToken not passed on")
			}
		})
	}
}

func TestRequestsFilterByClusterTagNameAndState(t *testing.T) {
	t.Parallel()
	f := completeKopsCluster()
	mustCheck(t, f, ipip())
	sg := f.SecurityGroupCalls[0].Filters
	if len(sg) != 2 || aws.ToString(sg[0].Name) != "tag:KubernetesCluster" || sg[0].Values[0] != testCluster ||
		aws.ToString(sg[1].Name) != "group-name" || strings.Join(sg[1].Values, ",") != "masters."+testCluster+",nodes."+testCluster {
		t.Errorf("DescribeSecurityGroups filters = %+v", sg)
	}
	in := f.InstanceCalls[0].Filters
	if len(in) != 2 || aws.ToString(in[0].Name) != "tag:KubernetesCluster" || in[0].Values[0] != testCluster ||
		aws.ToString(in[1].Name) != "instance-state-name" || strings.Join(in[1].Values, ",") != "running" {
		t.Errorf("DescribeInstances filters = %+v", in)
	}
}

func TestIncompleteClustersNameWhatIsMissing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      Input
		break_  func(f *fakeEC2)
		missing []string          // ids expected to fail, exactly
		says    map[string]string // id -> text the Missing message must hold
	}{
		{
			name: "no IP-in-IP rule nodes to control plane",
			in:   ipip(),
			break_: func(f *fakeEC2) {
				f.RemovePermissions(mastersID, func(p types.IpPermission) bool { return proto(p) == "4" })
			},
			missing: []string{"ipip-nodes-to-control-plane"},
			says: map[string]string{"ipip-nodes-to-control-plane": "no ingress rule allows IP protocol 4 (IP-in-IP) from nodes." + testCluster + " (" + nodesID + ")" +
				"; from that source it allows only tcp 1-2379, tcp 2382-4000, tcp 4003-65535, udp 1-65535" +
				"; kops creates it as rule from-nodes." + testCluster + "-ingress-4-0to0-masters." + testCluster},
		},
		{
			name: "no all-traffic node to node",
			in:   ipip(),
			break_: func(f *fakeEC2) {
				f.Group(nodesID).IpPermissions[0].UserIdGroupPairs = []types.UserIdGroupPair{pair(mastersID)}
			},
			missing: []string{"all-nodes-to-nodes", "bgp-nodes-to-nodes"},
			says: map[string]string{
				"all-nodes-to-nodes": "no ingress rule allows all traffic from nodes." + testCluster,
				"bgp-nodes-to-nodes": "kops creates it as rule from-nodes." + testCluster + "-ingress-all-0to0-nodes." + testCluster,
			},
		},
		{
			name: "no all-traffic control plane to node, only a tcp range",
			in:   vxlan(),
			break_: func(f *fakeEC2) {
				g := f.Group(nodesID)
				g.IpPermissions[0].UserIdGroupPairs = []types.UserIdGroupPair{pair(nodesID)}
				g.IpPermissions = append(g.IpPermissions, perm("tcp", 1, 65535, []types.UserIdGroupPair{pair(mastersID)}))
			},
			missing: []string{"all-control-plane-to-nodes", "vxlan-control-plane-to-nodes"},
			says: map[string]string{
				"all-control-plane-to-nodes":   "from that source it allows only tcp 1-65535",
				"vxlan-control-plane-to-nodes": "no ingress rule allows udp 4789 from masters." + testCluster,
			},
		},
		{
			name: "BGP port cut out of the node to control plane tcp range",
			in:   ipip(),
			break_: func(f *fakeEC2) {
				f.RemovePermissions(mastersID, func(p types.IpPermission) bool { return proto(p) == "tcp" && aws.ToInt32(p.FromPort) == 1 })
				g := f.Group(mastersID)
				g.IpPermissions = append(g.IpPermissions,
					perm("tcp", 1, 178, []types.UserIdGroupPair{pair(nodesID)}),
					perm("tcp", 180, 2379, []types.UserIdGroupPair{pair(nodesID)}))
			},
			missing: []string{"bgp-nodes-to-control-plane"},
			says: map[string]string{"bgp-nodes-to-control-plane": "no ingress rule allows tcp 179 from nodes." + testCluster +
				" (" + nodesID + "); from that source it allows only protocol 4, tcp 2382-4000, tcp 4003-65535, udp 1-65535, tcp 1-178, tcp 180-2379" +
				"; kops creates it as rule from-nodes." + testCluster + "-ingress-tcp-1to2379-masters." + testCluster},
		},
		{
			name: "VXLAN port blocked node to control plane",
			in:   vxlan(),
			break_: func(f *fakeEC2) {
				f.RemovePermissions(mastersID, func(p types.IpPermission) bool { return proto(p) == "udp" })
			},
			missing: []string{"vxlan-nodes-to-control-plane"},
			says:    map[string]string{"vxlan-nodes-to-control-plane": "udp 4789 from nodes." + testCluster + " (" + nodesID + ")"},
		},
		{
			name: "BGP between control-plane members",
			in:   ipip(),
			break_: func(f *fakeEC2) {
				f.RemovePermissions(mastersID, func(p types.IpPermission) bool { return proto(p) == "-1" })
			},
			missing: []string{"bgp-control-plane-to-control-plane"},
			says:    map[string]string{"bgp-control-plane-to-control-plane": "from-masters." + testCluster + "-ingress-all-0to0-masters." + testCluster},
		},
		{
			name: "control-plane group missing",
			in:   ipip(),
			break_: func(f *fakeEC2) {
				f.Group(mastersID).GroupName = aws.String("custom-masters")
			},
			missing: []string{"group-control-plane", "ipip-nodes-to-control-plane", "all-control-plane-to-nodes",
				"bgp-nodes-to-control-plane", "bgp-control-plane-to-nodes", "bgp-control-plane-to-control-plane"},
			says: map[string]string{
				"group-control-plane":         "no security group named masters." + testCluster + " tagged KubernetesCluster=" + testCluster,
				"ipip-nodes-to-control-plane": "cannot check: security group masters." + testCluster + " not found",
				"all-control-plane-to-nodes":  "cannot check: source security group masters." + testCluster + " not found",
			},
		},
		{
			name: "group not tagged for the cluster",
			in:   ipip(),
			break_: func(f *fakeEC2) {
				f.Group(nodesID).Tags = nil
			},
			missing: []string{"group-nodes", "ipip-nodes-to-control-plane", "all-nodes-to-nodes", "all-control-plane-to-nodes",
				"bgp-nodes-to-nodes", "bgp-nodes-to-control-plane", "bgp-control-plane-to-nodes"},
			says: map[string]string{"group-nodes": "no security group named nodes." + testCluster},
		},
		{
			name: "two groups with the kops name",
			in:   ipip(),
			break_: func(f *fakeEC2) {
				dup := *f.Group(nodesID)
				dup.GroupId = aws.String("sg-0dup")
				f.Groups = append(f.Groups, dup)
			},
			missing: []string{"group-nodes", "ipip-nodes-to-control-plane", "all-nodes-to-nodes", "all-control-plane-to-nodes",
				"bgp-nodes-to-nodes", "bgp-nodes-to-control-plane", "bgp-control-plane-to-nodes"},
			says: map[string]string{"group-nodes": "2 groups named nodes." + testCluster + " are tagged KubernetesCluster=" + testCluster + " (" + nodesID + ", sg-0dup)"},
		},
		{
			name: "source/destination check left on",
			in:   ipip(),
			break_: func(f *fakeEC2) {
				f.Instances[2].NetworkInterfaces[0].SourceDestCheck = aws.Bool(true)
			},
			missing: []string{"srcdst-check-disabled"},
			says:    map[string]string{"srcdst-check-disabled": "source/destination check is on for 1 of 3 instances: i-0n000000000000002 (eni-0n000000000000002)"},
		},
		{
			name: "no running instance",
			in:   vxlan(),
			break_: func(f *fakeEC2) {
				for i := range f.Instances {
					f.Instances[i].State.Name = types.InstanceStateNameStopped
				}
			},
			missing: []string{"srcdst-check-disabled"},
			says:    map[string]string{"srcdst-check-disabled": "no running instances found"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := completeKopsCluster()
			tt.break_(f)
			r := mustCheck(t, f, tt.in)
			if !r.Failed() {
				t.Fatalf("report passes:\n%s", r)
			}
			if got := strings.Join(ids(r.Missing()), " "); got != strings.Join(tt.missing, " ") {
				t.Errorf("missing = %s\nwant      %s\n%s", got, strings.Join(tt.missing, " "), r)
			}
			for id, text := range tt.says {
				if e := byID(t, r, id); !strings.Contains(e.Missing, text) {
					t.Errorf("%s: Missing = %q\nwant it to contain %q", id, e.Missing, text)
				}
			}
			table := r.String()
			for _, e := range r.Missing() {
				if !strings.Contains(table, "MISSING  "+e.Name) {
					t.Errorf("table lacks a MISSING row for %q:\n%s", e.Name, table)
				}
			}
		})
	}
}

func TestAllTrafficAndCIDRRulesCover(t *testing.T) {
	t.Parallel()
	t.Run("all traffic from nodes covers IP-in-IP and BGP", func(t *testing.T) {
		f := completeKopsCluster()
		f.RemovePermissions(mastersID, func(p types.IpPermission) bool {
			return len(p.UserIdGroupPairs) > 0 && aws.ToString(p.UserIdGroupPairs[0].GroupId) == nodesID
		})
		g := f.Group(mastersID)
		g.IpPermissions = append(g.IpPermissions, perm("-1", 0, 0, []types.UserIdGroupPair{pair(nodesID)}))
		if r := mustCheck(t, f, ipip()); r.Failed() {
			t.Fatalf("all-traffic rule not accepted:\n%s", r)
		}
	})
	t.Run("IP-in-IP from a CIDR holding every node", func(t *testing.T) {
		f := completeKopsCluster()
		f.RemovePermissions(mastersID, func(p types.IpPermission) bool { return proto(p) == "4" })
		g := f.Group(mastersID)
		g.IpPermissions = append(g.IpPermissions, perm("4", 0, 0, nil, cidr("172.20.0.0/16")))
		if r := mustCheck(t, f, ipip()); r.Failed() {
			t.Fatalf("CIDR rule not accepted:\n%s", r)
		}
	})
	t.Run("IP-in-IP from a CIDR missing a node", func(t *testing.T) {
		f := completeKopsCluster()
		f.RemovePermissions(mastersID, func(p types.IpPermission) bool { return proto(p) == "4" })
		g := f.Group(mastersID)
		g.IpPermissions = append(g.IpPermissions, perm("4", 0, 0, nil, cidr("172.20.32.0/20")))
		r := mustCheck(t, f, ipip())
		e := byID(t, r, "ipip-nodes-to-control-plane")
		if e.OK || !strings.Contains(e.Missing, "172.20.32.0/20 does not hold i-0n000000000000002 172.20.64.20") {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("protocol by number", func(t *testing.T) {
		f := completeKopsCluster()
		for i, p := range f.Group(mastersID).IpPermissions {
			if proto(p) == "tcp" {
				f.Group(mastersID).IpPermissions[i].IpProtocol = aws.String("6")
			}
		}
		if r := mustCheck(t, f, ipip()); r.Failed() {
			t.Fatalf("protocol 6 not read as tcp:\n%s", r)
		}
	})
}

func TestSrcDstModes(t *testing.T) {
	t.Parallel()
	for _, mode := range []config.SrcDstCheck{config.SrcDstEnable, config.SrcDstDoNothing} {
		t.Run(string(mode), func(t *testing.T) {
			f := completeKopsCluster()
			for i := range f.Instances {
				f.Instances[i].NetworkInterfaces[0].SourceDestCheck = aws.Bool(true)
			}
			in := ipip()
			in.AWSSrcDstCheck = mode
			r := mustCheck(t, f, in)
			e := byID(t, r, "srcdst-check-disabled")
			if r.Failed() || !e.OK || !strings.Contains(e.Skipped, "awsSrcDstCheck is "+string(mode)) {
				t.Fatalf("got %+v\n%s", e, r)
			}
			if got := r.Summary()["srcdst-check-disabled"]; !strings.HasPrefix(got, "skipped: ") {
				t.Errorf("summary = %q", got)
			}
		})
	}
	t.Run("empty means kops's default Disable", func(t *testing.T) {
		f := completeKopsCluster()
		f.Instances[0].NetworkInterfaces[0].SourceDestCheck = aws.Bool(true)
		in := ipip()
		in.AWSSrcDstCheck = ""
		if e := byID(t, mustCheck(t, f, in), "srcdst-check-disabled"); e.OK {
			t.Fatalf("got %+v", e)
		}
	})
	t.Run("secondary interface is not Felix's business", func(t *testing.T) {
		f := completeKopsCluster()
		inst := &f.Instances[1]
		inst.NetworkInterfaces = append(inst.NetworkInterfaces, types.InstanceNetworkInterface{
			NetworkInterfaceId: aws.String("eni-second"), SourceDestCheck: aws.Bool(true),
			Attachment: &types.InstanceNetworkInterfaceAttachment{DeviceIndex: aws.Int32(1)},
		})
		if r := mustCheck(t, f, ipip()); r.Failed() {
			t.Fatalf("secondary ENI counted:\n%s", r)
		}
	})
	t.Run("instance attribute when no interface is listed", func(t *testing.T) {
		f := completeKopsCluster()
		f.Instances[1].NetworkInterfaces = nil
		f.Instances[1].SourceDestCheck = aws.Bool(true)
		e := byID(t, mustCheck(t, f, ipip()), "srcdst-check-disabled")
		if e.OK || !strings.Contains(e.Missing, "i-0n000000000000001 (instance attribute)") {
			t.Fatalf("got %+v", e)
		}
	})
}

func TestCheckErrors(t *testing.T) {
	t.Parallel()
	f := completeKopsCluster()
	f.Err = errors.New("UnauthorizedOperation: You are not authorized to perform this operation")
	_, err := Check(context.Background(), f, ipip())
	if err == nil || !strings.Contains(err.Error(), "describe security groups of cluster "+testCluster) || !errors.Is(err, f.Err) {
		t.Fatalf("err = %v", err)
	}
}

func TestReportRendering(t *testing.T) {
	t.Parallel()
	f := completeKopsCluster()
	f.RemovePermissions(mastersID, func(p types.IpPermission) bool { return proto(p) == "4" })
	r := mustCheck(t, f, ipip())
	s := r.String()
	if !strings.HasPrefix(s, "Calico security-group expectations for cluster "+testCluster+" (ipip): 10 checked, 1 missing\n") {
		t.Errorf("header: %q", s)
	}
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) != 12 || !strings.HasPrefix(lines[1], "STATUS") {
		t.Errorf("table has %d lines:\n%s", len(lines), s)
	}
	sum := r.Summary()
	if len(sum) != 10 || sum["all-nodes-to-nodes"] != "ok" ||
		!strings.HasPrefix(sum["ipip-nodes-to-control-plane"], "missing in masters."+testCluster+" ("+mastersID+"): no ingress rule allows IP protocol 4") {
		t.Errorf("summary = %v", sum)
	}
}

// An etcd-backed Calico (kops 1.7, or the Calico 2.4 upgrade manifest) needs
// nodes to reach etcd on the control plane: kops 1.7 opened tcp 1-4001, modern
// kops blocks 4001 (its tcp ranges are 1-2379, 2382-4000, 4003-65535).
func TestEtcdDatastoreExpectation(t *testing.T) {
	t.Parallel()
	in := ipip()
	in.EtcdDatastore = true

	// A kops 1.20+ cluster without the rule (what kops always makes) on a
	// kops 1.7-era checker: the rule is missing.
	modern := completeKopsCluster()
	r := mustCheck(t, modern, in)
	e := byID(t, r, "etcd-nodes-to-control-plane")
	if e.OK || !strings.Contains(e.Missing, "no ingress rule allows tcp 4001 from nodes."+testCluster) ||
		!strings.Contains(e.Missing, "kops 1.20+ blocks etcd from nodes") || strings.Contains(e.Missing, "%!") {
		t.Fatalf("modern kops: %+v", e)
	}
	if len(r.Missing()) != 1 {
		t.Errorf("missing = %v", ids(r.Missing()))
	}

	// Told that kops blocks etcd, the checker reports why instead of a
	// missing rule, and the report does not fail on it.
	in.KopsBlocksEtcd = true
	r = mustCheck(t, modern, in)
	e = byID(t, r, "etcd-nodes-to-control-plane")
	if e.Missing != "" || e.Blocked == "" || !strings.Contains(e.Blocked, "never opens TCP 4001") || r.Failed() || len(r.BlockedByKops()) != 1 {
		t.Fatalf("kops 1.20+: %+v (failed %v)", e, r.Failed())
	}
	if !strings.HasPrefix(r.Summary()["etcd-nodes-to-control-plane"], "blocked by kops: ") || !strings.Contains(r.String(), "BLOCKED-BY-KOPS") {
		t.Errorf("summary %q; table:\n%s", r.Summary()["etcd-nodes-to-control-plane"], r)
	}
	in.KopsBlocksEtcd = false

	kops17 := completeKopsCluster()
	for i, p := range kops17.Group(mastersID).IpPermissions {
		if proto(p) == "tcp" && aws.ToInt32(p.FromPort) == 2382 {
			// kops 1.7 with Calico: node-to-master-tcp-1-4001 instead of 1-2379 and 2382-4000.
			kops17.Group(mastersID).IpPermissions[i] = perm("tcp", 1, 4001, []types.UserIdGroupPair{pair(nodesID)})
		}
	}
	if r := mustCheck(t, kops17, in); r.Failed() {
		t.Fatalf("kops 1.7 cluster fails:\n%s", r)
	}
	if r := mustCheck(t, completeKopsCluster(), ipip()); len(r.Expectations) != 10 {
		t.Errorf("without an etcd datastore there is no etcd expectation: %v", ids(r.Expectations))
	}
}
