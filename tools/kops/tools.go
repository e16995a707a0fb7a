//go:build tools

// Package tools pins the real kops CLI built by tools/build.sh: the contract
// and differential tests run it offline against a file:// state store.
package tools

import _ "k8s.io/kops/cmd/kops"
