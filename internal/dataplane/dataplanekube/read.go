// Package dataplanekube reads Calico's dataplane from a cluster through the
// Kubernetes API (the IP pools, calico-config, the FelixConfiguration and the
// calico-node DaemonSet) and patches the pools' modes. It is the plugin's:
// the program links no client.
package dataplanekube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kopscalico/kopscalico/internal/dataplane"
	"github.com/kopscalico/kopscalico/internal/kubeapi"
)

// Timeout bounds one read of the dataplane.
const Timeout = time.Minute

// Getter GETs an API path (kubeapi.Client).
type Getter interface {
	Get(ctx context.Context, path string) ([]byte, error)
}

// ReadKubeconfig reads the dataplane of the cluster the kubeconfig reaches.
func ReadKubeconfig(ctx context.Context, kubeconfig string) (dataplane.Observed, error) {
	client, err := kubeapi.New(kubeconfig)
	if err != nil {
		return dataplane.Observed{}, fmt.Errorf("read Calico's dataplane: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	return Read(ctx, client)
}

var (
	poolsPath     = fmt.Sprintf("/apis/%s/%s/ippools", dataplane.CalicoGroup, dataplane.CalicoVersion)
	felixPath     = fmt.Sprintf("/apis/%s/%s/felixconfigurations/%s", dataplane.CalicoGroup, dataplane.CalicoVersion, dataplane.FelixConfigName)
	configMapPath = fmt.Sprintf("/api/v1/namespaces/%s/configmaps/%s", dataplane.Namespace, dataplane.ConfigMapName)
	daemonSetPath = fmt.Sprintf("/apis/apps/v1/namespaces/%s/daemonsets/%s", dataplane.Namespace, dataplane.DaemonSetName)
)

// Read reads the dataplane: an object that does not exist (404) is reported
// as missing, any other failure is an error.
func Read(ctx context.Context, api Getter) (dataplane.Observed, error) {
	var o dataplane.Observed
	var pools struct {
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				CIDR        string `json:"cidr"`
				IPIPMode    string `json:"ipipMode"`
				VXLANMode   string `json:"vxlanMode"`
				NATOutgoing bool   `json:"natOutgoing"`
				BlockSize   int    `json:"blockSize"`
				Disabled    bool   `json:"disabled"`
			} `json:"spec"`
		} `json:"items"`
	}
	found, err := get(ctx, api, poolsPath, &pools)
	if err != nil {
		return o, err
	}
	o.PoolsInstalled = found
	for _, p := range pools.Items {
		s := p.Spec
		o.Pools = append(o.Pools, dataplane.Pool{Name: p.Metadata.Name, CIDR: s.CIDR, IPIPMode: s.IPIPMode, VXLANMode: s.VXLANMode, NATOutgoing: s.NATOutgoing, BlockSize: s.BlockSize, Disabled: s.Disabled})
	}

	var cm corev1.ConfigMap
	if _, err := get(ctx, api, configMapPath, &cm); err != nil {
		return o, err
	}
	o.Backend = cm.Data[dataplane.BackendKey]

	var felix struct {
		Spec map[string]any `json:"spec"`
	}
	if _, err := get(ctx, api, felixPath, &felix); err != nil {
		return o, err
	}

	var ds appsv1.DaemonSet
	dsFound, err := get(ctx, api, daemonSetPath, &ds)
	if err != nil {
		return o, err
	}
	o.Rollout = dataplane.Rollout{
		Found: dsFound, Generation: ds.Generation, ObservedGeneration: ds.Status.ObservedGeneration,
		Desired: ds.Status.DesiredNumberScheduled, Updated: ds.Status.UpdatedNumberScheduled, Available: ds.Status.NumberAvailable,
	}
	env := nodeEnv(ds)
	o.NodeEnv = map[string]string{}
	for _, name := range []string{dataplane.EnvPoolIPIP, dataplane.EnvPoolVXLAN, dataplane.EnvPoolCIDR} {
		if v, ok := env[name]; ok {
			o.NodeEnv[name] = v.Value
		}
	}
	o.Felix = make(map[string]dataplane.Setting, len(dataplane.FelixSettings))
	for _, fs := range dataplane.FelixSettings {
		o.Felix[fs.Field] = felixSetting(fs, env, cm, felix.Spec)
	}
	return o, nil
}

// felixSetting is Felix's effective value of a setting: calico-node's
// environment (a literal, or calico-config's key it names) wins over the
// FelixConfiguration, which wins over Felix's default.
func felixSetting(fs dataplane.FelixSetting, env map[string]corev1.EnvVar, cm corev1.ConfigMap, spec map[string]any) dataplane.Setting {
	if v, ok := env[fs.Env]; ok {
		source := fmt.Sprintf("%s %s of ds/%s", dataplane.SourceEnv, fs.Env, dataplane.DaemonSetName)
		switch ref := v.ValueFrom; {
		case ref == nil:
			return dataplane.Setting{Value: v.Value, Source: source}
		case ref.ConfigMapKeyRef != nil && ref.ConfigMapKeyRef.Name == dataplane.ConfigMapName:
			key := ref.ConfigMapKeyRef.Key
			return dataplane.Setting{Value: cm.Data[key], Source: fmt.Sprintf("%s, from %s %s", source, dataplane.ConfigMapName, key)}
		}
		return dataplane.Setting{Source: source + ", from a reference not read"}
	}
	if v, ok := spec[fs.Field]; ok && v != nil {
		return dataplane.Setting{Value: fmt.Sprint(v), Source: dataplane.SourceFelix + " " + dataplane.FelixConfigName}
	}
	return dataplane.Setting{Value: fs.Default, Source: dataplane.SourceDefault}
}

// nodeEnv is the environment of the calico-node container by name.
func nodeEnv(ds appsv1.DaemonSet) map[string]corev1.EnvVar {
	env := map[string]corev1.EnvVar{}
	for _, c := range ds.Spec.Template.Spec.Containers {
		if c.Name != dataplane.ContainerName {
			continue
		}
		for _, e := range c.Env {
			env[e.Name] = e
		}
	}
	return env
}

// get decodes the object at path into v; found is false when it does not
// exist.
func get(ctx context.Context, api Getter, path string, v any) (found bool, err error) {
	body, err := api.Get(ctx, path)
	if errors.Is(err, kubeapi.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read Calico's dataplane: %w", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return false, fmt.Errorf("read Calico's dataplane: decode %s: %w", path, err)
	}
	return true, nil
}

// ApplyPools patches the pools through the cluster the kubeconfig reaches,
// by server-side apply as dataplane.FieldManager; it stops at the first
// failure and returns the patches made.
func ApplyPools(ctx context.Context, kubeconfig string, patches []dataplane.PoolPatch) ([]dataplane.PoolPatch, error) {
	client, err := kubeapi.New(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("patch Calico's pools: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	return Apply(ctx, client, patches)
}

// Applier server-side applies an object (kubeapi.Client).
type Applier interface {
	Apply(ctx context.Context, path string, body []byte, fieldManager string) ([]byte, error)
}

// Apply patches the pools one by one; it stops at the first failure and
// returns the patches made.
func Apply(ctx context.Context, api Applier, patches []dataplane.PoolPatch) ([]dataplane.PoolPatch, error) {
	var done []dataplane.PoolPatch
	for _, p := range patches {
		body, err := p.ApplyConfiguration()
		if err == nil {
			_, err = api.Apply(ctx, poolsPath+"/"+url.PathEscape(p.Pool), body, dataplane.FieldManager)
		}
		if err != nil {
			return done, fmt.Errorf("patch %s: %w", p, err)
		}
		done = append(done, p)
	}
	return done, nil
}
