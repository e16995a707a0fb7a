package infra

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/sgcheck"
	"github.com/kopscalico/kopscalico/internal/sgcheck/sgchecktest"
)

func sgConfig(mode string) config.Config {
	return config.Config{
		Cluster:            config.Cluster{Manage: true, Name: "calico.dev.example.com", Region: "us-east-2"},
		Calico:             config.Calico{Encapsulation: config.EncapIPIP, AWSSrcDstCheck: "Disable", PodCIDR: "100.96.0.0/11"},
		SecurityGroupCheck: mode,
	}
}

// ec2Factory hands out fake, counting calls and remembering the region asked for.
type ec2Factory struct {
	fake    *sgchecktest.FakeEC2
	err     error
	calls   atomic.Int32
	regions []string
}

func (f *ec2Factory) new(_ context.Context, region string) (sgcheck.EC2API, error) {
	f.calls.Add(1)
	f.regions = append(f.regions, region)
	if f.err != nil {
		return nil, f.err
	}
	return f.fake, nil
}

type sgRun struct {
	summary map[string]string
	secret  bool
	err     error
}

// runSGCheck runs checkSecurityGroups under mocks. With wantSummary it waits
// for the output (which must then resolve: not a failing enforce run).
func runSGCheck(t *testing.T, cfg config.Config, factory *ec2Factory, dryRun, wantSummary bool) sgRun {
	t.Helper()
	var res sgRun
	dry := func(info *pulumi.RunInfo) { info.DryRun = dryRun }
	res.err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		// The cluster component's kubeconfig stands for "cluster ready": a secret.
		ready := pulumi.ToSecret(pulumi.String("apiVersion: v1\nkind: Config\n"))
		out, err := checkSecurityGroups(ctx, cfg, ready, factory.new)
		if err != nil {
			return err
		}
		// As the program does: an exported output that fails fails the run.
		ctx.Export(securityGroupCheckOutput, out)
		if wantSummary {
			res.summary = await[map[string]string](t, out)
			res.secret = pulumi.IsSecret(out)
		}
		return nil
	}, pulumi.WithMocks("kopscalico", "dev", &recorder{}), dry)
	return res
}

func TestSecurityGroupCheckOffAndPreviewMakeNoAWSCall(t *testing.T) {
	for _, tc := range []struct {
		mode   string
		dryRun bool
	}{{config.SGCheckOff, false}, {config.SGCheckEnforce, true}, {config.SGCheckWarn, true}} {
		f := &ec2Factory{fake: sgchecktest.KopsCluster("calico.dev.example.com")}
		r := runSGCheck(t, sgConfig(tc.mode), f, tc.dryRun, false)
		if r.err != nil {
			t.Errorf("%s dry-run=%v: %v", tc.mode, tc.dryRun, r.err)
		}
		if f.calls.Load() != 0 || f.fake.Calls() != 0 {
			t.Errorf("%s dry-run=%v: EC2 client made %d times, %d describe calls; want none", tc.mode, tc.dryRun, f.calls.Load(), f.fake.Calls())
		}
	}
}

func TestSecurityGroupCheckPassesOnCompleteCluster(t *testing.T) {
	f := &ec2Factory{fake: sgchecktest.KopsCluster("calico.dev.example.com")}
	r := runSGCheck(t, sgConfig(config.SGCheckEnforce), f, false, true)
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(f.regions) != 1 || f.regions[0] != "us-east-2" {
		t.Errorf("EC2 clients for regions %v, want [us-east-2]", f.regions)
	}
	if f.fake.Calls() == 0 {
		t.Fatalf("no describe call")
	}
	if len(r.summary) != 10 {
		t.Fatalf("summary = %v", r.summary)
	}
	for id, v := range r.summary {
		if v != "ok" {
			t.Errorf("%s = %q", id, v)
		}
	}
	if r.secret {
		t.Errorf("the summary is secret: it should not inherit the kubeconfig's secretness")
	}
}

func breakIPIP(f *sgchecktest.FakeEC2) {
	f.RemovePermissions(sgchecktest.MastersID, func(p types.IpPermission) bool { return aws.ToString(p.IpProtocol) == "4" })
}

func TestSecurityGroupCheckWarnReportsMissing(t *testing.T) {
	f := &ec2Factory{fake: sgchecktest.KopsCluster("calico.dev.example.com")}
	breakIPIP(f.fake)
	r := runSGCheck(t, sgConfig(config.SGCheckWarn), f, false, true)
	if r.err != nil {
		t.Fatalf("warn mode failed the run: %v", r.err)
	}
	got := r.summary["ipip-nodes-to-control-plane"]
	if !strings.HasPrefix(got, "missing in masters.calico.dev.example.com ("+sgchecktest.MastersID+"): no ingress rule allows IP protocol 4") {
		t.Errorf("summary entry = %q", got)
	}
	if r.summary["all-nodes-to-nodes"] != "ok" {
		t.Errorf("summary = %v", r.summary)
	}
}

func TestSecurityGroupCheckEnforceFailsUp(t *testing.T) {
	f := &ec2Factory{fake: sgchecktest.KopsCluster("calico.dev.example.com")}
	breakIPIP(f.fake)
	r := runSGCheck(t, sgConfig(config.SGCheckEnforce), f, false, false)
	if r.err == nil || !strings.Contains(r.err.Error(), "cluster calico.dev.example.com misses 1 of 10 expectations") ||
		!strings.Contains(r.err.Error(), "kopscalico:securityGroupCheck=warn") {
		t.Fatalf("err = %v", r.err)
	}
}

func TestSecurityGroupCheckAWSErrors(t *testing.T) {
	denied := errors.New("operation error EC2: DescribeSecurityGroups, UnauthorizedOperation")
	f := &ec2Factory{fake: sgchecktest.KopsCluster("calico.dev.example.com")}
	f.fake.Err = denied
	r := runSGCheck(t, sgConfig(config.SGCheckWarn), f, false, true)
	if r.err != nil || !strings.Contains(r.summary["error"], "UnauthorizedOperation") {
		t.Errorf("warn: err %v, summary %v", r.err, r.summary)
	}
	f = &ec2Factory{err: errors.New("no credentials")}
	r = runSGCheck(t, sgConfig(config.SGCheckEnforce), f, false, false)
	if r.err == nil || !strings.Contains(r.err.Error(), "security-group check: no credentials") {
		t.Errorf("enforce: err = %v", r.err)
	}
}

func TestSecurityGroupCheckExpectsEtcdForEtcdBackedCalico(t *testing.T) {
	tests := []struct {
		kops, mode, path string
		want             bool
	}{
		{"1.34", config.ManifestAuto, "", false},
		{"1.34", config.ManifestAlways, "", true}, // Calico 2.4 from the manifest
		{"1.7.1", config.ManifestAuto, "", true},
		{"1.7.1", config.ManifestNever, "", true}, // kops 1.7's own Calico 2.2
		{"1.7.1", config.ManifestAuto, "/tmp/calico.yaml", false},
		{"1.34", config.ManifestAuto, "/tmp/calico.yaml", false},
	}
	for _, tt := range tests {
		cfg := sgConfig(config.SGCheckWarn)
		cfg.Kops.Version, cfg.Calico.UpgradeManifest, cfg.Calico.ManifestPath = tt.kops, tt.mode, tt.path
		f := &ec2Factory{fake: sgchecktest.KopsCluster("calico.dev.example.com")}
		r := runSGCheck(t, cfg, f, false, true)
		if r.err != nil {
			t.Fatal(r.err)
		}
		_, has := r.summary["etcd-nodes-to-control-plane"]
		if has != tt.want {
			t.Errorf("kops %s, manifest %s %q: etcd expectation present = %v, want %v", tt.kops, tt.mode, tt.path, has, tt.want)
		}
		// The modern kops fixture blocks 4001 from nodes.
		if has && !strings.HasPrefix(r.summary["etcd-nodes-to-control-plane"], "missing in masters.") {
			t.Errorf("etcd entry = %q", r.summary["etcd-nodes-to-control-plane"])
		}
	}
}
