package controlplane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kopscalico/kopscalico/internal/childproc"
)

// EnvMarker is set in the environment of every process the harness starts;
// children inherit it, so MarkedProcesses finds grandchildren too (such as
// the pulumi-resource-kubernetes plugin the pulumi CLI starts in its own
// process group).
const EnvMarker = "KOPSCALICO_E2E_MARKER"

// Process is a running process found under /proc.
type Process struct {
	PID     int
	Cmdline string
}

func (p Process) String() string { return fmt.Sprintf("pid %d: %s", p.PID, p.Cmdline) }

// MarkedProcesses lists live processes (zombies excluded) whose environment
// holds EnvMarker=marker. Linux only.
func MarkedProcesses(marker string) ([]Process, error) {
	return ProcessesWithEnv(EnvMarker + "=" + marker)
}

// ProcessesWithEnv lists live processes (zombies excluded) whose environment
// holds entry ("KEY=value"). Linux only.
func ProcessesWithEnv(entry string) ([]Process, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list /proc: %w", err)
	}
	want := []byte(entry)
	self := os.Getpid()
	var found []Process
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue // gone, or not ours to read
		}
		if !hasEnvEntry(env, want) || isZombie(pid) {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		found = append(found, Process{PID: pid, Cmdline: strings.TrimSpace(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))})
	}
	return found, nil
}

func hasEnvEntry(environ, entry []byte) bool {
	for _, kv := range bytes.Split(environ, []byte{0}) {
		if bytes.Equal(kv, entry) {
			return true
		}
	}
	return false
}

func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...; comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X'
}

// KillMarked sends SIGKILL to every process carrying the marker and waits up
// to timeout for them to go. It returns the processes that were found.
func KillMarked(marker string, timeout time.Duration) ([]Process, error) {
	procs, err := MarkedProcesses(marker)
	if err != nil || len(procs) == 0 {
		return procs, err
	}
	for _, p := range procs {
		_ = syscall.Kill(p.PID, syscall.SIGKILL)
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		left, err := MarkedProcesses(marker)
		if err != nil || len(left) == 0 {
			return procs, err
		}
		time.Sleep(50 * time.Millisecond)
	}
	left, _ := MarkedProcesses(marker)
	return procs, fmt.Errorf("processes still alive after SIGKILL: %v", left)
}

// process is one control-plane component, started with childproc: its own
// process group, SIGKILLed by the kernel when the test binary dies.
type process struct {
	name    string
	proc    *childproc.Process
	stop    func() // SIGTERM to the group, SIGKILL after stopGrace; waits
	logPath string
}

func startProcess(name, bin string, args, env []string, logDir string) (*process, error) {
	logPath := filepath.Join(logDir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	proc, err := childproc.Start(ctx, childproc.Cmd{
		Path: bin, Args: args, Env: env,
		Lines:             func(_, line string) { fmt.Fprintln(logFile, line) },
		Grace:             stopGrace,
		ParentDeathSignal: syscall.SIGKILL,
	})
	if err != nil {
		cancel()
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		<-proc.Done()
		logFile.Close()
	}()
	stop := func() {
		cancel()
		<-proc.Done()
	}
	return &process{name: name, proc: proc, stop: stop, logPath: logPath}, nil
}

func (p *process) exited() bool {
	select {
	case <-p.proc.Done():
		return true
	default:
		return false
	}
}

// exitStatus says how an exited process ended.
func (p *process) exitStatus() string {
	err := p.proc.Wait()
	var e *childproc.Error
	switch {
	case err == nil:
		return "exit code 0"
	case errors.As(err, &e) && e.ExitCode >= 0:
		return fmt.Sprintf("exit code %d", e.ExitCode)
	case errors.As(err, &e):
		return e.Err.Error()
	}
	return err.Error()
}

// logTail returns the last n bytes of the process log.
func (p *process) logTail(n int64) string {
	f, err := os.Open(p.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(-n, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// waitFor polls check until it returns nil, ctx ends, or a watched process
// exits (then its log tail is in the error).
func waitFor(ctx context.Context, what string, watch []*process, check func(context.Context) error) error {
	var last error
	for {
		for _, p := range watch {
			if p.exited() {
				return fmt.Errorf("waiting for %s: %s exited (%s); log tail:\n%s", what, p.name, p.exitStatus(), p.logTail(4000))
			}
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		last = check(cctx)
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (last error: %v)", what, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

var errNotYet = errors.New("not yet")
