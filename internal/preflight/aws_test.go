package preflight

import (
	"context"
	"strings"
	"testing"

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
