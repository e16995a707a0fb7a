package preflight

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/kopscalico/kopscalico/internal/awsbound"
	"github.com/kopscalico/kopscalico/internal/testing/fakeaws"
)

// useFakeAWS points the AWS SDK's default chain of this process at fakeaws.
func useFakeAWS(t *testing.T) *fakeaws.Server {
	t.Helper()
	s := fakeaws.Start(t)
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
	return s
}

// TestRealClientsAgainstFakeAWS: the real STS and EC2 clients, over the wire
// to AWS on loopback, give the checks what they need: an identity, the
// account's regions, the region's zones; only reads are made.
func TestRealClientsAgainstFakeAWS(t *testing.T) {
	s := useFakeAWS(t)
	deps := Deps{AWS: NewAWS}
	if got := checkAWS(context.Background(), "eu-west-1", []string{"eu-west-1a", "eu-west-1b"}, deps); got != nil {
		t.Fatalf("problems: %v", got)
	}
	var calls []string
	for _, c := range s.Calls() {
		calls = append(calls, c.String())
	}
	if strings.Join(calls, " ") != "sts:GetCallerIdentity ec2:DescribeRegions ec2:DescribeAvailabilityZones" {
		t.Errorf("AWS calls %v", calls)
	}
	if r := s.Refused(); len(r) > 0 {
		t.Errorf("calls refused by the read-only fake: %v", r)
	}

	got := checkAWS(context.Background(), "eu-west-1", []string{"eu-west-1a", "eu-west-1z"}, deps)
	if len(got) != 1 || !strings.Contains(got[0].Error(), `kopscalico:zones = "eu-west-1z": not an availability zone of eu-west-1: use two or more of eu-west-1a, eu-west-1b, eu-west-1c`) {
		t.Errorf("a zone the region lacks: %v", got)
	}
	got = checkAWS(context.Background(), "us-north-7", []string{"us-north-7a", "us-north-7b"}, deps)
	if len(got) != 1 || !strings.Contains(got[0].Error(), `kopscalico:region = "us-north-7": not a region of this AWS account: use one of ap-northeast-1,`) {
		t.Errorf("a region AWS lacks: %v", got)
	}
}

func TestRealClientsWithoutCredentials(t *testing.T) {
	s := useFakeAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	got := checkAWS(context.Background(), "eu-west-1", []string{"eu-west-1a", "eu-west-1b"}, Deps{AWS: NewAWS})
	if len(got) != 1 || !strings.Contains(got[0].Error(), "AWS credentials do not resolve (sts:GetCallerIdentity: ") ||
		!strings.Contains(got[0].Error(), "set AWS_PROFILE") {
		t.Errorf("problems without credentials: %v", got)
	}
	if calls := s.Calls(); len(calls) != 0 {
		t.Errorf("requests sent without credentials: %v", calls)
	}
}

// stallingAWS answers nothing: each request waits until the client hangs up.
func stallingAWS(t *testing.T) *httptest.Server {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": srv.URL, "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true", "HTTPS_PROXY": "", "HTTP_PROXY": "", "https_proxy": "", "http_proxy": "",
	} {
		t.Setenv(k, v)
	}
	return srv
}

// TestRealClientsAreBounded: a stalled AWS ends each call after its
// attempts, with an error that says so and what to do; the preflight never
// hangs.
func TestRealClientsAreBounded(t *testing.T) {
	stallingAWS(t)
	l := awsbound.Limits{Attempt: 100 * time.Millisecond, MaxAttempts: 2, MaxBackoff: 10 * time.Millisecond, Call: 5 * time.Second}
	deps := Deps{AWS: func(ctx context.Context, region string) (AWS, error) { return newAWS(ctx, region, l) }}
	start := time.Now()
	got := checkAWS(context.Background(), "eu-west-1", []string{"eu-west-1a", "eu-west-1b"}, deps)
	if time.Since(start) > 4*time.Second {
		t.Errorf("the preflight took %s against a stalled AWS", time.Since(start))
	}
	if len(got) != 1 || !strings.Contains(got[0].Error(), "AWS does not answer in eu-west-1") || !strings.Contains(got[0].Error(), "(--skip-preflight)") {
		t.Errorf("problems: %v", got)
	}

	l.Call = 150 * time.Millisecond
	l.Attempt = time.Hour
	got = checkAWS(context.Background(), "eu-west-1", nil, deps)
	if len(got) != 1 || !strings.Contains(got[0].Error(), "sts:GetCallerIdentity did not complete within 150ms (retries included)") {
		t.Errorf("the call bound: %v", got)
	}
}

func TestNewAWSUsesTheDescribeLimits(t *testing.T) {
	stallingAWS(t)
	a, err := NewAWS(context.Background(), "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	s, sok := a.STS.(boundedSTS)
	e, eok := a.EC2.(boundedEC2)
	if !sok || !eok || s.timeout != awsbound.Describe.Call || e.timeout != awsbound.Describe.Call {
		t.Fatalf("clients %T %T: want each call bounded by awsbound.Describe", a.STS, a.EC2)
	}
	if o := s.api.(*sts.Client).Options(); o.Retryer.MaxAttempts() != awsbound.Describe.MaxAttempts {
		t.Errorf("STS attempts %d, want %d", o.Retryer.MaxAttempts(), awsbound.Describe.MaxAttempts)
	}
}
