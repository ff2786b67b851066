//go:build tools

// Package tools pins Teleport's command packages so that `go mod tidy` keeps
// every module needed to build them. It is never compiled.
package tools

import (
	_ "github.com/gravitational/teleport/api"
	_ "github.com/gravitational/teleport/tool/tctl"
	_ "github.com/gravitational/teleport/tool/teleport"
	_ "github.com/gravitational/teleport/tool/tsh"
)
