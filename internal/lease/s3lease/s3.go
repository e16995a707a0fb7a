// Package s3lease is the lease store of an S3 kops state store, and Open,
// which picks a state store's lease store by its URL. It is apart from
// package lease so that only what opens a store links the S3 client.
package s3lease

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/kopscalico/kopscalico/internal/awsbound"
	"github.com/kopscalico/kopscalico/internal/lease"
)

// S3API is the part of the S3 client the leases use.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// s3Limits bound each call on a lease object (a few hundred bytes).
var s3Limits = awsbound.Limits{Attempt: 20 * time.Second, MaxAttempts: 4, MaxBackoff: 5 * time.Second, Call: 2 * time.Minute}

// S3Store keeps leases in an S3 state store, by S3's conditional writes:
// PutObject with If-None-Match: * creates only a missing object, with
// If-Match: <ETag> replaces only the version read (412 Precondition Failed
// otherwise); DeleteObject with If-Match deletes only that version.
type S3Store struct {
	API            S3API
	Bucket, Prefix string
	Timeout        time.Duration // each call, retries included
}

var _ lease.Store = (*S3Store)(nil)

// NewS3 is the Store of bucket (keys under prefix), with the SDK's default
// credentials and every call bounded.
func NewS3(ctx context.Context, bucket, prefix, region string) (*S3Store, error) {
	if region == "" {
		return nil, fmt.Errorf("lease in s3://%s: no region to reach the bucket in", bucket)
	}
	cfg, err := awsbound.Config(ctx, region, s3Limits)
	if err != nil {
		return nil, fmt.Errorf("lease in s3://%s: load AWS config: %w", bucket, err)
	}
	return &S3Store{API: s3.NewFromConfig(cfg), Bucket: bucket, Prefix: prefix, Timeout: s3Limits.Call}, nil
}

func (s *S3Store) key(key string) *string { return aws.String(s.object(key)) }

// object is the S3 key of a lease key: under the store's prefix.
func (s *S3Store) object(key string) string {
	if s.Prefix == "" {
		return key
	}
	return path.Join(s.Prefix, key)
}

// status is the HTTP status of a failed S3 call; 0 when it got none.
func status(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// Create implements Store.
func (s *S3Store) Create(ctx context.Context, key string, body []byte) (string, error) {
	out, err := awsbound.Call(ctx, s.Timeout, "s3:PutObject", s.API.PutObject, &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: s.key(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"), IfNoneMatch: aws.String("*"),
	}, nil)
	switch status(err) {
	case http.StatusPreconditionFailed, http.StatusConflict:
		// 409: a concurrent conditional write won the race.
		return "", lease.ErrExists
	}
	if err != nil {
		return "", fmt.Errorf("create %s: %w", s.Address(key), err)
	}
	return aws.ToString(out.ETag), nil
}

// Read implements Store.
func (s *S3Store) Read(ctx context.Context, key string) ([]byte, string, error) {
	out, err := awsbound.Call(ctx, s.Timeout, "s3:GetObject", s.API.GetObject, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: s.key(key)}, nil)
	if status(err) == http.StatusNotFound {
		return nil, "", lease.ErrNotFound
	}
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", s.Address(key), err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(io.LimitReader(out.Body, 64<<10))
	if err != nil {
		return nil, "", fmt.Errorf("read %s: %w", s.Address(key), err)
	}
	return b, aws.ToString(out.ETag), nil
}

// Replace implements Store.
func (s *S3Store) Replace(ctx context.Context, key string, body []byte, version string) (string, error) {
	out, err := awsbound.Call(ctx, s.Timeout, "s3:PutObject", s.API.PutObject, &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: s.key(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"), IfMatch: aws.String(version),
	}, nil)
	switch status(err) {
	case http.StatusPreconditionFailed, http.StatusConflict, http.StatusNotFound:
		return "", lease.ErrChanged
	}
	if err != nil {
		return "", fmt.Errorf("replace %s: %w", s.Address(key), err)
	}
	return aws.ToString(out.ETag), nil
}

// Delete implements Store.
func (s *S3Store) Delete(ctx context.Context, key, version string) error {
	in := &s3.DeleteObjectInput{Bucket: aws.String(s.Bucket), Key: s.key(key)}
	if version != "" {
		in.IfMatch = aws.String(version)
	}
	_, err := awsbound.Call(ctx, s.Timeout, "s3:DeleteObject", s.API.DeleteObject, in, nil)
	switch status(err) {
	case http.StatusNotFound:
		return nil
	case http.StatusPreconditionFailed, http.StatusConflict:
		return lease.ErrChanged
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", s.Address(key), err)
	}
	return nil
}

// Address implements Store.
func (s *S3Store) Address(key string) string { return "s3://" + s.Bucket + "/" + s.object(key) }

// RemoveCommand implements Store.
func (s *S3Store) RemoveCommand(key string) string { return "aws s3 rm " + s.Address(key) }

// Open is the Store of a kops state store URL: file:///dir (a
// lease.FileStore) or s3://bucket[/prefix] (region: where the bucket's
// requests are signed for).
func Open(ctx context.Context, stateStore, region string) (lease.Store, error) {
	u, err := url.Parse(stateStore)
	if err != nil {
		return nil, fmt.Errorf("state store %q: %w", stateStore, err)
	}
	switch u.Scheme {
	case "file":
		return lease.FileStore{Dir: u.Path}, nil
	case "s3":
		return NewS3(ctx, u.Host, strings.Trim(u.Path, "/"), region)
	}
	return nil, fmt.Errorf("state store %q: the lease of a cluster is kept in an s3:// or file:// store only", stateStore)
}
