package infra

import (
	"os"
	"strconv"
)

// EnvTeardown marks a run of the program that serves `pulumi destroy
// --run-program`. The engine runs the program during such a destroy (so the
// kops cluster's delete hook exists) but does not tell the program why: it
// is not a dry run, and every resource reports its old outputs. Without this
// mark, the checks that run after `up` (the security-group check, the probe
// read-back) would run against a cluster that is being deleted, and could
// fail the destroy. (The kubeconfig is still exported when no cached one is
// at hand: deleting what runs on the cluster needs it, and the cluster goes
// last.) `make destroy` and
// `go run ./cmd/kopscalico destroy` set it; with the plain CLI run
// `KOPSCALICO_TEARDOWN=true pulumi destroy --run-program`.
const EnvTeardown = "KOPSCALICO_TEARDOWN"

// tearingDown reports whether this run serves a destroy.
func tearingDown() bool {
	v, _ := strconv.ParseBool(os.Getenv(EnvTeardown))
	return v
}
