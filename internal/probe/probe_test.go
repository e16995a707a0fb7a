package probe

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kopscalico/kopscalico/internal/demo"
	"github.com/kopscalico/kopscalico/internal/testing/golden"
)

// tutorialExpect is what the shipped policies say about the demo: only
// app=busybox reaches http-echo.
func tutorialExpect(calls *[]string) Expect {
	return func(from, to string, port int, proto string) (bool, error) {
		*calls = append(*calls, fmt.Sprintf("%s -> %s %d/%s", from, to, port, proto))
		return from == "ns-1/probe-busybox", nil
	}
}

func demoPlan(t *testing.T) []Probe {
	t.Helper()
	var calls []string
	probes, err := Plan(tutorialExpect(&calls), DemoSources("ns-1"), DemoTargets("ns-1"))
	if err != nil {
		t.Fatal(err)
	}
	return probes
}

func TestPlanAsksExpectAboutEachPodPair(t *testing.T) {
	t.Parallel()
	var calls []string
	probes, err := Plan(tutorialExpect(&calls), DemoSources("ns-1"), DemoTargets("ns-1"))
	if err != nil {
		t.Fatal(err)
	}
	// Policies see the pod port behind the Service, not the Service port.
	wantCalls := []string{
		"ns-1/probe-busybox -> ns-1/http-echo 5678/TCP",
		"ns-1/probe-stranger -> ns-1/http-echo 5678/TCP",
	}
	if !reflect.DeepEqual(calls, wantCalls) {
		t.Errorf("expect called with %q, want %q", calls, wantCalls)
	}
	got := map[string]Outcome{}
	for _, p := range probes {
		got[p.Name] = p.Expect
	}
	want := map[string]Outcome{"probe-busybox-to-http-echo": Allowed, "probe-stranger-to-http-echo": Blocked}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan = %v, want %v", got, want)
	}
	if probes[0].To.URL() != "http://http-echo.ns-1.svc.cluster.local:80/" {
		t.Errorf("URL = %q", probes[0].To.URL())
	}
}

func TestPlanRefusesBadNamesAndExpectErrors(t *testing.T) {
	t.Parallel()
	boom := func(string, string, int, string) (bool, error) { return false, errors.New("unknown pod") }
	if _, err := Plan(boom, DemoSources("ns-1"), DemoTargets("ns-1")); err == nil || !strings.Contains(err.Error(), "unknown pod") {
		t.Errorf("Plan with failing expect: err = %v", err)
	}
	ok := func(string, string, int, string) (bool, error) { return true, nil }
	bad := []Source{{Name: "Not_A_Name", Namespace: "ns-1"}}
	if _, err := Plan(ok, bad, DemoTargets("ns-1")); err == nil || !strings.Contains(err.Error(), "not a valid Job name") {
		t.Errorf("Plan with bad source name: err = %v", err)
	}
	dup := append(DemoSources("ns-1"), DemoSources("ns-1")[0])
	if _, err := Plan(ok, dup, DemoTargets("ns-1")); err == nil || !strings.Contains(err.Error(), "planned twice") {
		t.Errorf("Plan with duplicate source: err = %v", err)
	}
}

func TestJobImpersonatesItsSource(t *testing.T) {
	t.Parallel()
	for _, p := range demoPlan(t) {
		job := Job(p, "rev-1")
		if job.Name != p.Name || job.Namespace != "ns-1" {
			t.Errorf("job %s/%s, want ns-1/%s", job.Namespace, job.Name, p.Name)
		}
		// Exactly the source's labels: any other label could change which
		// policies select the probe pod.
		if !reflect.DeepEqual(job.Spec.Template.Labels, p.From.Labels) {
			t.Errorf("%s pod labels = %v, want %v", p.Name, job.Spec.Template.Labels, p.From.Labels)
		}
		if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit != 0 {
			t.Errorf("%s backoffLimit = %v, want 0: one run, its verdict in the log", p.Name, job.Spec.BackoffLimit)
		}
		if job.Spec.TTLSecondsAfterFinished != nil {
			t.Errorf("%s has ttlSecondsAfterFinished: the TTL controller would delete a Job Pulumi owns", p.Name)
		}
		if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("%s restartPolicy = %s", p.Name, job.Spec.Template.Spec.RestartPolicy)
		}
		if got := job.Spec.Template.Annotations[RevisionAnnotation]; got != "rev-1" {
			t.Errorf("%s revision annotation = %q", p.Name, got)
		}
		c := job.Spec.Template.Spec.Containers[0]
		if c.Image != demo.BusyboxImage {
			t.Errorf("%s image = %s, want %s", p.Name, c.Image, demo.BusyboxImage)
		}
		script := c.Command[len(c.Command)-1]
		for _, want := range []string{`wget -q -T 3 -O- --post-data "probe=$name" "$url"`, "url='http://http-echo.ns-1.svc.cluster.local:80/'", "name='" + p.Name + "'"} {
			if !strings.Contains(script, want) {
				t.Errorf("%s script lacks %q:\n%s", p.Name, want, script)
			}
		}
	}
	a, b := Job(demoPlan(t)[0], "rev-1"), Job(demoPlan(t)[0], "rev-2")
	if reflect.DeepEqual(a.Spec.Template, b.Spec.Template) {
		t.Error("a new revision must change the pod template, so the Job is replaced and runs again")
	}
}

// TestScript runs the probe script with stand-ins for wget and nslookup that
// play busybox's messages (nslookup's recorded, of both implementations),
// and checks the verdict line it prints. The logs it writes are the
// recorded outputs in testdata that the comparison tests read.
func TestScript(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	fakes := map[string]string{}
	for _, cmd := range []string{"wget", "nslookup"} {
		if fakes[cmd], err = filepath.Abs(filepath.Join("testdata", "fake-"+cmd)); err != nil {
			t.Fatal(err)
		}
	}
	probes := demoPlan(t)
	busybox, stranger := probes[0], probes[1]
	placed, err := Place(probes, []string{"us-east-1a", "us-east-1b"})
	if err != nil {
		t.Fatal(err)
	}
	dns, err := Plan(func(string, string, int, string) (bool, error) { return true, nil }, DemoSources("ns-1")[:1], []Target{DNSTarget()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		probe    Probe
		outcomes string
		want     string // verdict line
		calls    int
		golden   string
	}{
		{"first attempt answers", busybox, "ok", "PROBE probe-busybox-to-http-echo allowed ", 1, "busybox-allowed.log"},
		{"HTTP error still connected", busybox, "http500", "PROBE probe-busybox-to-http-echo allowed ", 1, ""},
		{"late policy programming", busybox, "timeout ok", "PROBE probe-busybox-to-http-echo allowed ", 2, ""},
		{"every attempt dropped", stranger, "timeout timeout timeout", "PROBE probe-stranger-to-http-echo blocked ", 3, "stranger-blocked.log"},
		{"a hole", stranger, "timeout timeout ok", "PROBE probe-stranger-to-http-echo allowed ", 3, "stranger-allowed.log"},
		{"refused is not blocked", stranger, "refused refused refused", "PROBE probe-stranger-to-http-echo error wget: can't connect to remote host (100.64.1.7): Connection refused", 3, ""},
		{"placed: cross-zone control", placed[0], "ok", "PROBE probe-busybox-to-http-echo-cross-zone allowed ", 1, "busybox-cross-zone-allowed.log"},
		{"placed: same-zone control", placed[1], "ok", "PROBE probe-busybox-to-http-echo-same-zone allowed ", 1, "busybox-same-zone-allowed.log"},
		{"placed: cross-zone dropped", placed[2], "timeout timeout timeout", "PROBE probe-stranger-to-http-echo-cross-zone blocked ", 3, "stranger-cross-zone-blocked.log"},
		{"placed: same-zone dropped", placed[3], "timeout timeout timeout", "PROBE probe-stranger-to-http-echo-same-zone blocked ", 3, "stranger-same-zone-blocked.log"},
		{"DNS answers over UDP", dns[0], "answer", "PROBE probe-busybox-to-kube-dns allowed ", 1, "busybox-to-kube-dns-allowed.log"},
		{"DNS NXDOMAIN is an answer", dns[0], "nxdomain", "PROBE probe-busybox-to-kube-dns allowed ", 1, ""},
		{"DNS dropped", dns[0], "timeout timeout timeout", "PROBE probe-busybox-to-kube-dns blocked ", 3, "busybox-to-kube-dns-blocked.log"},
		// busybox 1.28 and later, as the image the probes run (demo.BusyboxImage).
		{"DNS SERVFAIL is an answer", dns[0], "servfail", "PROBE probe-busybox-to-kube-dns allowed ", 1, ""},
		{"DNS: one query unanswered, another answered", dns[0], "no-answer", "PROBE probe-busybox-to-kube-dns allowed ", 1, ""},
		{"DNS refused is not blocked", dns[0], "refused refused refused", "PROBE probe-busybox-to-kube-dns error nslookup: read: Connection refused", 3, ""},
		{"DNS dropped, then answered", dns[0], "timeout answer", "PROBE probe-busybox-to-kube-dns allowed ", 2, ""},
		// busybox before 1.28 (libc's resolver), plain and verbose.
		{"old busybox: answer", dns[0], "old-answer", "PROBE probe-busybox-to-kube-dns allowed ", 1, ""},
		{"old busybox: the server named, the name not", dns[0], "old-nxdomain", "PROBE probe-busybox-to-kube-dns allowed ", 1, ""},
		{"old busybox: nothing answered", dns[0], "old-timeout old-timeout old-timeout", "PROBE probe-busybox-to-kube-dns blocked ", 3, ""},
		{"old busybox, verbose: no such name", dns[0], "old-verbose-nxdomain", "PROBE probe-busybox-to-kube-dns allowed ", 1, ""},
		{"old busybox, verbose glibc: timed out", dns[0], "old-verbose-timeout old-verbose-timeout old-verbose-timeout", "PROBE probe-busybox-to-kube-dns blocked ", 3, ""},
		{"old busybox, verbose musl: timed out", dns[0], "old-musl-verbose-timeout old-musl-verbose-timeout old-musl-verbose-timeout", "PROBE probe-busybox-to-kube-dns blocked ", 3, ""},
		{"DNS failure", busybox, "dns dns dns", "PROBE probe-busybox-to-http-echo error wget: bad address 'http-echo.ns-1.svc.cluster.local'", 3, "busybox-dns-error.log"},
	}
	// The recordings of every DNS probe the demo plans, on one zone and on
	// two, for the tests that play them.
	both, err := Plan(func(string, string, int, string) (bool, error) { return true, nil }, DemoSources("ns-1"), []Target{DNSTarget()})
	if err != nil {
		t.Fatal(err)
	}
	placedDNS, err := Place(both, []string{"us-east-1a", "us-east-1b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(both[1:], placedDNS...) {
		tests = append(tests, struct {
			name     string
			probe    Probe
			outcomes string
			want     string
			calls    int
			golden   string
		}{"recording " + p.Name, p, "answer", "PROBE " + p.Name + " allowed ", 1, p.Name + "-allowed.log"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			for cmd, fake := range fakes {
				if err := os.Symlink(fake, filepath.Join(bin, cmd)); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command(sh, "-c", Script(tt.probe))
			cmd.Env = []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "FAKE_DIR=" + dir, "FAKE_OUTCOMES=" + tt.outcomes, "FAKE_TESTDATA=" + testdata}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("script failed (it must always exit 0): %v\n%s", err, out)
			}
			if got := strings.TrimRight(string(out), "\n"); got != tt.want {
				t.Errorf("verdict line = %q, want %q", got, tt.want)
			}
			calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
			if got := strings.TrimSpace(string(calls)); got != fmt.Sprint(tt.calls) {
				t.Errorf("the probe command ran %s times, want %d", got, tt.calls)
			}
			args, _ := os.ReadFile(filepath.Join(dir, "args"))
			wantArgs := fmt.Sprintf("-q -T 3 -O- --post-data probe=%s %s", tt.probe.Name, tt.probe.To.URL())
			if tt.probe.To.Protocol == "UDP" {
				wantArgs = tt.probe.To.Host
			}
			if first := strings.SplitN(string(args), "\n", 2)[0]; first != wantArgs {
				t.Errorf("probe command args = %q, want %q", first, wantArgs)
			}
			if tt.golden != "" {
				golden.Assert(t, filepath.Join("testdata", tt.golden), out)
			}
		})
	}
}

// On two zones each probe runs from another zone than its target and from
// the same one, pinned by required pod (anti-)affinity to the target's pods;
// on one zone the plan is unchanged and has no affinity.
func TestPlaceByZone(t *testing.T) {
	t.Parallel()
	one, err := Place(demoPlan(t), []string{"us-east-1a"})
	if err != nil || !reflect.DeepEqual(one, demoPlan(t)) {
		t.Fatalf("one zone: %v, %+v", err, one)
	}
	if a := Job(one[0], "r").Spec.Template.Spec.Affinity; a != nil {
		t.Errorf("one zone: affinity %+v", a)
	}
	two, err := Place(demoPlan(t), []string{"us-east-1a", "us-east-1b"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range two {
		names = append(names, p.Name+"="+string(p.Placement))
	}
	want := "probe-busybox-to-http-echo-cross-zone=other-zone,probe-busybox-to-http-echo-same-zone=same-zone,probe-stranger-to-http-echo-cross-zone=other-zone,probe-stranger-to-http-echo-same-zone=same-zone"
	if strings.Join(names, ",") != want {
		t.Errorf("placed = %v, want %s", names, want)
	}
	cross := Job(two[0], "r").Spec.Template.Spec.Affinity
	if cross == nil || cross.PodAntiAffinity == nil || cross.PodAffinity != nil {
		t.Fatalf("cross-zone affinity = %+v", cross)
	}
	term := cross.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0]
	if term.TopologyKey != ZoneLabel || !reflect.DeepEqual(term.LabelSelector.MatchLabels, map[string]string{"app": "http-echo"}) || !reflect.DeepEqual(term.Namespaces, []string{"ns-1"}) {
		t.Errorf("cross-zone term = %+v", term)
	}
	same := Job(two[1], "r").Spec.Template.Spec.Affinity
	if same == nil || same.PodAffinity == nil || same.PodAntiAffinity != nil || same.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].TopologyKey != ZoneLabel {
		t.Errorf("same-zone affinity = %+v", same)
	}
}
