package kops

import "context"

// Command is one kops invocation.
type Command struct {
	Args  []string          // without the binary name
	Env   map[string]string // on top of the runner's base environment
	Stdin []byte            // nil: none
	// QuietStdout keeps stdout out of the log: for commands whose stdout is
	// data (a spec as YAML), not progress. stderr is always logged.
	QuietStdout bool
}

// Runner runs one kops command and returns its stdout. Implementations
// stream stdout and stderr line by line to a log, stop the command when ctx
// ends, and on failure return a *CommandError naming the command, its exit
// code and the end of stderr.
type Runner interface {
	Run(ctx context.Context, c Command) ([]byte, error)
}
