package config

import (
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/kopscalico/kopscalico/internal/kopsrelease"
)

var (
	bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	// An IAM role ARN: partition, 12-digit account, optional path, name.
	iamRoleARN    = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([A-Za-z0-9+=,.@_/-]*/)?[A-Za-z0-9+=,.@_-]{1,64}$`)
	stsSessionARN = regexp.MustCompile(`^arn:(aws(-[a-z]+)*):sts::([0-9]{12}):assumed-role/([^/]+)/`)
	kmsKeyID      = regexp.MustCompile(`^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+|alias/[A-Za-z0-9/_-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`)
)

// validate checks the rules across keys over the parsed config: the
// cluster's when the program drives it, the rest always.
func validate(c Config, fs FS) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	if c.Cluster.Manage {
		errs = append(errs, clusterRules(c)...)
		if p := c.Cluster.SSHPublicKey; p != "" && !fs.IsFile(p) {
			add(keyErr(KeySSHPublicKey, p, "no such file: give the path of an SSH public key, e.g. ~/.ssh/id_ed25519.pub, or unset it"))
		}
		errs = append(errs, rollOptionsRule(c.Kops)...)
		if c.Kops.Binary == "" {
			add(keyErr(KeyKopsBinary, "", "must name the kops binary (a path, or a name on PATH such as kops)"))
		}
	} else {
		if c.Cluster.Kubeconfig == "" {
			add(keyErr(KeyKubeconfig, "", "is required when %s is false: set it with `pulumi config set --secret %s \"$(cat ~/.kube/config)\"`",
				FullKey(KeyManageCluster), FullKey(KeyKubeconfig)))
		}
		if c.Cluster.Name == "" {
			add(keyErr(KeyClusterName, "", "is required: the name of the cluster the kubeconfig reaches"))
		}
	}

	errs = append(errs, validateStateStore(c.StateStore)...)

	if p := c.Calico.ManifestPath; p != "" && !fs.IsFile(p) {
		add(keyErr(KeyCalicoManifestPath, p, "no such file: give the path of a Calico manifest (YAML), or unset it"))
	}

	if !fs.IsDir(c.Workloads.PoliciesDir) {
		add(keyErr(KeyPoliciesDir, c.Workloads.PoliciesDir, "is not a directory: point it at the folder holding one sub-folder of policies per namespace (default %q)", DefaultPoliciesDir))
	}
	errs = append(errs, validateNamespaceNames(c.Workloads.Namespaces)...)
	if c.Workloads.Probes && !c.Workloads.Demo {
		add(keyErr(KeyProbes, "true", "needs %s=true: the probes call the demo http-echo service (or set %s=false)", FullKey(KeyDemoWorkloads), FullKey(KeyProbes)))
	}

	if c.SecurityGroupCheck != SGCheckOff && !c.Cluster.Manage && c.Cluster.Region == "" {
		add(keyErr(KeyRegion, "", "is required for the security-group check: set it, or set %s=off", FullKey(KeySecurityGroupCheck)))
	}
	return errs
}

// rollOptionsRule: the roll's options fit kops's flags and the roll's own
// bound (a drain longer than the whole roll can never finish).
func rollOptionsRule(k Kops) []error {
	var errs []error
	if k.DrainTimeout > k.RollingUpdateTimeout {
		errs = append(errs, keyErr(KeyDrainTimeout, k.DrainTimeout.String(), "is longer than %s (%s), the bound of the whole roll: lower it, or raise %s",
			FullKey(KeyRollingUpdateTimeout), k.RollingUpdateTimeout, FullKey(KeyRollingUpdateTimeout)))
	}
	if k.ValidateCount < 0 || k.ValidateCount > MaxValidateCount {
		errs = append(errs, keyErr(KeyValidateCount, strconv.Itoa(k.ValidateCount), "must be 1 to %d: how many times kops validates the cluster after each node it replaces (unset or 0: kops's default, 2)", MaxValidateCount))
	}
	for _, f := range []struct {
		key, value string
		set        bool
		since      kopsrelease.Version
	}{{KeyDrainTimeout, k.DrainTimeout.String(), k.DrainTimeout > 0, kopsrelease.RollingUpdateDrainTimeout},
		{KeyValidateCount, strconv.Itoa(k.ValidateCount), k.ValidateCount > 0, kopsrelease.RollingUpdateValidateCount}} {
		if f.set && !k.Version.IsZero() && !k.Version.AtLeast(f.since) {
			errs = append(errs, keyErr(f.key, f.value, "needs kops %s or later (%s pins %s, whose rolling-update has no such flag): unset it, or upgrade kops",
				f.since.MinorString(), FullKey(KeyKopsVersion), k.Version.MinorString()))
		}
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

func validateStateStore(s StateStore) []error {
	var errs []error
	if s.ExistingURL != "" {
		if err := stateStoreURLRule(s.ExistingURL); err != nil {
			errs = append(errs, err)
		}
		if s.KMSKeyID != "" {
			errs = append(errs, keyErr(KeyStateStoreKMSKeyID, s.KMSKeyID, "only applies to a bucket the program creates; unset it, or unset %s", FullKey(KeyStateStore)))
		}
		if s.DeployRoleARN != "" {
			errs = append(errs, keyErr(KeyDeployRoleARN, s.DeployRoleARN, "only shapes the policy of a bucket the program creates; unset it, or unset %s (guard an existing store with its own bucket policy)", FullKey(KeyStateStore)))
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

// stateStoreURLRule: a kops state store URL, s3:// with a valid bucket, or
// file:/// (kops's local store, for tests and air-gapped trials).
func stateStoreURLRule(url string) error {
	switch {
	case strings.HasPrefix(url, "s3://"):
		bucket, _, _ := strings.Cut(strings.TrimPrefix(url, "s3://"), "/")
		if err := checkBucketName(bucket); err != "" {
			return keyErr(KeyStateStore, url, "bucket %q %s", bucket, err)
		}
	case strings.HasPrefix(url, "file:///"):
	default:
		return keyErr(KeyStateStore, url, "must be an existing state store URL s3://<bucket>[/prefix] (or file:///<path> for local testing), or unset to create a bucket")
	}
	return nil
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
