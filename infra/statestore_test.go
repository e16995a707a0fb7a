package infra

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

func devConfig() map[string]string {
	return map[string]string{
		config.KeyClusterName:        "calico.dev.example.com",
		config.KeyRegion:             "us-east-1",
		config.KeyZones:              `["us-east-1a","us-east-1b"]`,
		config.KeyAdminAccess:        `["203.0.113.0/24"]`,
		config.KeyKopsVersion:        "1.34",
		config.KeyPoliciesDir:        "../policies",
		config.KeyNamespaces:         DemoNamespace,
		config.KeySecurityGroupCheck: "off",
	}
}

// runStateStore runs only the config and state-store stages under mocks and
// returns the exported state-store URL.
func runStateStore(t *testing.T, stack string, cfg map[string]string) (*recorder, string) {
	t.Helper()
	rec := &recorder{}
	var url string
	err := runMocked(t, stack, cfg, rec, func(ctx *pulumi.Context) error {
		c, err := LoadConfig(ctx)
		if err != nil {
			return err
		}
		s, err := deployStateStore(ctx, c)
		if err != nil {
			return err
		}
		url = await[string](t, s.URL)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec, url
}

const (
	tokBucket     = "aws:s3/bucketV2:BucketV2"
	tokVersioning = "aws:s3/bucketVersioningV2:BucketVersioningV2"
	tokSSE        = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
	tokPAB        = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
	tokOwnership  = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
	tokPolicy     = "aws:s3/bucketPolicy:BucketPolicy"
	tokAWSProv    = "pulumi:providers:aws"
)

func TestStateStoreBucketAsKopsRecommends(t *testing.T) {
	t.Parallel()
	rec, url := runStateStore(t, "dev", devConfig())

	if url != "s3://kops-state-calico-dev-example-com" {
		t.Errorf("stateStore = %q", url)
	}
	prov := rec.one(t, tokAWSProv)
	if got := propString(t, prov.Inputs, "region"); got != "us-east-1" {
		t.Errorf("provider region = %q", got)
	}

	b := rec.one(t, tokBucket)
	if got := propString(t, b.Inputs, "bucket"); got != "kops-state-calico-dev-example-com" {
		t.Errorf("bucket = %q", got)
	}
	if got := propString(t, b.Inputs, "forceDestroy"); got != "false" {
		t.Errorf("forceDestroy = %q", got)
	}
	if b.Protect {
		t.Error("dev bucket is protected; protect defaults on only outside dev")
	}
	if got := propString(t, b.Inputs, "tags", "kopscalico:cluster"); got != "calico.dev.example.com" {
		t.Errorf("cluster tag = %q", got)
	}
	if !strings.HasPrefix(b.Provider, "urn:pulumi:dev::kopscalico::pulumi:providers:aws::aws::") {
		t.Errorf("bucket not on the explicit aws provider: %q", b.Provider)
	}

	if got := propString(t, rec.one(t, tokVersioning).Inputs, "versioningConfiguration", "status"); got != "Enabled" {
		t.Errorf("versioning status = %q", got)
	}

	sse := rec.one(t, tokSSE).Inputs
	if got := propString(t, sse, "rules", "0", "applyServerSideEncryptionByDefault", "sseAlgorithm"); got != "AES256" {
		t.Errorf("sseAlgorithm = %q", got)
	}

	pab := rec.one(t, tokPAB).Inputs
	for _, k := range []string{"blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"} {
		if got := propString(t, pab, k); got != "true" {
			t.Errorf("public access block %s = %q", k, got)
		}
	}

	if got := propString(t, rec.one(t, tokOwnership).Inputs, "rule", "objectOwnership"); got != "BucketOwnerEnforced" {
		t.Errorf("objectOwnership = %q", got)
	}

	doc := bucketPolicy(t, rec)
	if len(doc.Statement) != 1 {
		t.Fatalf("policy statements without %s: %+v", config.KeyDeployRoleARN, doc.Statement)
	}
	st := doc.Statement[0]
	if st.Sid != "DenyInsecureTransport" || st.Effect != "Deny" || st.Principal != "*" || st.Action != "s3:*" ||
		st.Condition["Bool"]["aws:SecureTransport"] != "false" {
		t.Errorf("policy does not deny non-TLS requests: %+v", st)
	}
	arn := "arn:aws:s3:::kops-state-calico-dev-example-com"
	if len(st.Resource) != 2 || st.Resource[0] != arn || st.Resource[1] != arn+"/*" {
		t.Errorf("policy resources = %v", st.Resource)
	}
}

// policyDoc is the part of an S3 bucket policy the tests read.
type policyDoc struct {
	Statement []struct {
		Sid       string
		Effect    string
		Principal any
		Action    any
		Resource  []string
		Condition map[string]map[string]any
	}
}

func bucketPolicy(t *testing.T, rec *recorder) policyDoc {
	t.Helper()
	var doc policyDoc
	policy := propString(t, rec.one(t, tokPolicy).Inputs, "policy")
	if err := json.Unmarshal([]byte(policy), &doc); err != nil {
		t.Fatalf("policy is not JSON: %v\n%s", err, policy)
	}
	return doc
}

// TestStateStoreDeniesSecretsToAllButDeployRole: with the deploy role named,
// the bucket policy denies reading the cluster's keys, secrets and etcd
// backups (any version) to every principal but that role and the control
// plane's kops roles, in the deploy role's account.
func TestStateStoreDeniesSecretsToAllButDeployRole(t *testing.T) {
	t.Parallel()
	cfg := devConfig()
	deploy := "arn:aws:iam::123456789012:role/ci/kopscalico-deploy"
	cfg[config.KeyDeployRoleARN] = deploy
	rec, _ := runStateStore(t, "dev", cfg)

	doc := bucketPolicy(t, rec)
	if len(doc.Statement) != 2 || doc.Statement[0].Sid != "DenyInsecureTransport" {
		t.Fatalf("want the TLS statement and the secrets statement: %+v", doc.Statement)
	}
	st := doc.Statement[1]
	if st.Sid != "DenyReadingClusterSecrets" || st.Effect != "Deny" || st.Principal != "*" {
		t.Errorf("secrets statement: %+v", st)
	}
	actions, _ := st.Action.([]any)
	if !slices.Equal(actions, []any{"s3:GetObject", "s3:GetObjectVersion"}) {
		t.Errorf("denied actions = %v, want reading any version of an object", st.Action)
	}
	bucket := "arn:aws:s3:::kops-state-calico-dev-example-com"
	wantRes := []string{bucket + "/*/pki/private/*", bucket + "/*/secrets/*", bucket + "/*/backups/etcd/*"}
	if !slices.Equal(st.Resource, wantRes) {
		t.Errorf("resources = %v, want %v", st.Resource, wantRes)
	}
	readers, _ := st.Condition["ArnNotLike"]["aws:PrincipalArn"].([]any)
	wantReaders := []any{deploy,
		"arn:aws:iam::123456789012:role/masters.calico.dev.example.com*",
		"arn:aws:iam::123456789012:role/apiservers.calico.dev.example.com*"}
	if !slices.Equal(readers, wantReaders) {
		t.Errorf("principals allowed to read = %v, want %v", readers, wantReaders)
	}
	if len(st.Condition) != 1 {
		t.Errorf("extra conditions would narrow the deny: %v", st.Condition)
	}
}

// TestSecretReadersFollowKopsRoleNames: kops names the control plane's role
// masters.<cluster>, cut to 57 characters and a hash past 64; the pattern
// matches both, in the deploy role's partition and account.
func TestSecretReadersFollowKopsRoleNames(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 50) + ".example.com"
	readers, err := secretReaders(long, "arn:aws-us-gov:iam::210987654321:role/deploy")
	if err != nil {
		t.Fatal(err)
	}
	for i, role := range []string{"masters.", "apiservers."} {
		pattern := readers[i+1]
		prefix, ok := strings.CutSuffix(pattern, "*")
		if !ok || !strings.HasPrefix(prefix, "arn:aws-us-gov:iam::210987654321:role/") {
			t.Fatalf("pattern %q", pattern)
		}
		name := strings.TrimPrefix(prefix, "arn:aws-us-gov:iam::210987654321:role/")
		if len(name) != 57 || !strings.HasPrefix(role+long, name) {
			t.Errorf("pattern %q does not keep the 57 characters kops keeps of %s%s", pattern, role, long)
		}
	}
	if _, err := secretReaders("c.example.com", "kopscalico-deploy"); err == nil || !strings.Contains(err.Error(), config.KeyDeployRoleARN) {
		t.Errorf("a malformed role ARN must fail naming the key: %v", err)
	}
}

// TestBucketPolicyKeepsItsIdentity: the policy resource was named for TLS
// only; the alias keeps its URN, so the rename updates it in place instead
// of creating a new policy and deleting the old one (which would leave the
// bucket with none).
func TestBucketPolicyKeepsItsIdentity(t *testing.T) {
	t.Parallel()
	rec, _ := runStateStore(t, "dev", devConfig())
	p := rec.one(t, tokPolicy)
	if p.Name != "kops-state-store" || !slices.Contains(p.Aliases, "kops-state-store-tls-only") {
		t.Errorf("policy %q, aliases %v", p.Name, p.Aliases)
	}
}

func TestStateStoreKMSAndForceDestroy(t *testing.T) {
	t.Parallel()
	cfg := devConfig()
	cfg[config.KeyStateStoreKMSKeyID] = "alias/kops-state"
	cfg[config.KeyStateStoreForceDest] = "true"
	cfg[config.KeyStateStoreBucket] = "my-kops-state"
	rec, url := runStateStore(t, "dev", cfg)
	if url != "s3://my-kops-state" {
		t.Errorf("stateStore = %q", url)
	}
	sse := rec.one(t, tokSSE).Inputs
	if got := propString(t, sse, "rules", "0", "applyServerSideEncryptionByDefault", "sseAlgorithm"); got != "aws:kms" {
		t.Errorf("sseAlgorithm = %q", got)
	}
	if got := propString(t, sse, "rules", "0", "applyServerSideEncryptionByDefault", "kmsMasterKeyId"); got != "alias/kops-state" {
		t.Errorf("kmsMasterKeyId = %q", got)
	}
	if got := propString(t, sse, "rules", "0", "bucketKeyEnabled"); got != "true" {
		t.Errorf("bucketKeyEnabled = %q", got)
	}
	if got := propString(t, rec.one(t, tokBucket).Inputs, "forceDestroy"); got != "true" {
		t.Errorf("forceDestroy = %q", got)
	}
}

func TestStateStoreProtectedOutsideDev(t *testing.T) {
	t.Parallel()
	rec, _ := runStateStore(t, "prod", devConfig())
	if !rec.one(t, tokBucket).Protect {
		t.Error("prod bucket must be protected by default")
	}
}

func TestTLSPolicyWaitsForPublicAccessBlock(t *testing.T) {
	t.Parallel()
	rec, _ := runStateStore(t, "dev", devConfig())
	deps := strings.Join(rec.one(t, tokPolicy).Deps, " ")
	if !strings.Contains(deps, "BucketPublicAccessBlock") || !strings.Contains(deps, "BucketOwnershipControls") {
		t.Errorf("bucket policy depends on %s", deps)
	}
}

func TestExistingStateStoreCreatesNothing(t *testing.T) {
	t.Parallel()
	cfg := devConfig()
	cfg[config.KeyStateStore] = "s3://team-kops-state/clusters"
	rec, url := runStateStore(t, "dev", cfg)
	if url != "s3://team-kops-state/clusters" {
		t.Errorf("stateStore = %q", url)
	}
	if n := len(rec.resources); n != 0 {
		t.Errorf("an existing store must create nothing, got %d resources: %+v", n, rec.resources)
	}
}

// Without stateStoreForceDestroy, destroy keeps the bucket and every setting
// on it (a versioned bucket cannot be deleted unless emptied); with it, all
// of them go.
func TestStateStoreRetainedUnlessForceDestroyed(t *testing.T) {
	t.Parallel()
	for _, force := range []bool{false, true} {
		cfg := devConfig()
		cfg[config.KeyStateStoreForceDest] = fmt.Sprint(force)
		rec, _ := runStateStore(t, "dev", cfg)
		n := 0
		for _, r := range rec.resources {
			if !strings.HasPrefix(r.Token, "aws:s3") {
				continue
			}
			n++
			if r.Retain == force {
				t.Errorf("forceDestroy=%v: %s %s retainOnDelete=%v", force, r.Token, r.Name, r.Retain)
			}
		}
		if n != 6 {
			t.Errorf("%d state-store resources, want the bucket and its 5 settings", n)
		}
	}
}

// The cluster waits for the guard, which waits for the whole store: destroy
// deletes the cluster, then checks the store is empty, then the store.
func TestStateStoreGuardStandsBetweenClusterAndBucket(t *testing.T) {
	t.Parallel()
	rec, _, err := runProgram(t, devConfig(), true)
	if err != nil {
		t.Fatal(err)
	}
	guard := rec.one(t, pluginapi.StateStoreGuardType)
	if got := propString(t, guard.Inputs, "stateStore"); got != "s3://kops-state-calico-dev-example-com" {
		t.Errorf("guard stateStore = %q", got)
	}
	if deps := strings.Join(guard.Deps, " "); !strings.Contains(deps, tokBucket) || !strings.Contains(deps, tokPolicy) || !strings.Contains(deps, tokVersioning) {
		t.Errorf("guard deps %s", deps)
	}
	if deps := strings.Join(rec.one(t, pluginapi.ClusterType).Deps, " "); !strings.Contains(deps, pluginapi.StateStoreGuardType) {
		t.Errorf("cluster deps %s", deps)
	}
	cfg := devConfig()
	cfg[config.KeyStateStore] = "s3://shared-kops-state"
	rec, _, err = runProgram(t, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.byType(pluginapi.StateStoreGuardType)); n != 0 {
		t.Errorf("an existing (shared) store got %d guards: other clusters in it are normal", n)
	}
}
