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
		if code := run(context.Background(), nil, args, &out, &errOut); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if !strings.Contains(errOut.String(), "usage: kopscalico") {
			t.Errorf("%q: no usage printed: %s", args, errOut.String())
		}
	}
}

func TestRunRefusesUnknownOperation(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, []string{"apply"}, &out, &errOut); code != 1 {
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

func TestParseArgsReadsOperationFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want invocation
	}{
		{[]string{"up"}, invocation{op: "up", stack: "dev", dir: "."}},
		{[]string{"--stack", "prod", "--diff", "preview"}, invocation{op: "preview", stack: "prod", dir: ".", diff: true}},
		{[]string{"--stack", "prod", "cancel", "--yes"}, invocation{op: "cancel", stack: "prod", dir: ".", yes: true}},
		{[]string{"repair"}, invocation{op: "repair", stack: "dev", dir: "."}},
		{[]string{"--dir", "/p", "repair", "-yes"}, invocation{op: "repair", stack: "dev", dir: "/p", yes: true}},
	} {
		var errOut bytes.Buffer
		got, ok := parseArgs(tt.args, &errOut)
		if !ok || got != tt.want {
			t.Errorf("%q: got %+v (ok %v), want %+v; stderr: %s", tt.args, got, ok, tt.want, errOut.String())
		}
	}
}

func TestParseArgsRefusesMisplacedOrUnknownFlags(t *testing.T) {
	for _, args := range [][]string{
		{"up", "--yes"},              // up has no --yes
		{"repair", "--diff"},         // global flags go before the operation
		{"cancel", "--yes", "extra"}, // one operation
		{"repair", "--yes=maybe"},
	} {
		var errOut bytes.Buffer
		if _, ok := parseArgs(args, &errOut); ok {
			t.Errorf("%q accepted", args)
		}
		if !strings.Contains(errOut.String(), "usage: kopscalico") && !strings.Contains(errOut.String(), "invalid") {
			t.Errorf("%q: no usage or reason printed: %s", args, errOut.String())
		}
	}
}

func TestCancelNeedsYesAndSaysWhy(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, []string{"--stack", "prod", "cancel"}, &out, &errOut); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, want := range []string{"stays pending", "repair", "kopscalico --stack prod cancel --yes"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q: %s", want, errOut.String())
		}
	}
}
