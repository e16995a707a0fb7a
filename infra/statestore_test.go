package infra

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/storepolicy"
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

	// Without deployRoleArn: TLS only (storepolicy's table tests the rest).
	want, err := storepolicy.StateStore(storepolicy.Input{BucketARN: "arn:aws:s3:::kops-state-calico-dev-example-com", ClusterName: "calico.dev.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if doc := bucketPolicy(t, rec); !reflect.DeepEqual(doc, want) {
		t.Errorf("policy %+v, want %+v", doc, want)
	}
}

func bucketPolicy(t *testing.T, rec *recorder) storepolicy.Document {
	t.Helper()
	policy := propString(t, rec.one(t, tokPolicy).Inputs, "policy")
	doc, err := storepolicy.Parse([]byte(policy))
	if err != nil {
		t.Fatalf("%v\n%s", err, policy)
	}
	return doc
}

// TestStateStoreGuardedForTheDeployRole: with the deploy role named, the
// policy the program registers is storepolicy's for this bucket, cluster and
// role: evaluated, it keeps the CA key, the cluster spec and the bucket's
// settings from a role IAM allows everything, and leaves them to kops.
func TestStateStoreGuardedForTheDeployRole(t *testing.T) {
	t.Parallel()
	cfg := devConfig()
	deploy := "arn:aws:iam::123456789012:role/ci/kopscalico-deploy"
	cfg[config.KeyDeployRoleARN] = deploy
	rec, _ := runStateStore(t, "dev", cfg)

	doc := bucketPolicy(t, rec)
	bucket := "arn:aws:s3:::kops-state-calico-dev-example-com"
	want, err := storepolicy.StateStore(storepolicy.Input{BucketARN: bucket, ClusterName: "calico.dev.example.com", DeployRoleARN: deploy})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(doc, want) {
		t.Errorf("registered policy %+v\nwant %+v", doc, want)
	}
	admin, err := storepolicy.Parse([]byte(`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	preview := "arn:aws:iam::123456789012:role/kopscalico-preview"
	for _, c := range []struct {
		who, action, key string
		want             storepolicy.Decision
	}{
		{preview, "s3:GetObject", "/calico.dev.example.com/pki/private/kubernetes-ca/keyset.yaml", storepolicy.ExplicitDeny},
		{preview, "s3:PutObject", "/calico.dev.example.com/pki/private/kubernetes-ca/keyset.yaml", storepolicy.ExplicitDeny},
		{preview, "s3:PutObject", "/calico.dev.example.com/config", storepolicy.ExplicitDeny},
		{preview, "s3:DeleteObjectVersion", "/calico.dev.example.com/config", storepolicy.ExplicitDeny},
		{preview, "s3:PutBucketPolicy", "", storepolicy.ExplicitDeny},
		{preview, "s3:GetObject", "/calico.dev.example.com/config", storepolicy.Allowed},
		{deploy, "s3:PutObject", "/calico.dev.example.com/pki/private/kubernetes-ca/keyset.yaml", storepolicy.Allowed},
		{deploy, "s3:PutBucketPolicy", "", storepolicy.Allowed},
	} {
		req := storepolicy.Request{Action: c.action, Resource: bucket + c.key,
			Context: map[string]string{"aws:PrincipalArn": c.who, "aws:SecureTransport": "true"}}
		if got, err := storepolicy.Evaluate(req, admin, doc); err != nil || got != c.want {
			t.Errorf("%s %s %s: %s (%v), want %s", c.who, c.action, c.key, got, err, c.want)
		}
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
