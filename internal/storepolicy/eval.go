package storepolicy

import (
	"fmt"
	"strings"
)

// Request is what a policy is evaluated against: the action, the resource
// ARN and the request context's keys (aws:PrincipalArn, aws:SecureTransport).
type Request struct {
	Action   string
	Resource string
	Context  map[string]string
}

// Decision is the outcome of evaluating a request.
type Decision int

const (
	// ImplicitDeny: no statement allows the request.
	ImplicitDeny Decision = iota
	// Allowed: a statement allows it and none denies it.
	Allowed
	// ExplicitDeny: a statement denies it, whatever else allows it.
	ExplicitDeny
)

func (d Decision) String() string {
	return [...]string{"implicit deny", "allow", "explicit deny"}[d]
}

// Evaluate decides a request within one account, as AWS's policy evaluation
// logic does for identity-based and resource-based policies together: an
// explicit deny in any document wins, else an allow in any document allows,
// else the request is implicitly denied. Only the statement forms
// storepolicy emits are understood; any other form is an error, never a guess.
func Evaluate(req Request, docs ...Document) (Decision, error) {
	allowed := false
	for _, d := range docs {
		for i, s := range d.Statement {
			applies, err := s.applies(req)
			if err != nil {
				return ImplicitDeny, fmt.Errorf("statement %d (%s): %w", i, s.Sid, err)
			}
			if !applies {
				continue
			}
			switch s.Effect {
			case effectDeny:
				return ExplicitDeny, nil
			case effectAllow:
				allowed = true
			default:
				return ImplicitDeny, fmt.Errorf("statement %d (%s): Effect %q", i, s.Sid, s.Effect)
			}
		}
	}
	if allowed {
		return Allowed, nil
	}
	return ImplicitDeny, nil
}

func (s Statement) applies(req Request) (bool, error) {
	if s.Principal != "" && s.Principal != "*" {
		return false, fmt.Errorf("Principal %q: only \"*\" (or none, in an identity policy) is understood", s.Principal)
	}
	if (len(s.Action) == 0) == (len(s.NotAction) == 0) {
		return false, fmt.Errorf("want exactly one of Action and NotAction")
	}
	if (len(s.Resource) == 0) == (len(s.NotResource) == 0) {
		return false, fmt.Errorf("want exactly one of Resource and NotResource")
	}
	// Action names are case-insensitive; resource ARNs are not.
	action := strings.ToLower(req.Action)
	if len(s.Action) > 0 && !anyGlob(lower(s.Action), action) ||
		len(s.NotAction) > 0 && anyGlob(lower(s.NotAction), action) {
		return false, nil
	}
	if len(s.Resource) > 0 && !anyGlob(s.Resource, req.Resource) ||
		len(s.NotResource) > 0 && anyGlob(s.NotResource, req.Resource) {
		return false, nil
	}
	// Operators, and keys within an operator, are ANDed. Every one is
	// read, so an operator not understood is an error whatever the others say.
	holds := true
	for op, keys := range s.Condition {
		for key, values := range keys {
			ok, err := condition(op, values, req.Context, key)
			if err != nil {
				return false, err
			}
			holds = holds && ok
		}
	}
	return holds, nil
}

// condition applies one operator to one key. The values of a key are ORed,
// and NORed for a negated operator. A key missing from the request context
// matches nothing, so a negated operator holds: AWS's rule for every operator
// but ...IfExists and Null, which are not emitted.
func condition(op string, values []string, ctx map[string]string, key string) (bool, error) {
	var match func(pattern, value string) bool
	negated := false
	switch op {
	case "Bool", "StringEquals":
		match = func(p, v string) bool { return p == v }
	case "StringNotEquals":
		match, negated = func(p, v string) bool { return p == v }, true
	case "StringLike":
		match = glob
	case "StringNotLike":
		match, negated = glob, true
	case "ArnEquals", "ArnLike":
		match = arnMatch
	case "ArnNotEquals", "ArnNotLike":
		match, negated = arnMatch, true
	default:
		return false, fmt.Errorf("condition operator %q is not understood", op)
	}
	v, present := ctx[key]
	matched := false
	for _, p := range values {
		matched = matched || present && match(p, v)
	}
	return matched != negated, nil
}

// arnMatch compares an ARN with a pattern component by component: each of
// the six colon-separated parts may hold * and ?, which never cross a colon.
func arnMatch(pattern, arn string) bool {
	p := strings.SplitN(pattern, ":", 6)
	a := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || len(a) != 6 {
		return false
	}
	for i := range p {
		if !glob(p[i], a[i]) {
			return false
		}
	}
	return true
}

func anyGlob(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches s against a pattern where * is any run of characters
// (slashes included) and ? is exactly one character.
func glob(pattern, s string) bool {
	// Iterative wildcard match with one backtrack point: linear in practice.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(pattern) && (pattern[pi] == '?' || pattern[pi] == s[si]):
			pi++
			si++
		case pi < len(pattern) && pattern[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi, mark = star+1, mark+1
			si = mark
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}

func lower(l []string) []string {
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = strings.ToLower(s)
	}
	return out
}
