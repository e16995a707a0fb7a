package sgcheck

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/kopscalico/kopscalico/internal/config"
)

// Expectation is one thing Calico cross-subnet needs from the cluster's
// security groups or instances, and whether it holds.
type Expectation struct {
	ID      string // stable key, e.g. "bgp-nodes-to-control-plane"
	Name    string // what is expected, in words
	Group   string // the security group the rule must be in (name and id), or the instances checked
	OK      bool
	Missing string // when !OK: what is missing and how kops would provide it
	Skipped string // when the cluster's config makes the expectation moot: why
	// Blocked, when set, says why kops will never provide this: no rule can
	// be added (kops removes it), so it is reported, not counted as missing.
	Blocked string
	Source  string // where in kops the expectation comes from
}

// Report is the result of Check, one entry per expectation in a stable order.
type Report struct {
	Cluster       string
	Encapsulation config.Encapsulation
	Expectations  []Expectation
}

// Failed reports whether any expectation is missing.
func (r Report) Failed() bool { return len(r.Missing()) > 0 }

// Missing returns the expectations that do not hold and a rule could fix.
func (r Report) Missing() []Expectation {
	return r.filter(func(e Expectation) bool { return !e.OK && e.Blocked == "" })
}

// BlockedByKops returns the expectations kops will never provide.
func (r Report) BlockedByKops() []Expectation {
	return r.filter(func(e Expectation) bool { return e.Blocked != "" })
}

func (r Report) filter(keep func(Expectation) bool) []Expectation {
	var out []Expectation
	for _, e := range r.Expectations {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

func (e Expectation) status() string {
	switch {
	case e.Skipped != "":
		return "skipped"
	case e.Blocked != "":
		return "BLOCKED-BY-KOPS"
	case e.OK:
		return "ok"
	default:
		return "MISSING"
	}
}

// String renders the report as a table for the log.
func (r Report) String() string {
	var b strings.Builder
	missing := len(r.Missing())
	fmt.Fprintf(&b, "Calico security-group expectations for cluster %s (%s): %d checked, %d missing\n",
		r.Cluster, r.Encapsulation, len(r.Expectations), missing)
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "STATUS\tEXPECTATION\tGROUP\tDETAIL")
	for _, e := range r.Expectations {
		detail := e.Missing
		switch {
		case e.Skipped != "":
			detail = e.Skipped
		case e.Blocked != "":
			detail = e.Blocked
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.status(), e.Name, e.Group, detail)
	}
	w.Flush()
	return b.String()
}

// Summary is the compact form for a stack output: expectation id -> "ok",
// "skipped: <why>" or "missing in <group>: <what>", "blocked by kops: <why>".
func (r Report) Summary() map[string]string {
	out := make(map[string]string, len(r.Expectations))
	for _, e := range r.Expectations {
		switch {
		case e.Skipped != "":
			out[e.ID] = "skipped: " + e.Skipped
		case e.Blocked != "":
			out[e.ID] = "blocked by kops: " + e.Blocked
		case e.OK:
			out[e.ID] = "ok"
		default:
			out[e.ID] = "missing in " + e.Group + ": " + e.Missing
		}
	}
	return out
}
