//go:build tools

// Package tools pins the control plane e2e/controlplane starts, built by
// tools/build.sh in one go build: kube-apiserver, kube-controller-manager,
// kube-scheduler, kwok and etcd (./etcd) share one module graph, so the
// packages they have in common (k8s.io/*, grpc, etcd's client) compile once.
package tools

import (
	_ "go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
