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
	Probe    string
	From     string // namespace and labels of the impersonated pod
	To       string // host:port
	Expected Outcome
	Observed string // outcome, detail when any, or why nothing was read
	Match    bool
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
	fmt.Fprintln(w, "PROBE\tFROM\tTO\tEXPECTED\tOBSERVED\t")
	for _, r := range t {
		mark := ""
		if !r.Match {
			mark = "<- differs"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Probe, r.From, r.To, r.Expected, r.Observed, mark)
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
func Compare(probes []Probe, observed map[string]string) (Table, error) {
	table := make(Table, 0, len(probes))
	for _, p := range probes {
		row := Row{Probe: p.Name, From: describeSource(p.From), To: p.To.Address(), Expected: p.Expect}
		out, ok := observed[p.Name]
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
		}
		table = append(table, row)
	}
	if table.Mismatches() > 0 {
		return table, &MismatchError{Table: table}
	}
	return table, nil
}

// Planned is the table before any probe ran (preview): observed is blank.
func Planned(probes []Probe) Table {
	table := make(Table, 0, len(probes))
	for _, p := range probes {
		table = append(table, Row{Probe: p.Name, From: describeSource(p.From), To: p.To.Address(), Expected: p.Expect, Observed: "(not run)", Match: true})
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
