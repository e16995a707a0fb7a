package config

import (
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// The kops releases the program knows how to drive. Older minors are accepted
// only to convert legacy clusters (their spec shapes are rendered too).
const (
	MinKopsMinor          = 7
	MaxKopsMinor          = 36
	GossipRemovedMinor    = 37 // .k8s.local refused
	gossipSuffix          = ".k8s.local"
	awsSrcDstCheckAllowed = "Disable, Enable or DoNothing"
)

var (
	dnsLabel      = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]+$`)
	instanceType  = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	k8sVersion    = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+$`)
	kopsVersion   = regexp.MustCompile(`^v?1\.([0-9]+)(\.[0-9]+)?$`)
	bucketName    = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	zoneSuffix    = regexp.MustCompile(`^(-[a-z0-9-]+)?[a-z]$`)
	// An IAM role ARN: partition, 12-digit account, optional path, name.
	iamRoleARN    = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([A-Za-z0-9+=,.@_/-]*/)?[A-Za-z0-9+=,.@_-]{1,64}$`)
	stsSessionARN = regexp.MustCompile(`^arn:(aws(-[a-z]+)*):sts::([0-9]{12}):assumed-role/([^/]+)/`)
	kmsKeyID      = regexp.MustCompile(`^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+|alias/[A-Za-z0-9/_-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`)
)

func validate(c Config, fs FS) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	minor, kopsErr := KopsMinor(c.Kops.Version)
	if c.Cluster.Manage {
		if kopsErr != nil {
			add(kopsErr)
		}
		add(validateClusterName(c.Cluster.Name, c.Cluster.DNSZone, minor, kopsErr == nil))
		add(validateRegion(c.Cluster.Region))
		errs = append(errs, validateZones(c.Cluster.Region, c.Cluster.Zones)...)
		errs = append(errs, validateCounts(c.Cluster)...)
		for _, k := range []struct{ key, v string }{{KeyControlPlaneSize, c.Cluster.ControlPlaneSize}, {KeyNodeSize, c.Cluster.NodeSize}} {
			if !instanceType.MatchString(k.v) {
				add(keyErr(k.key, k.v, "must be an EC2 instance type such as t3.medium or m6i.large"))
			}
		}
		if v := c.Cluster.KubernetesVersion; v != "" && !k8sVersion.MatchString(v) {
			add(keyErr(KeyKubernetesVersion, v, "must be a full Kubernetes release such as 1.32.4, or unset for kops's default"))
		}
		errs = append(errs, validateAccess(c.Cluster)...)
		add(validateSSHPublicKey(c.Cluster.SSHPublicKey, fs))
		if c.Kops.Binary == "" {
			add(keyErr(KeyKopsBinary, "", "must name the kops binary (a path, or a name on PATH such as kops)"))
		}
	} else {
		if c.Cluster.Kubeconfig == "" {
			add(keyErr(KeyKubeconfig, "", "is required when %s:%s is false: set it with `pulumi config set --secret %s:%s \"$(cat ~/.kube/config)\"`",
				Namespace, KeyManageCluster, Namespace, KeyKubeconfig))
		}
		if c.Cluster.Name == "" {
			add(keyErr(KeyClusterName, "", "is required: the name of the cluster the kubeconfig reaches"))
		}
		if c.Kops.Version != "" && kopsErr != nil {
			add(kopsErr)
		}
	}

	errs = append(errs, validateStateStore(c.StateStore)...)

	switch c.Calico.Encapsulation {
	case EncapIPIP, EncapVXLAN:
	default:
		add(keyErr(KeyEncapsulation, c.Calico.Encapsulation, "must be ipip or vxlan (Calico's cross-subnet overlays)"))
	}
	switch c.Calico.AWSSrcDstCheck {
	case "Disable", "Enable", "DoNothing":
	default:
		add(keyErr(KeyAWSSrcDstCheck, c.Calico.AWSSrcDstCheck, "must be %s (kops's spelling; Disable is what cross-subnet routing needs)", awsSrcDstCheckAllowed))
	}
	if p, err := netip.ParsePrefix(c.Calico.PodCIDR); err != nil || !p.Addr().Is4() || p.Masked() != p {
		add(keyErr(KeyPodCIDR, c.Calico.PodCIDR, "must be an IPv4 network in CIDR form such as %s", DefaultPodCIDR))
	}
	switch c.Calico.UpgradeManifest {
	case ManifestAuto, ManifestAlways, ManifestNever:
	default:
		add(keyErr(KeyCalicoManifest, c.Calico.UpgradeManifest, "must be auto (only on kops 1.7.x), always or never"))
	}
	if p := c.Calico.ManifestPath; p != "" && !fs.IsFile(p) {
		add(keyErr(KeyCalicoManifestPath, p, "no such file: give the path of a Calico manifest (YAML), or unset it"))
	}

	if !fs.IsDir(c.Workloads.PoliciesDir) {
		add(keyErr(KeyPoliciesDir, c.Workloads.PoliciesDir, "is not a directory: point it at the folder holding one sub-folder of policies per namespace (default %q)", DefaultPoliciesDir))
	}
	errs = append(errs, validateNamespaceNames(c.Workloads.Namespaces)...)
	if c.Workloads.Probes && !c.Workloads.Demo {
		add(keyErr(KeyProbes, "true", "needs %s:%s=true: the probes call the demo http-echo service (or set %s:%s=false)", Namespace, KeyDemoWorkloads, Namespace, KeyProbes))
	}

	switch c.SecurityGroupCheck {
	case SGCheckEnforce, SGCheckWarn, SGCheckOff:
	default:
		add(keyErr(KeySecurityGroupCheck, c.SecurityGroupCheck, "must be enforce, warn or off"))
	}
	if c.SecurityGroupCheck != SGCheckOff && !c.Cluster.Manage && c.Cluster.Region == "" {
		add(keyErr(KeyRegion, "", "is required for the security-group check: set it, or set %s:%s=off", Namespace, KeySecurityGroupCheck))
	}
	return errs
}

// KopsMinor parses the pinned kops version ("1.34" or "1.34.1") and checks it
// is a release the program can drive.
func KopsMinor(v string) (int, error) {
	m := kopsVersion.FindStringSubmatch(v)
	if m == nil {
		return 0, keyErr(KeyKopsVersion, v, "must pin the kops release the stack is driven with, such as 1.34 (see `kops version`)")
	}
	minor, _ := strconv.Atoi(m[1])
	if minor < MinKopsMinor || minor > MaxKopsMinor {
		return minor, keyErr(KeyKopsVersion, v, "kops 1.%d is not supported: use 1.28 to 1.%d (releases down to 1.%d only to convert legacy clusters)", minor, MaxKopsMinor, MinKopsMinor)
	}
	return minor, nil
}

func validateClusterName(name, zone string, kopsMinor int, minorKnown bool) error {
	if name == "" {
		return keyErr(KeyClusterName, "", "is required: a DNS name such as calico.dev.example.com (kops names the cluster's AWS resources after it)")
	}
	if name != strings.ToLower(name) {
		return keyErr(KeyClusterName, name, "must be lowercase: kops refuses upper-case cluster names; use %q", strings.ToLower(name))
	}
	if len(name) > 253 {
		return keyErr(KeyClusterName, name, "is longer than 253 characters, the limit of a DNS name")
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return keyErr(KeyClusterName, name, "must be a fully-qualified DNS name with at least one dot, such as %s.example.com (kops requires it)", name)
	}
	for _, l := range labels {
		if !dnsLabel.MatchString(l) {
			return keyErr(KeyClusterName, name, "label %q is not a DNS label: use a-z, 0-9 and '-', 1 to 63 characters, not starting or ending with '-'", l)
		}
	}
	if strings.HasSuffix(name, gossipSuffix) {
		if zone != "" {
			return keyErr(KeyDNSZone, zone, "must be unset for a gossip (.k8s.local) cluster name, or rename the cluster into the zone")
		}
		if minorKnown && kopsMinor >= GossipRemovedMinor {
			return keyErr(KeyClusterName, name, "gossip (.k8s.local) names are refused by kops 1.%d; use a name in a Route53 zone and set %s:%s", GossipRemovedMinor, Namespace, KeyDNSZone)
		}
		return nil
	}
	if zone != "" && name != zone && !strings.HasSuffix(name, "."+strings.TrimSuffix(zone, ".")) {
		return keyErr(KeyDNSZone, zone, "cluster name %q is not inside this zone: use a zone that is a suffix of the name", name)
	}
	return nil
}

func validateRegion(region string) error {
	if !regionPattern.MatchString(region) {
		return keyErr(KeyRegion, region, "must be an AWS region such as us-east-1 or eu-west-2")
	}
	return nil
}

func validateZones(region string, zones []string) []error {
	var errs []error
	if len(zones) < 2 {
		errs = append(errs, keyErr(KeyZones, strings.Join(zones, ","), "must list two or more availability zones of %s, e.g. %sa,%sb: kops makes one subnet per zone, and Calico cross-subnet encapsulates only between subnets, so one zone leaves nothing to cross",
			orDefault(region, "the region"), orDefault(region, "us-east-1"), orDefault(region, "us-east-1")))
	}
	seen := map[string]bool{}
	for _, z := range zones {
		if seen[z] {
			errs = append(errs, keyErr(KeyZones, z, "is listed twice"))
			continue
		}
		seen[z] = true
		rest, ok := strings.CutPrefix(z, region)
		if region == "" || !ok || rest == "" || !zoneSuffix.MatchString(rest) {
			errs = append(errs, keyErr(KeyZones, z, "is not an availability zone of region %q: zones are the region plus a letter, e.g. %sa", region, orDefault(region, "us-east-1")))
		}
	}
	return errs
}

// validateCounts bounds the instance counts: etcd quorum for the control
// plane, and a typo guard for the nodes (every node is billed and rolled).
func validateCounts(c Cluster) []error {
	var errs []error
	if n := c.ControlPlaneCount; n < 1 || n > MaxControlPlaneCount || n%2 == 0 {
		errs = append(errs, keyErr(KeyControlPlaneCount, strconv.Itoa(n),
			"must be 1, 3, 5 or 7: etcd needs a majority to keep quorum, so an even count tolerates no more failures than the odd count below it, and etcd advises against more than 7 members (every write waits for a majority)"))
	}
	if n := c.NodeCount; n < 1 || n > MaxNodeCount {
		errs = append(errs, keyErr(KeyNodeCount, strconv.Itoa(n),
			"must be 1 to %d: the workloads need a node to run on, and the cap guards against a typo (every node is billed, and a rolling update replaces the nodes one at a time, minutes each)", MaxNodeCount))
	}
	return errs
}

// validateNamespaceNames checks each owned namespace is a namespace name
// (a DNS-1123 label), listed once.
func validateNamespaceNames(names []string) []error {
	var errs []error
	seen := map[string]bool{}
	for _, n := range names {
		switch {
		case !dnsLabel.MatchString(n):
			errs = append(errs, keyErr(KeyNamespaces, n, "is not a namespace name: use a-z, 0-9 and '-', 1 to 63 characters, not starting or ending with '-'"))
		case seen[n]:
			errs = append(errs, keyErr(KeyNamespaces, n, "is listed twice"))
		}
		seen[n] = true
	}
	return errs
}

// validateSSHPublicKey checks the key file (~/ already expanded) exists.
func validateSSHPublicKey(p string, fs FS) error {
	if p != "" && !fs.IsFile(p) {
		return keyErr(KeySSHPublicKey, p, "no such file: give the path of an SSH public key, e.g. ~/.ssh/id_ed25519.pub, or unset it")
	}
	return nil
}

// validateAccess checks the CIDRs of the API and SSH. Any /0 prefix is the
// whole internet, however it is spelled (0.0.0.0/0, ::/0, 0::/0, 0.0.0.1/0),
// and host bits outside the prefix are refused as kops refuses them.
func validateAccess(c Cluster) []error {
	var errs []error
	if len(c.AdminAccess) == 0 {
		errs = append(errs, keyErr(KeyAdminAccess, "", "must list the CIDRs allowed to reach the Kubernetes API (kops would open it to 0.0.0.0/0), e.g. [\"203.0.113.0/24\"]"))
	}
	for _, k := range []struct {
		key   string
		cidrs []string
	}{{KeyAdminAccess, c.AdminAccess}, {KeySSHAccess, c.SSHAccess}} {
		for _, cidr := range k.cidrs {
			p, err := netip.ParsePrefix(cidr)
			switch {
			case err != nil:
				errs = append(errs, keyErr(k.key, cidr, "is not a CIDR: use the form 203.0.113.0/24 or 2001:db8::/32"))
			case p.Bits() == 0 && !c.AllowWorldAccess:
				errs = append(errs, keyErr(k.key, cidr, "is a /0 prefix, which opens the cluster to the whole internet: list your own CIDRs, or set %s:%s=true to accept this deliberately", Namespace, KeyAllowWorldAccess))
			case p.Masked() != p:
				errs = append(errs, keyErr(k.key, cidr, "has address bits set outside its /%d prefix, which kops refuses: use %s", p.Bits(), p.Masked()))
			}
		}
	}
	return errs
}

func validateStateStore(s StateStore) []error {
	var errs []error
	if s.ExistingURL != "" {
		switch {
		case strings.HasPrefix(s.ExistingURL, "s3://"):
			bucket, _, _ := strings.Cut(strings.TrimPrefix(s.ExistingURL, "s3://"), "/")
			if err := checkBucketName(bucket); err != "" {
				errs = append(errs, keyErr(KeyStateStore, s.ExistingURL, "bucket %q %s", bucket, err))
			}
		case strings.HasPrefix(s.ExistingURL, "file:///"):
			// kops's local state store, for tests and air-gapped trials.
		default:
			errs = append(errs, keyErr(KeyStateStore, s.ExistingURL, "must be an existing state store URL s3://<bucket>[/prefix] (or file:///<path> for local testing), or unset to create a bucket"))
		}
		if s.KMSKeyID != "" {
			errs = append(errs, keyErr(KeyStateStoreKMSKeyID, s.KMSKeyID, "only applies to a bucket the program creates; unset it, or unset %s:%s", Namespace, KeyStateStore))
		}
		if s.DeployRoleARN != "" {
			errs = append(errs, keyErr(KeyDeployRoleARN, s.DeployRoleARN, "only shapes the policy of a bucket the program creates; unset it, or unset %s:%s (guard an existing store with its own bucket policy)", Namespace, KeyStateStore))
		}
		return errs
	}
	if err := checkBucketName(s.Bucket); err != "" {
		errs = append(errs, keyErr(KeyStateStoreBucket, s.Bucket, "%s", err))
	}
	if s.KMSKeyID != "" && !kmsKeyID.MatchString(s.KMSKeyID) {
		errs = append(errs, keyErr(KeyStateStoreKMSKeyID, s.KMSKeyID, "must be a KMS key ARN, key id, or alias/<name>"))
	}
	if err := validateDeployRoleARN(s.DeployRoleARN); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// validateDeployRoleARN accepts an IAM role ARN (what aws:PrincipalArn is for
// an assumed role) and turns a session ARN into the fix.
func validateDeployRoleARN(arn string) error {
	if arn == "" || iamRoleARN.MatchString(arn) {
		return nil
	}
	if m := stsSessionARN.FindStringSubmatch(arn); m != nil {
		return keyErr(KeyDeployRoleARN, arn, "is a role session, not the role: use arn:%s:iam::%s:role/%s (add the role's path if it has one)", m[1], m[3], m[4])
	}
	return keyErr(KeyDeployRoleARN, arn, "must be the ARN of the IAM role that runs kops, such as arn:aws:iam::123456789012:role/kopscalico-deploy, or unset")
}

// checkBucketName applies S3's naming rules for general-purpose buckets and
// returns what is wrong, or "".
func checkBucketName(b string) string {
	switch {
	case b == "":
		return "is empty: name the bucket (3-63 characters: a-z, 0-9, '.', '-')"
	case !bucketName.MatchString(b):
		return "is not a valid S3 bucket name: 3-63 characters of a-z, 0-9, '.' and '-', starting and ending with a letter or digit"
	case strings.Contains(b, ".."):
		return "is not a valid S3 bucket name: it has two adjacent dots"
	case net.ParseIP(b) != nil:
		return "is not a valid S3 bucket name: it looks like an IP address"
	case strings.HasPrefix(b, "xn--") || strings.HasPrefix(b, "sthree-"):
		return "is not a valid S3 bucket name: the prefix is reserved by S3"
	case strings.HasSuffix(b, "-s3alias") || strings.HasSuffix(b, "--ol-s3"):
		return "is not a valid S3 bucket name: the suffix is reserved by S3"
	case strings.Contains(b, "."):
		return "has a dot: kops reaches the bucket over virtual-hosted TLS, where dotted names break the certificate; use dashes"
	}
	return ""
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
