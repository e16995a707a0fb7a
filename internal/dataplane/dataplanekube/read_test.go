package dataplanekube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kopscalico/kopscalico/internal/config"
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
	if o.Felix["awsSrcDstCheck"] != (dataplane.Setting{Value: "Disable", Source: "env FELIX_AWSSRCDSTCHECK of ds/calico-node"}) {
		t.Errorf("awsSrcDstCheck = %+v", o.Felix["awsSrcDstCheck"])
	}
	if o.Felix["ipipMTU"] != (dataplane.Setting{Value: "0", Source: "env FELIX_IPINIPMTU of ds/calico-node, from calico-config veth_mtu"}) {
		t.Errorf("ipipMTU = %+v", o.Felix["ipipMTU"])
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
	api := objects{felixPath: map[string]any{"spec": map[string]any{"awsSrcDstCheck": "Enable", "ipipEnabled": false, "vxlanMTU": 8900}}}
	o, err := Read(context.Background(), api)
	if err != nil {
		t.Fatal(err)
	}
	if o.PoolsInstalled || o.Backend != "" || o.Rollout.Found {
		t.Errorf("missing objects read as %+v", o)
	}
	for field, want := range map[string]dataplane.Setting{
		"awsSrcDstCheck":  {Value: "Enable", Source: "FelixConfiguration default"},
		"ipipEnabled":     {Value: "false", Source: "FelixConfiguration default"},
		"vxlanMTU":        {Value: "8900", Source: "FelixConfiguration default"},
		"vxlanEnabled":    {Source: "Felix's default"},
		"chainInsertMode": {Value: "insert", Source: "Felix's default"},
	} {
		if got := o.Felix[field]; got != want {
			t.Errorf("felix %s = %+v, want %+v", field, got, want)
		}
	}
	o, _ = Read(context.Background(), objects{})
	if o.Felix["awsSrcDstCheck"] != (dataplane.Setting{Value: "DoNothing", Source: "Felix's default"}) {
		t.Errorf("no Felix setting anywhere = %+v", o.Felix["awsSrcDstCheck"])
	}
	if len(o.Felix) != len(dataplane.FelixSettings) {
		t.Errorf("read %d Felix settings, the table has %d", len(o.Felix), len(dataplane.FelixSettings))
	}
}

// TestReadKopsDefaultsPass: the dataplane kops leaves for each encapsulation
// (the template rendered with the spec the stack writes, and the pool
// calico-node creates) reads as what the stack asks, every Felix setting
// included; with the spec's MTU above the overlay's, the MTU differs.
func TestReadKopsDefaultsPass(t *testing.T) {
	t.Parallel()
	for _, d := range []dataplane.Desired{
		{Encapsulation: config.EncapIPIP, AWSSrcDstCheck: config.SrcDstDisable},
		{Encapsulation: config.EncapVXLAN, AWSSrcDstCheck: config.SrcDstDisable},
	} {
		spec := calicomanifest.Spec{EncapsulationMode: string(d.Encapsulation), AWSSrcDstCheck: string(d.AWSSrcDstCheck), ClusterCIDR: "100.96.0.0/11"}
		o, err := Read(context.Background(), kopsCluster(t, spec))
		if err != nil {
			t.Fatal(err)
		}
		if r := dataplane.Compare(d, o); r.Failed() {
			t.Errorf("%s as kops makes it differs:\n%s", d.Encapsulation, r)
		}
		spec.Set = map[string]any{"MTU": int32(8981)}
		o, err = Read(context.Background(), kopsCluster(t, spec))
		if err != nil {
			t.Fatal(err)
		}
		var differing []string
		for _, row := range dataplane.Compare(d, o).Differing() {
			differing = append(differing, row.Subject)
		}
		want := map[config.Encapsulation]string{config.EncapIPIP: "", config.EncapVXLAN: "felix vxlanMTU"}[d.Encapsulation]
		if strings.Join(differing, ",") != want {
			t.Errorf("%s with calico.mtu 8981: differing %v, want %q", d.Encapsulation, differing, want)
		}
	}
}

func TestReadFailsOnOtherErrors(t *testing.T) {
	t.Parallel()
	api := objects{configMapPath: errors.New("GET: 403 Forbidden")}
	if _, err := Read(context.Background(), api); err == nil || !strings.Contains(err.Error(), "403 Forbidden") {
		t.Errorf("err = %v, want the 403", err)
	}
}
