//go:build tools

// Package tools pins actionlint built by tools/build.sh.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
