//go:build tools

// Package tools pins the tools tools/build.sh builds from this one module: the
// pulumi CLI and the control plane e2e/controlplane starts (kube-*, kwok, etcd
// from ./etcd). One module graph means one version of each
// shared package (k8s.io/*, grpc, the pulumi SDK), so each compiles once; tools/align.sh keeps those versions equal to the root
// module's, so the test builds reuse them too.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
	_ "go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
