package preflight

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopscalico/kopscalico/internal/kopsrelease"
	"github.com/kopscalico/kopscalico/internal/testing/realkops"
)

// TestRealKops: the kops check through the real runner and kops 1.36.2,
// found on PATH as a user has it.
func TestRealKops(t *testing.T) {
	bin := realkops.Binary(t)
	t.Setenv("PATH", filepath.Dir(bin))
	cfg := managed()
	if got := checkKops(context.Background(), cfg, Default()); got != nil {
		t.Errorf("kops 1.36.2 with kopsVersion 1.36: %v", got)
	}
	cfg.Kops.Version = kopsrelease.MustParse("1.34")
	got := checkKops(context.Background(), cfg, Default())
	if len(got) != 1 || !strings.Contains(got[0].Error(), "the kops binary is 1.36.2 but kopscalico:kopsVersion pins 1.34") {
		t.Errorf("kops 1.36.2 with kopsVersion 1.34: %v", got)
	}
	t.Setenv("PATH", t.TempDir())
	got = checkKops(context.Background(), cfg, Default())
	if len(got) != 1 || !strings.HasPrefix(got[0].Error(), "kops is not on PATH: install kops 1.34.x from https://github.com/kubernetes/kops/releases") {
		t.Errorf("no kops on PATH: %v", got)
	}
}
