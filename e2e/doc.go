// Package e2e holds the end-to-end tests: the program through the real
// Pulumi engine (pulumitest, Automation API, inline program) with the built
// provider plugin, against a local control plane (controlplane) and the kops
// test double. They need the tools `make tools` builds into .tools/bin.
package e2e
