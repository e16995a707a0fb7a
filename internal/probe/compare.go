package probe

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
)

// Verdict is a probe's parsed verdict line.
type Verdict struct {
	Probe   string
	Outcome Outcome
	Detail  string // why, for an error
}

// NodePrefix starts the line the reader adds to a probe's output: the node
// its pod ran on and that node's zone.
const NodePrefix = "PROBE-NODE"

// NodeLine is the line NodePrefix starts.
func NodeLine(node, zone string) string {
	return fmt.Sprintf("\n%s %s %s\n", NodePrefix, orDash(node), orDash(zone))
}

// ranOn reads the node line of an output: "node (zone)", or "" without one.
func ranOn(output string) string {
	ran := ""
	for _, l := range strings.Split(output, "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == NodePrefix && f[1] != "-" {
			ran = fmt.Sprintf("%s (%s)", f[1], strings.Join(f[2:], " "))
		}
	}
	return ran
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ParseResult reads the verdict line a probe printed ("PROBE <name>
// <allowed|blocked|error> [detail]"); the last one wins, other lines are
// ignored.
func ParseResult(output string) (Verdict, error) {
	var line string
	for _, l := range strings.Split(output, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, ResultPrefix+" ") {
			line = l
		}
	}
	if line == "" {
		return Verdict{}, fmt.Errorf("no %q line in the probe output%s", ResultPrefix, lastLine(output))
	}
	fields := strings.SplitN(line, " ", 4)
	if len(fields) < 3 {
		return Verdict{}, fmt.Errorf("verdict line %q: want %q", line, ResultPrefix+" <name> <allowed|blocked|error> [detail]")
	}
	v := Verdict{Probe: fields[1], Outcome: Outcome(fields[2])}
	if len(fields) == 4 {
		v.Detail = strings.TrimSpace(fields[3])
	}
	switch v.Outcome {
	case Allowed, Blocked, Failed:
	default:
		return Verdict{}, fmt.Errorf("verdict line %q: outcome %q is not allowed, blocked or error", line, v.Outcome)
	}
	return v, nil
}

func lastLine(output string) string {
	lines := strings.Split(strings.TrimSpace(output), "\n")
	if last := strings.TrimSpace(lines[len(lines)-1]); last != "" {
		return fmt.Sprintf(" (last line: %q)", last)
	}
	return " (no output)"
}

// Row is one probe in the comparison table.
type Row struct {
	Probe string
	From  string // namespace and labels of the impersonated pod
	To    string // host:port
	// Placement is where the probe ran relative to its target.
	Placement string
	// RanOn is the node the probe's pod ran on and its zone.
	RanOn    string
	Expected Outcome
	Observed string // outcome, detail when any, or why nothing was read
	// Control is the allowed probe that proves a blocked verdict.
	Control string
	Match   bool
}

// Table is the comparison of every probe's expected and observed outcome.
type Table []Row

// Mismatches counts the rows that differ.
func (t Table) Mismatches() int {
	n := 0
	for _, r := range t {
		if !r.Match {
			n++
		}
	}
	return n
}

// String renders the table in aligned columns, the differing rows marked.
func (t Table) String() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "PROBE\tFROM\tTO\tPLACEMENT\tRAN ON (ZONE)\tEXPECTED\tOBSERVED\t")
	for _, r := range t {
		mark := ""
		if !r.Match {
			mark = "<- differs"
		}
		observed := r.Observed
		if r.Control != "" {
			observed += " (control " + r.Control + " allowed)"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Probe, r.From, r.To, r.Placement, orDash(r.RanOn), r.Expected, observed, mark)
	}
	w.Flush()
	return b.String()
}

// MismatchError is returned when an observation differs from the policies.
type MismatchError struct{ Table Table }

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%d of %d probes disagree with the network policies (are the policies enforced? is the CNI Calico?):\n%s",
		e.Table.Mismatches(), len(e.Table), e.Table)
}

// Compare parses each probe's raw output (observed, by probe name) and
// returns the table; the error, a *MismatchError carrying the table, is set
// when any probe's outcome differs from the expected one or could not be read.
//
// A blocked verdict counts only when a control proves the target answered in
// the same run: a probe to the same target from the same placement that is
// expected allowed, and was. Otherwise a slow or overloaded target would
// pass for a policy that drops packets.
func Compare(probes []Probe, observed map[string]string) (Table, error) {
	table := make(Table, 0, len(probes))
	outcomes := make(map[string]Outcome, len(probes))
	for _, p := range probes {
		row := Row{Probe: p.Name, From: describeSource(p.From), To: p.To.Address(), Placement: p.Placement.Describe(), Expected: p.Expect}
		out, ok := observed[p.Name]
		row.RanOn = ranOn(out)
		switch v, err := ParseResult(out); {
		case !ok:
			row.Observed = "no result"
		case err != nil:
			row.Observed = "unreadable: " + err.Error()
		case v.Probe != p.Name:
			row.Observed = fmt.Sprintf("output of probe %q", v.Probe)
		default:
			row.Observed = string(v.Outcome)
			if v.Detail != "" {
				row.Observed += ": " + v.Detail
			}
			row.Match = v.Outcome == p.Expect
			outcomes[p.Name] = v.Outcome
		}
		table = append(table, row)
	}
	for i, p := range probes {
		if p.Expect != Blocked || !table[i].Match {
			continue
		}
		control, ok := controlOf(p, probes)
		switch {
		case !ok:
			table[i].Match = false
			table[i].Observed += " (unproven: no probe to " + p.To.Address() + " from the same placement is expected allowed, so nothing shows the target answers)"
		case outcomes[control] != Allowed:
			table[i].Match = false
			table[i].Observed += fmt.Sprintf(" (unproven: its control %s was not allowed, so the target may just be slow)", control)
		default:
			table[i].Control = control
		}
	}
	if table.Mismatches() > 0 {
		return table, &MismatchError{Table: table}
	}
	return table, nil
}

// controlOf is the control of a probe expected blocked: the first probe to
// the same target, from the same placement, expected allowed.
func controlOf(p Probe, probes []Probe) (string, bool) {
	for _, q := range probes {
		if q.Expect == Allowed && q.To.Name == p.To.Name && q.To.Namespace == p.To.Namespace && q.Placement == p.Placement {
			return q.Name, true
		}
	}
	return "", false
}

// Planned is the table before any probe ran (preview): observed is blank.
func Planned(probes []Probe) Table {
	table := make(Table, 0, len(probes))
	for _, p := range probes {
		table = append(table, Row{Probe: p.Name, From: describeSource(p.From), To: p.To.Address(), Placement: p.Placement.Describe(), Expected: p.Expect, Observed: "(not run)", Match: true})
	}
	return table
}

func describeSource(s Source) string {
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+s.Labels[k])
	}
	return s.Namespace + " " + strings.Join(parts, ",")
}
