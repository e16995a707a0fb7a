package infra

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/s3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/storepolicy"
)

// stateStore is the kops state store: either a bucket this program owns, or an
// existing store given by URL.
type stateStore struct {
	// URL is the KOPS_STATE_STORE value, s3://<bucket>[/prefix].
	URL pulumi.StringOutput
	// Ready is what must exist before kops may use the store: the bucket and
	// every setting on it. Empty for an existing store.
	Ready []pulumi.Resource
}

// deployStateStore creates the kops state-store bucket with the settings kops
// recommends (versioning, encryption, no public access, owner-enforced
// objects) and storepolicy's bucket policy, or adopts the existing store
// named in config.
func deployStateStore(ctx *pulumi.Context, cfg config.Config) (*stateStore, error) {
	s := cfg.StateStore
	if !s.Create() {
		ctx.Log.Info("using the existing kops state store "+s.ExistingURL+"; no bucket is created", nil)
		return &stateStore{URL: pulumi.String(s.ExistingURL).ToStringOutput()}, nil
	}

	provider, err := aws.NewProvider(ctx, "aws", &aws.ProviderArgs{
		Region: pulumi.String(cfg.Cluster.Region),
		DefaultTags: &aws.ProviderDefaultTagsArgs{
			Tags: pulumi.ToStringMap(stateStoreTags(cfg)),
		},
	})
	if err != nil {
		return nil, err
	}
	// A versioned bucket keeps every old object version, so deleting it can
	// only succeed by emptying it: without stateStoreForceDestroy, destroy
	// leaves the bucket and its settings as they are (retained), never
	// half-stripped.
	opts := []pulumi.ResourceOption{pulumi.Provider(provider), pulumi.RetainOnDelete(!s.ForceDestroy)}

	bucket, err := s3.NewBucketV2(ctx, "kops-state-store", &s3.BucketV2Args{
		Bucket:       pulumi.String(s.Bucket),
		ForceDestroy: pulumi.Bool(s.ForceDestroy),
		Tags:         pulumi.ToStringMap(stateStoreTags(cfg)),
	}, append(opts, pulumi.Protect(s.Protect))...)
	if err != nil {
		return nil, err
	}
	child := append(opts, pulumi.Parent(bucket))

	// kops: "We STRONGLY recommend versioning your S3 bucket in case you ever
	// need to revert or recover a previous state store."
	versioning, err := s3.NewBucketVersioningV2(ctx, "kops-state-store", &s3.BucketVersioningV2Args{
		Bucket: bucket.ID(),
		VersioningConfiguration: &s3.BucketVersioningV2VersioningConfigurationArgs{
			Status: pulumi.String("Enabled"),
		},
	}, child...)
	if err != nil {
		return nil, err
	}

	sse := &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
		SseAlgorithm: pulumi.String("AES256"),
	}
	if s.KMSKeyID != "" {
		sse = &s3.BucketServerSideEncryptionConfigurationV2RuleApplyServerSideEncryptionByDefaultArgs{
			SseAlgorithm:   pulumi.String("aws:kms"),
			KmsMasterKeyId: pulumi.String(s.KMSKeyID),
		}
	}
	encryption, err := s3.NewBucketServerSideEncryptionConfigurationV2(ctx, "kops-state-store", &s3.BucketServerSideEncryptionConfigurationV2Args{
		Bucket: bucket.ID(),
		Rules: s3.BucketServerSideEncryptionConfigurationV2RuleArray{
			&s3.BucketServerSideEncryptionConfigurationV2RuleArgs{
				ApplyServerSideEncryptionByDefault: sse,
				BucketKeyEnabled:                   pulumi.Bool(s.KMSKeyID != ""),
			},
		},
	}, child...)
	if err != nil {
		return nil, err
	}

	publicAccess, err := s3.NewBucketPublicAccessBlock(ctx, "kops-state-store", &s3.BucketPublicAccessBlockArgs{
		Bucket:                bucket.ID(),
		BlockPublicAcls:       pulumi.Bool(true),
		BlockPublicPolicy:     pulumi.Bool(true),
		IgnorePublicAcls:      pulumi.Bool(true),
		RestrictPublicBuckets: pulumi.Bool(true),
	}, child...)
	if err != nil {
		return nil, err
	}

	ownership, err := s3.NewBucketOwnershipControls(ctx, "kops-state-store", &s3.BucketOwnershipControlsArgs{
		Bucket: bucket.ID(),
		Rule: &s3.BucketOwnershipControlsRuleArgs{
			ObjectOwnership: pulumi.String("BucketOwnerEnforced"),
		},
	}, child...)
	if err != nil {
		return nil, err
	}

	if s.DeployRoleARN == "" {
		ctx.Log.Warn(fmt.Sprintf("%s is unset: every principal of the account that IAM lets read or write bucket %s (ReadOnlyAccess included, for reads) can read the cluster's CA keys, secrets and etcd backups, or replace the cluster's spec, keys and settings; set it to the IAM role that runs kops",
			config.FullKey(config.KeyDeployRoleARN), s.Bucket), nil)
	}
	policy, err := s3.NewBucketPolicy(ctx, "kops-state-store", &s3.BucketPolicyArgs{
		Bucket: bucket.ID(),
		Policy: bucket.Arn.ApplyT(func(arn string) (string, error) {
			doc, err := storepolicy.StateStore(storepolicy.Input{BucketARN: arn, ClusterName: cfg.Cluster.Name, DeployRoleARN: s.DeployRoleARN})
			if err != nil {
				return "", fmt.Errorf("state-store bucket policy: %w", err)
			}
			return doc.JSON()
		}).(pulumi.StringOutput),
	}, append(child, pulumi.DependsOn([]pulumi.Resource{publicAccess, ownership}),
		pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String("kops-state-store-tls-only")}}))...)
	if err != nil {
		return nil, err
	}

	return &stateStore{
		URL:   pulumi.Sprintf("s3://%s", bucket.Bucket),
		Ready: []pulumi.Resource{bucket, versioning, encryption, publicAccess, ownership, policy},
	}, nil
}

func stateStoreTags(cfg config.Config) map[string]string {
	return map[string]string{
		"kopscalico:project": cfg.Project,
		"kopscalico:stack":   cfg.Stack,
		"kopscalico:cluster": cfg.Cluster.Name,
		"kopscalico:purpose": "kops-state-store",
	}
}
