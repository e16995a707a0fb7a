package config

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

type fakeFS struct {
	dirs, files map[string]bool
	home        string
}

func (f fakeFS) IsDir(p string) bool  { return f.dirs[p] }
func (f fakeFS) IsFile(p string) bool { return f.files[p] }
func (f fakeFS) HomeDir() (string, error) {
	if f.home == "" {
		return "", errors.New("$HOME is not defined")
	}
	return f.home, nil
}

var testFS = fakeFS{
	dirs:  map[string]bool{"policies": true, "other-policies": true},
	files: map[string]bool{"/home/me/.ssh/id_ed25519.pub": true, "calico.yaml": true},
	home:  "/home/me",
}

// good is a complete, valid dev configuration; each case below changes it.
func good() map[string]string {
	return map[string]string{
		KeyClusterName: "calico.dev.example.com",
		KeyRegion:      "us-east-1",
		KeyZones:       `["us-east-1a","us-east-1b"]`,
		KeyAdminAccess: `["203.0.113.0/24"]`,
		KeyKopsVersion: "1.34",
	}
}

func parse(t *testing.T, stack string, m map[string]string) (Config, error) {
	t.Helper()
	return parseOn(testFS, stack, m)
}

func parseOn(fs FS, stack string, m map[string]string) (Config, error) {
	return Parse("kopscalico", stack, func(k string) (string, bool) { v, ok := m[k]; return v, ok }, fs)
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	c, err := parse(t, "dev", good())
	if err != nil {
		t.Fatal(err)
	}
	if !c.Cluster.Manage || c.Cluster.ControlPlaneCount != 1 || c.Cluster.NodeCount != 2 {
		t.Errorf("cluster defaults: %+v", c.Cluster)
	}
	if c.Cluster.ControlPlaneSize != "t3.medium" || c.Cluster.NodeSize != "t3.medium" {
		t.Errorf("size defaults: %q %q", c.Cluster.ControlPlaneSize, c.Cluster.NodeSize)
	}
	if !slices.Equal(c.Cluster.Zones, []string{"us-east-1a", "us-east-1b"}) {
		t.Errorf("zones: %q", c.Cluster.Zones)
	}
	if c.Kops.Binary != "kops" || c.Kops.CommandTimeout != 10*time.Minute || c.Kops.ValidateTimeout != 15*time.Minute ||
		c.Kops.RollingUpdateTimeout != time.Hour {
		t.Errorf("kops defaults: %+v", c.Kops)
	}
	if !c.StateStore.Create() || c.StateStore.Bucket != "kops-state-calico-dev-example-com" || c.StateStore.URL() != "s3://kops-state-calico-dev-example-com" {
		t.Errorf("state store defaults: %+v", c.StateStore)
	}
	if c.StateStore.Protect {
		t.Error("dev stack: state store must not be protected by default")
	}
	if c.Calico.Encapsulation != EncapIPIP || c.Calico.AWSSrcDstCheck != "Disable" || c.Calico.PodCIDR.String() != "100.96.0.0/11" || c.Calico.UpgradeManifest != ManifestAuto {
		t.Errorf("calico defaults: %+v", c.Calico)
	}
	if c.Workloads.PoliciesDir != "policies" || c.Workloads.Namespaces != nil || !c.Workloads.Demo || !c.Workloads.Probes {
		t.Errorf("workload defaults: %+v", c.Workloads)
	}
	if c.SecurityGroupCheck != SGCheckEnforce || c.CalicoDataplaneCheck != SGCheckEnforce {
		t.Errorf("sg check default: %q, dataplane check default: %q", c.SecurityGroupCheck, c.CalicoDataplaneCheck)
	}
}

func TestProtectDefaultsOnOutsideDev(t *testing.T) {
	t.Parallel()
	for _, p := range []struct {
		key       string
		protected func(Config) bool
	}{
		{KeyStateStoreProtect, func(c Config) bool { return c.StateStore.Protect }},
		{KeyClusterProtect, func(c Config) bool { return c.Cluster.Protect }},
	} {
		c, err := parse(t, "prod", good())
		if err != nil {
			t.Fatal(err)
		}
		if !p.protected(c) {
			t.Errorf("prod stack: %s must default to protected", p.key)
		}
		m := good()
		m[p.key] = "false"
		if c, _ := parse(t, "prod", m); p.protected(c) {
			t.Errorf("explicit %s=false ignored", p.key)
		}
		m[p.key] = "auto" // Pulumi.yaml's default
		if c, _ := parse(t, "prod", m); !p.protected(c) {
			t.Errorf("%s=auto must protect outside dev", p.key)
		}
		if c, _ := parse(t, "dev", m); p.protected(c) {
			t.Errorf("%s=auto must not protect dev", p.key)
		}
	}
}

func TestExistingStateStore(t *testing.T) {
	t.Parallel()
	m := good()
	m[KeyStateStore] = "s3://my-kops-state/clusters"
	c, err := parse(t, "dev", m)
	if err != nil {
		t.Fatal(err)
	}
	if c.StateStore.Create() || c.StateStore.URL() != "s3://my-kops-state/clusters" {
		t.Errorf("existing store: %+v", c.StateStore)
	}
}

func TestUnmanagedClusterNeedsOnlyKubeconfigAndName(t *testing.T) {
	t.Parallel()
	m := map[string]string{
		KeyManageCluster:      "false",
		KeyKubeconfig:         "apiVersion: v1\nkind: Config\n",
		KeyClusterName:        "local",
		KeyStateStore:         "file:///tmp/kops-state",
		KeySecurityGroupCheck: "off",
	}
	c, err := parse(t, "e2e", m)
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.Manage || c.Cluster.Kubeconfig == "" {
		t.Errorf("unmanaged: %+v", c.Cluster)
	}
}

// TestListForms: a YAML list (JSON from Pulumi) and the comma-separated string
// `pulumi config set kopscalico:zones us-east-1a,us-east-1b` give the same list.
func TestListForms(t *testing.T) {
	t.Parallel()
	for _, form := range []struct{ zones, ssh string }{
		{`["us-east-1a","us-east-1c"]`, `["198.51.100.0/24","2001:db8::/32"]`},
		{"us-east-1a,us-east-1c", "198.51.100.0/24,2001:db8::/32"},
		{" us-east-1a , us-east-1c ", " 198.51.100.0/24 , 2001:db8::/32 "},
	} {
		m := good()
		m[KeyZones], m[KeySSHAccess] = form.zones, form.ssh
		c, err := parse(t, "dev", m)
		if err != nil {
			t.Fatalf("%+v: %v", form, err)
		}
		if !slices.Equal(c.Cluster.Zones, []string{"us-east-1a", "us-east-1c"}) {
			t.Errorf("%s: zones %q", form.zones, c.Cluster.Zones)
		}
		if !slices.Equal(c.Cluster.SSHAccess.Strings(), []string{"198.51.100.0/24", "2001:db8::/32"}) {
			t.Errorf("%s: sshAccess %q", form.ssh, c.Cluster.SSHAccess)
		}
	}
	m := good()
	m[KeyAdminAccess] = "203.0.113.0/24" // one item, no comma
	if c, err := parse(t, "dev", m); err != nil || !slices.Equal(c.Cluster.AdminAccess.Strings(), []string{"203.0.113.0/24"}) {
		t.Errorf("single item: %q, %v", c.Cluster.AdminAccess, err)
	}
	m[KeyNamespaces] = "ns-1,team-a"
	if c, err := parse(t, "dev", m); err != nil || !slices.Equal(c.Workloads.Namespaces, []string{"ns-1", "team-a"}) {
		t.Errorf("namespaces: %q, %v", c.Workloads.Namespaces, err)
	}
	for _, closed := range []string{"", "[]"} { // "[]" is Pulumi.yaml's default
		m[KeySSHAccess] = closed
		if c, err := parse(t, "dev", m); err != nil || c.Cluster.SSHAccess == nil || len(c.Cluster.SSHAccess) != 0 {
			t.Errorf("sshAccess %q: %q, %v", closed, c.Cluster.SSHAccess, err)
		}
	}
}

// TestSSHKeyUnderHome: the ~/ form the error message suggests is accepted,
// expanded against the home directory at the config edge (the program reads
// the file itself).
func TestSSHKeyUnderHome(t *testing.T) {
	t.Parallel()
	m := good()
	m[KeySSHPublicKey] = "~/.ssh/id_ed25519.pub"
	c, err := parse(t, "dev", m)
	if err != nil {
		t.Fatal(err)
	}
	if c.Cluster.SSHPublicKey != "/home/me/.ssh/id_ed25519.pub" {
		t.Errorf("sshPublicKey = %q, want ~/ expanded", c.Cluster.SSHPublicKey)
	}
	m[KeySSHPublicKey] = "~/.ssh/id_rsa.pub"
	_, err = parse(t, "dev", m)
	if err == nil || !strings.Contains(err.Error(), `"/home/me/.ssh/id_rsa.pub": no such file`) {
		t.Errorf("a missing key under ~ must name the expanded path: %v", err)
	}
	noHome := testFS
	noHome.home = ""
	m[KeySSHPublicKey] = "~/.ssh/id_ed25519.pub"
	if _, err := parseOn(noHome, "dev", m); err == nil || !strings.Contains(err.Error(), "home directory is unknown") {
		t.Errorf("no home directory: %v", err)
	}
}

// TestWorldAccessInAnySpelling: every /0 is the whole internet; with
// allowWorldAccess it is accepted in its canonical spelling only.
func TestWorldAccessInAnySpelling(t *testing.T) {
	t.Parallel()
	for _, cidr := range []string{"0.0.0.0/0", "::/0", "0::/0", "0.0.0.1/0", "10.1.2.3/0", "::1/0", "0:0:0:0:0:0:0:0/0"} {
		m := good()
		m[KeyAdminAccess] = cidr
		_, err := parse(t, "dev", m)
		if err == nil || !strings.Contains(err.Error(), "whole internet") {
			t.Errorf("%s: not refused as world access: %v", cidr, err)
		}
		if !slices.Contains(Keys(err), KeyAdminAccess) {
			t.Errorf("%s: error does not name %s: %v", cidr, KeyAdminAccess, err)
		}
	}
	m := good()
	m[KeyAllowWorldAccess] = "true"
	m[KeyAdminAccess] = "0.0.0.0/0,::/0"
	if _, err := parse(t, "dev", m); err != nil {
		t.Errorf("allowWorldAccess with canonical /0s: %v", err)
	}
	m[KeyAdminAccess] = "0.0.0.1/0"
	if _, err := parse(t, "dev", m); err == nil || !strings.Contains(err.Error(), "use 0.0.0.0/0") {
		t.Errorf("host bits in an allowed /0: %v", err)
	}
}

// TestPrefixListsAccepted: kops takes AWS managed prefix lists in both
// access lists on AWS, and so does the config.
func TestPrefixListsAccepted(t *testing.T) {
	t.Parallel()
	m := good()
	m[KeyAdminAccess] = "pl-63a5400a,203.0.113.0/24"
	m[KeySSHAccess] = "pl-0123456789abcdef0"
	c, err := parse(t, "dev", m)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Cluster.AdminAccess.Strings(); !slices.Equal(got, []string{"pl-63a5400a", "203.0.113.0/24"}) {
		t.Errorf("adminAccess %q", got)
	}
	if c.Cluster.SSHAccess[0].PrefixList != "pl-0123456789abcdef0" {
		t.Errorf("sshAccess %+v", c.Cluster.SSHAccess)
	}
}

func TestCountCaps(t *testing.T) {
	t.Parallel()
	for _, n := range []string{"1", "3", "5", "7"} {
		m := good()
		m[KeyControlPlaneCount] = n
		if _, err := parse(t, "dev", m); err != nil {
			t.Errorf("controlPlaneCount %s: %v", n, err)
		}
	}
	m := good()
	m[KeyNodeCount] = strconv.Itoa(MaxNodeCount)
	if _, err := parse(t, "dev", m); err != nil {
		t.Errorf("nodeCount %d: %v", MaxNodeCount, err)
	}
}

func TestDeployRoleARN(t *testing.T) {
	t.Parallel()
	for _, arn := range []string{
		"arn:aws:iam::123456789012:role/kopscalico-deploy",
		"arn:aws:iam::123456789012:role/ci/github/kopscalico-deploy",
		"arn:aws-us-gov:iam::123456789012:role/deploy",
	} {
		m := good()
		m[KeyDeployRoleARN] = arn
		c, err := parse(t, "dev", m)
		if err != nil {
			t.Errorf("%s: %v", arn, err)
		}
		if c.StateStore.DeployRoleARN != arn {
			t.Errorf("DeployRoleARN = %q", c.StateStore.DeployRoleARN)
		}
	}
}

func TestKMSKey(t *testing.T) {
	t.Parallel()
	m := good()
	m[KeyStateStoreKMSKeyID] = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	if _, err := parse(t, "dev", m); err != nil {
		t.Fatal(err)
	}
}

func TestGossipNameAllowedBefore137(t *testing.T) {
	t.Parallel()
	m := good()
	m[KeyClusterName] = "calico.k8s.local"
	if _, err := parse(t, "dev", m); err != nil {
		t.Fatal(err)
	}
	m[KeyKopsVersion] = "1.36"
	if _, err := parse(t, "dev", m); err != nil {
		t.Fatalf("kops 1.36 still takes gossip names (as DNS-none clusters): %v", err)
	}
}

// TestBadConfigs: each bad value is refused with an error that names the key,
// quotes the value and says how to fix it.
func TestBadConfigs(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		stack   string
		set     map[string]string
		unset   []string
		wantKey string
		wantFix string // a fragment of the fix
	}{
		{name: "missing cluster name", unset: []string{KeyClusterName}, wantKey: KeyClusterName, wantFix: "is required"},
		{name: "upper-case cluster name", set: map[string]string{KeyClusterName: "Calico.Example.com"}, wantKey: KeyClusterName, wantFix: "lowercase"},
		{name: "cluster name without a dot", set: map[string]string{KeyClusterName: "calico"}, wantKey: KeyClusterName, wantFix: "at least one dot"},
		{name: "cluster name with underscore", set: map[string]string{KeyClusterName: "my_cluster.example.com"}, wantKey: KeyClusterName, wantFix: "DNS label"},
		{name: "cluster name label ends with dash", set: map[string]string{KeyClusterName: "calico-.example.com"}, wantKey: KeyClusterName, wantFix: "DNS label"},
		{name: "gossip name on kops 1.37", set: map[string]string{KeyClusterName: "calico.k8s.local", KeyKopsVersion: "1.37"}, wantKey: KeyKopsVersion, wantFix: "not supported"},
		{name: "cluster outside its DNS zone", set: map[string]string{KeyDNSZone: "other.org"}, wantKey: KeyDNSZone, wantFix: "not inside this zone"},
		{name: "DNS zone with gossip name", set: map[string]string{KeyClusterName: "a.k8s.local", KeyDNSZone: "example.com"}, wantKey: KeyDNSZone, wantFix: "must be unset"},
		{name: "bad region", set: map[string]string{KeyRegion: "useast1"}, wantKey: KeyRegion, wantFix: "AWS region"},
		{name: "zone outside the region", set: map[string]string{KeyZones: `["us-east-1a","us-west-2a"]`}, wantKey: KeyZones, wantFix: `not an availability zone of region "us-east-1"`},
		{name: "no zones", set: map[string]string{KeyZones: `[]`}, wantKey: KeyZones, wantFix: "two or more"},
		{name: "one zone", set: map[string]string{KeyZones: `["us-east-1a"]`}, wantKey: KeyZones, wantFix: "one zone leaves nothing to cross"},
		{name: "one zone, comma form", set: map[string]string{KeyZones: "us-east-1a"}, wantKey: KeyZones, wantFix: "two or more"},
		{name: "empty item in a comma list", set: map[string]string{KeyZones: "us-east-1a,,us-east-1b"}, wantKey: KeyZones, wantFix: "empty item"},
		{name: "trailing comma", set: map[string]string{KeySSHAccess: "198.51.100.0/24,"}, wantKey: KeySSHAccess, wantFix: "empty item"},
		{name: "zone twice", set: map[string]string{KeyZones: `["us-east-1a","us-east-1a"]`}, wantKey: KeyZones, wantFix: "twice"},
		{name: "zones not a list", set: map[string]string{KeyZones: `["us-east-1a"`}, wantKey: KeyZones, wantFix: "list of strings"},
		{name: "even control-plane count", set: map[string]string{KeyControlPlaneCount: "2"}, wantKey: KeyControlPlaneCount, wantFix: "1, 3, 5 or 7"},
		{name: "zero control planes", set: map[string]string{KeyControlPlaneCount: "0"}, wantKey: KeyControlPlaneCount, wantFix: "1, 3, 5 or 7"},
		{name: "nine control planes", set: map[string]string{KeyControlPlaneCount: "9"}, wantKey: KeyControlPlaneCount, wantFix: "more than 7 members"},
		{name: "control-plane count not a number", set: map[string]string{KeyControlPlaneCount: "three"}, wantKey: KeyControlPlaneCount, wantFix: "whole number"},
		{name: "zero nodes", set: map[string]string{KeyNodeCount: "0"}, wantKey: KeyNodeCount, wantFix: "must be 1 to 50"},
		{name: "nodes beyond the cap", set: map[string]string{KeyNodeCount: "500"}, wantKey: KeyNodeCount, wantFix: "typo"},
		{name: "bad node size", set: map[string]string{KeyNodeSize: "large"}, wantKey: KeyNodeSize, wantFix: "instance type"},
		{name: "bad kubernetes version", set: map[string]string{KeyKubernetesVersion: "1.32"}, wantKey: KeyKubernetesVersion, wantFix: "full Kubernetes release"},
		{name: "missing kops version", unset: []string{KeyKopsVersion}, wantKey: KeyKopsVersion, wantFix: "pin the kops release"},
		{name: "kops version too new", set: map[string]string{KeyKopsVersion: "1.40"}, wantKey: KeyKopsVersion, wantFix: "not supported"},
		{name: "kops version garbage", set: map[string]string{KeyKopsVersion: "latest"}, wantKey: KeyKopsVersion, wantFix: "pin"},
		{name: "negative kops timeout", set: map[string]string{KeyKopsTimeout: "-5m"}, wantKey: KeyKopsTimeout, wantFix: "positive"},
		{name: "unparsable validate timeout", set: map[string]string{KeyValidateTimeout: "15"}, wantKey: KeyValidateTimeout, wantFix: "duration"},
		{name: "zero rolling-update timeout", set: map[string]string{KeyRollingUpdateTimeout: "0s"}, wantKey: KeyRollingUpdateTimeout, wantFix: "positive"},
		{name: "zero drain timeout", set: map[string]string{KeyDrainTimeout: "0s"}, wantKey: KeyDrainTimeout, wantFix: "positive, for example 20m"},
		{name: "drain longer than the roll", set: map[string]string{KeyDrainTimeout: "2h"}, wantKey: KeyDrainTimeout, wantFix: "raise kopscalico:rollingUpdateTimeout"},
		{name: "validate count beyond the guard", set: map[string]string{KeyValidateCount: "50"}, wantKey: KeyValidateCount, wantFix: "must be 1 to 10"},
		{name: "drain timeout before kops 1.23", set: map[string]string{KeyDrainTimeout: "20m", KeyKopsVersion: "1.22"}, wantKey: KeyDrainTimeout, wantFix: "needs kops 1.23 or later"},
		{name: "negative validate count", set: map[string]string{KeyValidateCount: "-1"}, wantKey: KeyValidateCount, wantFix: "kops's default, 2"},
		{name: "empty kops binary", set: map[string]string{KeyKopsBinary: ""}, wantKey: KeyKopsBinary, wantFix: "must name the kops binary"},
		{name: "invalid bucket name", set: map[string]string{KeyStateStoreBucket: "My_Bucket"}, wantKey: KeyStateStoreBucket, wantFix: "not a valid S3 bucket name"},
		{name: "bucket name like an IP", set: map[string]string{KeyStateStoreBucket: "192.168.5.4"}, wantKey: KeyStateStoreBucket, wantFix: "IP address"},
		{name: "dotted bucket name", set: map[string]string{KeyStateStoreBucket: "kops.state"}, wantKey: KeyStateStoreBucket, wantFix: "dot"},
		{name: "state store URL with wrong scheme", set: map[string]string{KeyStateStore: "https://bucket.s3.amazonaws.com"}, wantKey: KeyStateStore, wantFix: "s3://<bucket>"},
		{name: "state store URL with bad bucket", set: map[string]string{KeyStateStore: "s3://A"}, wantKey: KeyStateStore, wantFix: "bucket"},
		{name: "KMS key with an existing store", set: map[string]string{KeyStateStore: "s3://kops-state", KeyStateStoreKMSKeyID: "alias/kops"}, wantKey: KeyStateStoreKMSKeyID, wantFix: "only applies"},
		{name: "malformed KMS key", set: map[string]string{KeyStateStoreKMSKeyID: "my key"}, wantKey: KeyStateStoreKMSKeyID, wantFix: "KMS key ARN"},
		{name: "unknown encapsulation", set: map[string]string{KeyEncapsulation: "bgp"}, wantKey: KeyEncapsulation, wantFix: "ipip or vxlan"},
		{name: "unknown src/dst check", set: map[string]string{KeyAWSSrcDstCheck: "off"}, wantKey: KeyAWSSrcDstCheck, wantFix: "Disable"},
		{name: "pod CIDR not a network", set: map[string]string{KeyPodCIDR: "100.96.0.1/11"}, wantKey: KeyPodCIDR, wantFix: "CIDR"},
		{name: "unknown manifest mode", set: map[string]string{KeyCalicoManifest: "sometimes"}, wantKey: KeyCalicoManifest, wantFix: "auto"},
		{name: "manifest path missing", set: map[string]string{KeyCalicoManifestPath: "nope.yaml"}, wantKey: KeyCalicoManifestPath, wantFix: "no such file"},
		{name: "policies directory missing", set: map[string]string{KeyPoliciesDir: "no-such-dir"}, wantKey: KeyPoliciesDir, wantFix: "not a directory"},
		{name: "namespace name with capitals", set: map[string]string{KeyNamespaces: "ns-1,Team-A"}, wantKey: KeyNamespaces, wantFix: "not a namespace name"},
		{name: "namespace name with a leading underscore", set: map[string]string{KeyNamespaces: `["_ns-1"]`}, wantKey: KeyNamespaces, wantFix: "not a namespace name"},
		{name: "namespace listed twice", set: map[string]string{KeyNamespaces: "ns-1,ns-1"}, wantKey: KeyNamespaces, wantFix: "twice"},
		{name: "probes without demo workloads", set: map[string]string{KeyDemoWorkloads: "false"}, wantKey: KeyProbes, wantFix: "demoWorkloads=true"},
		{name: "unknown sg check mode", set: map[string]string{KeySecurityGroupCheck: "strict"}, wantKey: KeySecurityGroupCheck, wantFix: "enforce, warn or off"},
		{name: "unknown dataplane check mode", set: map[string]string{KeyCalicoDataplaneCheck: "strict"}, wantKey: KeyCalicoDataplaneCheck, wantFix: "enforce, warn or off"},
		{name: "no admin access", unset: []string{KeyAdminAccess}, wantKey: KeyAdminAccess, wantFix: "allowed to reach the Kubernetes API"},
		{name: "world-open API", set: map[string]string{KeyAdminAccess: `["0.0.0.0/0"]`}, wantKey: KeyAdminAccess, wantFix: "whole internet"},
		{name: "world-open IPv6 SSH", set: map[string]string{KeySSHAccess: `["::/0"]`}, wantKey: KeySSHAccess, wantFix: "whole internet"},
		{name: "world-open API, IPv6 spelled 0::/0", set: map[string]string{KeyAdminAccess: `["0::/0"]`}, wantKey: KeyAdminAccess, wantFix: "whole internet"},
		{name: "world-open API, host bits in a /0", set: map[string]string{KeyAdminAccess: `["0.0.0.1/0"]`}, wantKey: KeyAdminAccess, wantFix: "allowWorldAccess=true"},
		{name: "host bits outside the prefix", set: map[string]string{KeySSHAccess: `["198.51.100.7/24"]`}, wantKey: KeySSHAccess, wantFix: "use 198.51.100.0/24"},
		{name: "SSH address without a prefix", set: map[string]string{KeySSHAccess: `["10.0.0.1"]`}, wantKey: KeySSHAccess, wantFix: "use 10.0.0.1/32"},
		{name: "SSH CIDR garbage", set: map[string]string{KeySSHAccess: `["10.0.0/8x"]`}, wantKey: KeySSHAccess, wantFix: "not a CIDR"},
		{name: "prefix list id malformed", set: map[string]string{KeyAdminAccess: `["pl-12345"]`}, wantKey: KeyAdminAccess, wantFix: "prefix list id"},
		{name: "vxlan before kops 1.22", set: map[string]string{KeyEncapsulation: "vxlan", KeyKopsVersion: "1.21"}, wantKey: KeyEncapsulation, wantFix: "needs kops 1.22"},
		{name: "protect garbage", set: map[string]string{KeyClusterProtect: "maybe"}, wantKey: KeyClusterProtect, wantFix: "true, false or auto"},
		{name: "SSH key file missing", set: map[string]string{KeySSHPublicKey: "/nope.pub"}, wantKey: KeySSHPublicKey, wantFix: "no such file"},
		{name: "SSH key under ~ missing", set: map[string]string{KeySSHPublicKey: "~/nope.pub"}, wantKey: KeySSHPublicKey, wantFix: "no such file"},
		{name: "deploy role not an ARN", set: map[string]string{KeyDeployRoleARN: "kopscalico-deploy"}, wantKey: KeyDeployRoleARN, wantFix: "ARN of the IAM role that runs kops"},
		{name: "deploy role is a user", set: map[string]string{KeyDeployRoleARN: "arn:aws:iam::123456789012:user/kops"}, wantKey: KeyDeployRoleARN, wantFix: "ARN of the IAM role"},
		{name: "deploy role given as a session", set: map[string]string{KeyDeployRoleARN: "arn:aws:sts::123456789012:assumed-role/kopscalico-deploy/gh-42"}, wantKey: KeyDeployRoleARN, wantFix: "use arn:aws:iam::123456789012:role/kopscalico-deploy"},
		{name: "deploy role with an existing store", set: map[string]string{KeyStateStore: "s3://kops-state", KeyDeployRoleARN: "arn:aws:iam::123456789012:role/deploy"}, wantKey: KeyDeployRoleARN, wantFix: "only shapes the policy"},
		{name: "boolean garbage", set: map[string]string{KeyDemoWorkloads: "yes please"}, wantKey: KeyDemoWorkloads, wantFix: "true or false"},
		{name: "unmanaged without kubeconfig", set: map[string]string{KeyManageCluster: "false"}, wantKey: KeyKubeconfig, wantFix: "pulumi config set --secret"},
	}
	if len(cases) < 20 {
		t.Fatalf("want at least 20 bad configs, have %d", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			for k, v := range tc.set {
				m[k] = v
			}
			for _, k := range tc.unset {
				delete(m, k)
			}
			stack := tc.stack
			if stack == "" {
				stack = "dev"
			}
			_, err := parse(t, stack, m)
			if err == nil {
				t.Fatal("accepted")
			}
			if !slices.Contains(Keys(err), tc.wantKey) {
				t.Fatalf("error does not name %s (names %v): %v", tc.wantKey, Keys(err), err)
			}
			var ke *KeyError
			for _, p := range err.(*Error).Problems {
				if errors.As(p, &ke) && ke.Key == tc.wantKey {
					break
				}
			}
			msg := ke.Error()
			if !strings.Contains(msg, "kopscalico:"+tc.wantKey) || !strings.Contains(msg, strconv.Quote(ke.Value)) || !strings.Contains(msg, tc.wantFix) {
				t.Errorf("message %q lacks the key, the value or the fix %q", msg, tc.wantFix)
			}
			if !strings.Contains(err.Error(), "nothing was created") {
				t.Errorf("error does not say nothing was created: %v", err)
			}
		})
	}
}

func TestAllProblemsReportedTogether(t *testing.T) {
	t.Parallel()
	m := good()
	m[KeyNodeCount] = "0"
	m[KeyEncapsulation] = "gre"
	m[KeyRegion] = "mars-1"
	_, err := parse(t, "dev", m)
	keys := Keys(err)
	for _, k := range []string{KeyNodeCount, KeyEncapsulation, KeyRegion} {
		if !slices.Contains(keys, k) {
			t.Errorf("problem with %s not reported; got %v", k, keys)
		}
	}
	if !strings.Contains(err.Error(), "problems") {
		t.Errorf("plural not used: %v", err)
	}
}

func TestDefaultBucketNameFitsS3(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 60) + ".example.com"
	b := DefaultBucketName(long)
	if len(b) > 63 || checkBucketName(b) != "" {
		t.Errorf("derived bucket %q (len %d) invalid: %s", b, len(b), checkBucketName(b))
	}
}

// TestPlaceholdersRefusedTogether: every value holding the placeholder is
// refused at once, each with its key, its value and what replaces it, and
// the problems derived from a placeholder (the bucket named after the
// cluster, a zone check against it) are not reported besides.
func TestPlaceholdersRefusedTogether(t *testing.T) {
	t.Parallel()
	m := good()
	m[KeyClusterName] = "calico.REPLACE_ME_WITH_YOUR_ROUTE53_ZONE"
	m[KeyAdminAccess] = `["REPLACE_ME_WITH_YOUR_CIDR"]`
	m[KeyNodeSize] = "REPLACE_ME"
	m[KeyNodeCount] = "0"
	_, err := parse(t, "dev", m)
	if err == nil {
		t.Fatal("placeholders accepted")
	}
	got := Keys(err)
	want := []string{KeyNodeSize, KeyClusterName, KeyAdminAccess, KeyNodeCount}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("keys %v, want %v:\n%v", got, want, err)
	}
	for _, line := range []string{
		`kopscalico:clusterName = "calico.REPLACE_ME_WITH_YOUR_ROUTE53_ZONE": replace the example's placeholder with a DNS name inside a Route53 zone you own`,
		`kopscalico:adminAccess = "REPLACE_ME_WITH_YOUR_CIDR": replace the example's placeholder with the CIDRs you reach the Kubernetes API from`,
		`kopscalico:nodeSize = "REPLACE_ME": replace the example's placeholder with a value of your own`,
	} {
		if !strings.Contains(err.Error(), line) {
			t.Errorf("error lacks %q:\n%v", line, err)
		}
	}
	if strings.Contains(err.Error(), "kops-state-") {
		t.Errorf("the bucket derived from the placeholder name is reported too:\n%v", err)
	}

	m = good()
	m[KeyDNSZone] = "REPLACE_ME.example.com"
	if _, err := parse(t, "dev", m); !slices.Equal(Keys(err), []string{KeyDNSZone}) {
		t.Errorf("a placeholder zone: keys %v, want [dnsZone]: %v", Keys(err), err)
	}
}

func TestPlaceholderInASecretIsNotEchoed(t *testing.T) {
	t.Parallel()
	m := good()
	m[KeyManageCluster] = "false"
	m[KeyKubeconfig] = "token: REPLACE_ME"
	if _, err := parse(t, "dev", m); err != nil {
		t.Errorf("the kubeconfig is checked for placeholders, and would be printed: %v", err)
	}
}

// The dataplane check follows the security-group check unless set itself.
func TestCalicoDataplaneCheckMode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sg, dataplane string
		want          SGCheckMode
	}{{"warn", "", SGCheckWarn}, {"off", "", SGCheckOff}, {"off", "enforce", SGCheckEnforce}, {"enforce", "off", SGCheckOff}} {
		m := map[string]string{KeyManageCluster: "false", KeyKubeconfig: "apiVersion: v1\nkind: Config\n", KeyClusterName: "local",
			KeyStateStore: "file:///tmp/kops-state", KeyRegion: "us-east-1", KeySecurityGroupCheck: tc.sg}
		if tc.dataplane != "" {
			m[KeyCalicoDataplaneCheck] = tc.dataplane
		}
		c, err := parse(t, "e2e", m)
		if err != nil {
			t.Fatal(err)
		}
		if c.CalicoDataplaneCheck != tc.want {
			t.Errorf("securityGroupCheck %s, calicoDataplaneCheck %q: mode %s, want %s", tc.sg, tc.dataplane, c.CalicoDataplaneCheck, tc.want)
		}
	}
}
