package sgchecktest

import (
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Server is a FakeEC2 served over HTTP on loopback, for a client in one
// region: the real SDK client, in this process or in a plugin process.
type Server struct {
	*Handler
	URL    string
	Region string

	srv *httptest.Server
}

// Serve starts serving f to clients in region; Close stops it.
func Serve(f *FakeEC2, region string) *Server {
	h := NewHandler(f)
	srv := httptest.NewServer(h)
	return &Server{Handler: h, URL: srv.URL, Region: region, srv: srv}
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Client is the real SDK client for the server, configured explicitly (no
// environment, no shared config), one attempt per call.
func (s *Server) Client() *ec2.Client {
	cfg := aws.Config{Region: s.Region, Credentials: credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")}
	return ec2.NewFromConfig(cfg, func(o *ec2.Options) {
		o.BaseEndpoint = aws.String(s.URL)
		o.RetryMaxAttempts = 1
	})
}

// Env is the environment that points the AWS SDK's default config chain
// (sgcheck.NewEC2, in this process or another) at the server: its endpoint,
// the static test credentials, the region, no instance metadata. It also
// blanks what would otherwise leak from the caller's own AWS setup: a session
// token, or an order to ignore configured endpoints.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL_EC2":                s.URL,
		"AWS_ACCESS_KEY_ID":                   AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":               SecretAccessKey,
		"AWS_SESSION_TOKEN":                   "",
		"AWS_REGION":                          s.Region,
		"AWS_EC2_METADATA_DISABLED":           "true",
		"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "false",
	}
}
