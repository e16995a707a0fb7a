package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRunRefusesBadUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"up", "extra"}, {"--nope", "up"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if !strings.Contains(errOut.String(), "usage: kopscalico") {
			t.Errorf("%q: no usage printed: %s", args, errOut.String())
		}
	}
}

func TestRunRefusesUnknownOperation(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"apply"}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), `unknown operation "apply"`) {
		t.Errorf("stderr: %s", errOut.String())
	}
}

func TestBackendDefaultsToLocalFileAndNeedsPassphrase(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PULUMI_BACKEND_URL", "")
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "")
	t.Setenv("PULUMI_CONFIG_PASSPHRASE_FILE", "")
	if _, err := backendEnv(dir); err == nil || !strings.Contains(err.Error(), "PULUMI_CONFIG_PASSPHRASE") {
		t.Fatalf("missing passphrase accepted: %v", err)
	}
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "x")
	env, err := backendEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	if env["PULUMI_BACKEND_URL"] != "file://"+dir+"/.pulumi-state" {
		t.Errorf("backend = %q", env["PULUMI_BACKEND_URL"])
	}
	t.Setenv("PULUMI_BACKEND_URL", "s3://team-pulumi-state")
	env, err = backendEnv(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, set := env["PULUMI_BACKEND_URL"]; set {
		t.Errorf("a configured backend was overridden: %q", env["PULUMI_BACKEND_URL"])
	}
}
