// Package kopsplan reads the plan `kops update cluster` prints without
// --yes: the cloud tasks it will create, as kops's dry-run target writes
// them (upup/pkg/fi/dryrun_target.go PrintReport), and, typed, the security
// groups, their rules and the instance groups among them.
package kopsplan

import (
	"fmt"
	"regexp"
	"strings"
)

// Plan is what a dry run will create that decides who may talk to whom:
// the security groups, their rules, and the instance groups that run in
// them.
type Plan struct {
	SecurityGroups     []SecurityGroup
	SecurityGroupRules []SecurityGroupRule
	InstanceGroups     []InstanceGroup
}

// Parse reads the security groups, rules and instance groups of a dry-run
// plan (see ParseTasks for what a plan holds).
func Parse(out string) (Plan, error) {
	tasks, err := ParseTasks(out)
	if err != nil {
		return Plan{}, err
	}
	byKey := make(map[string]Task, len(tasks))
	for _, t := range tasks {
		byKey[t.Kind+"/"+t.ID] = t
	}
	var p Plan
	for _, t := range tasks {
		switch t.Kind {
		case "SecurityGroup":
			var g SecurityGroup
			g, err = securityGroup(t)
			p.SecurityGroups = append(p.SecurityGroups, g)
		case "SecurityGroupRule":
			var r SecurityGroupRule
			r, err = securityGroupRule(t)
			p.SecurityGroupRules = append(p.SecurityGroupRules, r)
		case "AutoscalingGroup":
			var g InstanceGroup
			g, err = instanceGroup(t, byKey)
			p.InstanceGroups = append(p.InstanceGroups, g)
		}
		if err != nil {
			return Plan{}, fmt.Errorf("kops plan %s/%s: %w", t.Kind, t.ID, err)
		}
	}
	return p, nil
}

// Task is one task of the plan's "Will create resources:" section: its kind
// ("SecurityGroupRule"), its id (after the slash) and the fields kops prints
// (every field but Name and Lifecycle that is set).
type Task struct {
	Kind   string
	ID     string
	Fields map[string]string
}

// createSection opens the tasks a dry run will create; a line at the left
// margin after a blank one ("Will modify resources:", "Must specify --yes
// …") ends it. A value with newlines continues on the lines below its field.
const createSection = "Will create resources:"

var (
	taskLine  = regexp.MustCompile(`^  ([A-Za-z0-9]+)/(\S.*)$`)
	fieldLine = regexp.MustCompile(`^  \t([A-Za-z0-9]+) *\t(.*)$`)
)

// ParseTasks returns the tasks the plan will create, in the order printed.
// Tasks kops would modify or delete are not read: on a cluster whose cloud
// resources exist the plan lists only what differs, so the created tasks
// are the whole cluster only when nothing of it exists yet. A plan with no
// create section ("No changes need to be applied") has no tasks.
func ParseTasks(out string) ([]Task, error) {
	var tasks []Task
	var field string // the field last read, which a value with newlines continues
	inCreates := false
	for i, line := range strings.Split(out, "\n") {
		switch {
		case line == createSection:
			inCreates = true
			continue
		case !inCreates:
			continue
		case line == "":
			field = ""
			continue
		}
		if m := taskLine.FindStringSubmatch(line); m != nil {
			tasks = append(tasks, Task{Kind: m[1], ID: m[2], Fields: map[string]string{}})
			field = ""
			continue
		}
		if m := fieldLine.FindStringSubmatch(line); m != nil {
			if len(tasks) == 0 {
				return nil, fmt.Errorf("kops plan line %d: %q comes before any task", i+1, line)
			}
			field = m[1]
			tasks[len(tasks)-1].Fields[field] = m[2]
			continue
		}
		switch {
		case field != "":
			tasks[len(tasks)-1].Fields[field] += "\n" + line
		case !strings.HasPrefix(line, "  "):
			// A heading after a task's closing blank line ends the section.
			inCreates = false
		case len(tasks) == 0:
			return nil, fmt.Errorf("kops plan line %d: %q comes before any task", i+1, line)
		default:
			cur := tasks[len(tasks)-1]
			return nil, fmt.Errorf("kops plan line %d: %q is neither a task, a field of %s/%s, nor the rest of a value", i+1, line, cur.Kind, cur.ID)
		}
	}
	return tasks, nil
}

// Ref is a reference to another task as kops prints it: "name:N",
// "name:N id:I" or "id:I" (upup/pkg/fi/printers.go PrintCompareWithID).
type Ref struct {
	Name string `json:",omitempty"`
	ID   string `json:",omitempty"`
}

func parseRef(s string) (Ref, error) {
	var r Ref
	for _, part := range strings.Fields(s) {
		switch k, v, _ := strings.Cut(part, ":"); k {
		case "name":
			r.Name = v
		case "id":
			r.ID = v
		default:
			return Ref{}, fmt.Errorf("reference %q: want name:<name> and/or id:<id>", s)
		}
	}
	if r == (Ref{}) {
		return Ref{}, fmt.Errorf("reference %q names nothing", s)
	}
	return r, nil
}

// parseList reads a printed slice, "[a, b]".
func parseList(s string) ([]string, error) {
	inner, ok := strings.CutPrefix(s, "[")
	if inner, ok = strings.CutSuffix(inner, "]"); !ok {
		return nil, fmt.Errorf("list %q: want [a, b, …]", s)
	}
	if inner == "" {
		return nil, nil
	}
	return strings.Split(inner, ", "), nil
}

// parseTags reads a printed map of tags, "{k: v, k2: }" (in Go's random map
// order; values may be empty).
func parseTags(s string) (map[string]string, error) {
	inner, ok := strings.CutPrefix(s, "{")
	if inner, ok = strings.CutSuffix(inner, "}"); !ok {
		return nil, fmt.Errorf("tags %q: want {key: value, …}", s)
	}
	tags := map[string]string{}
	if inner == "" {
		return tags, nil
	}
	for _, kv := range strings.Split(inner, ", ") {
		k, v, ok := strings.Cut(kv, ": ")
		if !ok {
			k, ok = strings.CutSuffix(kv, ":")
		}
		if !ok || k == "" {
			return nil, fmt.Errorf("tags %q: %q is not key: value", s, kv)
		}
		tags[k] = v
	}
	return tags, nil
}
