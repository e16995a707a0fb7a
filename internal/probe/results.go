// Package probe renders the probe Jobs that prove the network policies and
// compares what they observed with what the policies should allow.
package probe

import (
	"context"
	"errors"
)

// ResultReader reads the raw output (log or termination message) of each
// finished probe, keyed by probe name, and the cluster's nodes by zone. The
// real one (probelog.KubeReader) reads the probe pods and the nodes through
// the Kubernetes API; tests give recorded outputs. A probe it cannot read
// has no entry, and the error says why.
type ResultReader interface {
	ReadResults(ctx context.Context, kubeconfig string, namespace string, probeNames []string) (map[string]string, error)
	NodeZones(ctx context.Context, kubeconfig string) (Zones, error)
}

// ErrNoPod is wrapped in a ResultReader's error when a probe's Job has no pod
// left to read (deleted by hand, a node roll, pod garbage collection): only
// running the Job again gives a verdict.
var ErrNoPod = errors.New("no pod found: the probe's pod is gone")
