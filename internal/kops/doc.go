// Package kops drives the kops CLI for one cluster: the desired cluster
// (Desired), the spec rewrites that convert a cluster to Calico cross-subnet
// (pure, YAML in and out), the readers of what kops prints (specs, instance
// groups, the rolling-update table), and the lifecycle Manager that runs kops
// commands through a Runner. The cluster is always named with --name.
package kops
