package kops

import (
	"fmt"
	"strconv"
	"strings"
)

// GroupStatus is one row of the table `kops rolling-update cluster` prints
// (cmd/kops/rolling-update_cluster.go): NAME STATUS NEEDUPDATE READY MIN
// TARGET MAX, and NODES unless --cloudonly.
type GroupStatus struct {
	Name       string
	Status     string // "Ready" or "NeedsUpdate"
	NeedUpdate int
	Ready      int
	Min        int
	Target     int
	Max        int
	Nodes      int // -1 when the column is absent (--cloudonly)
}

// RollingUpdatePlan is what a dry-run `kops rolling-update cluster` reports.
type RollingUpdatePlan struct {
	Groups []GroupStatus
}

// NeedsRoll reports whether some instance group has instances to replace.
func (p RollingUpdatePlan) NeedsRoll() bool {
	for _, g := range p.Groups {
		if g.NeedUpdate > 0 || g.Status == "NeedsUpdate" {
			return true
		}
	}
	return false
}

// Split divides the groups kops lists as needing a roll into those the
// plan rolls, in the plan's order, and the others, in kops's.
func (p RollingUpdatePlan) Split(plan RollPlan) (planned, beyond []string) {
	listed := map[string]bool{}
	for _, g := range p.Groups {
		if g.NeedUpdate > 0 || g.Status == "NeedsUpdate" {
			listed[g.Name] = true
			if !plan.Has(g.Name) {
				beyond = append(beyond, g.Name)
			}
		}
	}
	for _, g := range plan.Groups {
		if listed[g.Name] {
			planned = append(planned, g.Name)
		}
	}
	return planned, beyond
}

// Pending names the groups that need a roll, with their instance counts.
func (p RollingUpdatePlan) Pending() []string {
	var out []string
	for _, g := range p.Groups {
		if g.NeedUpdate > 0 || g.Status == "NeedsUpdate" {
			out = append(out, fmt.Sprintf("%s (%d of %d)", g.Name, g.NeedUpdate, g.NeedUpdate+g.Ready))
		}
	}
	return out
}

// ParseRollingUpdate parses the stdout of `kops rolling-update cluster`
// without --yes. Output without the table header is an error: the program
// never rolls (nor skips a roll) on output it does not understand.
func ParseRollingUpdate(out string) (RollingUpdatePlan, error) {
	lines := strings.Split(out, "\n")
	header := -1
	var cols []string
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) >= 7 && f[0] == "NAME" && f[1] == "STATUS" && f[2] == "NEEDUPDATE" {
			header, cols = i, f
			break
		}
	}
	if header < 0 {
		return RollingUpdatePlan{}, fmt.Errorf("no instance group table (NAME STATUS NEEDUPDATE ...) in `kops rolling-update cluster` output: %q", tail(out, 400))
	}
	idx := map[string]int{}
	for i, c := range cols {
		idx[c] = i
	}
	for _, c := range []string{"READY", "MIN", "TARGET", "MAX"} {
		if _, ok := idx[c]; !ok {
			return RollingUpdatePlan{}, fmt.Errorf("`kops rolling-update cluster` table has no %s column: %q", c, lines[header])
		}
	}
	var plan RollingUpdatePlan
	for _, l := range lines[header+1:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			break // the table ends at the first blank line
		}
		if len(f) != len(cols) {
			return RollingUpdatePlan{}, fmt.Errorf("`kops rolling-update cluster` row %q has %d columns, header has %d", l, len(f), len(cols))
		}
		num := func(col string) (int, error) {
			i, ok := idx[col]
			if !ok {
				return -1, nil
			}
			n, err := strconv.Atoi(f[i])
			if err != nil {
				return 0, fmt.Errorf("`kops rolling-update cluster` row %q: %s %q is not a number", l, col, f[i])
			}
			return n, nil
		}
		g := GroupStatus{Name: f[0], Status: f[1]}
		var err error
		for _, p := range []struct {
			col string
			dst *int
		}{{"NEEDUPDATE", &g.NeedUpdate}, {"READY", &g.Ready}, {"MIN", &g.Min}, {"TARGET", &g.Target}, {"MAX", &g.Max}, {"NODES", &g.Nodes}} {
			if *p.dst, err = num(p.col); err != nil {
				return RollingUpdatePlan{}, err
			}
		}
		plan.Groups = append(plan.Groups, g)
	}
	return plan, nil
}

// UpdatePending reports whether a dry-run `kops update cluster` found
// changes to apply ("Must specify --yes to apply changes") rather than
// "No changes need to be applied".
func UpdatePending(out string) (bool, error) {
	switch {
	case strings.Contains(out, "Must specify --yes to apply changes"):
		return true, nil
	case strings.Contains(out, "No changes need to be applied"):
		return false, nil
	}
	return false, fmt.Errorf("`kops update cluster` (dry run) said neither \"Must specify --yes to apply changes\" nor \"No changes need to be applied\": %q", tail(out, 400))
}

// tail is the end of s, at most n bytes, starting at a line boundary when
// one is near.
func tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if len(s) <= n {
		return s
	}
	t := s[len(s)-n:]
	if i := strings.IndexByte(t, '\n'); i >= 0 && i < len(t)-1 {
		t = t[i+1:]
	}
	return "…" + t
}
