package config

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// CheckOwnedNamespaces holds kopscalico:namespaces to the namespaces the
// policies folder owns (folders holding their Namespace object): a namespace
// is created, or deleted with everything in it, only when both say so, so a
// renamed or removed folder alone never deletes one. folders are the
// namespace folders found, owned or not. Every mismatch is reported.
func (w Workloads) CheckOwnedNamespaces(owned, folders []string) error {
	listed := strings.Join(w.Namespaces, ",")
	var problems []error
	for _, ns := range w.Namespaces {
		if slices.Contains(owned, ns) {
			continue
		}
		where := fmt.Sprintf("%s has no %s/ folder holding its Namespace: restore the folder", w.PoliciesDir, ns)
		if slices.Contains(folders, ns) {
			where = fmt.Sprintf("%s holds no Namespace object named %s: restore it (namespace.yaml)", filepath.Join(w.PoliciesDir, ns), ns)
		}
		problems = append(problems, keyErr(KeyNamespaces, listed, "lists %s, but %s, or remove %s from %s to delete the namespace and everything in it",
			ns, where, ns, FullKey(KeyNamespaces)))
	}
	for _, ns := range owned {
		if !slices.Contains(w.Namespaces, ns) {
			problems = append(problems, keyErr(KeyNamespaces, listed, "does not list %s, but %s holds its Namespace object: add %s to %s to create (or keep) it, or remove the folder",
				ns, filepath.Join(w.PoliciesDir, ns), ns, FullKey(KeyNamespaces)))
		}
	}
	if len(problems) > 0 {
		return &Error{Problems: problems}
	}
	return nil
}
