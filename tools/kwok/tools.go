//go:build tools

// Package tools pins kwok (the fake kubelet) built by tools/build.sh.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
