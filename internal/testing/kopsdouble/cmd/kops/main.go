// Command kops is the kops test double (see package kopsdouble): it keeps
// clusters in a file:// state store and answers like the real kops CLI for
// the commands the program uses, with the flags of the emulated version.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kopscalico/kopscalico/internal/kopsrelease"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/kopscalico/kopscalico/internal/testing/kopsdouble"
)

// silentExit is a failure whose stderr was already written (injected).
type silentExit struct{ code int }

func (e *silentExit) Error() string { return fmt.Sprintf("exit %d", e.code) }

// since is kops 1.<minor>: a release where the double's emulation of kops
// changes (the program's own cut-offs are kopsrelease's).
func since(minor int) kopsrelease.Version { return kopsrelease.Version{Major: 1, Minor: minor} }

type double struct {
	store   string // state store directory
	control string // <store>/.kopsdouble
	ver     kopsrelease.Version
	stdout  io.Writer
	stderr  io.Writer
	rawArgs []string // the whole command line, for failure matching
	// global flags
	state       string
	clusterName string
}

func main() {
	d := &double{stdout: os.Stdout, stderr: os.Stderr}
	code := d.main(os.Args[1:])
	os.Exit(code)
}

func (d *double) main(args []string) int {
	// The store and version are needed to build the per-version flag set,
	// so --state is looked up before cobra parses.
	d.state = os.Getenv("KOPS_STATE_STORE")
	for i, a := range args {
		if a == "--state" && i+1 < len(args) {
			d.state = args[i+1]
		} else if strings.HasPrefix(a, "--state=") {
			d.state = strings.TrimPrefix(a, "--state=")
		}
	}
	if strings.HasPrefix(d.state, "file://") {
		d.store = strings.TrimPrefix(d.state, "file://")
		d.control = filepath.Join(d.store, kopsdouble.ControlDir)
	}
	d.ver = d.emulatedVersion()
	d.rawArgs = args

	root := d.rootCommand()
	root.SetArgs(args)
	root.SetOut(d.stdout)
	root.SetErr(d.stderr)
	// Errors are printed here, like cobra does ("Error: ..."), except an
	// injected failure, whose stderr was already written.
	root.SilenceErrors = true
	err := root.Execute()
	code := 0
	var injected *silentExit
	if err != nil && !errors.As(err, &injected) {
		fmt.Fprintln(d.stderr, "Error: "+err.Error())
	}
	if err != nil {
		var se *silentExit
		if errors.As(err, &se) {
			code = se.code
		} else {
			code = 1
		}
	}
	d.record(args, code)
	d.pauseIfArmed(args, code)
	return code
}

func (d *double) emulatedVersion() kopsrelease.Version {
	s := kopsdouble.DefaultVersion
	if env := os.Getenv("KOPSDOUBLE_VERSION"); env != "" {
		s = env
	} else if d.control != "" {
		if b, err := os.ReadFile(filepath.Join(d.control, "version")); err == nil {
			s = strings.TrimSpace(string(b))
		}
	}
	v, _ := kopsrelease.Parse(s)
	return v
}

func (d *double) record(args []string, code int) {
	if d.control == "" {
		return
	}
	if err := os.MkdirAll(d.control, 0o755); err != nil {
		return
	}
	f, err := os.OpenFile(filepath.Join(d.control, "calls.jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	b, _ := json.Marshal(kopsdouble.Call{Args: args, Exit: code, Env: os.Environ(), Parent: parentName()})
	f.Write(append(b, '\n'))
}

// parentName is the base name of the parent process's argv[0] ("" when
// /proc cannot tell).
func parentName() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", os.Getppid()))
	if err != nil {
		return ""
	}
	argv0, _, _ := strings.Cut(string(b), "\x00")
	return filepath.Base(argv0)
}

// pauseIfArmed stops a call that completed as the armed Pause's After-th
// call of its parent: it says so in PausedFile (once: the Pause is
// disarmed) and waits, its work done and recorded, until the test removes
// the file, or kills a process and with it this one.
func (d *double) pauseIfArmed(args []string, code int) {
	if d.control == "" {
		return
	}
	var p kopsdouble.Pause
	if err := kopsdoubleRead(filepath.Join(d.control, kopsdouble.PauseFile), &p); err != nil {
		return
	}
	parent := parentName()
	if parent != p.Parent {
		return
	}
	n := 0
	for _, c := range d.recordedCalls() {
		if c.Parent == parent {
			n++
		}
	}
	if n != p.After || os.Remove(filepath.Join(d.control, kopsdouble.PauseFile)) != nil {
		return
	}
	paused := filepath.Join(d.control, kopsdouble.PausedFile)
	b, _ := json.Marshal(kopsdouble.Paused{Call: kopsdouble.Call{Args: args, Exit: code, Parent: parent}, N: n, PID: os.Getpid(), PPID: os.Getppid()})
	if os.WriteFile(paused+".tmp", b, 0o644) != nil || os.Rename(paused+".tmp", paused) != nil {
		return
	}
	for {
		if _, err := os.Stat(paused); os.IsNotExist(err) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// recordedCalls reads the call log.
func (d *double) recordedCalls() []kopsdouble.Call {
	b, err := os.ReadFile(filepath.Join(d.control, "calls.jsonl"))
	if err != nil {
		return nil
	}
	var calls []kopsdouble.Call
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var c kopsdouble.Call
		if json.Unmarshal([]byte(line), &c) == nil {
			calls = append(calls, c)
		}
	}
	return calls
}

// inject fails the call when a matching failure is configured, before the
// command changes anything. ArgsContain is matched against the whole
// command line.
func (d *double) inject(command string, _ []string) error {
	if d.control == "" {
		return nil
	}
	path := filepath.Join(d.control, "failures.json")
	var fs []kopsdouble.Failure
	if err := kopsdoubleRead(path, &fs); err != nil {
		return nil
	}
	hasArg := func(want string) bool {
		for _, a := range d.rawArgs {
			if a == want || strings.HasPrefix(a, want+"=") {
				return true
			}
		}
		return false
	}
	for i, f := range fs {
		if f.Command != command || (f.ArgsContain != "" && !hasArg(f.ArgsContain)) {
			continue
		}
		if f.Times > 0 {
			fs[i].Times--
			if fs[i].Times == 0 {
				fs = append(fs[:i], fs[i+1:]...)
			}
			b, _ := json.MarshalIndent(fs, "", "  ")
			os.WriteFile(path, b, 0o644)
		}
		fmt.Fprintln(d.stderr, strings.TrimRight(f.Stderr, "\n"))
		code := f.Exit
		if code == 0 {
			code = 1
		}
		return &silentExit{code}
	}
	return nil
}

func kopsdoubleRead(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// prepare is what every command on one cluster does first, as kops does:
// an injected failure, then the state store, then the cluster name (the
// argument, or KOPS_CLUSTER_NAME).
func (d *double) prepare(command string, args []string) (string, error) {
	if err := d.inject(command, args); err != nil {
		return "", err
	}
	if err := d.needStore(); err != nil {
		return "", err
	}
	return d.name(args)
}

func (d *double) needStore() error {
	if d.state == "" {
		return errors.New("please set the --state flag or export KOPS_STATE_STORE.\nFor example, a valid value follows the format s3://<bucket>.\nYou can find the supported stores in https://kops.sigs.k8s.io/state.")
	}
	if d.store == "" {
		return fmt.Errorf("the kops test double only supports file:// state stores, not %q", d.state)
	}
	d.klogWarnAt("factory.go:152", "The local filesystem state store is not functional for running clusters")
	return nil
}

// name resolves the cluster name like kops's RootCmd.ProcessArgs
// (cmd/kops/root.go): a positional name, or --name, whose default is
// KOPS_CLUSTER_NAME. Both at once are refused, even when they agree.
func (d *double) name(args []string) (string, error) {
	if len(args) > 0 {
		if d.clusterName != "" || len(args) > 1 {
			fmt.Fprintf(d.stdout, "\nFound multiple arguments which look like a cluster name\n")
			if d.clusterName != "" {
				fmt.Fprintf(d.stdout, "\t%q (via flag)\n", d.clusterName)
			}
			for _, a := range args {
				fmt.Fprintf(d.stdout, "\t%q (as argument)\n", a)
			}
			fmt.Fprintf(d.stdout, "\nThis often happens if you specify an argument to a boolean flag without using =\nFor example: use `--bastion=true` or `--bastion`, not `--bastion true`\n\n")
			if len(args) == 1 {
				return "", errors.New("cannot specify cluster via --name and positional argument")
			}
			return "", errors.New("expected a single <clustername> to be passed as an argument")
		}
		return args[0], nil
	}
	if d.clusterName != "" {
		return d.clusterName, nil
	}
	return "", errors.New("--name is required")
}

func (d *double) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "kops",
		Short: "kOps is Kubernetes Operations.",
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			cmd.SilenceUsage = true
		},
	}
	root.PersistentFlags().StringVar(&d.state, "state", d.state, "Location of state storage (kops 'config' file). Overrides KOPS_STATE_STORE environment variable")
	root.PersistentFlags().StringVar(&d.clusterName, "name", os.Getenv("KOPS_CLUSTER_NAME"), "Name of cluster. Overrides KOPS_CLUSTER_NAME environment variable")
	root.PersistentFlags().Int32P("v", "v", 0, "number for the log level verbosity")
	root.PersistentFlags().String("config", "", "yaml config file (default is $HOME/.kops.yaml)")

	root.AddCommand(d.versionCommand(), d.createCommand(), d.getCommand(), d.replaceCommand(), d.updateCommand(),
		d.rollingUpdateCommand(), d.validateCommand(), d.exportCommand(), d.deleteCommand(), d.helpersCommand())
	if d.ver.AtLeast(kopsrelease.ReconcileCluster) {
		root.AddCommand(d.reconcileCommand())
	}
	return root
}

func (d *double) versionCommand() *cobra.Command {
	var short bool
	cmd := &cobra.Command{
		Use: "version",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := d.inject("version", args); err != nil {
				return err
			}
			v := d.ver.String()
			switch {
			case short:
				fmt.Fprintln(d.stdout, v)
			case d.ver.AtLeast(since(19)):
				fmt.Fprintf(d.stdout, "Client version: %s (git-v%s)\n", v, v)
			default:
				fmt.Fprintf(d.stdout, "Version %s (git-v%s)\n", v, v)
			}
			return nil
		},
	}
	if d.ver.AtLeast(since(19)) {
		cmd.Flags().BoolVar(&short, "short", false, "only print the main kOps version. Useful for scripting.")
	}
	return cmd
}

// ---- cluster files ----

func (d *double) clusterDir(name string) string { return filepath.Join(d.store, name) }

func (d *double) exists(name string) bool {
	_, err := os.Stat(filepath.Join(d.clusterDir(name), "config"))
	return err == nil
}

func (d *double) readObj(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, yaml.Unmarshal(b, &m)
}

func (d *double) writeObj(path string, obj map[string]any) error {
	b, err := yaml.Marshal(obj)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func (d *double) cluster(name string) (map[string]any, error) {
	return d.readObj(filepath.Join(d.clusterDir(name), "config"))
}

func (d *double) instanceGroups(name string) ([]map[string]any, error) {
	entries, err := os.ReadDir(filepath.Join(d.clusterDir(name), "instancegroup"))
	if err != nil {
		return nil, err
	}
	var igs []map[string]any
	for _, e := range entries {
		ig, err := d.readObj(filepath.Join(d.clusterDir(name), "instancegroup", e.Name()))
		if err != nil {
			return nil, err
		}
		igs = append(igs, ig)
	}
	// kops lists control-plane groups first, then by name.
	sort.SliceStable(igs, func(i, j int) bool {
		ri, rj := roleOrder(igs[i]), roleOrder(igs[j])
		if ri != rj {
			return ri < rj
		}
		return objName(igs[i]) < objName(igs[j])
	})
	return igs, nil
}

func roleOrder(ig map[string]any) int {
	if role := str(get(ig, "spec", "role")); role == "Master" || role == "ControlPlane" {
		return 0
	}
	return 1
}

func get(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func str(v any) string { s, _ := v.(string); return s }

func num(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	}
	return 0
}

func objName(o map[string]any) string { return str(get(o, "metadata", "name")) }

func (d *double) readCloud(name string) kopsdouble.Cloud {
	var c kopsdouble.Cloud
	_ = kopsdoubleRead(filepath.Join(d.clusterDir(name), "cloud.json"), &c)
	if c.Templates == nil {
		c.Templates = map[string]string{}
	}
	if c.Sizes == nil {
		c.Sizes = map[string]int{}
	}
	if c.Instances == nil {
		c.Instances = map[string][]string{}
	}
	if c.Versions == nil {
		c.Versions = map[string]string{}
	}
	return c
}

func (d *double) writeCloud(name string, c kopsdouble.Cloud) error {
	b, _ := json.MarshalIndent(c, "", "  ")
	return os.WriteFile(filepath.Join(d.clusterDir(name), "cloud.json"), b, 0o644)
}

func hashOf(v any) string {
	b, _ := json.Marshal(v)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

// templates computes, per instance group, the launch template kops would
// render now: the cluster spec (but access, which only touches security
// groups) and the group's spec (but its sizes, which only touch the ASG).
func (d *double) templates(name string) (tmpl map[string]string, sizes map[string]int, access string, err error) {
	c, err := d.cluster(name)
	if err != nil {
		return nil, nil, "", err
	}
	spec, _ := c["spec"].(map[string]any)
	clusterPart := map[string]any{}
	for k, v := range spec {
		if k != "sshAccess" && k != "kubernetesApiAccess" {
			clusterPart[k] = v
		}
	}
	access = hashOf([]any{spec["sshAccess"], spec["kubernetesApiAccess"]})
	igs, err := d.instanceGroups(name)
	if err != nil {
		return nil, nil, "", err
	}
	tmpl, sizes = map[string]string{}, map[string]int{}
	for _, ig := range igs {
		igSpec, _ := ig["spec"].(map[string]any)
		part := map[string]any{}
		for k, v := range igSpec {
			if k != "minSize" && k != "maxSize" {
				part[k] = v
			}
		}
		tmpl[objName(ig)] = hashOf([]any{clusterPart, part})
		sizes[objName(ig)] = num(igSpec["minSize"])
	}
	return tmpl, sizes, access, nil
}

func notFoundErr(name string) error {
	return fmt.Errorf("error reading cluster configuration: Cluster.kops.k8s.io %q not found", name)
}

func (d *double) mustGetCluster(name string) error {
	if !d.exists(name) {
		return notFoundErr(name)
	}
	return nil
}

func (d *double) klog(format string, args ...any) { d.klogAt('I', "double.go:1", format, args...) }

func (d *double) klogWarn(format string, args ...any) { d.klogAt('W', "double.go:1", format, args...) }

// klogWarnAt logs a warning as kops logs it from source (file:line), for
// the lines that matter to readers of stderr.
func (d *double) klogWarnAt(source, format string, args ...any) {
	d.klogAt('W', source, format, args...)
}

func (d *double) klogAt(level byte, source, format string, args ...any) {
	now := time.Now()
	fmt.Fprintf(d.stderr, "%c%s %7d %s] %s\n", level, now.Format("0102 15:04:05.000000"), os.Getpid(), source, fmt.Sprintf(format, args...))
}

func validCIDR(c string) bool {
	if strings.HasPrefix(c, "pl-") {
		return true
	}
	_, err := netip.ParsePrefix(c)
	return err == nil
}
