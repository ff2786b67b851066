import { reportPaths, type Context } from "../context.js";
import { actionFor } from "../core/choose.js";
import { changesTools, changesTsh, makePlan, pendingWork } from "../core/plan.js";
import { clusterReport } from "../core/report.js";
import { readLastRun } from "../io/store.js";
import { TshupError } from "../core/errors.js";
import type { VersionRecord } from "../io/store.js";
import { queryClusters, resolveProxies, type QueriedCluster } from "./clusters.js";
import { gatherLocalFacts, installedAndActive, servingVersion, type LocalFacts } from "./facts.js";
import { describeSettings } from "./settings.js";

/**
 * Compares what is installed with what each proxy wants; changes nothing. Exit 3: the install's
 * plan would change a tsh (install, switch, or an alias of --per-cluster). PATH and config are
 * doctor's to judge.
 */
export async function runStatus(ctx: Context): Promise<number> {
  const { report, layout, opts, host } = ctx;
  const proxies = await resolveProxies(ctx);
  const clusters = await queryClusters(ctx, proxies);
  let facts: LocalFacts;
  try {
    facts = await gatherLocalFacts(ctx, clusters, { quiet: true, effects: false });
  } catch (err) {
    // No version can be chosen (a `tshup use` pin outside a window, windows that do not overlap):
    // the error says why, and status still shows what runs now against each cluster.
    if (err instanceof TshupError && err.code === "incompatible") await reportActiveOnly(ctx, clusters);
    throw err;
  }
  const plan = makePlan(facts.plan);
  const { installed, activeId, active } = facts;
  const target = facts.groups[0]!.target;
  report.paths = reportPaths(ctx);
  report.version = active?.version ?? null;
  report.previous = report.version;
  report.installed = installed.map((r) => r.version);
  report.clusters = clusters.map((c) => clusterReport(c, servingVersion(facts, c)));
  report.target = target.version;
  report.action = actionFor(active?.version ?? null, target.version, activeId === target.id);
  const pending = changesTsh(plan) || changesTools(plan);
  if (!pending) report.action = "none";
  report.plan = { install: plan.install, activate: plan.activate, tools: plan.tools, aliases: plan.aliases };
  report.settings = facts.state.settings;
  const lastRun = await readLastRun(layout);
  report.last_run = lastRun;
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
    printActiveAndClusters(ctx, active);
    if (lastRun) out(`last run: ${lastRun.at} ${lastRun.command}: ${lastRun.ok ? `ok, tsh ${lastRun.version ?? "none"}${lastRun.changed ? " (changed)" : ""}` : `failed with exit ${lastRun.exit_code}: ${lastRun.error?.message ?? "interrupted"}`}`);
    const remembered = describeSettings(facts.state.settings);
    if (remembered.length) out(`remembered: ${remembered.join("; ")}`);
    for (const a of plan.aliases.link) out(`alias:   ${a.name} would run tsh ${a.version}`);
    for (const a of plan.aliases.remove) out(`alias:   ${a} would be removed`);
    for (const t of plan.tools.link) out(`tools:   ${t} would be put in bin`);
    for (const t of plan.tools.remove) out(`tools:   ${t} would be taken out of bin (no longer asked for)`);
    out(pending ? `action:  ${report.action === "none" ? pendingWork(plan) : `${report.action} to ${target.version}`} (run tshup)` : "action:  none, up to date");
  }
  return pending ? 3 : 0;
}

async function reportActiveOnly(ctx: Context, clusters: QueriedCluster[]): Promise<void> {
  const { report } = ctx;
  const { installed, active } = await installedAndActive(ctx);
  report.version = active?.version ?? null;
  report.previous = report.version;
  report.installed = installed.map((r) => r.version);
  report.clusters = clusters.map((c) => clusterReport(c, active?.version ?? null));
  if (!ctx.opts.json && !ctx.opts.quiet) printActiveAndClusters(ctx, active);
}

function printActiveAndClusters(ctx: Context, active: VersionRecord | null): void {
  const out = (s: string) => ctx.host.stdout.write(`${s}\n`);
  out(`active:  ${active ? `tsh ${active.version}${active.id !== active.version ? ` (${active.id})` : ""}` : "none"}`);
  for (const c of ctx.report.clusters) {
    const verdict = c.compatible === null ? "no tsh installed for it" : c.compatible ? "compatible" : "NOT compatible";
    out(`cluster: ${c.cluster || c.proxy} (${c.proxy}) runs ${c.server_version}, wants ${c.target}: ${verdict}`);
  }
}
