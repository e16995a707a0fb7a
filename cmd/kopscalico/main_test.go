package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kopscalico/kopscalico/internal/lease"
)

func TestRunRefusesBadUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"up", "extra"}, {"--nope", "up"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), nil, args, nil, &out, &errOut); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if !strings.Contains(errOut.String(), "usage: kopscalico") {
			t.Errorf("%q: no usage printed: %s", args, errOut.String())
		}
	}
}

func TestRunRefusesUnknownOperation(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), nil, []string{"apply"}, nil, &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), `unknown operation "apply"`) {
		t.Errorf("stderr: %s", errOut.String())
	}
}

// TestBackendDefaultsToThePerUserLocalBackend: without PULUMI_BACKEND_URL
// the state goes where `pulumi login --local` keeps it (~/.pulumi), not
// into the checkout; a set URL is left alone; a passphrase is required.
func TestBackendDefaultsToThePerUserLocalBackend(t *testing.T) {
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
	if env["PULUMI_BACKEND_URL"] != "file://~" {
		t.Errorf("backend = %q, want file://~", env["PULUMI_BACKEND_URL"])
	}
	if _, err := os.Stat(filepath.Join(dir, ".pulumi-state")); !os.IsNotExist(err) {
		t.Errorf("a state directory was made in the checkout: %v", err)
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

// TestBackendRefusesToOrphanTheOldInCheckoutState: a checkout whose stacks
// live in the old default (.pulumi-state) is not silently switched to an
// empty backend, where up would start over; the error says how to go on.
func TestBackendRefusesToOrphanTheOldInCheckoutState(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PULUMI_BACKEND_URL", "")
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "x")
	if err := os.MkdirAll(filepath.Join(dir, ".pulumi-state", ".pulumi", "stacks", "kopscalico"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := backendEnv(dir); err != nil {
		t.Fatalf("an old backend without stacks refused: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".pulumi-state", ".pulumi", "stacks", "kopscalico", "dev.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := backendEnv(dir)
	if err == nil || !strings.Contains(err.Error(), "PULUMI_BACKEND_URL=file://"+dir+"/.pulumi-state") || !strings.Contains(err.Error(), "pulumi stack export") {
		t.Errorf("err = %v", err)
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
		{[]string{"up", "--yes"}, invocation{op: "up", stack: "dev", dir: ".", yes: true}},
		{[]string{"up", "--skip-preflight"}, invocation{op: "up", stack: "dev", dir: ".", skipPreflight: true}},
		{[]string{"destroy", "--yes"}, invocation{op: "destroy", stack: "dev", dir: ".", yes: true}},
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
		{"preview", "--yes"}, // preview asks nothing
		{"destroy", "--skip-preflight"},
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
	if code := run(context.Background(), nil, []string{"--stack", "prod", "cancel"}, nil, &out, &errOut); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, want := range []string{"stays pending", "repair", "kopscalico --stack prod cancel --yes"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q: %s", want, errOut.String())
		}
	}
}

func TestConfirmTakesOnlyYes(t *testing.T) {
	for _, tc := range []struct {
		typed string // then stdin closes
		want  bool
	}{
		{"y\n", true},
		{"YES\n", true},
		{" yes \n", true},
		{"y", true},
		{"n\n", false},
		{"yess\n", false},
		{"\n", false},
		{"", false}, // stdin closed at once
	} {
		in := strings.NewReader(tc.typed)
		var out bytes.Buffer
		got, err := confirm(context.Background(), nil, terminal{in: in, out: &out}, updateQuestion)
		if err != nil || got != tc.want {
			t.Errorf("typed %q: got %v (err %v), want %v", tc.typed, got, err, tc.want)
		}
		if !strings.HasPrefix(out.String(), updateQuestion) {
			t.Errorf("question not asked: %q", out.String())
		}
	}
	if ok, _ := confirm(context.Background(), nil, terminal{out: io.Discard}, updateQuestion); ok {
		t.Error("no stdin at all is a yes")
	}
}

// TestConfirmStopsOnInterrupt: Ctrl-C while the question waits is a no,
// though nothing was typed.
func TestConfirmStopsOnInterrupt(t *testing.T) {
	r, w := io.Pipe()
	defer w.Close()
	interrupt := make(chan struct{})
	close(interrupt)
	var out bytes.Buffer
	if ok, err := confirm(context.Background(), interrupt, terminal{in: r, out: &out}, destroyQuestion); ok || err != nil {
		t.Errorf("got %v, %v; want a no", ok, err)
	}
}

func TestDropLinesLeavesOutThePlanAdvice(t *testing.T) {
	var out bytes.Buffer
	d := &dropLines{to: &out, prefixes: []string{"Update plan written to ", "Run `pulumi up --plan="}}
	for _, chunk := range []string{"warning: x\nUpdate plan wr", "itten to '/tmp/p/plan.json'\n", "Run `pulumi up --plan='/tmp/p/plan.json'` to constrain\n", "last"} {
		if _, err := d.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	d.Flush()
	if out.String() != "warning: x\nlast" {
		t.Errorf("got %q", out.String())
	}
}

// TestProgramLinksNoAWSClients: the preflight's STS and EC2 clients are
// linked here, never into the program (main.go, infra/) that every preview
// compiles.
func TestProgramLinksNoAWSClients(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/kopscalico/kopscalico").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	for _, pkg := range []string{"github.com/aws/aws-sdk-go-v2/service/ec2", "github.com/aws/aws-sdk-go-v2/service/sts", "github.com/aws/aws-sdk-go-v2/service/s3", "github.com/kopscalico/kopscalico/internal/preflight"} {
		if slices.Contains(deps, pkg) {
			t.Errorf("the program links %s", pkg)
		}
	}
	if !slices.Contains(deps, "github.com/kopscalico/kopscalico/infra") {
		t.Errorf("go list did not list the program's packages:\n%s", out)
	}
}

// break-lease deletes the lease it names by id, and only that one; the
// command needs the store, the cluster and the id.
func TestBreakLease(t *testing.T) {
	dir := t.TempDir()
	store := lease.FileStore{Dir: dir}
	l, err := lease.Acquire(context.Background(), store, lease.Request{Cluster: "c.example.com", Stack: "o/kopscalico/dev", Operation: "update", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	id := l.Holder().ID
	breakIt := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), nil, append([]string{"break-lease"}, args...), nil, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := breakIt("--state", "file://"+dir, "c.example.com"); code != 2 || !strings.Contains(out, "usage: kopscalico break-lease") {
		t.Errorf("without --name and id: exit %d, %s", code, out)
	}
	if code, out := breakIt("--state", "file://"+dir, "--name", "c.example.com", "0123"); code != 1 || !strings.Contains(out, "not 0123") {
		t.Errorf("another id: exit %d, %s", code, out)
	}
	code, out := breakIt("--state", "file://"+dir, "--name", "c.example.com", id)
	if code != 0 || !strings.Contains(out, "lease "+id+" of kops cluster c.example.com is broken (it was stack o/kopscalico/dev's") {
		t.Errorf("break: exit %d, %s", code, out)
	}
	if _, _, err := store.Read(context.Background(), lease.Key("c.example.com")); err != lease.ErrNotFound {
		t.Errorf("the lease is still there: %v", err)
	}
}
