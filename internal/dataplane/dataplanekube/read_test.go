package dataplanekube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kopscalico/kopscalico/internal/dataplane"
	"github.com/kopscalico/kopscalico/internal/kubeapi"
	"github.com/kopscalico/kopscalico/internal/testing/calicomanifest"
)

// objects serves API paths from objects; anything else is a 404, as the API
// server answers.
type objects map[string]any

func (o objects) Get(_ context.Context, path string) ([]byte, error) {
	v, ok := o[path]
	if !ok {
		return nil, fmt.Errorf("GET %s: 404 Not Found (%w)", path, kubeapi.ErrNotFound)
	}
	if err, ok := v.(error); ok {
		return nil, err
	}
	return json.Marshal(v)
}

// kopsCluster is the API of a cluster whose Calico kops installed with
// spec, its pool created by calico-node, and its DaemonSet rolled out.
func kopsCluster(t *testing.T, spec calicomanifest.Spec) objects {
	objs := calicomanifest.Render(t, spec)
	ds := calicomanifest.Find(t, objs, "DaemonSet", dataplane.DaemonSetName).DeepCopy()
	ds.SetGeneration(2)
	_ = unstructured.SetNestedMap(ds.Object, map[string]any{
		"observedGeneration": int64(2), "desiredNumberScheduled": int64(3), "updatedNumberScheduled": int64(3), "numberAvailable": int64(3),
	}, "status")
	return objects{
		poolsPath:     map[string]any{"items": []any{calicomanifest.CreatedPool(t, objs).Object}},
		configMapPath: calicomanifest.Find(t, objs, "ConfigMap", dataplane.ConfigMapName).Object,
		daemonSetPath: ds.Object,
	}
}

func TestReadKopsCalico(t *testing.T) {
	t.Parallel()
	api := kopsCluster(t, calicomanifest.Spec{EncapsulationMode: "ipip", IPIPMode: "Always", AWSSrcDstCheck: "Disable", ClusterCIDR: "100.96.0.0/11"})
	o, err := Read(context.Background(), api)
	if err != nil {
		t.Fatal(err)
	}
	want := dataplane.Pool{Name: dataplane.DefaultPoolName, CIDR: "100.96.0.0/11", IPIPMode: "Always", VXLANMode: "Never", NATOutgoing: true, BlockSize: 26}
	if !o.PoolsInstalled || len(o.Pools) != 1 || o.Pools[0] != want {
		t.Errorf("pools = %v %+v, want %+v", o.PoolsInstalled, o.Pools, want)
	}
	if o.Backend != "bird" {
		t.Errorf("backend = %q", o.Backend)
	}
	if o.AWSSrcDstCheck != (dataplane.Setting{Value: "Disable", Source: "env FELIX_AWSSRCDSTCHECK of ds/calico-node"}) {
		t.Errorf("awsSrcDstCheck = %+v", o.AWSSrcDstCheck)
	}
	if o.NodeEnv[dataplane.EnvPoolIPIP] != "Always" || o.NodeEnv[dataplane.EnvPoolCIDR] != "100.96.0.0/11" {
		t.Errorf("node env = %v", o.NodeEnv)
	}
	if !o.Rollout.Done() {
		t.Errorf("rollout = %+v", o.Rollout)
	}
}

func TestReadFelixConfigurationAndMissingObjects(t *testing.T) {
	t.Parallel()
	// Felix's own object decides where calico-node sets nothing.
	api := objects{felixPath: map[string]any{"spec": map[string]any{"awsSrcDstCheck": "Enable", "ipipEnabled": false}}}
	o, err := Read(context.Background(), api)
	if err != nil {
		t.Fatal(err)
	}
	if o.PoolsInstalled || o.Backend != "" || o.Rollout.Found {
		t.Errorf("missing objects read as %+v", o)
	}
	if o.AWSSrcDstCheck != (dataplane.Setting{Value: "Enable", Source: "FelixConfiguration default"}) || o.IPIPEnabled != "false" || o.VXLANEnabled != "" {
		t.Errorf("felix = %+v ipip=%q vxlan=%q", o.AWSSrcDstCheck, o.IPIPEnabled, o.VXLANEnabled)
	}
	o, _ = Read(context.Background(), objects{})
	if o.AWSSrcDstCheck != (dataplane.Setting{Value: "DoNothing", Source: "Felix's default"}) {
		t.Errorf("no Felix setting anywhere = %+v", o.AWSSrcDstCheck)
	}
}

func TestReadFailsOnOtherErrors(t *testing.T) {
	t.Parallel()
	api := objects{configMapPath: errors.New("GET: 403 Forbidden")}
	if _, err := Read(context.Background(), api); err == nil || !strings.Contains(err.Error(), "403 Forbidden") {
		t.Errorf("err = %v, want the 403", err)
	}
}
