import { reportPaths, type Context } from "../context.js";
import { actionFor } from "../core/choose.js";
import { clusterReport } from "../core/report.js";
import { readState } from "../io/store.js";
import { queryClusters, resolveProxies } from "./clusters.js";
import { installedAndActive, resolveTarget } from "./install.js";

/** Compares what is installed with what each proxy wants; changes nothing. Exit 3: something to do. */
export async function runStatus(ctx: Context): Promise<number> {
  const { report, layout, opts, host } = ctx;
  const state = await readState(layout);
  const proxies = await resolveProxies(ctx, state.proxies);
  const clusters = await queryClusters(ctx, proxies);
  const { installed, activeId, active } = await installedAndActive(ctx);
  const target = resolveTarget(ctx, clusters, active);
  report.paths = reportPaths(ctx);
  report.version = active?.version ?? null;
  report.previous = report.version;
  report.installed = installed.map((r) => r.version);
  report.clusters = clusters.map((c) => clusterReport(c, report.version));
  report.target = target.version;
  report.action = actionFor(active?.version ?? null, target.version, activeId === target.id);
  const pending = report.action !== "none";
  if (active) {
    const { findManagedOverride, describeOverride } = await import("../io/managed.js");
    const o = await findManagedOverride(ctx, active.version);
    if (o) {
      report.managed_override = { source: o.source, version: o.version, file: o.file, ...(o.profile ? { profile: o.profile } : {}) };
      const d = describeOverride(o, active.version);
      ctx.feedback.warn(`${d.detail}; ${d.fix}`);
    }
  }
  if (!opts.json && !opts.quiet) {
    const out = (s: string) => host.stdout.write(`${s}\n`);
    out(`active:  ${active ? `tsh ${active.version}${active.id !== active.version ? ` (${active.id})` : ""}` : "none"}`);
    for (const c of report.clusters) {
      out(`cluster: ${c.cluster || c.proxy} (${c.proxy}) runs ${c.server_version}, wants ${c.target}: ${c.compatible ? "compatible" : "NOT compatible"}`);
    }
    out(pending ? `action:  ${report.action} to ${target.version} (run tshup)` : "action:  none, up to date");
  }
  return pending ? 3 : 0;
}
