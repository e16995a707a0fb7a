package e2e_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/storepolicy"
)

// TestWorkflowsPassActionlint: a broken workflow fails the suite here, not
// on the first pull request after it lands.
func TestWorkflowsPassActionlint(t *testing.T) {
	bin, err := filepath.Abs("../.tools/bin/actionlint")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("KOPSCALICO_E2E") != "" {
			t.Fatalf("actionlint is not built (%v): run tools/build.sh actionlint", err)
		}
		t.Skip("actionlint not built; `make test` builds it")
	}
	cmd := exec.Command(bin, append([]string{"-no-color"}, workflowFiles(t)...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out)
	}
}

type workflow struct {
	On          map[string]any    `json:"on"`
	OnYAML11    map[string]any    `json:"true"` // YAML 1.1 reads a bare on: as true
	Permissions map[string]string `json:"permissions"`
	Jobs        map[string]job    `json:"jobs"`
}

type job struct {
	Environment    any                `json:"environment"` // a name, or {name, url}
	Needs          any                `json:"needs"`
	If             string             `json:"if"`
	Permissions    *map[string]string `json:"permissions"` // nil: not declared
	TimeoutMinutes int                `json:"timeout-minutes"`
	Env            map[string]string  `json:"env"`
	Steps          []step             `json:"steps"`
}

type step struct {
	ID   string            `json:"id"`
	Name string            `json:"name"`
	Uses string            `json:"uses"`
	Run  string            `json:"run"`
	With map[string]any    `json:"with"`
	Env  map[string]string `json:"env"`
}

// action is the step's action without its ref ("actions/checkout").
func (s step) action() string { a, _, _ := strings.Cut(s.Uses, "@"); return a }

func (s step) with(key string) string {
	if v, ok := s.With[key]; ok {
		return fmt.Sprint(v)
	}
	return ""
}

func (j job) uses(action string) []step {
	var out []step
	for _, s := range j.Steps {
		if s.action() == action {
			out = append(out, s)
		}
	}
	return out
}

// environment is the name of the job's environment, "" for none.
func (j job) environment() string {
	switch e := j.Environment.(type) {
	case string:
		return e
	case map[string]any:
		return fmt.Sprint(e["name"])
	}
	return ""
}

func (j job) needs() []string {
	switch n := j.Needs.(type) {
	case string:
		return []string{n}
	case []any:
		var out []string
		for _, v := range n {
			out = append(out, fmt.Sprint(v))
		}
		return out
	}
	return nil
}

func workflowFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("../.github/workflows/*.yml")
	if len(files) == 0 {
		t.Fatal("no workflows found")
	}
	return files
}

func readWorkflow(t *testing.T, path string) workflow {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if wf.On == nil {
		wf.On = wf.OnYAML11
	}
	return wf
}

// sameRepoPR is the condition of the jobs that get credentials: a pull
// request whose head is a branch of this repository, not of a fork.
const sameRepoPR = "github.event.pull_request.head.repo.full_name == github.event.pull_request.base.repo.full_name"

// TestWorkflowActionsPinnedBySHA: every action is pinned to a full commit SHA
// with its release tag in a comment, and one action has one pin everywhere.
func TestWorkflowActionsPinnedBySHA(t *testing.T) {
	line := regexp.MustCompile(`^\s*(?:-\s+)?uses:\s*(\S+)(.*)$`)
	pinned := regexp.MustCompile(`^([\w.-]+/[\w./-]+)@([0-9a-f]{40})$`)
	tag := regexp.MustCompile(`^\s+# (v[0-9]+\.[0-9]+\.[0-9]+)\s*$`)
	pins := map[string]string{} // action -> "sha # tag"
	n := 0
	for _, f := range workflowFiles(t) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(b), "\n") {
			m := line.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			n++
			where := fmt.Sprintf("%s:%d", filepath.Base(f), i+1)
			p := pinned.FindStringSubmatch(m[1])
			tm := tag.FindStringSubmatch(m[2])
			if p == nil || tm == nil {
				t.Errorf("%s: %q is not pinned as owner/repo@<40-hex commit> # vX.Y.Z", where, strings.TrimSpace(l))
				continue
			}
			pin := p[2] + " # " + tm[1]
			if prev, ok := pins[p[1]]; ok && prev != pin {
				t.Errorf("%s: %s pinned to %s here and to %s elsewhere", where, p[1], pin, prev)
			}
			pins[p[1]] = pin
		}
	}
	if n == 0 {
		t.Fatal("no uses: lines found")
	}
}

// TestWorkflowPermissionsPerJob: no workflow grants anything; each job
// declares exactly what its steps use: contents: read to check out,
// id-token: write only with the AWS credentials step, pull-requests: write
// only where a comment is posted.
func TestWorkflowPermissionsPerJob(t *testing.T) {
	for _, f := range workflowFiles(t) {
		wf := readWorkflow(t, f)
		if wf.Permissions == nil || len(wf.Permissions) != 0 {
			t.Errorf("%s: workflow-level permissions %v, want {} (each job declares its own)", filepath.Base(f), wf.Permissions)
		}
		for name, j := range wf.Jobs {
			if j.Permissions == nil {
				t.Errorf("%s: job %s declares no permissions (it would get the repository default)", filepath.Base(f), name)
				continue
			}
			want := map[string]string{}
			if len(j.uses("actions/checkout")) > 0 {
				want["contents"] = "read"
			}
			if len(j.uses("aws-actions/configure-aws-credentials")) > 0 {
				want["id-token"] = "write"
			}
			for _, s := range j.uses("pulumi/actions") {
				if s.with("comment-on-pr") == "true" {
					want["pull-requests"] = "write"
				}
			}
			if len(j.uses("actions/github-script")) > 0 {
				want["pull-requests"] = "write"
			}
			if !maps.Equal(*j.Permissions, want) {
				t.Errorf("%s: job %s has permissions %v, want exactly %v", filepath.Base(f), name, *j.Permissions, want)
			}
		}
	}
	test := readWorkflow(t, "../.github/workflows/preview.yml").Jobs["test"]
	if test.Permissions == nil || !maps.Equal(*test.Permissions, map[string]string{"contents": "read"}) {
		t.Errorf("the test job runs the pull request's code: it must have contents: read only, has %v", test.Permissions)
	}
}

// TestPreviewWorkflowShape: pull requests run the tests; the preview and the
// reachability comment wait for them and run only for branches of this
// repository; a fork's pull request gets a notice saying why.
func TestPreviewWorkflowShape(t *testing.T) {
	wf := readWorkflow(t, "../.github/workflows/preview.yml")
	if _, ok := wf.On["pull_request"]; !ok {
		t.Error("preview does not run on pull_request")
	}
	if _, ok := wf.Jobs["test"]; !ok {
		t.Fatal("no test job")
	}
	var sawPreview, sawNotice bool
	for name, j := range wf.Jobs {
		// A job holding credentials or commenting waits for the tests and
		// runs only for this repository's branches.
		privileged := len(j.uses("aws-actions/configure-aws-credentials"))+len(j.uses("pulumi/actions"))+len(j.uses("actions/github-script")) > 0
		if j.Permissions != nil {
			for k, v := range *j.Permissions {
				privileged = privileged || k != "contents" || v != "read"
			}
		}
		if privileged {
			if !slices.Contains(j.needs(), "test") {
				t.Errorf("job %s (permissions %v) does not need: test", name, j.Permissions)
			}
			if !strings.Contains(j.If, sameRepoPR) {
				t.Errorf("job %s runs for forks' pull requests too: its if: %q lacks %q", name, j.If, sameRepoPR)
			}
		}
		if strings.Contains(j.If, strings.Replace(sameRepoPR, "==", "!=", 1)) {
			for _, s := range j.Steps {
				if strings.Contains(s.Run, "GITHUB_STEP_SUMMARY") && strings.Contains(s.Run, "::notice") && strings.Contains(s.Run, "fork") {
					sawNotice = true
				}
			}
		}
		for _, s := range j.uses("aws-actions/configure-aws-credentials") {
			if !strings.Contains(s.with("role-to-assume"), "vars.AWS_PREVIEW_ROLE_ARN") {
				t.Errorf("job %s assumes %q, want the preview role", name, s.with("role-to-assume"))
			}
		}
		for _, s := range j.uses("pulumi/actions") {
			sawPreview = sawPreview || s.with("command") == "preview" && s.with("comment-on-pr") == "true" && s.with("diff") == "true" && s.with("stack-name") == "dev"
			if !strings.Contains(s.Env["PULUMI_CONFIG_PASSPHRASE"], "secrets.") {
				t.Error("the passphrase does not come from a secret")
			}
			if !strings.Contains(s.with("cloud-url"), "vars.") {
				t.Error("the backend does not come from a repository variable")
			}
			if len(j.uses("aws-actions/configure-aws-credentials")) != 1 {
				t.Errorf("job %s previews without OIDC credentials", name)
			}
		}
	}
	if !sawPreview {
		t.Error("no preview of the dev stack with a PR comment and a diff")
	}
	if !sawNotice {
		t.Error("no job tells a fork's pull request (notice and step summary) why its preview is skipped")
	}
}

// TestWorkflowsBuildTheProviderPlugin: Pulumi.yaml points the engine at a
// provider plugin built from this repository; every job running pulumi
// builds it first, with the Makefile target that writes it there.
func TestWorkflowsBuildTheProviderPlugin(t *testing.T) {
	b, err := os.ReadFile("../Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var project struct {
		Plugins struct {
			Providers []struct{ Name, Path string }
		}
	}
	if err := yaml.Unmarshal(b, &project); err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range project.Plugins.Providers {
		bin := filepath.Join(p.Path, "pulumi-resource-"+p.Name)
		if !regexp.MustCompile(`(?m)^plugin:\n\t.*-o ` + regexp.QuoteMeta(bin) + ` `).Match(mk) {
			t.Errorf("make plugin does not build %s, where Pulumi.yaml points the engine", bin)
		}
	}
	if len(project.Plugins.Providers) == 0 {
		return
	}
	for _, f := range workflowFiles(t) {
		for name, j := range readWorkflow(t, f).Jobs {
			built := false
			for _, s := range j.Steps {
				built = built || strings.Contains(s.Run, "make plugin")
				if s.action() == "pulumi/actions" && !built {
					t.Errorf("%s: job %s runs pulumi before `make plugin`", filepath.Base(f), name)
				}
			}
		}
	}
}

// TestWorkflowsPinPulumiCLI: CI runs the pulumi CLI the tools build pins.
func TestWorkflowsPinPulumiCLI(t *testing.T) {
	want := strings.TrimPrefix(buildScriptVar(t, "PULUMI_VERSION"), "v")
	n := 0
	for _, f := range workflowFiles(t) {
		for name, j := range readWorkflow(t, f).Jobs {
			for _, s := range j.uses("pulumi/actions") {
				n++
				if got := s.with("pulumi-version"); got != want {
					t.Errorf("%s: job %s runs pulumi %q, want %s (tools/build.sh)", filepath.Base(f), name, got, want)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no pulumi/actions step")
	}
}

// TestReachabilityDiffStep: a pull request gets the reachability change
// between its base and its head as one comment, found by its marker and
// updated in place, and the whole diff as an artifact.
func TestReachabilityDiffStep(t *testing.T) {
	const marker = "<!-- kopscalico-reachability -->"
	wf := readWorkflow(t, "../.github/workflows/preview.yml")
	found := false
	for name, j := range wf.Jobs {
		var base, out, full string
		for _, s := range j.uses("actions/checkout") {
			if s.with("ref") == "${{ github.event.pull_request.base.sha }}" {
				base = s.with("path")
			}
		}
		// Flags come before BASE and HEAD: the flag package stops at the first argument.
		diff := regexp.MustCompile(`go run \./cmd/reachability diff ((?:-{1,2}\S+ \S+ )*)(\S+)/policies policies > (\S+)`)
		for _, s := range j.Steps {
			m := diff.FindStringSubmatch(s.Run)
			if m == nil {
				continue
			}
			if base == "" || m[2] != base {
				t.Errorf("job %s diffs %s/policies, but the base is checked out at %q", name, m[2], base)
			}
			out = m[3]
			flags := strings.Fields(m[1])
			for i := 0; i+1 < len(flags); i += 2 {
				switch flags[i] {
				case "-o":
					if flags[i+1] != "markdown" {
						t.Errorf("job %s: -o %s, want markdown", name, flags[i+1])
					}
				case "--full":
					full = flags[i+1]
				}
			}
			if !strings.Contains(s.Run, marker) {
				t.Errorf("job %s does not check the output starts with the marker", name)
			}
		}
		if out == "" {
			continue
		}
		found = true
		if full == "" {
			t.Errorf("job %s does not keep the uncut diff (--full FILE)", name)
		}
		if ups := j.uses("actions/upload-artifact"); len(ups) != 1 || ups[0].with("path") != full {
			t.Errorf("job %s does not upload the whole diff %q as an artifact: %+v", name, full, ups)
		}
		scripts := j.uses("actions/github-script")
		if len(scripts) != 1 {
			t.Fatalf("job %s: want one github-script step for the comment, got %d", name, len(scripts))
		}
		script := scripts[0].with("script")
		for _, want := range []string{marker, "readFileSync('" + out + "'", "listComments", "updateComment", "createComment", "github-actions[bot]"} {
			if !strings.Contains(script, want) {
				t.Errorf("job %s: the comment script lacks %q", name, want)
			}
		}
	}
	if !found {
		t.Error("no job runs `go run ./cmd/reachability diff -o markdown --full FILE <base>/policies policies > OUT`")
	}
}

// TestWorkflowsCacheGoAndTools: Go's caches (setup-go, keyed by every go.sum)
// and the built tools (.tools, keyed by go.sum and tools/) survive between runs.
func TestWorkflowsCacheGoAndTools(t *testing.T) {
	for _, f := range workflowFiles(t) {
		for name, j := range readWorkflow(t, f).Jobs {
			for _, s := range j.uses("actions/setup-go") {
				if s.with("cache") == "false" || !strings.Contains(s.with("cache-dependency-path"), "tools/**/go.sum") {
					t.Errorf("%s: job %s: setup-go must cache, keyed by go.sum and tools/**/go.sum: %v", filepath.Base(f), name, s.With)
				}
			}
		}
	}
	test := readWorkflow(t, "../.github/workflows/preview.yml").Jobs["test"]
	var ok bool
	for _, s := range test.uses("actions/cache") {
		ok = s.with("path") == ".tools" && strings.Contains(s.with("key"), "hashFiles('go.sum', 'tools/**')")
	}
	if !ok {
		t.Error("the test job does not cache .tools keyed by hashFiles('go.sum', 'tools/**')")
	}
}

// TestUpInstallsCheckedKops: up.yml installs the kops release the tools build
// pins, whose minor the dev stack pins, and checks it against the sha256
// committed in .github/kops-checksums.txt; a wrong or missing file fails.
func TestUpInstallsCheckedKops(t *testing.T) {
	up := readWorkflow(t, "../.github/workflows/up.yml").Jobs["up"]
	version := up.Env["KOPS_VERSION"]
	if want := strings.TrimPrefix(buildScriptVar(t, "KOPS_VERSION"), "v"); version != want {
		t.Errorf("up.yml installs kops %q, tools/build.sh pins %s", version, want)
	}
	if pinned := devStackValue(t, config.KeyKopsVersion); !strings.HasPrefix(version, pinned+".") {
		t.Errorf("up.yml installs kops %s but Pulumi.dev.yaml pins kopsVersion %q: up would refuse the binary", version, pinned)
	}
	file := "kops-" + version + "-linux-amd64"
	sums, err := os.ReadFile("../.github/kops-checksums.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^[0-9a-f]{64}  ` + regexp.QuoteMeta(file) + `$`).Match(sums) {
		t.Errorf(".github/kops-checksums.txt has no sha256 line for %s", file)
	}
	var install string
	for _, s := range up.Steps {
		if strings.Contains(s.Run, "sha256sum --check") {
			install = s.Run
		}
	}
	for _, want := range []string{`-fsSLo "kops-${KOPS_VERSION}-linux-amd64"`, "sha256sum --check --strict --ignore-missing \"$GITHUB_WORKSPACE/.github/kops-checksums.txt\"", `install -m 0755 "kops-${KOPS_VERSION}-linux-amd64"`} {
		if !strings.Contains(install, want) {
			t.Errorf("the kops install step lacks %q:\n%s", want, install)
		}
	}

	// The check itself: a download that is not the release, or none, fails.
	sumsPath, _ := filepath.Abs("../.github/kops-checksums.txt")
	dir := t.TempDir()
	check := func() (string, error) {
		cmd := exec.Command("sha256sum", "--check", "--strict", "--ignore-missing", sumsPath)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := check(); err == nil {
		t.Errorf("no download, yet the check passed:\n%s", out)
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte("not kops\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := check(); err == nil || !strings.Contains(out, file+": FAILED") {
		t.Errorf("a tampered download was not reported FAILED (%v):\n%s", err, out)
	}
}

// kopsCommandsOnLongestPath is how many kops commands bounded by kopsTimeout
// the longest up runs, besides rollsOnLongestPath commands bounded by
// rollingUpdateTimeout and one validate. Read from internal/kops's reconcile
// lifecycle (lifecycle.go, steps.go): a Kubernetes upgrade of a cluster that
// needs a roll is version, get cluster, get instancegroups, replace, the
// create and resize of instance groups, the update dry run, the control
// plane's update by role (before kops 1.31), update --yes, export kubecfg,
// the rolling-update dry run and validate's margin, then get cluster and get
// instancegroups to record the result; its rolls are the control plane's and
// the nodes' (or reconcile cluster and the nodes' roll from kops 1.31).
// Replacing the cluster runs no more. Each removed instance group adds one
// rollingUpdateTimeout (delete instancegroup), which the dev stack has none of.
const (
	kopsCommandsOnLongestPath = 14
	rollsOnLongestPath        = 2
)

// upAllowance is the time an up spends outside kops: the toolchain, the
// program's build, the Kubernetes resources and probes.
const upAllowance = 45 * time.Minute

// TestUpJobOutlastsKopsTimeouts: the up job's timeout and its AWS session
// cover the longest path the dev stack's kops timeouts allow.
func TestUpJobOutlastsKopsTimeouts(t *testing.T) {
	timeout := func(key string, def time.Duration) time.Duration {
		v := devStackValue(t, key)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("Pulumi.dev.yaml %s: %v", key, err)
		}
		return d
	}
	kops := kopsCommandsOnLongestPath*timeout(config.KeyKopsTimeout, config.DefaultKopsTimeout) +
		rollsOnLongestPath*timeout(config.KeyRollingUpdateTimeout, config.DefaultRollingUpdateTimeout) +
		timeout(config.KeyValidateTimeout, config.DefaultValidateTimeout)

	up := readWorkflow(t, "../.github/workflows/up.yml").Jobs["up"]
	job := time.Duration(up.TimeoutMinutes) * time.Minute
	if job < kops+upAllowance {
		t.Errorf("up job timeout %s < the kops path %s + %s for the rest", job, kops, upAllowance)
	}
	creds := up.uses("aws-actions/configure-aws-credentials")
	if len(creds) != 1 {
		t.Fatalf("up job: %d credential steps", len(creds))
	}
	var secs int
	if _, err := fmt.Sscan(creds[0].with("role-duration-seconds"), &secs); err != nil {
		t.Fatalf("role-duration-seconds: %v", err)
	}
	if session := time.Duration(secs) * time.Second; session < job {
		t.Errorf("AWS session %s is shorter than the job (%s): the credentials could expire mid-roll", session, job)
	}
}

// buildScriptVar reads NAME=value from tools/build.sh, the pins of the tools.
func buildScriptVar(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../tools/build.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + name + `=(\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("tools/build.sh does not set %s", name)
	}
	return string(m[1])
}

// devStackValue is a key of Pulumi.dev.yaml ("" when unset).
func devStackValue(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile("../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var stack struct{ Config map[string]any }
	if err := yaml.Unmarshal(b, &stack); err != nil {
		t.Fatal(err)
	}
	if v, ok := stack.Config[config.FullKey(key)]; ok {
		return fmt.Sprint(v)
	}
	return ""
}

// commentHarness runs a github-script script under node the way the action
// does (an async function of require, github, context and core) against an
// in-memory pull request: its comments in, the calls made and comments out.
const commentHarness = `
const fs = require('fs');
const [scriptPath, statePath] = process.argv.slice(2);
const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
state.calls = [];
const issues = {
  listComments: async (p) => { state.calls.push('list ' + p.issue_number); return { data: state.comments }; },
  updateComment: async (p) => {
    state.calls.push('update ' + p.comment_id);
    state.comments.find(c => c.id === p.comment_id).body = p.body;
    return { data: {} };
  },
  createComment: async (p) => {
    state.calls.push('create ' + p.issue_number);
    const c = { id: 100 + state.comments.length, user: { login: 'github-actions[bot]' }, body: p.body, html_url: 'url' };
    state.comments.push(c);
    return { data: c };
  },
};
const github = { rest: { issues }, paginate: async (fn, p) => (await fn(p)).data };
const context = { repo: { owner: 'o', repo: 'r' }, payload: { pull_request: { number: 7 } } };
const core = { setFailed: (m) => { state.failed = m; }, info: () => {} };
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
new AsyncFunction('require', 'github', 'context', 'core', fs.readFileSync(scriptPath, 'utf8'))(require, github, context, core)
  .then(() => fs.writeFileSync(statePath, JSON.stringify(state)));
`

type prComment struct {
	ID   int `json:"id"`
	User struct {
		Login string `json:"login"`
	} `json:"user"`
	Body string `json:"body"`
}

type prState struct {
	Comments []prComment `json:"comments"`
	Calls    []string    `json:"calls"`
	Failed   string      `json:"failed"`
}

// TestReachabilityCommentScript: the comment step creates the marked comment
// once, then updates that one comment in place, leaves other people's
// comments alone even when they quote the marker, and refuses a body past
// GitHub's limit instead of posting it.
func TestReachabilityCommentScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not found: the comment script runs on the GitHub runner's node")
	}
	var script string
	for _, j := range readWorkflow(t, "../.github/workflows/preview.yml").Jobs {
		for _, s := range j.uses("actions/github-script") {
			script = s.with("script")
		}
	}
	if script == "" {
		t.Fatal("no github-script step")
	}
	dir := t.TempDir()
	for name, content := range map[string]string{"harness.js": commentHarness, "script.js": script} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const marker = "<!-- kopscalico-reachability -->"
	state := prState{Comments: []prComment{{ID: 1, Body: marker + "\nquoted by a person"}}}
	state.Comments[0].User.Login = "someone"
	run := func(body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "reachability.md"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(state)
		if err := os.WriteFile(filepath.Join(dir, "state.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(node, "harness.js", "script.js", "state.json")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		b, err := os.ReadFile(filepath.Join(dir, "state.json"))
		if err != nil {
			t.Fatal(err)
		}
		state = prState{}
		if err := json.Unmarshal(b, &state); err != nil {
			t.Fatal(err)
		}
	}

	run(marker + "\nfirst")
	if !slices.Equal(state.Calls, []string{"list 7", "create 7"}) || len(state.Comments) != 2 {
		t.Fatalf("first run: calls %v, comments %+v", state.Calls, state.Comments)
	}
	run(marker + "\nsecond")
	if !slices.Equal(state.Calls, []string{"list 7", "update 101"}) || len(state.Comments) != 2 ||
		state.Comments[1].Body != marker+"\nsecond" || state.Comments[0].Body != marker+"\nquoted by a person" {
		t.Fatalf("second run: calls %v, comments %+v", state.Calls, state.Comments)
	}
	run(marker + "\n" + strings.Repeat("x", 70000))
	if state.Failed == "" || len(state.Calls) != 0 || state.Comments[1].Body != marker+"\nsecond" {
		t.Errorf("an oversized body: failed %q, calls %v", state.Failed, state.Calls)
	}
}

// TestWorkflowSecretsOnlyInEnvironments: the passphrase and the AWS roles
// reach a job only through an environment a reviewer approves: the preview
// in "preview", the apply in "dev" (README "Who can read the stack's
// secrets"). A job without an environment uses no secret but GITHUB_TOKEN.
func TestWorkflowSecretsOnlyInEnvironments(t *testing.T) {
	secretRef := regexp.MustCompile(`secrets\.(\w+)`)
	want := map[string]string{"preview.yml/preview": "preview", "up.yml/up": "dev"}
	seen := map[string]bool{}
	for _, f := range workflowFiles(t) {
		var top struct{ Env map[string]string }
		if b, err := os.ReadFile(f); err != nil || yaml.Unmarshal(b, &top) != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if b, _ := json.Marshal(top.Env); secretRef.Match(b) {
			t.Errorf("%s: workflow-level env hands secrets to every job: %v", filepath.Base(f), top.Env)
		}
		for name, j := range readWorkflow(t, f).Jobs {
			where := filepath.Base(f) + "/" + name
			b, err := json.Marshal(j) // the job's env and its steps
			if err != nil {
				t.Fatal(err)
			}
			var secrets []string
			for _, m := range secretRef.FindAllStringSubmatch(string(b), -1) {
				if m[1] != "GITHUB_TOKEN" {
					secrets = append(secrets, m[1])
				}
			}
			creds := j.uses("aws-actions/configure-aws-credentials")
			if len(secrets) == 0 && len(creds) == 0 {
				if env := j.environment(); env != "" {
					t.Errorf("%s names environment %q but uses no secret or role", where, env)
				}
				continue
			}
			seen[where] = true
			if env, ok := want[where]; !ok || j.environment() != env {
				t.Errorf("%s uses secrets %v and %d AWS role(s) in environment %q; want only %v", where, secrets, len(creds), j.environment(), want)
			}
		}
	}
	for where := range want {
		if !seen[where] {
			t.Errorf("%s uses no secret or role: the test's map is out of date", where)
		}
	}
}

// trustPolicy is a role's trust policy as the README gives it.
type trustPolicy struct{ doc storepolicy.Document }

// readmeTrustPolicy is the README's JSON trust policy whose text holds
// marker, with the Principal (the GitHub OIDC provider) left out: the
// evaluator decides the token's claims, which is what the conditions are for.
func readmeTrustPolicy(t *testing.T, marker string) trustPolicy {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		if strings.Contains(m[1], marker) {
			found = append(found, m[1])
		}
	}
	if len(found) != 1 {
		t.Fatalf("README: %d JSON trust policies name %q, want 1", len(found), marker)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(found[0]), &st); err != nil {
		t.Fatalf("README trust policy for %s: %v\n%s", marker, err, found[0])
	}
	fed, _ := st["Principal"].(map[string]any)
	if !strings.HasSuffix(fmt.Sprint(fed["Federated"]), ":oidc-provider/token.actions.githubusercontent.com") || len(fed) != 1 {
		t.Errorf("trust policy for %s: Principal %v, want only the GitHub OIDC provider", marker, st["Principal"])
	}
	delete(st, "Principal")
	st["Resource"] = "*"
	js, _ := json.Marshal(map[string]any{"Statement": []any{st}})
	doc, err := storepolicy.Parse(js)
	if err != nil {
		t.Fatal(err)
	}
	return trustPolicy{doc}
}

// assumes: may a job with these claims assume the role? The subject is
// composed as GitHub does with the README's customization (include_claim_keys
// repo, context, job_workflow_ref): repo:R:CONTEXT:job_workflow_ref:R/PATH@REF.
func (p trustPolicy) assumes(t *testing.T, context, workflowRef string) bool {
	t.Helper()
	const repo = "<org>/<repo>"
	sub := "repo:" + repo + ":" + context
	if workflowRef != "" {
		sub += ":job_workflow_ref:" + repo + "/.github/workflows/" + workflowRef
	}
	d, err := storepolicy.Evaluate(storepolicy.Request{Action: "sts:AssumeRoleWithWebIdentity", Resource: "*", Context: map[string]string{
		"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
		"token.actions.githubusercontent.com:sub": sub,
	}}, p.doc)
	if err != nil {
		t.Fatal(err)
	}
	return d == storepolicy.Allowed
}

// TestDeployRoleTrustsUpOnMain: the deploy role's trust, as the README gives
// it, admits up.yml on main in the dev environment and nothing else: not
// another workflow, another branch, no environment, nor the default subject
// (the customization not applied fails closed); up.yml runs only on pushes to
// main, and is the only job of the dev environment. The preview role is
// held the same way to preview.yml in the preview environment.
func TestDeployRoleTrustsUpOnMain(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"include_claim_keys": ["repo", "context", "job_workflow_ref"]`) ||
		!strings.Contains(string(b), "actions/oidc/customization/sub") {
		t.Error("README does not set the repository's OIDC subject to repo, context and job_workflow_ref")
	}

	type claims struct {
		context, workflowRef string
		want                 bool
	}
	for _, role := range []struct {
		name, marker string
		cases        []claims
	}{
		{"deploy", "environment:dev", []claims{
			{"environment:dev", "up.yml@refs/heads/main", true},
			{"environment:dev", "up.yml@refs/heads/feature", false},
			{"environment:dev", "evil.yml@refs/heads/main", false},
			{"environment:dev", "up.yml@refs/pull/42/merge", false},
			{"environment:preview", "up.yml@refs/heads/main", false},
			{"ref:refs/heads/main", "up.yml@refs/heads/main", false},
			{"environment:dev", "", false},
			{"pull_request", "preview.yml@refs/pull/42/merge", false},
		}},
		{"preview", "environment:preview", []claims{
			{"environment:preview", "preview.yml@refs/pull/42/merge", true},
			{"environment:preview", "evil.yml@refs/pull/42/merge", false},
			{"environment:preview", "preview.yml@refs/heads/feature", false},
			{"pull_request", "preview.yml@refs/pull/42/merge", false},
			{"environment:dev", "preview.yml@refs/pull/42/merge", false},
			{"environment:preview", "", false},
		}},
	} {
		policy := readmeTrustPolicy(t, role.marker)
		for _, c := range role.cases {
			if got := policy.assumes(t, c.context, c.workflowRef); got != c.want {
				t.Errorf("%s role, %s %s: assumes = %v, want %v", role.name, c.context, c.workflowRef, got, c.want)
			}
		}
	}

	up := readWorkflow(t, "../.github/workflows/up.yml")
	if len(up.On) != 1 {
		t.Errorf("up.yml runs on %v, want push to main only", slices.Collect(maps.Keys(up.On)))
	}
	push, _ := up.On["push"].(map[string]any)
	if branches, _ := push["branches"].([]any); len(push) != 1 || !slices.Equal(branches, []any{"main"}) {
		t.Errorf("up.yml on.push = %v, want branches: [main] and nothing else", push)
	}
	for _, f := range workflowFiles(t) {
		for name, j := range readWorkflow(t, f).Jobs {
			isUp := filepath.Base(f) == "up.yml" && name == "up"
			if (j.environment() == "dev") != isUp {
				t.Errorf("%s/%s: environment %q; only up.yml's up job deploys to dev", filepath.Base(f), name, j.environment())
			}
		}
	}
}
