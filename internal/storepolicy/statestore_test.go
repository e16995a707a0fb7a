package storepolicy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

const (
	testBucket  = "arn:aws:s3:::kops-state-calico-dev-example-com"
	testCluster = "calico.dev.example.com"
	testDeploy  = "arn:aws:iam::123456789012:role/ci/kopscalico-deploy"
)

// principals of the table, all in the bucket's account (Evaluate models one
// account): every one holds an identity policy allowing s3:* (an
// administrator, or ReadOnlyAccess for reads), so what is denied is the
// bucket policy's doing.
var principals = map[string]string{
	"deploy":       testDeploy,
	"masters":      "arn:aws:iam::123456789012:role/masters." + testCluster,
	"apiservers":   "arn:aws:iam::123456789012:role/apiservers." + testCluster,
	"nodes":        "arn:aws:iam::123456789012:role/nodes." + testCluster,
	"bastions":     "arn:aws:iam::123456789012:role/bastions." + testCluster,
	"look-alike":   "arn:aws:iam::123456789012:role/masters." + testCluster + ".au",
	"preview":      "arn:aws:iam::123456789012:role/kopscalico-preview",
	"admin-user":   "arn:aws:iam::123456789012:user/alice",
	"other-master": "arn:aws:iam::123456789012:role/masters.other.example.com",
	"deploy-path":  "arn:aws:iam::123456789012:role/kopscalico-deploy", // the deploy role's name, another path
}

var allowIdentity = Document{Statement: []Statement{{Effect: effectAllow, Action: stringList{"s3:*"}, Resource: stringList{"*"}}}}

// storeRows: each action on each key, and who may do it; every other
// principal of the table must be denied. A key is under the bucket, "" is
// the bucket itself.
var storeRows = []struct {
	action, key string
	allowed     []string
}{
	// Reading: secrets to kops and the instances kops lets read them.
	{"s3:GetObject", testCluster + "/pki/private/kubernetes-ca/keyset.yaml", []string{"deploy", "masters", "apiservers"}},
	{"s3:GetObjectVersion", testCluster + "/pki/private/kubernetes-ca/keyset.yaml", []string{"deploy", "masters", "apiservers"}},
	{"s3:GetObject", testCluster + "/secrets/admin", []string{"deploy", "masters", "apiservers"}},
	{"s3:GetObject", testCluster + "/backups/etcd/main/2026-12-07T00:00:00Z-000001/etcd.backup.gz", []string{"deploy", "masters", "apiservers"}},
	{"s3:GetObject", "other.example.com/pki/private/kubernetes-ca/keyset.yaml", []string{"deploy", "masters", "apiservers"}},
	{"s3:GetObject", testCluster + "/config", all()},
	{"s3:GetObject", testCluster + "/pki/issued/kubernetes-ca/keyset.yaml", all()},
	{"s3:GetObject", testCluster + "/cluster-completed.spec", all()},
	{"s3:ListBucket", "", all()},
	// Writing: kops (the deploy role) everything; the control plane its
	// etcd backups only; nobody else anything.
	{"s3:PutObject", testCluster + "/config", []string{"deploy"}},
	{"s3:PutObject", testCluster + "/cluster-completed.spec", []string{"deploy"}},
	{"s3:PutObject", testCluster + "/instancegroup/nodes-us-east-1a", []string{"deploy"}},
	{"s3:PutObject", testCluster + "/igconfig/node/nodes-us-east-1a/nodeupconfig.yaml", []string{"deploy"}},
	{"s3:PutObject", testCluster + "/addons/bootstrap-channel.yaml", []string{"deploy"}},
	{"s3:PutObject", testCluster + "/pki/private/kubernetes-ca/keyset.yaml", []string{"deploy"}},
	{"s3:PutObjectAcl", testCluster + "/pki/private/kubernetes-ca/keyset.yaml", []string{"deploy"}},
	{"s3:PutObjectTagging", testCluster + "/secrets/admin", []string{"deploy"}},
	{"s3:PutObject", testCluster + "/secrets/admin", []string{"deploy"}},
	{"s3:DeleteObject", testCluster + "/config", []string{"deploy"}},
	{"s3:DeleteObjectVersion", testCluster + "/pki/private/kubernetes-ca/keyset.yaml", []string{"deploy"}},
	{"s3:DeleteObjectVersion", testCluster + "/instancegroup/control-plane-us-east-1a", []string{"deploy"}},
	{"s3:RestoreObject", testCluster + "/config", []string{"deploy"}},
	{"s3:PutObject", "other.example.com/config", []string{"deploy"}},
	{"s3:PutObject", "unrelated.txt", []string{"deploy"}},
	{"s3:PutObject", testCluster + "/backups/etcd/main/2026-12-07T00:00:00Z-000001/etcd.backup.gz", []string{"deploy", "masters"}},
	{"s3:DeleteObject", testCluster + "/backups/etcd/events/2026-12-01T00:00:00Z-000001/etcd.backup.gz", []string{"deploy", "masters"}},
	{"s3:PutObject", testCluster + "/backups/etcd/main/control/etcd-cluster-spec", []string{"deploy", "masters"}},
	{"s3:PutObject", "other.example.com/backups/etcd/main/control/etcd-cluster-spec", []string{"deploy"}},
	// The bucket's settings: the deploy role only.
	{"s3:PutBucketPolicy", "", []string{"deploy"}},
	{"s3:DeleteBucketPolicy", "", []string{"deploy"}},
	{"s3:PutLifecycleConfiguration", "", []string{"deploy"}},
	{"s3:PutReplicationConfiguration", "", []string{"deploy"}},
	{"s3:PutBucketVersioning", "", []string{"deploy"}},
	{"s3:PutEncryptionConfiguration", "", []string{"deploy"}},
	{"s3:PutBucketPublicAccessBlock", "", []string{"deploy"}},
	{"s3:PutBucketOwnershipControls", "", []string{"deploy"}},
	{"s3:GetBucketPolicy", "", all()},
}

func all() []string {
	var names []string
	for n := range principals {
		names = append(names, n)
	}
	return names
}

func resource(key string) string {
	if key == "" {
		return testBucket
	}
	return testBucket + "/" + key
}

// TestStateStorePolicyTable evaluates the policy document, as JSON, for
// every principal of the table on every row, over TLS; then every row
// without TLS, which is denied to all.
func TestStateStorePolicyTable(t *testing.T) {
	t.Parallel()
	built, err := StateStore(Input{BucketARN: testBucket, ClusterName: testCluster, DeployRoleARN: testDeploy})
	if err != nil {
		t.Fatal(err)
	}
	js, err := built.JSON()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range storeRows {
		for name, arn := range principals {
			for _, tls := range []bool{true, false} {
				req := Request{Action: row.action, Resource: resource(row.key), Context: map[string]string{
					"aws:PrincipalArn": arn, "aws:SecureTransport": fmt.Sprint(tls)}}
				got, err := Evaluate(req, allowIdentity, doc)
				if err != nil {
					t.Fatal(err)
				}
				want := ExplicitDeny
				if tls && slices.Contains(row.allowed, name) {
					want = Allowed
				}
				if got != want {
					t.Errorf("%s %s %s (TLS %v): %s, want %s", name, row.action, row.key, tls, got, want)
				}
			}
		}
	}
}

// TestStateStorePolicyLongClusterName: with a cluster name past IAM's 64
// characters, the exceptions name the roles kops actually creates (cut and
// hashed), not a prefix that other roles could share.
func TestStateStorePolicyLongClusterName(t *testing.T) {
	t.Parallel()
	cluster := "k8s." + strings.Repeat("long-subdomain.", 4) + "example.com"
	doc, err := StateStore(Input{BucketARN: testBucket, ClusterName: cluster, DeployRoleARN: testDeploy})
	if err != nil {
		t.Fatal(err)
	}
	master := "arn:aws:iam::123456789012:role/" + kopsIAMName("masters.", cluster)
	if name := strings.TrimPrefix(master, "arn:aws:iam::123456789012:role/"); len(name) != 64 || strings.HasPrefix(name, "masters."+cluster) {
		t.Fatalf("the case must be one kops cuts: %q", name)
	}
	uncut := "arn:aws:iam::123456789012:role/masters." + cluster[:64-len("masters.")]
	key := testBucket + "/" + cluster + "/pki/private/kubernetes-ca/keyset.yaml"
	backup := testBucket + "/" + cluster + "/backups/etcd/main/b.gz"
	for _, c := range []struct {
		who, action, resource string
		want                  Decision
	}{
		{master, "s3:GetObject", key, Allowed},
		{master, "s3:PutObject", backup, Allowed},
		{master, "s3:PutObject", key, ExplicitDeny},
		{master + "x", "s3:GetObject", key, ExplicitDeny},
		{uncut, "s3:GetObject", key, ExplicitDeny},
		{uncut, "s3:PutObject", backup, ExplicitDeny},
	} {
		req := Request{Action: c.action, Resource: c.resource, Context: map[string]string{"aws:PrincipalArn": c.who, "aws:SecureTransport": "true"}}
		if got, err := Evaluate(req, allowIdentity, doc); err != nil || got != c.want {
			t.Errorf("%s %s %s: %s (%v), want %s", c.who, c.action, c.resource, got, err, c.want)
		}
	}
}

// TestStateStorePolicyWithoutDeployRole: TLS only; everything else is left
// to IAM, as the config's warning says.
func TestStateStorePolicyWithoutDeployRole(t *testing.T) {
	t.Parallel()
	doc, err := StateStore(Input{BucketARN: testBucket, ClusterName: testCluster})
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Statement) != 1 || doc.Statement[0].Sid != "DenyInsecureTransport" {
		t.Fatalf("statements: %+v", doc.Statement)
	}
	req := Request{Action: "s3:PutObject", Resource: resource(testCluster + "/pki/private/ca"), Context: map[string]string{"aws:PrincipalArn": principals["preview"], "aws:SecureTransport": "true"}}
	if got, _ := Evaluate(req, allowIdentity, doc); got != Allowed {
		t.Errorf("without a deploy role, IAM decides: %s", got)
	}
	req.Context["aws:SecureTransport"] = "false"
	if got, _ := Evaluate(req, allowIdentity, doc); got != ExplicitDeny {
		t.Errorf("without TLS: %s", got)
	}
}

func TestStateStorePolicyRefusesBadInput(t *testing.T) {
	t.Parallel()
	for _, in := range []Input{
		{BucketARN: "kops-state", ClusterName: testCluster},
		{BucketARN: testBucket + "/prefix", ClusterName: testCluster},
		{BucketARN: testBucket, ClusterName: testCluster, DeployRoleARN: "arn:aws:iam::123456789012:user/alice"},
		{BucketARN: testBucket, ClusterName: testCluster, DeployRoleARN: "kopscalico-deploy"},
	} {
		if _, err := StateStore(in); err == nil {
			t.Errorf("%+v: no error", in)
		}
	}
}
