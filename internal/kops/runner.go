package kops

import "context"

// Runner runs one kops command: args without the binary name, stdin optional
// (nil for none). It returns the command's stdout. Implementations stream
// stdout and stderr line by line to a log, enforce a timeout, and on failure
// return an error naming the command, its exit code and the end of stderr.
type Runner interface {
	Run(ctx context.Context, stdin []byte, args ...string) ([]byte, error)
}
