package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
	"github.com/kopscalico/kopscalico/internal/probe"
)

// probeVerdicts reads the verdicts of the probe Jobs' pods at create and
// update and records them when they agree with the policies; read keeps
// them (the pods they were read from may be gone) and delete does nothing
// (the Jobs are pulumi-kubernetes'). A new kubeconfig alone reads nothing.
type probeVerdicts struct {
	p *Provider
}

func (v *probeVerdicts) check(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	var args pluginapi.ProbeVerdictsArgs
	if err := pluginapi.Decode(req.News, &args); err != nil {
		return plugin.CheckResponse{}, err
	}
	c := newChecks(&args, req.News)
	for _, required := range []*string{&args.Kubeconfig, &args.Namespace} {
		if *required == "" {
			c.fail(required, errors.New("required"))
		}
	}
	if len(args.Probes) == 0 {
		c.fail(&args.Probes, errors.New("no probe planned"))
	}
	if c.known(&args.Probes) {
		for _, p := range args.Probes {
			if args.Jobs[p.Name] == "" {
				c.fail(&args.Jobs, fmt.Errorf("no Job URN for probe %s", p.Name))
			}
		}
	}
	return c.response(req.News), nil
}

// run reads the verdicts and compares them with the expected ones; the ID is
// the namespace the probes ran in. Any
// failure records nothing, so the next up reads again; a preview reads
// nothing and leaves the verdicts unknown.
func (v *probeVerdicts) run(ctx context.Context, urn resource.URN, inputs, old resource.PropertyMap, preview bool) (resource.ID, resource.PropertyMap, error) {
	var args pluginapi.ProbeVerdictsArgs
	if err := pluginapi.Decode(inputs, &args); err != nil {
		return "", nil, err
	}
	if preview {
		return resource.ID(args.Namespace), previewState(pluginapi.ProbeVerdicts, inputs, old), nil
	}
	names := make([]string, 0, len(args.Probes))
	for _, p := range args.Probes {
		names = append(names, p.Name)
	}
	observed, err := v.p.deps.ProbeReader.ReadResults(ctx, args.Kubeconfig, args.Namespace, names)
	if err != nil {
		if errors.Is(err, probe.ErrNoPod) {
			var unread []string
			for _, n := range names {
				if _, ok := observed[n]; !ok {
					unread = append(unread, n)
				}
			}
			return "", nil, fmt.Errorf("probes: %w\nThe pods of these probe Jobs went before their verdicts were recorded (a node roll, pod garbage collection, or deleted by hand); run the Jobs again with:\n  %s",
				err, replaceCommand(args.Jobs, unread))
		}
		return "", nil, fmt.Errorf("probes: %w\nNothing is recorded: the next `pulumi up` reads the verdicts again", err)
	}
	table, err := probe.Compare(args.Probes, observed)
	if err != nil {
		var differing []string
		for _, r := range table {
			if !r.Match {
				differing = append(differing, r.Probe)
			}
		}
		return "", nil, fmt.Errorf("probes: %w\nOnce the cluster enforces the policies, run the differing probes again (their Jobs keep the verdicts they printed):\n  %s\nIf this cluster's CNI does not enforce NetworkPolicies, set %s=false.",
			err, replaceCommand(args.Jobs, differing), config.FullKey(config.KeyProbes))
	}
	// Whether the probes crossed subnets is the nodes' to say, as they are
	// now, not the config's zones; nodes that cannot be listed are said so.
	zones, zerr := v.p.deps.ProbeReader.NodeZones(ctx, args.Kubeconfig)
	text := fmt.Sprintf("nodes: %s\n%s", zones.Statement(probe.Placed(args.Probes), zerr), table)
	v.p.logf(ctx, diag.Info, urn, "probes agree with the network policies:\n%s", text)
	verdicts := make(map[string]string, len(table))
	for _, r := range table {
		verdicts[r.Probe] = r.Observed
	}
	props, err := pluginapi.Encode(pluginapi.ProbeVerdictsState{ProbeRun: args.ProbeRun, Verdicts: verdicts, Zones: zones, Table: text})
	return resource.ID(args.Namespace), props, err
}

// replaceCommand is the `pulumi up` that replaces the Jobs of the named
// probes, so they run again.
func replaceCommand(jobs map[string]string, probes []string) string {
	args := []string{"pulumi", "up"}
	for _, name := range probes {
		args = append(args, "--replace", "'"+jobs[name]+"'")
	}
	return strings.Join(args, " ")
}
