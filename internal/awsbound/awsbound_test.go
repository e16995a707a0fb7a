package awsbound

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDescribeFits(t *testing.T) {
	if !Describe.Fits() {
		t.Errorf("%+v: the attempts and their backoff outlast the call bound", Describe)
	}
	if (Limits{Attempt: time.Minute, MaxAttempts: 3, MaxBackoff: time.Second, Call: 2 * time.Minute}).Fits() {
		t.Error("three one-minute attempts fit in two minutes")
	}
}

type opt struct{}

func stall(ctx context.Context, _ string, _ ...opt) (string, error) {
	<-ctx.Done()
	return "", ctx.Err()
}

func TestCallNamesItsOwnDeadline(t *testing.T) {
	_, err := Call(context.Background(), 20*time.Millisecond, "ec2:DescribeRegions", stall, "in", nil)
	if err == nil || !strings.Contains(err.Error(), "ec2:DescribeRegions did not complete within 20ms (retries included)") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	// The caller's own end is the caller's to explain.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := Call(ctx, time.Minute, "ec2:DescribeRegions", stall, "in", nil); err == nil || strings.Contains(err.Error(), "did not complete") {
		t.Errorf("caller's deadline: err = %v", err)
	}
}
