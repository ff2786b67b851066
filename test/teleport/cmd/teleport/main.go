// Command teleport is Teleport's own tool/teleport main with one change for
// tests: `teleport start` runs the proxy with the web UI turned off
// (servicecfg.Proxy.DisableWebInterface, as Teleport's own test servers do).
//
// The module zip has no web assets (webassets/ is a git submodule), and the
// stock no-embed build refuses to start a proxy: "the teleport binary was
// built without web assets, try building with `make release`". With the UI
// off, the proxy serves /webapi/* and tsh normally and answers 501 under /web.
// Every other subcommand (version, configure, ...) is unchanged.
package main

import (
	"context"
	"os"

	"github.com/gravitational/teleport"
	"github.com/gravitational/teleport/lib/observability/metrics"
	"github.com/gravitational/teleport/lib/service"
	"github.com/gravitational/teleport/lib/utils"
	"github.com/gravitational/teleport/tool/teleport/common"
)

func init() {
	metrics.RegisterPrometheusCollectors(metrics.BuildCollector())
}

func main() {
	// InitOnly only affects the start commands: they parse flags and config
	// into conf and return instead of running; everything else runs as usual.
	_, command, conf := common.Run(common.Options{Args: os.Args[1:], InitOnly: true})
	switch command {
	case "start", "app start", "db start":
	default:
		return
	}
	conf.Proxy.DisableWebInterface = true
	conf.Log.Infof("Starting Teleport v%s (web UI disabled: built without web assets)", teleport.Version)
	if err := service.Run(context.TODO(), *conf, nil); err != nil {
		utils.FatalError(err)
	}
}
