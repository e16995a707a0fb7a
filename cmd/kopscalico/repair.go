package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// repair lists the operations a killed run left pending in the stack's
// state; with yes it refreshes the stack, dropping the pending creates (the
// CLI refuses to drop them non-interactively otherwise), and checks that
// nothing is left pending. It refreshes with nothing pending too: a run whose
// plugin was killed leaves no pending operation, yet the plugin's kops
// commands may have changed (or deleted) the cluster the state records.
func repair(ctx context.Context, stack auto.Stack, yes bool, stdout, stderr io.Writer) error {
	pending, err := stackPending(ctx, stack)
	if err != nil {
		return err
	}
	switch {
	case len(pending) == 0 && !yes:
		fmt.Fprintf(stdout, "kopscalico: stack %s has no pending operations: nothing to repair; "+
			"if a run's plugin was killed, what its kops commands did is recorded by a refresh: kopscalico --stack %s repair --yes\n", stack.Name(), stack.Name())
		return nil
	case len(pending) == 0:
		fmt.Fprintf(stdout, "kopscalico: stack %s has no pending operations; refreshing it, so the state records what a killed run's kops commands did\n", stack.Name())
	default:
		fmt.Fprint(stdout, describePending(stack.Name(), pending))
		if !yes {
			fmt.Fprintf(stdout, "kopscalico: to refresh the stack and drop the pending creates: kopscalico --stack %s repair --yes\n", stack.Name())
			return nil
		}
	}
	refresh := func() error {
		_, err := stack.Refresh(ctx, optrefresh.ClearPendingCreates(),
			optrefresh.ProgressStreams(stdout), optrefresh.ErrorProgressStreams(stderr))
		return err
	}
	err = refresh()
	if host, _ := os.Hostname(); err != nil && host != "" {
		if pids, ok := killedRunLocks(err.Error(), host, running); ok {
			fmt.Fprintf(stdout, "kopscalico: the stack's lock is a killed run's (pid %v on this host, %s, no longer runs): cancelling it\n", pids, host)
			if err := stack.Cancel(ctx); err != nil {
				return fmt.Errorf("cancel the killed run's lock: %w", err)
			}
			err = refresh()
		}
	}
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	left, err := stackPending(ctx, stack)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("still pending after the refresh:\n%s", describePending(stack.Name(), left))
	}
	fmt.Fprintf(stdout, "kopscalico: stack %s is refreshed and has no pending operations left\n", stack.Name())
	return nil
}

func stackPending(ctx context.Context, stack auto.Stack) ([]apitype.OperationV2, error) {
	dep, err := stackDeployment(ctx, stack)
	if err != nil {
		return nil, err
	}
	return dep.PendingOperations, nil
}

// stackDeployment is the stack's state.
func stackDeployment(ctx context.Context, stack auto.Stack) (apitype.DeploymentV3, error) {
	state, err := stack.Export(ctx)
	if err != nil {
		return apitype.DeploymentV3{}, fmt.Errorf("export the state: %w", err)
	}
	return decodeDeployment(state)
}

// pendingOperations are the operations a deployment records as running
// when its run ended.
func pendingOperations(d apitype.UntypedDeployment) ([]apitype.OperationV2, error) {
	dep, err := decodeDeployment(d)
	return dep.PendingOperations, err
}

// decodeDeployment reads a deployment of the schema versions this SDK knows.
func decodeDeployment(d apitype.UntypedDeployment) (apitype.DeploymentV3, error) {
	var dep apitype.DeploymentV3
	if d.Version < apitype.DeploymentSchemaVersionCurrent || d.Version > apitype.DeploymentSchemaVersionLatest {
		return dep, fmt.Errorf("the stack's state is deployment schema version %d; this reads versions %d to %d: use a pulumi CLI of the SDK's release",
			d.Version, apitype.DeploymentSchemaVersionCurrent, apitype.DeploymentSchemaVersionLatest)
	}
	if err := json.Unmarshal(d.Deployment, &dep); err != nil {
		return dep, fmt.Errorf("read the stack's state: %w", err)
	}
	return dep, nil
}

// describePending lists pending operations with what to check before they
// are dropped.
func describePending(stack string, ops []apitype.OperationV2) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kopscalico: stack %s has %d operation(s) left pending by a run that was stopped:\n", stack, len(ops))
	creates, clusters := false, false
	for _, op := range ops {
		fmt.Fprintf(&b, "  %s %s\n", op.Type, op.Resource.URN)
		if op.Type == apitype.OperationTypeCreating {
			isCluster := string(op.Resource.Type) == pluginapi.ClusterType
			clusters = clusters || isCluster
			creates = creates || !isCluster
		}
	}
	if clusters {
		b.WriteString("A pending create of a kops cluster is taken back by the next up: `kops create cluster` wrote this stack's owner mark with the spec. " +
			"If that up says a stale lease of the cluster is left, the killed run held it: break it with the command it prints.\n")
	}
	if creates {
		b.WriteString("A pending create may have made its resource anyway (an S3 bucket): check first; " +
			"if it exists, bring it back after the repair with `pulumi import` instead of letting the next up create another.\n")
	}
	return b.String()
}

// lockLine is how the CLI names each lock of a locked file backend
// (pkg/backend/diy/lock.go checkForLock).
var lockLine = regexp.MustCompile(`created by \S*@(\S+) \(pid (\d+)\) at `)

// killedRunLocks reads the locks a locked stack's error names and reports
// whether every one is a run's that was killed: taken on this host by a
// process that no longer runs. Anything else (another host, a live process,
// no lock named) is left to the user.
func killedRunLocks(msg, host string, running func(pid int) bool) (pids []int, ok bool) {
	if !strings.Contains(msg, "the stack is currently locked") {
		return nil, false
	}
	for _, m := range lockLine.FindAllStringSubmatch(msg, -1) {
		pid, err := strconv.Atoi(m[2])
		if err != nil || m[1] != host || running(pid) {
			return nil, false
		}
		if !slices.Contains(pids, pid) {
			pids = append(pids, pid)
		}
	}
	return pids, len(pids) > 0
}

// running reports whether a process with this pid exists on this host.
func running(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
