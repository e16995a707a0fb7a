package sgcheck

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/kopscalico/kopscalico/internal/awsbound"
	"github.com/kopscalico/kopscalico/internal/sgcheck/sgchecktest"
)

// isolateAWS keeps the caller's AWS setup out of the default config chain.
func isolateAWS(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_PROFILE", "")
}

func TestNewEC2(t *testing.T) {
	isolateAWS(t)
	if _, err := NewEC2(context.Background(), ""); err == nil || !strings.Contains(err.Error(), "region is empty") {
		t.Errorf("empty region: err = %v", err)
	}
	api, err := NewEC2(context.Background(), "eu-west-3")
	if err != nil {
		t.Fatalf("NewEC2: %v", err)
	}
	b, ok := api.(boundedEC2)
	if !ok {
		t.Fatalf("NewEC2 returned %T, want every call bounded", api)
	}
	c, ok := b.api.(*ec2.Client)
	if !ok {
		t.Fatalf("NewEC2 wraps %T, want *ec2.Client", b.api)
	}
	o := c.Options()
	if o.Region != "eu-west-3" {
		t.Errorf("region = %q", o.Region)
	}
	if b.timeout != ec2Limits.Call || o.Retryer.MaxAttempts() != ec2Limits.MaxAttempts {
		t.Errorf("call timeout %s, attempts %d; want %s, %d", b.timeout, o.Retryer.MaxAttempts(), ec2Limits.Call, ec2Limits.MaxAttempts)
	}
	if hc, ok := o.HTTPClient.(*awshttp.BuildableClient); !ok || hc.GetTimeout() != ec2Limits.Attempt {
		t.Errorf("HTTP client %T: want a %s timeout on each attempt", o.HTTPClient, ec2Limits.Attempt)
	}
	if !ec2Limits.Fits() {
		t.Errorf("%+v: the attempts and their backoff outlast the call bound", ec2Limits)
	}
}

// flakyEC2 serves a complete kops cluster through the fake, after stalling
// the first `stalls` requests until the client gives up on them.
type flakyEC2 struct {
	*sgchecktest.Handler
	stalls int
	stop   chan struct{}

	mu   sync.Mutex
	seen int
}

func (f *flakyEC2) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen++
	stall := f.seen <= f.stalls
	f.mu.Unlock()
	if stall {
		// Reading the body lets the server notice the client hang up.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-f.stop:
		}
		return
	}
	f.Handler.ServeHTTP(w, r)
}

func (f *flakyEC2) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen
}

// serve starts f; the test's end releases any stalled request.
func serve(t *testing.T, f *flakyEC2) *httptest.Server {
	f.stop = make(chan struct{})
	srv := httptest.NewServer(f)
	t.Cleanup(func() { close(f.stop); srv.Close() })
	return srv
}

// clientOf points the default config chain at srv, as the plugin process
// would be, and builds the client with l.
func clientOf(t *testing.T, srv *httptest.Server, l awsbound.Limits) EC2API {
	t.Helper()
	isolateAWS(t)
	env := (&sgchecktest.Server{URL: srv.URL, Region: "eu-west-1"}).Env()
	for k, v := range env {
		t.Setenv(k, v)
	}
	api, err := newEC2(context.Background(), "eu-west-1", l)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

var fastLimits = awsbound.Limits{Attempt: 300 * time.Millisecond, MaxAttempts: 4, MaxBackoff: 20 * time.Millisecond, Call: 20 * time.Second}

// TestEC2RetriesAStalledAttempt: an attempt that gets no answer is cut at
// the attempt timeout and retried; the check then completes.
func TestEC2RetriesAStalledAttempt(t *testing.T) {
	f := &flakyEC2{Handler: sgchecktest.NewHandler(completeKopsCluster()), stalls: 2}
	srv := serve(t, f)
	r, err := Check(context.Background(), clientOf(t, srv, fastLimits), ipip())
	if err != nil {
		t.Fatalf("Check after two stalled attempts: %v", err)
	}
	if r.Failed() {
		t.Errorf("complete cluster fails:\n%s", r)
	}
	// Two stalls and the answer for the groups, then the instances.
	if got := f.attempts(); got != 4 {
		t.Errorf("%d requests, want 4", got)
	}
}

// TestEC2GivesUpAfterBoundedAttempts: a stalling endpoint, or one that keeps
// answering 503, costs exactly maxAttempts attempts, then a clear error.
func TestEC2GivesUpAfterBoundedAttempts(t *testing.T) {
	t.Run("stalls", func(t *testing.T) {
		f := &flakyEC2{Handler: sgchecktest.NewHandler(completeKopsCluster()), stalls: 1000}
		srv := serve(t, f)
		_, err := Check(context.Background(), clientOf(t, srv, fastLimits), ipip())
		if err == nil || !strings.Contains(err.Error(), "exceeded maximum number of attempts, 4") {
			t.Errorf("err = %v", err)
		}
		if got := f.attempts(); got != fastLimits.MaxAttempts {
			t.Errorf("%d attempts, want %d", got, fastLimits.MaxAttempts)
		}
	})
	t.Run("503", func(t *testing.T) {
		fake := completeKopsCluster()
		fake.Err = &smithy.GenericAPIError{Code: "Unavailable", Message: "try again"}
		h := sgchecktest.NewHandler(fake)
		srv := httptest.NewServer(h)
		defer srv.Close()
		_, err := Check(context.Background(), clientOf(t, srv, fastLimits), ipip())
		if err == nil || !strings.Contains(err.Error(), "Unavailable") || !strings.Contains(err.Error(), "exceeded maximum number of attempts, 4") {
			t.Errorf("err = %v", err)
		}
		if got := h.RequestCount(); got != fastLimits.MaxAttempts {
			t.Errorf("%d attempts, want %d", got, fastLimits.MaxAttempts)
		}
	})
}

// TestEC2CallDeadline: a call whose attempts outlast the call bound ends at
// that bound, with an error naming the call and the bound.
func TestEC2CallDeadline(t *testing.T) {
	f := &flakyEC2{Handler: sgchecktest.NewHandler(completeKopsCluster()), stalls: 1000}
	srv := serve(t, f)
	l := awsbound.Limits{Attempt: time.Hour, MaxAttempts: 3, MaxBackoff: time.Millisecond, Call: 200 * time.Millisecond}
	_, err := Check(context.Background(), clientOf(t, srv, l), ipip())
	if err == nil || !strings.Contains(err.Error(), "EC2 DescribeSecurityGroups did not complete within 200ms") {
		t.Errorf("err = %v", err)
	}
	if got := f.attempts(); got != 1 {
		t.Errorf("%d attempts: the call bound must stop the retries", got)
	}

	// The caller's own cancellation is passed on as it is.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Check(ctx, clientOf(t, srv, fastLimits), ipip()); err == nil || strings.Contains(err.Error(), "did not complete within") {
		t.Errorf("canceled by the caller: err = %v", err)
	}
}
