package storepolicy

import (
	"fmt"
	"strings"
)

// Input is what the state store's policy is built from.
type Input struct {
	// BucketARN is the bucket's ARN, arn:<partition>:s3:::<bucket>.
	BucketARN string
	// ClusterName is the kops cluster the bucket holds.
	ClusterName string
	// DeployRoleARN is the IAM role that runs kops (internal/config checks
	// its form); empty adds no guard beyond TLS.
	DeployRoleARN string
}

// secretPaths are the objects that hand out the cluster, under any
// cluster's prefix: private keys (the CA's among them), secrets (admin and
// service tokens) and etcd backups (every Kubernetes Secret).
var secretPaths = []string{"*/pki/private/*", "*/secrets/*", "*/backups/etcd/*"}

// objectWrites are the actions that create, replace or delete an object or
// a version of one, or change what guards it.
var objectWrites = []string{
	"s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject",
	"s3:Replicate*", "s3:BypassGovernanceRetention",
}

// settingWrites change the bucket's own settings: its policy, lifecycle,
// replication, versioning, encryption, public access, ownership, object
// lock, ACL.
// (Deleting a lifecycle, replication, encryption, public-access or
// ownership configuration is authorized by the same Put action.)
var settingWrites = []string{
	"s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
	"s3:PutLifecycleConfiguration", "s3:PutReplicationConfiguration",
	"s3:PutBucketVersioning", "s3:PutEncryptionConfiguration",
	"s3:PutBucketPublicAccessBlock", "s3:PutBucketOwnershipControls",
	"s3:PutBucketObjectLockConfiguration", "s3:PutBucketAcl",
}

// roles are the principals the policy names, as IAM role ARNs.
type roles struct {
	Deploy string
	// ControlPlane and APIServers are the roles kops gives the instance
	// groups of those roles (pkg/model/names.go IAMName), in the deploy
	// role's partition and account.
	ControlPlane, APIServers string
}

// rolesFor derives the control plane's and API servers' role ARNs from the
// deploy role's partition and account and kops's naming rule.
func rolesFor(clusterName, deployRoleARN string) (roles, error) {
	parts := strings.SplitN(deployRoleARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[4] == "" || !strings.HasPrefix(parts[5], "role/") {
		return roles{}, fmt.Errorf("%q is not an IAM role ARN", deployRoleARN)
	}
	role := func(prefix string) string {
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", parts[1], parts[4], kopsIAMName(prefix, clusterName))
	}
	return roles{Deploy: deployRoleARN, ControlPlane: role("masters."), APIServers: role("apiservers.")}, nil
}

// StateStore is the bucket policy, one document. It denies every request
// without TLS (AWS's s3-bucket-ssl-requests-only control). With the deploy
// role it also denies
//   - reading secretPaths to all but the deploy role and the control plane
//     and API servers (kops grants both s3:Get* on the cluster's objects:
//     pkg/model/iam/iam_builder.go ReadableStatePaths);
//   - writing or deleting any object, or any version of one, to all but
//     the deploy role and the control plane;
//   - the control plane any write outside <cluster>/backups/etcd/, the one
//     place kops lets it write (WriteableVFSPaths: the etcd backup stores,
//     <cluster>/backups/etcd/<name> by pkg/model/components/etcdmanager);
//     nodes write nothing;
//   - changing the bucket's settings to all but the deploy role.
//
// Principals are matched by aws:PrincipalArn, exact role ARNs only.
func StateStore(in Input) (Document, error) {
	bucket := in.BucketARN
	if !strings.HasPrefix(bucket, "arn:") || !strings.Contains(bucket, ":s3:::") || strings.Contains(bucket, "/") {
		return Document{}, fmt.Errorf("%q is not an S3 bucket ARN", bucket)
	}
	objects := bucket + "/*"
	doc := Document{Version: "2012-10-17", Statement: []Statement{{
		Sid:       "DenyInsecureTransport",
		Effect:    effectDeny,
		Principal: "*",
		Action:    stringList{"s3:*"},
		Resource:  stringList{bucket, objects},
		Condition: map[string]map[string]stringList{"Bool": {"aws:SecureTransport": {"false"}}},
	}}}
	if in.DeployRoleARN == "" {
		return doc, nil
	}
	r, err := rolesFor(in.ClusterName, in.DeployRoleARN)
	if err != nil {
		return Document{}, err
	}
	exceptFor := func(arns ...string) map[string]map[string]stringList {
		return map[string]map[string]stringList{"ArnNotEquals": {"aws:PrincipalArn": arns}}
	}
	var secrets stringList
	for _, p := range secretPaths {
		secrets = append(secrets, bucket+"/"+p)
	}
	doc.Statement = append(doc.Statement,
		Statement{
			Sid:       "DenyReadingClusterSecrets",
			Effect:    effectDeny,
			Principal: "*",
			Action:    stringList{"s3:GetObject", "s3:GetObjectVersion"},
			Resource:  secrets,
			Condition: exceptFor(r.Deploy, r.ControlPlane, r.APIServers),
		},
		Statement{
			Sid:       "DenyWritingObjects",
			Effect:    effectDeny,
			Principal: "*",
			Action:    objectWrites,
			Resource:  stringList{objects},
			Condition: exceptFor(r.Deploy, r.ControlPlane),
		},
		Statement{
			Sid:         "DenyControlPlaneWritesOutsideEtcdBackups",
			Effect:      effectDeny,
			Principal:   "*",
			Action:      objectWrites,
			NotResource: stringList{bucket + "/" + in.ClusterName + "/backups/etcd/*"},
			Condition:   map[string]map[string]stringList{"ArnEquals": {"aws:PrincipalArn": {r.ControlPlane}}},
		},
		Statement{
			Sid:       "DenyChangingBucketSettings",
			Effect:    effectDeny,
			Principal: "*",
			Action:    settingWrites,
			Resource:  stringList{bucket},
			Condition: exceptFor(r.Deploy),
		},
	)
	return doc, nil
}
