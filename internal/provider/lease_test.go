package provider_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/kops/kopstest"
	"github.com/kopscalico/kopscalico/internal/lease"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/provider"
)

// stalledCreate answers from k, but `kops create cluster` runs until its
// context ends (a stopped kops).
type stalledCreate struct {
	k       *kopstest.Runner
	started chan struct{}
}

func (s stalledCreate) Run(ctx context.Context, c kops.Command) ([]byte, error) {
	if strings.HasPrefix(strings.Join(c.Args, " "), "create cluster") {
		close(s.started)
		<-ctx.Done()
		return nil, &kops.CommandError{Args: c.Args, ExitCode: -1, Err: ctx.Err()}
	}
	return s.k.Run(ctx, c)
}

// The plugin's SIGTERM (Provider.Stop): a create holding the cluster's
// lease has its kops stopped and returns, and the lease is released, before
// Stop does.
func TestStopReleasesTheLeaseOfARunningCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k := &kopstest.Runner{T: t, Answers: map[string]kopstest.Answer{
		"version":     kopstest.OK(kopsVersionOut),
		"get cluster": kopstest.Fail(1, `Error: cluster not found "demo.example.com"`),
	}}
	runner := stalledCreate{k: k, started: make(chan struct{})}
	p := provider.New(&recordedLogs{}, provider.Deps{
		NewKopsRunner: func(string, func(string, string)) kops.Runner { return runner },
		Leases:        func(context.Context, string, string) (lease.Store, error) { return lease.FileStore{Dir: dir}, nil },
	})
	if _, err := p.Configure(context.Background(), plugin.ConfigureRequest{Inputs: props(t, pluginapi.ProviderArgs{Stack: testStack})}); err != nil {
		t.Fatal(err)
	}
	created := make(chan error, 1)
	go func() {
		_, err := p.Create(context.Background(), plugin.CreateRequest{URN: clusterURN, Type: pluginapi.ClusterType, Properties: clusterInputs(t, nil)})
		created <- err
	}()
	<-runner.started
	file := filepath.Join(dir, lease.Key("demo.example.com"))
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("no lease while create cluster runs: %v", err)
	}
	if !p.Stop(10 * time.Second) {
		t.Fatal("the create did not return within Stop's wait")
	}
	if err := <-created; err == nil || !strings.Contains(err.Error(), "step create-cluster") {
		t.Errorf("the stopped create: %v", err)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lease outlived the stopped create: %v", err)
	}
}
