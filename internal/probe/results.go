// Package probe renders the probe Jobs that prove the network policies and
// compares what they observed with what the policies should allow.
package probe

import "context"

// ResultReader reads the raw output (log or termination message) of each
// finished probe, keyed by probe name. The real one reads the probe pods
// through the Kubernetes API; tests give recorded outputs.
type ResultReader interface {
	ReadResults(ctx context.Context, kubeconfig string, namespace string, probeNames []string) (map[string]string, error)
}
