package probe

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func recorded(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseResult(t *testing.T) {
	t.Parallel()
	tests := []struct {
		output  string
		want    Verdict
		wantErr string
	}{
		{output: "PROBE probe-a allowed \n", want: Verdict{Probe: "probe-a", Outcome: Allowed}},
		{output: "noise\nPROBE probe-a blocked\n", want: Verdict{Probe: "probe-a", Outcome: Blocked}},
		{output: "PROBE probe-a blocked\nPROBE probe-a allowed\n", want: Verdict{Probe: "probe-a", Outcome: Allowed}},
		{output: "PROBE probe-a error wget: bad address 'x y'\n", want: Verdict{Probe: "probe-a", Outcome: Failed, Detail: "wget: bad address 'x y'"}},
		{output: "sh: wget: not found\n", wantErr: `no "PROBE" line in the probe output (last line: "sh: wget: not found")`},
		{output: "", wantErr: "(no output)"},
		{output: "PROBE probe-a\n", wantErr: "want \"PROBE <name>"},
		{output: "PROBE probe-a maybe\n", wantErr: `outcome "maybe" is not allowed, blocked or error`},
	}
	for _, tt := range tests {
		got, err := ParseResult(tt.output)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseResult(%q) error = %v, want %q", tt.output, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseResult(%q) = %+v, %v; want %+v", tt.output, got, err, tt.want)
		}
	}
}

func TestCompareAgreeing(t *testing.T) {
	t.Parallel()
	probes := demoPlan(t)
	table, err := Compare(probes, map[string]string{
		"probe-busybox-to-http-echo":  recorded(t, "busybox-allowed.log"),
		"probe-stranger-to-http-echo": recorded(t, "stranger-blocked.log"),
	})
	if err != nil {
		t.Fatalf("Compare of agreeing results: %v", err)
	}
	if len(table) != 2 || table.Mismatches() != 0 {
		t.Errorf("table = %+v", table)
	}
	if table[0].From != "ns-1 app=busybox" || table[0].To != "http-echo.ns-1.svc.cluster.local:80" || table[0].Observed != "allowed" {
		t.Errorf("row = %+v", table[0])
	}
}

func TestCompareDisagreeing(t *testing.T) {
	t.Parallel()
	probes := demoPlan(t)
	table, err := Compare(probes, map[string]string{
		"probe-busybox-to-http-echo":  recorded(t, "busybox-allowed.log"),
		"probe-stranger-to-http-echo": recorded(t, "stranger-allowed.log"),
	})
	var mismatch *MismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("Compare of a hole: err = %v, want a *MismatchError", err)
	}
	if table.Mismatches() != 1 || table[1].Match || !table[0].Match {
		t.Errorf("table = %+v", table)
	}
	msg := err.Error()
	for _, want := range []string{
		"1 of 2 probes disagree with the network policies",
		"PROBE", "FROM", "TO", "EXPECTED", "OBSERVED",
		"probe-stranger-to-http-echo  ns-1 app=stranger  http-echo.ns-1.svc.cluster.local:80  any (not placed by zone)  -              blocked   allowed   <- differs",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(strings.Split(msg, "\n")[2], "differs") {
		t.Errorf("the agreeing row is marked:\n%s", msg)
	}
}

func TestCompareUnreadableResults(t *testing.T) {
	t.Parallel()
	probes := demoPlan(t)
	table, err := Compare(probes, map[string]string{
		"probe-busybox-to-http-echo": recorded(t, "no-verdict.log"),
	})
	if err == nil {
		t.Fatal("Compare accepted a missing and an unreadable result")
	}
	if !strings.HasPrefix(table[0].Observed, "unreadable: no \"PROBE\" line") || table[1].Observed != "no result" {
		t.Errorf("observed = %q, %q", table[0].Observed, table[1].Observed)
	}

	// A DNS failure is an error, never a match, even for an expected block.
	_, err = Compare(probes[:1], map[string]string{"probe-busybox-to-http-echo": recorded(t, "busybox-dns-error.log")})
	if err == nil || !strings.Contains(err.Error(), "error: wget: bad address") {
		t.Errorf("DNS failure: err = %v", err)
	}
	// Another probe's output is not this probe's result.
	_, err = Compare(probes[:1], map[string]string{"probe-busybox-to-http-echo": recorded(t, "stranger-blocked.log")})
	if err == nil || !strings.Contains(err.Error(), `output of probe "probe-stranger-to-http-echo"`) {
		t.Errorf("swapped output: err = %v", err)
	}
}

func TestPlanned(t *testing.T) {
	t.Parallel()
	table := Planned(demoPlan(t))
	if len(table) != 2 || table.Mismatches() != 0 || table[1].Expected != Blocked || table[1].Observed != "(not run)" {
		t.Errorf("Planned = %+v", table)
	}
}

// A blocked verdict counts only when its control, the allowed probe to the
// same target from the same placement, got through in the same run.
func TestCompareBlockedNeedsItsControl(t *testing.T) {
	t.Parallel()
	probes, err := Place(demoPlan(t), []string{"us-east-1a", "us-east-1b"})
	if err != nil {
		t.Fatal(err)
	}
	at := func(probe string, o Outcome, node, zone string) string {
		return fmt.Sprintf("%s %s %s \n", ResultPrefix, probe, o) + NodeLine(node, zone)
	}
	results := map[string]string{
		"probe-busybox-to-http-echo-cross-zone":  at("probe-busybox-to-http-echo-cross-zone", Allowed, "node-b", "us-east-1b"),
		"probe-stranger-to-http-echo-cross-zone": at("probe-stranger-to-http-echo-cross-zone", Blocked, "node-b", "us-east-1b"),
		// The same-zone control timed out: the target may just be slow.
		"probe-busybox-to-http-echo-same-zone":  at("probe-busybox-to-http-echo-same-zone", Blocked, "node-a", "us-east-1a"),
		"probe-stranger-to-http-echo-same-zone": at("probe-stranger-to-http-echo-same-zone", Blocked, "node-a", "us-east-1a"),
	}
	table, err := Compare(probes, results)
	if err == nil {
		t.Fatalf("a block without its control passed:\n%s", table)
	}
	rows := map[string]Row{}
	for _, r := range table {
		rows[r.Probe] = r
	}
	if r := rows["probe-stranger-to-http-echo-cross-zone"]; !r.Match || r.Observed != "blocked" || r.Control != "probe-busybox-to-http-echo-cross-zone" || r.RanOn != "node-b (us-east-1b)" || r.Placement != "other zone than target" {
		t.Errorf("cross-zone stranger = %+v", r)
	}
	if r := rows["probe-stranger-to-http-echo-same-zone"]; r.Match || !strings.Contains(r.Observed, "unproven: its control probe-busybox-to-http-echo-same-zone was not allowed") {
		t.Errorf("same-zone stranger, its control blocked = %+v", r)
	}
	text := table.String()
	for _, want := range []string{"PLACEMENT", "RAN ON (ZONE)", "probe-busybox-to-http-echo-cross-zone   ns-1 app=busybox   http-echo.ns-1.svc.cluster.local:80  other zone than target  node-b (us-east-1b)", "blocked (control probe-busybox-to-http-echo-cross-zone allowed)"} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}

	// No probe to the target is expected allowed: nothing shows it answers.
	stranger := probes[2]
	if _, err := Compare([]Probe{stranger}, map[string]string{stranger.Name: results[stranger.Name]}); err == nil || !strings.Contains(err.Error(), "unproven: no probe to http-echo.ns-1.svc.cluster.local:80 from the same placement is expected allowed") {
		t.Errorf("a block with no control: %v", err)
	}
}
