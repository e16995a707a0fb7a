package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/kopscalico/kopscalico/internal/netpol"
	"github.com/kopscalico/kopscalico/internal/reachability"
)

// commentMarker is the first line of the Markdown report: a workflow finds
// the pull request's one reachability comment by it and updates it.
const commentMarker = "<!-- kopscalico-reachability -->"

// writeMarkdown writes the comparison as a pull-request comment: the
// marker, a summary line, the table of changed connections, and how the
// model is built in a collapsed <details>. With limit > 0 the table is cut
// so that the whole stays within limit bytes, with a note naming full, the
// file that holds the uncut report.
func writeMarkdown(w io.Writer, cmp reachability.Comparison, limit int, full string) error {
	head := commentMarker + "\n### Reachability: " + summary(cmp) + "\n"
	details := howComputed(cmp, true)
	var rows []string
	for _, r := range groupByPorts(cmp.Changes) {
		rows = append(rows, fmt.Sprintf("| `%s` | `%s` | %s | %s → %s | %s |\n",
			r.From, r.To, strings.Join(r.ports, ", "), r.Before, bold(r.After), cell(r.DecidedBy)))
	}
	keep, note := len(rows), ""
	// Sections are separated by a blank line: one byte each.
	if fixed := len(head) + 1 + len(tableHeader) + 1 + len(details); limit > 0 && fixed+len(strings.Join(rows, "")) > limit {
		// The note for the whole count is at least as long as any shorter
		// one, so what fits with it fits with the real note.
		note = cutNote(len(rows), len(rows), full)
		room := limit - fixed - len(note) - 1
		if room < 0 {
			details = howComputed(cmp, false)
			room = limit - len(head) - 1 - len(tableHeader) - 1 - len(note) - 1 - len(details)
		}
		keep = 0
		for keep < len(rows) && room >= len(rows[keep]) {
			room -= len(rows[keep])
			keep++
		}
		note = cutNote(keep, len(rows), full)
	}
	sections := []string{head}
	if keep > 0 {
		sections = append(sections, tableHeader+strings.Join(rows[:keep], ""))
	}
	if note != "" {
		sections = append(sections, note)
	}
	sections = append(sections, details)
	_, err := io.WriteString(w, strings.Join(sections, "\n"))
	return err
}

const tableHeader = "| from | to | ports | before → after | decided by (head) |\n|---|---|---|---|---|\n"

// row is the changes of one pair of endpoints that differ only by port.
type row struct {
	reachability.Change
	ports []string
}

// groupByPorts merges the changes with the same endpoints, verdicts and
// deciding policies into one row listing their ports, in order of first
// appearance: a policy that opens every port shows as one row, not one per
// probed port.
func groupByPorts(changes []reachability.Change) []row {
	var rows []row
	index := map[reachability.Change]int{}
	for _, c := range changes {
		key := c
		key.Port, key.Protocol = 0, ""
		i, ok := index[key]
		if !ok {
			i = len(rows)
			index[key] = i
			rows = append(rows, row{Change: c})
		}
		rows[i].ports = append(rows[i].ports, fmt.Sprintf("%d/%s", c.Port, c.Protocol))
	}
	return rows
}

func summary(cmp reachability.Comparison) string {
	if len(cmp.Changes) == 0 {
		return "no connection changes"
	}
	s := fmt.Sprintf("%s opened, %d closed", plural(cmp.Opened(), "connection"), cmp.Closed())
	var created, deleted int
	for _, c := range cmp.Changes {
		switch {
		case c.Before == netpol.Absent:
			created++
		case c.After == netpol.Absent:
			deleted++
		}
	}
	if created > 0 {
		s += fmt.Sprintf(", %d new with a namespace created", created)
	}
	if deleted > 0 {
		s += fmt.Sprintf(", %d gone with a namespace deleted", deleted)
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func bold(verdict string) string {
	if verdict == netpol.Absent {
		return verdict
	}
	return "**" + verdict + "**"
}

// cell keeps a table cell on its row.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// cutNote says what was left out: the rows past shown, or, when every row
// is shown, only the list of endpoints.
func cutNote(shown, total int, full string) string {
	where := "run `reachability diff --full FILE` for the whole report"
	if full != "" {
		where = fmt.Sprintf("the whole report is in `%s`, kept as the workflow run's artifact", filepath.Base(full))
	}
	if shown == total {
		return fmt.Sprintf("> The list of endpoints is left out to fit in a comment; %s.\n", where)
	}
	return fmt.Sprintf("> The table is cut after %d of its %d rows to fit in a comment; %s.\n", shown, total, where)
}

// howComputed explains the model in a collapsed block, with the list of
// endpoints when listEndpoints is set.
func howComputed(cmp reachability.Comparison, listEndpoints bool) string {
	var b strings.Builder
	b.WriteString("<details><summary>How this is computed</summary>\n\n")
	fmt.Fprintf(&b, "Both trees are evaluated over the same %d endpoints on %d ports (%d connections), so a removed policy shows the connections it allowed as closed. ", len(cmp.Pods), len(cmp.Ports), cmp.Cases)
	b.WriteString("\"decided by\" names the policies of the head that allow the connection on each isolated side, or whose default deny stops it.\n\n")
	b.WriteString("- `ns/[key=value]`: a synthetic pod with exactly these labels, one per label set the policies select; `ns/[no labels]`: any pod the policies do not name\n")
	fmt.Fprintf(&b, "- `%s/%s`: the cluster DNS; `%s/%s`: any address outside the cluster\n",
		reachability.DNSNamespace, reachability.SyntheticName(reachability.DNSLabels), netpol.OutsideNamespace, reachability.OutsideAddress)
	if listEndpoints {
		fmt.Fprintf(&b, "- endpoints: %s\n", codeList(cmp.Pods))
	}
	ports := make([]string, len(cmp.Ports))
	for i, p := range cmp.Ports {
		ports[i] = p.String()
	}
	fmt.Fprintf(&b, "- ports: %s\n\n</details>\n", strings.Join(ports, ", "))
	return b.String()
}

func codeList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = "`" + s + "`"
	}
	return strings.Join(quoted, ", ")
}
