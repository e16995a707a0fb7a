//go:build tools

// Package tools pins the pulumi CLI built by tools/build.sh.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
