package kops

import (
	"strings"
	"time"
)

// Unexported helpers the external tests use.
var (
	IsNotFound = isNotFound
	IntOf      = intOf
)

// StepRow is a step's row of the steps table: its command, the time it gets
// under t, and whether its stdout stays out of the log.
func StepRow(s Step, t Timeouts) (command string, timeout time.Duration, quiet bool, ok bool) {
	def, ok := steps[s]
	return strings.Join(def.command, " "), def.bound.of(t), def.stdout == stdoutData, ok
}

// StepErrorOf is a failure of step s on cluster d.
var StepErrorOf = stepError

// AllSteps are the rows of the steps table.
func AllSteps() (out []Step) {
	for s := range steps {
		out = append(out, s)
	}
	return out
}

// StepCount is the number of rows of the steps table.
var StepCount = len(steps)

// Lifecycles are the steps of the create and the reconcile lifecycles, in order.
func Lifecycles() (create, reconcile []Step) {
	names := func(l []stage) (out []Step) {
		for _, s := range l {
			out = append(out, s.step)
		}
		return out
	}
	return names(createLifecycle), names(reconcileLifecycle)
}

// ParseClusterEnvelope is the envelope section of ConvertClusterSpec.
var ParseClusterEnvelope = parseClusterEnvelope

// SpecSection is one section of ConvertClusterSpec, run alone.
type SpecSection func(*specRewrite, Desired) error

// The sections of ConvertClusterSpec.
var (
	NetworkingSection SpecSection = (*specRewrite).networking
	AccessSection     SpecSection = (*specRewrite).access
	VersionSection    SpecSection = (*specRewrite).kubernetesVersion
)

// Run rewrites spec in place and says what changed.
func (s SpecSection) Run(spec map[string]any, d Desired) (changes, warnings []string, from string, err error) {
	r := &specRewrite{spec: spec}
	err = s(r, d)
	return r.changes, r.warnings, r.from, err
}

// InheritedEnvNames are the names and prefixes of the inheritedEnv table.
func InheritedEnvNames() []string {
	var names []string
	for _, e := range inheritedEnv {
		names = append(names, e.name)
	}
	return names
}

// MarkOnCreate is the flag of `kops create cluster` that writes the owner mark.
var MarkOnCreate = markOnCreate

// SetHarnessEnv sets what a test build's -ldflags -X sets, until restore.
func SetHarnessEnv(name string) (restore func()) {
	old := harnessEnv
	harnessEnv = name
	return func() { harnessEnv = old }
}
