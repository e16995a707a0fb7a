// Package kopsdouble is a test double of the kops CLI: a Go program
// (./cmd/kops) that keeps its state in a file:// kops state store and
// honours the real CLI's commands, flags per version, exit codes and output
// shapes, plus this package's helpers to build it and to read or prepare its
// state from tests.
//
// Where the state lives: everything is under the state store directory
// (KOPS_STATE_STORE=file:///<dir> or --state):
//
//	<dir>/<cluster>/config                   the Cluster spec, as kops stores it (v1alpha2 YAML)
//	<dir>/<cluster>/instancegroup/<name>     each InstanceGroup
//	<dir>/<cluster>/cloud.json               the double's "cloud": applied launch templates and running instances
//	<dir>/.kopsdouble/version                the kops version to emulate (default DefaultVersion)
//	<dir>/.kopsdouble/kubeconfig             the kubeconfig `export kubecfg` / `update --admin` hand out
//	<dir>/.kopsdouble/failures.json          injected failures ([]Failure)
//	<dir>/.kopsdouble/calls.jsonl            every call: args, exit code (one JSON object a line)
//	<dir>/.kopsdouble/rolling-update-delay   how long a --yes roll takes per instance (a test knob)
//	<dir>/.kopsdouble/pause.json             stop after the Nth call of a parent (Pause; a test knob)
//	<dir>/.kopsdouble/paused.json            the call stopped there, until a test removes the file
//
// Real kops ignores the .kopsdouble directory (it is no cluster), so the same
// store could be pointed at by real kops.
package kopsdouble

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
)

// DefaultVersion is the kops version emulated when none is set.
const DefaultVersion = "1.34.1"

// ControlDir is the double's own directory inside the state store.
const ControlDir = ".kopsdouble"

// RollingUpdateDelayFile, in ControlDir, holds the time each instance a
// `rolling-update cluster --yes` replaces takes (a Go duration).
const RollingUpdateDelayFile = "rolling-update-delay"

// NodeRegistrationFile, in ControlDir, turns on Store.SetNodeRegistration.
const NodeRegistrationFile = "register-nodes"

// PauseFile and PausedFile, in ControlDir: a call that completes as the
// Pause's After-th call of its Parent writes Paused to PausedFile (and
// removes PauseFile) and waits, its work done, until PausedFile is removed,
// so a test can kill a process at that exact point.
const (
	PauseFile  = "pause.json"
	PausedFile = "paused.json"
)

// Pause arms the stop after a numbered call.
type Pause struct {
	// Parent is the base name of the calling program (argv[0] of the
	// double's parent process, e.g. "pulumi-resource-kopscalico").
	Parent string `json:"parent"`
	// After counts that parent's calls in the call log, from 1.
	After int `json:"after"`
}

// Paused is the call that stopped.
type Paused struct {
	Call
	N    int `json:"n"`    // its number among Parent's calls
	PID  int `json:"pid"`  // the double's process
	PPID int `json:"ppid"` // its parent, the caller
}

// Failure makes matching calls fail before they change anything.
type Failure struct {
	// Command is the command path, as in "update cluster", "rolling-update
	// cluster", "create cluster", "replace", "validate cluster",
	// "export kubecfg", "delete cluster", "get cluster", "version".
	Command string `json:"command"`
	// ArgsContain, when set, must be one of the arguments, or a flag's
	// "--flag=" prefix (e.g. "--yes" fails the applying call, not the dry run).
	ArgsContain string `json:"argsContain,omitempty"`
	Exit        int    `json:"exit"`
	Stderr      string `json:"stderr"`
	// Times is how many calls fail; 0 means every call.
	Times int `json:"times,omitempty"`
}

// Call is one recorded invocation.
type Call struct {
	Args []string `json:"args"`
	Exit int      `json:"exit"`
	// Env is the environment the double was started with ("KEY=value"), so
	// a test can assert what kops sees.
	Env []string `json:"env,omitempty"`
	// Parent is the base name of the caller's argv[0].
	Parent string `json:"parent,omitempty"`
}

// Command is the call's command path ("update cluster") and the rest.
func (c Call) String() string { return strings.Join(c.Args, " ") }

// Mutating reports whether the call changes the state store or the cloud.
func (c Call) Mutating() bool {
	s := " " + c.String() + " "
	switch {
	case strings.HasPrefix(s, " create "), strings.HasPrefix(s, " replace "), strings.HasPrefix(s, " delete "),
		strings.HasPrefix(s, " edit "), strings.HasPrefix(s, " set "):
		return true
	case strings.HasPrefix(s, " update ") || strings.HasPrefix(s, " rolling-update ") || strings.HasPrefix(s, " reconcile "):
		return strings.Contains(s, " --yes ") || strings.Contains(s, " -y ") || strings.Contains(s, " --yes=true ")
	}
	return false
}

// Cloud is the double's model of what runs: per instance group, the launch
// template applied by the last `update cluster --yes` and the template each
// running instance was started from.
type Cloud struct {
	Applied   bool                `json:"applied"`
	Templates map[string]string   `json:"templates"`
	Sizes     map[string]int      `json:"sizes"`
	Instances map[string][]string `json:"instances"`
	Access    string              `json:"access"` // hash of ssh/api access applied to security groups
	// Versions is the Kubernetes version each applied template runs.
	Versions map[string]string `json:"versions,omitempty"`
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
