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
	"github.com/kopscalico/kopscalico/internal/dataplane"
	"github.com/kopscalico/kopscalico/internal/dataplane/dataplanekube"
	"github.com/kopscalico/kopscalico/internal/kops"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// calicoDataplaneID names the dataplane the check is of.
const calicoDataplaneID = "calico"

// calicoDataplane reads Calico's dataplane through the Kubernetes API at
// create and update (the Cluster's revision is an input: after every change
// kops makes) and records it; delete does nothing (Calico is kops's).
type calicoDataplane struct {
	p *Provider
}

// calicoDataplaneCheck is the recorded check with its own diff, which shows
// a recorded difference on every preview, and its own read, which reads the
// dataplane again, so a pool edited by hand shows as drift.
type calicoDataplaneCheck struct {
	recordedCheck
	dp *calicoDataplane
}

func newCalicoDataplane(p *Provider) calicoDataplaneCheck {
	dp := &calicoDataplane{p: p}
	return calicoDataplaneCheck{recordedCheck{pluginapi.CalicoDataplane, dp}, dp}
}

func (*calicoDataplane) check(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	var args pluginapi.CalicoDataplaneArgs
	if err := pluginapi.Decode(req.News, &args); err != nil {
		return plugin.CheckResponse{}, err
	}
	c := newChecks(&args, req.News)
	_, err := config.ParseDataplaneCheckMode(string(args.Mode))
	if err == nil && args.Mode == config.SGCheckOff {
		err = errors.New("must be enforce or warn: with off the program registers no check")
	}
	c.fail(&args.Mode, err)
	_, err = config.ParseEncapsulation(string(args.Encapsulation))
	c.fail(&args.Encapsulation, err)
	_, err = config.ParseSrcDstCheck(string(args.AWSSrcDstCheck))
	c.fail(&args.AWSSrcDstCheck, err)
	if args.Kubeconfig == "" {
		c.fail(&args.Kubeconfig, errors.New("required"))
	}
	return c.response(req.News), nil
}

// run reads the dataplane, makes the pool patches the update's preview
// planned (plannedPatches), logs the report and records it. In enforce mode a
// difference no patch fixes is an error and nothing is recorded, so the next
// up reads again. A preview reads nothing.
func (c *calicoDataplane) run(ctx context.Context, urn resource.URN, inputs, old resource.PropertyMap, preview bool) (resource.ID, resource.PropertyMap, error) {
	var args pluginapi.CalicoDataplaneArgs
	if err := pluginapi.Decode(inputs, &args); err != nil {
		return "", nil, err
	}
	if preview {
		return calicoDataplaneID, previewState(pluginapi.CalicoDataplane, inputs, old), nil
	}
	state := pluginapi.CalicoDataplaneState{CalicoDesired: args.CalicoDesired}
	warnOnly := fmt.Sprintf("set %s=%s to only warn", config.FullKey(config.KeyCalicoDataplaneCheck), config.SGCheckWarn)
	observed, err := dataplanekube.ReadKubeconfig(ctx, args.Kubeconfig)
	if err != nil {
		if args.Mode == config.SGCheckEnforce {
			return "", nil, fmt.Errorf("calico dataplane: %w (%s)", err, warnOnly)
		}
		c.p.logf(ctx, diag.Warning, urn, "calico dataplane: %v", err)
		state.Summary = map[string]string{"error": err.Error()}
		props, err := pluginapi.Encode(state)
		return calicoDataplaneID, props, err
	}
	report := compareDataplane(args.CalicoDesired, observed)
	if patches := livePlanned(report.Patches(), plannedPatches(old, args.CalicoDesired)); len(patches) > 0 {
		done, err := dataplanekube.ApplyPools(ctx, args.Kubeconfig, patches)
		for _, p := range done {
			c.p.logf(ctx, diag.Info, urn, "calico dataplane: patched %s (server-side apply, field manager %s)", p, dataplane.FieldManager)
			state.Patched = append(state.Patched, p.String())
		}
		if err != nil {
			return "", nil, fmt.Errorf("calico dataplane: %w", err)
		}
		if observed, err = dataplanekube.ReadKubeconfig(ctx, args.Kubeconfig); err != nil {
			return "", nil, fmt.Errorf("calico dataplane: after patching %d pools: %w", len(done), err)
		}
		report = compareDataplane(args.CalicoDesired, observed)
	}
	state.Summary, state.Report, state.Observed = report.Summary(), report.String(), observed
	var unpatched []string
	for _, row := range report.Differing() {
		if row.Patch == nil {
			unpatched = append(unpatched, row.Subject)
		}
	}
	switch {
	case len(unpatched) > 0 && args.Mode == config.SGCheckEnforce:
		return "", nil, fmt.Errorf("calico dataplane: the cluster's Calico is not the one asked for (%s):\n%s(%s)", strings.Join(unpatched, ", "), report, warnOnly)
	case report.Failed():
		c.p.logf(ctx, diag.Warning, urn, "calico dataplane differs from the one asked for:\n%s", report)
	default:
		c.p.logf(ctx, diag.Info, urn, "calico dataplane:\n%s", report)
	}
	props, err := pluginapi.Encode(state)
	return calicoDataplaneID, props, err
}

// plannedPatches are the pool patches an update makes: those the recorded
// reading calls for (so the preview, which reads nothing, shows them), with
// calico-node rolled out when it was read. None for a create.
func plannedPatches(recorded resource.PropertyMap, d pluginapi.CalicoDesired) []dataplane.PoolPatch {
	var state pluginapi.CalicoDataplaneState
	if recorded == nil || pluginapi.Decode(recorded, &state) != nil || !state.Observed.PoolsInstalled {
		return nil
	}
	return compareDataplane(d, state.Observed).Patches()
}

// livePlanned are the live patches that were planned (the same pool to the
// same modes); one the recorded reading did not call for waits for the next
// preview to show it.
func livePlanned(live, planned []dataplane.PoolPatch) []dataplane.PoolPatch {
	var out []dataplane.PoolPatch
	for _, l := range live {
		for _, p := range planned {
			if l.Pool == p.Pool && l.IPIPMode == p.IPIPMode && l.VXLANMode == p.VXLANMode {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

// compareDataplane is the report of an observed dataplane against the one
// asked for.
func compareDataplane(d pluginapi.CalicoDesired, o dataplane.Observed) dataplane.Report {
	return dataplane.Compare(dataplane.Desired{Encapsulation: d.Encapsulation, AWSSrcDstCheck: d.AWSSrcDstCheck}, o)
}

// diff is the recorded check's, and shows a recorded difference on every
// preview: the report of the last read (at up or refresh), with its fixes,
// as a warning, and the pool patches the update makes. A planned patch is a
// change; in enforce mode so is any recorded difference, so the next up
// reads again and fails until the dataplane is fixed: a hand edit found by
// refresh is not left standing.
func (c calicoDataplaneCheck) diff(ctx context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	var recorded pluginapi.CalicoDataplaneState
	differs := pluginapi.Decode(req.OldOutputs, &recorded) == nil && recorded.Report != "" && hasDifference(recorded.Summary)
	if differs {
		c.dp.p.logf(ctx, diag.Warning, req.URN, "calico dataplane as last read (%s=%s, cluster revision %q) differs from the one asked for:\n%s",
			config.FullKey(config.KeyCalicoDataplaneCheck), recorded.Mode, recorded.ClusterRevision, recorded.Report)
	}
	var args pluginapi.CalicoDataplaneArgs
	if err := pluginapi.Decode(req.NewInputs, &args); err != nil {
		return plugin.DiffResponse{}, err
	}
	var d detailedDiff
	for _, f := range changedInputs(pluginapi.CalicoDataplane, req.OldInputs, req.NewInputs) {
		d.add(f.Name, false, true)
	}
	if planned := plannedPatches(req.OldOutputs, args.CalicoDesired); len(planned) > 0 {
		lines := make([]string, len(planned))
		for i, p := range planned {
			lines[i] = "  " + p.String()
		}
		c.dp.p.logf(ctx, diag.Info, req.URN, "calico dataplane: the update patches (server-side apply, field manager %s; calico-node has rolled out):\n%s",
			dataplane.FieldManager, strings.Join(lines, "\n"))
		d.add(wireName(&recorded, &recorded.Patched), false, false)
	}
	if differs && args.Mode == config.SGCheckEnforce {
		d.add(wireName(&recorded, &recorded.Summary), false, false)
	}
	return d.response(), nil
}

// hasDifference says whether a recorded summary holds a row that is not ok.
func hasDifference(summary map[string]string) bool {
	for _, v := range summary {
		if !strings.HasPrefix(v, "ok: ") {
			return true
		}
	}
	return false
}

// read is refresh: the dataplane read again and compared with what was asked
// when it was recorded, so a hand edit shows as changed outputs. A cluster
// it cannot reach (a machine without its credentials) keeps the record, with
// a warning.
func (c calicoDataplaneCheck) read(ctx context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	keep := plugin.ReadResponse{ReadResult: plugin.ReadResult{ID: req.ID, Inputs: req.Inputs, Outputs: req.State}}
	var args pluginapi.CalicoDataplaneArgs
	if err := pluginapi.Decode(req.Inputs, &args); err != nil || args.Kubeconfig == "" {
		return keep, err
	}
	var state pluginapi.CalicoDataplaneState
	if err := pluginapi.Decode(req.State, &state); err != nil {
		return keep, err
	}
	observed, err := dataplanekube.ReadKubeconfig(ctx, args.Kubeconfig)
	if err != nil {
		c.dp.p.logf(ctx, diag.Warning, req.URN, "calico dataplane: refresh kept the recorded reading: %v", err)
		return keep, nil
	}
	report := compareDataplane(state.CalicoDesired, observed)
	state.Summary, state.Report, state.Observed = report.Summary(), report.String(), observed
	outputs, err := pluginapi.Encode(state)
	if err != nil {
		return keep, err
	}
	keep.Outputs = outputs
	return keep, nil
}

// refuseOverlayMigration refuses, before anything runs, a change of
// encapsulation on a cluster whose recorded kops spec has the other overlay.
// The spec is what kops renders calico_backend from, so it says what kops
// would switch; the pools are Calico's, which CalicoDataplane reads. The
// error names the steps by hand.
func refuseOverlayMigration(state pluginapi.ClusterState, d kops.Desired) error {
	if state.Spec == "" {
		return nil
	}
	live, err := kops.Describe(kops.Observed{Spec: []byte(state.Spec)})
	from := config.Encapsulation(live.Encapsulation)
	if err != nil || (from != config.EncapIPIP && from != config.EncapVXLAN) || from == d.Encapsulation {
		return nil
	}
	return fmt.Errorf("kops cluster %s has Calico encapsulationMode %s in its spec: refusing to switch it to %s (%s=%s), as kops would switch calico_backend and roll calico-node while the IP pools keep theirs (%s, unless changed by hand). "+
		"Revert %s, or migrate by hand: %s",
		state.Name, from, d.Encapsulation, config.FullKey(config.KeyEncapsulation), d.Encapsulation, from,
		config.FullKey(config.KeyEncapsulation), dataplane.MigrationSteps(from, d.Encapsulation))
}
