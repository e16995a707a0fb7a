package kops

import (
	"errors"
	"fmt"
	"time"

	"github.com/kopscalico/kopscalico/internal/config"
)

// Timeouts bound each kind of kops command; a zero field takes its default
// from config's table (DefaultKopsTimeout and the two after it).
type Timeouts struct {
	Command       time.Duration // every command but validate and rolling-update
	Validate      time.Duration // `kops validate cluster --wait`
	RollingUpdate time.Duration // `kops rolling-update cluster --yes`
}

// WithDefaults fills the zero fields from the table of defaults.
func (t Timeouts) WithDefaults() Timeouts {
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&t.Command, config.DefaultKopsTimeout}, {&t.Validate, config.DefaultValidateTimeout}, {&t.RollingUpdate, config.DefaultRollingUpdateTimeout}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	return t
}

// bound says which of the Timeouts bounds a step.
type bound int

const (
	boundCommand  bound = iota // Timeouts.Command
	boundValidate              // Timeouts.Validate (kops's --wait), plus Command for kops to say why it stopped
	boundRoll                  // Timeouts.RollingUpdate: a roll, or a delete of every cloud resource
)

// of is the time a step of this bound gets.
func (b bound) of(t Timeouts) time.Duration {
	t = t.WithDefaults()
	switch b {
	case boundValidate:
		return t.Validate + t.Command
	case boundRoll:
		return t.RollingUpdate
	}
	return t.Command
}

// Step names one kops command the Manager runs; logs and errors carry it.
type Step string

// The steps, in the order of the lifecycles that run them.
const (
	StepVersion              Step = "version"
	StepGetCluster           Step = "get-cluster"
	StepCreateCluster        Step = "create-cluster"
	StepReadSpec             Step = "read-spec"
	StepWriteSpec            Step = "write-spec"
	StepReadInstanceGroups   Step = "read-instance-groups"
	StepCreateInstanceGroups Step = "create-instance-groups"
	StepResizeInstanceGroups Step = "resize-instance-groups"
	StepPlanUpdate           Step = "plan-update"
	StepReconcile            Step = "reconcile"
	StepUpdateControlPlane   Step = "update-control-plane"
	StepRollControlPlane     Step = "roll-control-plane"
	StepUpdate               Step = "update"
	StepDeleteInstanceGroups Step = "delete-instance-groups"
	StepExportKubeconfig     Step = "export-kubeconfig"
	StepPlanRoll             Step = "plan-roll"
	StepRoll                 Step = "roll"
	StepValidate             Step = "validate"
	StepListClusters         Step = "list-clusters"
	StepDelete               Step = "delete"
)

// stdout says what a step's stdout is.
type stdout int

const (
	stdoutProgress stdout = iota // logged line by line
	stdoutData                   // a spec as YAML: kept out of the log (stderr is always logged)
)

// stepDef is a step's row of the table.
type stepDef struct {
	command []string // the kops command, before its flags
	bound   bound    // the timeout that bounds it
	stdout  stdout
	// doing words the step's failures: %[1]s is the cluster, %[2]s the store.
	doing string
}

// steps is the one table of what each step runs and the time it gets.
var steps = map[Step]stepDef{
	StepVersion:              {[]string{"version"}, boundCommand, stdoutProgress, "checking the kops version for cluster %[1]s"},
	StepGetCluster:           {[]string{"get", "cluster"}, boundCommand, stdoutData, "reading cluster %[1]s"},
	StepCreateCluster:        {[]string{"create", "cluster"}, boundCommand, stdoutProgress, "creating cluster %[1]s"},
	StepReadSpec:             {[]string{"get", "cluster"}, boundCommand, stdoutData, "reading the created cluster %[1]s"},
	StepWriteSpec:            {[]string{"replace"}, boundCommand, stdoutProgress, "writing the spec of cluster %[1]s"},
	StepReadInstanceGroups:   {[]string{"get", "instancegroups"}, boundCommand, stdoutData, "reading the instance groups of cluster %[1]s"},
	StepCreateInstanceGroups: {[]string{"replace", "--force"}, boundCommand, stdoutProgress, "creating instance groups of cluster %[1]s"},
	StepResizeInstanceGroups: {[]string{"replace"}, boundCommand, stdoutProgress, "writing the instance groups of cluster %[1]s"},
	StepPlanUpdate:           {[]string{"update", "cluster"}, boundCommand, stdoutProgress, "asking kops what cluster %[1]s has left to apply"},
	StepReconcile:            {[]string{"reconcile", "cluster"}, boundRoll, stdoutProgress, "upgrading cluster %[1]s (control plane, then nodes)"},
	StepUpdateControlPlane:   {[]string{"update", "cluster"}, boundCommand, stdoutProgress, "applying the control plane of cluster %[1]s"},
	StepRollControlPlane:     {[]string{"rolling-update", "cluster"}, boundRoll, stdoutProgress, "rolling the control plane of cluster %[1]s"},
	StepUpdate:               {[]string{"update", "cluster"}, boundCommand, stdoutProgress, "applying cluster %[1]s"},
	StepDeleteInstanceGroups: {[]string{"delete", "instancegroup"}, boundRoll, stdoutProgress, "deleting an instance group of cluster %[1]s"},
	StepExportKubeconfig:     {[]string{"export", "kubecfg"}, boundCommand, stdoutProgress, "exporting the kubeconfig of cluster %[1]s"},
	StepPlanRoll:             {[]string{"rolling-update", "cluster"}, boundCommand, stdoutProgress, "asking kops which instances of cluster %[1]s need a roll"},
	StepRoll:                 {[]string{"rolling-update", "cluster"}, boundRoll, stdoutProgress, "rolling cluster %[1]s"},
	StepValidate:             {[]string{"validate", "cluster"}, boundValidate, stdoutProgress, "validating cluster %[1]s"},
	StepListClusters:         {[]string{"get", "clusters"}, boundCommand, stdoutData, "listing the clusters in %[2]s"},
	StepDelete:               {[]string{"delete", "cluster"}, boundRoll, stdoutProgress, "deleting cluster %[1]s"},
}

// StepError is a failed step: what it was doing, its name, and why.
type StepError struct {
	Step  Step
	Doing string
	Err   error
}

func (e *StepError) Error() string { return fmt.Sprintf("%s: step %s: %v", e.Doing, e.Step, e.Err) }

func (e *StepError) Unwrap() error { return e.Err }

// stepError wraps err as a failure of step s on cluster d, unless it already
// is a step's failure.
func stepError(s Step, d Desired, err error) error {
	var se *StepError
	if err == nil || errors.As(err, &se) {
		return err
	}
	return &StepError{Step: s, Doing: fmt.Sprintf(steps[s].doing, d.Name, d.StateStore), Err: err}
}
