package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"

	"github.com/kopscalico/kopscalico/internal/config"
	"github.com/kopscalico/kopscalico/internal/dataplane"
	"github.com/kopscalico/kopscalico/internal/dataplane/dataplanekube"
	"github.com/kopscalico/kopscalico/internal/pluginapi"
)

// CalicoDataplaneState is the recorded result (the kubeconfig is not kept).
type CalicoDataplaneState struct {
	Encapsulation   config.Encapsulation `json:"encapsulation"`
	AWSSrcDstCheck  config.SrcDstCheck   `json:"awsSrcDstCheck"`
	Mode            config.SGCheckMode   `json:"mode"`
	ClusterRevision string               `json:"clusterRevision,omitempty"`
	// Summary is subject -> "ok: …", or what differs and its fix.
	Summary map[string]string `json:"summary"`
	// Report is the table of wanted against running, with the fixes.
	Report string `json:"report"`
	// Observed is the dataplane as read.
	Observed dataplane.Observed `json:"observed"`
}

// calicoDataplane reads Calico's dataplane through the Kubernetes API at
// create and update (the Cluster's revision is an input: after every change
// kops makes) and records it; read (refresh) reads it again, so a pool
// edited by hand shows as drift; delete does nothing (Calico is kops's).
type calicoDataplane struct {
	p *Provider
	recordedCheck
}

func newCalicoDataplane(p *Provider) *calicoDataplane {
	c := &calicoDataplane{p: p}
	c.recordedCheck = recordedCheck{run: c.run, id: c.id, ignored: map[string]bool{"kubeconfig": true}}
	return c
}

// id names the dataplane the check is of.
func (c *calicoDataplane) id(resource.PropertyMap) (resource.ID, error) {
	return "calico", nil
}

func (c *calicoDataplane) check(_ context.Context, req plugin.CheckRequest) (plugin.CheckResponse, error) {
	var args pluginapi.CalicoDataplaneArgs
	if err := decode(req.News, &args); err != nil {
		return plugin.CheckResponse{}, err
	}
	_, modeErr := config.ParseSGCheckMode(string(args.Mode))
	if modeErr == nil && args.Mode == config.SGCheckOff {
		modeErr = fmt.Errorf("must be enforce or warn: with off the program registers no check")
	}
	_, encapErr := config.ParseEncapsulation(string(args.Encapsulation))
	_, srcDstErr := config.ParseSrcDstCheck(string(args.AWSSrcDstCheck))
	var kubeconfigErr error
	if args.Kubeconfig == "" {
		kubeconfigErr = fmt.Errorf("required")
	}
	unknown := unknownKeys(req.News)
	var failures []plugin.CheckFailure
	for _, f := range []struct {
		property string
		err      error
	}{{"awsSrcDstCheck", srcDstErr}, {"encapsulation", encapErr}, {"kubeconfig", kubeconfigErr}, {"mode", modeErr}} {
		if f.err != nil && !unknown[f.property] {
			failures = append(failures, checkFailure(f.property, f.err))
		}
	}
	return plugin.CheckResponse{Properties: req.News, Failures: failures}, nil
}

// run reads the dataplane, logs the report and records it; in enforce mode
// a difference is an error and nothing is recorded, so the next up reads
// again. A preview reads nothing.
func (c *calicoDataplane) run(ctx context.Context, urn resource.URN, inputs resource.PropertyMap, preview bool) (resource.PropertyMap, error) {
	var args pluginapi.CalicoDataplaneArgs
	if err := decode(inputs, &args); err != nil {
		return nil, err
	}
	state := CalicoDataplaneState{Encapsulation: args.Encapsulation, AWSSrcDstCheck: args.AWSSrcDstCheck, Mode: args.Mode, ClusterRevision: args.ClusterRevision}
	if preview {
		out, err := encode(state)
		if err != nil {
			return nil, err
		}
		out["summary"] = resource.MakeComputed(resource.NewObjectProperty(resource.PropertyMap{}))
		out["report"] = resource.MakeComputed(resource.NewStringProperty(""))
		out["observed"] = resource.MakeComputed(resource.NewObjectProperty(resource.PropertyMap{}))
		return out, nil
	}
	warnOnly := fmt.Sprintf("set %s=%s to only warn", config.FullKey(config.KeySecurityGroupCheck), config.SGCheckWarn)
	observed, err := dataplanekube.ReadKubeconfig(ctx, args.Kubeconfig)
	if err != nil {
		if args.Mode == config.SGCheckEnforce {
			return nil, fmt.Errorf("calico dataplane: %w (%s)", err, warnOnly)
		}
		c.p.logf(ctx, diag.Warning, urn, "calico dataplane: %v", err)
		state.Summary = map[string]string{"error": err.Error()}
		return encode(state)
	}
	report := dataplane.Compare(dataplane.Desired{Encapsulation: args.Encapsulation, AWSSrcDstCheck: args.AWSSrcDstCheck}, observed)
	state.Summary, state.Report, state.Observed = report.Summary(), report.String(), observed
	switch {
	case report.Failed() && args.Mode == config.SGCheckEnforce:
		var subjects []string
		for _, row := range report.Differing() {
			subjects = append(subjects, row.Subject)
		}
		return nil, fmt.Errorf("calico dataplane: the cluster's Calico is not the one asked for (%s):\n%s(%s)", strings.Join(subjects, ", "), report, warnOnly)
	case report.Failed():
		c.p.logf(ctx, diag.Warning, urn, "calico dataplane differs from the one asked for:\n%s", report)
	default:
		c.p.logf(ctx, diag.Info, urn, "calico dataplane:\n%s", report)
	}
	return encode(state)
}

// diff is the recorded check's, and shows a recorded difference on every
// preview: the report of the last read (at up or refresh), with its fixes,
// as a warning. In enforce mode a recorded difference is a change too, so
// the next up reads again and fails until the dataplane is fixed: a hand
// edit found by refresh is not left standing.
func (c *calicoDataplane) diff(ctx context.Context, req plugin.DiffRequest) (plugin.DiffResponse, error) {
	var recorded CalicoDataplaneState
	differs := decode(req.OldOutputs, &recorded) == nil && recorded.Report != "" && hasDifference(recorded.Summary)
	if differs {
		c.p.logf(ctx, diag.Warning, req.URN, "calico dataplane as last read (%s=%s, cluster revision %q) differs from the one asked for:\n%s",
			config.FullKey(config.KeySecurityGroupCheck), recorded.Mode, recorded.ClusterRevision, recorded.Report)
	}
	resp, err := c.recordedCheck.diff(ctx, req)
	var args pluginapi.CalicoDataplaneArgs
	if err != nil || !differs || resp.Changes == plugin.DiffSome || decode(req.NewInputs, &args) != nil || args.Mode != config.SGCheckEnforce {
		return resp, err
	}
	return plugin.DiffResponse{Changes: plugin.DiffSome, ChangedKeys: []resource.PropertyKey{"summary"},
		DetailedDiff: map[string]plugin.PropertyDiff{"summary": {Kind: plugin.DiffUpdate}}}, nil
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
func (c *calicoDataplane) read(ctx context.Context, req plugin.ReadRequest) (plugin.ReadResponse, error) {
	keep := plugin.ReadResponse{ReadResult: plugin.ReadResult{ID: req.ID, Inputs: req.Inputs, Outputs: req.State}}
	var args pluginapi.CalicoDataplaneArgs
	if err := decode(req.Inputs, &args); err != nil || args.Kubeconfig == "" {
		return keep, err
	}
	var state CalicoDataplaneState
	if err := decode(req.State, &state); err != nil {
		return keep, err
	}
	observed, err := dataplanekube.ReadKubeconfig(ctx, args.Kubeconfig)
	if err != nil {
		c.p.logf(ctx, diag.Warning, req.URN, "calico dataplane: refresh kept the recorded reading: %v", err)
		return keep, nil
	}
	report := dataplane.Compare(dataplane.Desired{Encapsulation: state.Encapsulation, AWSSrcDstCheck: state.AWSSrcDstCheck}, observed)
	state.Summary, state.Report, state.Observed = report.Summary(), report.String(), observed
	outputs, err := encode(state)
	if err != nil {
		return keep, err
	}
	keep.Outputs = outputs
	return keep, nil
}
