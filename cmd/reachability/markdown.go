package main

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kopscalico/kopscalico/internal/reachability"
)

// commentMarker is the first line of the Markdown report: a workflow finds
// the pull request's one reachability comment by it and updates it.
const commentMarker = "<!-- kopscalico-reachability -->"

// maxCell bounds one table cell, so that no single row can outgrow a
// comment.
const maxCell = 400

// writeMarkdown writes the comparison as a pull-request comment: the
// marker, a summary line, the table of changes, and how the model is built
// in a collapsed <details> with the lists of classes. With limit > 0 every
// part is cut so that the whole stays within limit bytes: first the lists
// of classes, then the table, with a note naming full, the file that holds
// the uncut report.
func writeMarkdown(w io.Writer, cmp reachability.Comparison, limit int, full string) error {
	head := commentMarker + "\n### Reachability: " + summary(cmp) + "\n"
	groups := cmp.Grouped()
	rows := make([]string, len(groups))
	sizes := make([]int, len(groups)+1) // sizes[k]: bytes of the first k rows
	for i, g := range groups {
		rows[i] = fmt.Sprintf("| %s | %s | %s | %s → %s | %s |\n",
			cellList(g.From), cellList(g.To), cell(g.Ports), g.Before, bold(g.After), cell(g.DecidedBy))
		sizes[i+1] = sizes[i] + len(rows[i])
	}
	listBudget := -1 // the lists of classes in full
	keep := len(rows)
	note := ""
	total := func() int {
		n := len(head) + 1 + len(howComputed(cmp, listBudget)) + len(note) + 1 + sizes[keep]
		if keep > 0 {
			n += len(tableHeader) + 1
		}
		return n
	}
	// Cut the lists of classes first, then rows: at each budget keep as
	// many rows as fit with the note.
	if limit > 0 {
		for _, budget := range []int{-1, 300, 0} {
			listBudget, keep, note = budget, len(rows), ""
			if cmp.Unlisted > 0 || budget >= 0 {
				note = cutNote(keep, len(rows), cmp.Unlisted, full)
			}
			for keep > 0 && total() > limit {
				over := total() - limit
				k, _ := slices.BinarySearch(sizes, sizes[keep]-over)
				keep = min(keep-1, k)
				note = cutNote(keep, len(rows), cmp.Unlisted, full)
			}
			if keep == len(rows) && total() <= limit {
				break
			}
		}
	} else if cmp.Unlisted > 0 {
		note = cutNote(keep, len(rows), cmp.Unlisted, full)
	}
	sections := []string{head}
	if keep > 0 {
		sections = append(sections, tableHeader+strings.Join(rows[:keep], ""))
	}
	if note != "" {
		sections = append(sections, note)
	}
	sections = append(sections, howComputed(cmp, listBudget))
	_, err := io.WriteString(w, strings.Join(sections, "\n"))
	return err
}

const tableHeader = "| from | to | ports | before → after | decided by (head) |\n|---|---|---|---|---|\n"

func summary(cmp reachability.Comparison) string {
	if len(cmp.Changes) == 0 && cmp.Unlisted == 0 {
		return "no connection changes"
	}
	s := fmt.Sprintf("%d opened, %d closed", cmp.Opened(), cmp.Closed())
	var created, deleted int
	for _, c := range cmp.Changes {
		switch {
		case c.Before == reachability.Absent:
			created++
		case c.After == reachability.Absent:
			deleted++
		}
	}
	if created > 0 {
		s += fmt.Sprintf(", %d new with a namespace created", created)
	}
	if deleted > 0 {
		s += fmt.Sprintf(", %d gone with a namespace deleted", deleted)
	}
	if cmp.Unlisted > 0 {
		s += fmt.Sprintf(", %d more not listed", cmp.Unlisted)
	}
	return s
}

func bold(verdict string) string {
	if verdict == reachability.Absent {
		return verdict
	}
	return "**" + verdict + "**"
}

// cell keeps a table cell on its row and within maxCell bytes.
func cell(s string) string {
	s = strings.NewReplacer("|", `\|`, "\n", " ", "`", "'").Replace(s)
	if len(s) > maxCell {
		s = s[:maxCell] + "…"
	}
	return s
}

// cellList renders endpoints as code, within maxCell bytes with the count
// of the rest.
func cellList(items []string) string {
	var out []string
	n := 0
	for i, s := range items {
		q := "`" + cell(s) + "`"
		if n+len(q) > maxCell && i > 0 {
			out = append(out, fmt.Sprintf("(+%d more)", len(items)-i))
			break
		}
		n += len(q) + 2
		out = append(out, q)
	}
	return strings.Join(out, ", ")
}

// cutNote says what was left out: the rows past shown, or only the lists of
// classes, and where the whole report is.
func cutNote(shown, total, unlisted int, full string) string {
	where := "run `reachability diff --full FILE` for the whole report"
	if full != "" {
		where = fmt.Sprintf("the whole report is in `%s`, kept as the workflow run's artifact", filepath.Base(full))
	}
	past := ""
	if unlisted > 0 {
		past = fmt.Sprintf(" %d more changes are past the %d a report lists.", unlisted, reachability.MaxChanges)
	}
	if shown == total {
		return fmt.Sprintf(">%s The lists of classes may be cut to fit in a comment; %s.\n", past, where)
	}
	return fmt.Sprintf(">%s The table is cut after %d of its %d rows to fit in a comment; %s.\n", past, shown, total, where)
}

// howComputed explains the model in a collapsed block, with the lists of
// endpoint and port classes, each cut to budget bytes (-1: whole).
func howComputed(cmp reachability.Comparison, budget int) string {
	var b strings.Builder
	b.WriteString("<details><summary>How this is computed</summary>\n\n")
	fmt.Fprintf(&b, "Both trees are evaluated exactly over the same %d endpoint classes (%d of them outside addresses) and %d port classes: every pod, address and port of a class gets the same verdict from every policy, so no connection is left out. ",
		len(cmp.Endpoints), cmp.Addresses, len(cmp.Ports))
	b.WriteString("\"decided by\" names what decides the connection in the head, on each side: an admin or baseline policy's rule, the NetworkPolicies that allow it, or those whose default deny stops it.\n\n")
	b.WriteString("- `ns/[app=web]`: pods of ns with these labels; `k=*` any value no policy names, `k∉{a,b}` none of these or no such label, `!k` no such label, `…` more label sets alike\n")
	b.WriteString("- `[ns env=prod]`, `[other ns]`: namespaces the tree does not declare, by the labels the selectors tell apart; `[outside]/…`: addresses outside the pod CIDR, by the ranges the ipBlocks tell apart\n")
	b.WriteString("- `ns/busybox`, `kube-system/kube-dns`: known pods (the demo workloads, the cluster DNS), the only ones named ports resolve on\n")
	fmt.Fprintf(&b, "- endpoints: %s\n", list(cmp.Endpoints, budget))
	fmt.Fprintf(&b, "- port classes: %s\n\n</details>\n", list(cmp.Ports, budget))
	return b.String()
}

// list renders items as code, cut to about budget bytes (-1: whole) with
// the count of the rest.
func list(items []string, budget int) string {
	var out []string
	n := 0
	for i, s := range items {
		q := "`" + cell(s) + "`"
		if budget >= 0 && n+len(q) > budget {
			out = append(out, fmt.Sprintf("(+%d more)", len(items)-i))
			break
		}
		n += len(q) + 2
		out = append(out, q)
	}
	return strings.Join(out, ", ")
}
