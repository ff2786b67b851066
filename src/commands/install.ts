import path from "node:path";
import fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { reportPaths, type Context } from "../context.js";
import { canPrompt, whyNotAsked } from "../host.js";
import { addStep, clusterReport, dryRunExit } from "../core/report.js";
import { TshupError, usageError, fsError, systemError } from "../core/errors.js";
import { printable } from "../core/format.js";
import { makePlan, planChanges, type Plan } from "../core/plan.js";
import { acquireRunLock } from "../io/lock.js";
import { cleanWorkAreas, pruneVersions, rememberCreated, writeState, type VersionRecord } from "../io/store.js";
import { claimRoot } from "../io/root.js";
import { statOrNull } from "../io/fsx.js";
import { pathFor } from "../core/layout.js";
import { queryClusters, resolveProxies, type QueriedCluster } from "./clusters.js";
import { gatherLocalFacts, tshPathFor, type Group, type LocalFacts } from "./facts.js";
import { cdnBase, installVersion } from "./fetch.js";
import { planLines } from "./plan.js";
import { settingsAfter } from "./settings.js";
import type { ProxyAddress } from "../core/proxyaddr.js";
import { printSummary } from "../ui/summary.js";
import { seedConfig } from "./config.js";

export async function runInstall(ctx: Context): Promise<number> {
  const { opts, layout, report, feedback, host } = ctx;
  const interactive = canPrompt(host, opts);
  // A root tshup must not use is refused before anything else: before a question, and before the network.
  await stage(ctx, "root", () => claimRoot(layout, host, { write: false }));
  if (interactive) (await import("../ui/wizard.js")).showHeader(host, ctx.site?.name);
  const asked = await proxiesOrAsk(ctx, interactive);
  let proxies = asked.proxies;
  await askMissingNames(ctx, interactive);
  if (opts.jitterSeconds > 0) {
    // Spreads a fleet's cron runs so they do not reach the proxy and the CDN in the same second.
    const delay = Math.floor(host.random() * opts.jitterSeconds * 1000);
    feedback.verbose(`waiting ${(delay / 1000).toFixed(1)} s (--jitter ${opts.jitterSeconds})`);
    await sleep(delay);
  }
  let clusters = asked.clusters ?? (await stage(ctx, "proxy", () => queryClusters(ctx, proxies)));
  report.paths = reportPaths(ctx);

  // options -> facts -> plan: decided once, then shown, confirmed or carried out as it is.
  await stage(ctx, "preflight", () => preflight(ctx, null));
  let facts = await stage(ctx, "preflight", () => gatherLocalFacts(ctx, clusters, { quiet: !opts.dryRun }));
  let plan = makePlan(facts.plan);
  report.previous = facts.active?.version ?? null;
  report.version = report.previous;
  if (opts.dryRun) return showDryRun(ctx, clusters, plan);
  if (interactive) {
    const { confirmPlan } = await import("./plan.js");
    const confirmed = await confirmPlan(ctx, plan, proxies.map((p) => p.addr), async () => {
      // Customize may have changed the proxy: ask the new one before planning again.
      const now = await resolveProxies(ctx);
      if (now.map((p) => p.addr).join() !== proxies.map((p) => p.addr).join()) {
        proxies = now;
        clusters = await stage(ctx, "proxy", () => queryClusters(ctx, proxies));
      }
      facts = await gatherLocalFacts(ctx, clusters, { quiet: true });
      return (plan = makePlan(facts.plan));
    });
    if (!confirmed) return 0;
  }

  if (!planChanges(plan) && facts.settled) {
    // Already current (the timer's usual run): nothing is written, so no lock is needed either.
    for (const w of facts.configWarnings) feedback.warn(w);
    for (const line of planLines(ctx, plan)) addStep(report, "plan", "skipped", line);
    report.version = facts.active?.version ?? null;
    return finish(ctx, clusters, facts.groups, plan, interactive);
  }
  // What can be checked before the first change is: a run that would fail half-way fails here.
  await stage(ctx, "preflight", () => preflight(ctx, plan));
  await stage(ctx, "root", () => claimRoot(layout, host));
  if (plan.adopt) addStep(report, "root", "done", `${layout.root} is marked as tshup's (an earlier release made it)`);
  const lock = await stage(ctx, "lock", () => acquireRunLock(layout.lockPath, host, layout.root, feedback.info));
  try {
    await cleanWorkAreas(layout);
    // Another run may have changed the root between planning and the lock (it held the lock, or
    // finished just before): plan again from what is there now, so a stale plan is never carried out.
    facts = await gatherLocalFacts(ctx, clusters, { quiet: true });
    plan = makePlan(facts.plan);
    await executePlan(ctx, { clusters, proxies, facts, plan });
  } finally {
    await lock.release();
  }
  return finish(ctx, clusters, facts.groups, plan, interactive);
}

/** The end of a run that did its job: which tsh serves each cluster, the summary, and (at a terminal) the offer to install tshup itself. */
async function finish(ctx: Context, clusters: QueriedCluster[], groups: Group[], plan: Plan, interactive: boolean): Promise<number> {
  const { report } = ctx;
  report.clusters = clusters.map((c) => clusterReport(c, groups.find((g) => g.clusters.includes(c))!.target.version));
  report.per_cluster = groups.flatMap((g) => g.clusters.map((c) => ({ proxy: c.proxy, cluster: c.cluster, version: g.target.version, tsh: tshPathFor(ctx, groups, c) })));
  await printSummary(ctx, clusters, plan);
  if (interactive) await (await import("./self.js")).offerSelfInstall(ctx);
  return 0;
}

/**
 * Carries out the plan step by step into the report: install what it lists, switch, aliases,
 * PATH, config, prune, remember. A step failing after the switch puts the previous tsh back.
 */
async function executePlan(ctx: Context, run: { clusters: QueriedCluster[]; proxies: { addr: string }[]; facts: LocalFacts; plan: Plan }): Promise<void> {
  const { layout, platform, report } = ctx;
  const { facts, plan } = run;
  const base = cdnBase(ctx);
  const records = new Map<string, VersionRecord>(facts.installed.map((r) => [r.id, r]));
  for (const g of facts.groups) {
    if (plan.install.some((p) => p.id === g.target.id)) {
      records.set(g.target.id, await stage(ctx, "download", () => installVersion(ctx, g.target, base)));
    } else {
      addStep(report, "download", "skipped", `tsh ${g.target.version} is already installed`);
    }
  }
  const active = facts.active;
  if (plan.activate) {
    await stage(ctx, "activate", () => platform.activate(layout, records.get(plan.activate!.id)!, ctx.opts.tools));
    addStep(report, "activate", "done", `tsh ${plan.activate.version} is now the active tsh${active ? ` (was ${active.version})` : ""}`);
  } else {
    addStep(report, "activate", "skipped", `tsh ${facts.groups[0]!.target.version} is already active`);
    // Without a switch, a widened or narrowed --tools changes only those tools' entries.
    const record = records.get(facts.groups[0]!.target.id)!;
    await stage(ctx, "tools", async () => {
      for (const t of plan.tools.link) await platform.setTool(layout, t, record);
      for (const t of plan.tools.remove) await platform.setTool(layout, t, null);
    });
  }
  for (const t of plan.tools.link) addStep(report, "tools", "done", `${t} is in ${layout.binDir}`);
  for (const t of plan.tools.remove) addStep(report, "tools", "done", `removed ${t} from ${layout.binDir} (no longer asked for)`);
  report.version = facts.groups[0]!.target.version;
  try {
    await finishInstall(ctx, { ...run, records });
  } catch (err) {
    // A step after the switch failed: the tsh that worked before this run is the one left active.
    if (plan.activate && active && active.id !== plan.activate.id) {
      await platform.activate(layout, active, facts.plan.tools.linked).then(
        () => {
          addStep(report, "rollback", "done", `tsh ${active.version} is active again`);
          report.version = active.version;
        },
        (undo) => addStep(report, "rollback", "failed", printable(`could not make tsh ${active.version} active again: ${(undo as Error).message}`, 300)),
      );
    }
    throw err;
  }
}

/** The steps after the switch: aliases, PATH, config, pruning and the remembered state. */
async function finishInstall(
  ctx: Context,
  run: { clusters: QueriedCluster[]; proxies: { addr: string }[]; facts: LocalFacts; plan: Plan; records: Map<string, VersionRecord> },
): Promise<void> {
  const { opts, layout, platform, report, feedback, host } = ctx;
  const { clusters, facts, plan, records, proxies } = run;
  const state = facts.state;
  const groups = facts.groups;
  for (const a of plan.aliases.link) {
    await platform.linkAlias(layout, a.name, records.get(a.id)!);
    const g = groups.find((x) => x.alias === a.name)!;
    addStep(report, "alias", "done", `${a.name} runs tsh ${a.version} for ${g.clusters.map((c) => c.cluster || c.proxy).join(", ")}`);
  }
  for (const stale of plan.aliases.remove) {
    await platform.linkAlias(layout, stale, null);
    addStep(report, "alias", "done", `removed ${stale}`);
  }
  state.aliases = groups.flatMap((g) => (g.alias ? [g.alias] : []));

  if (plan.path !== null) {
    const outcome = await stage(ctx, "path", () => platform.addToPath(layout, { dryRun: false }));
    rememberCreated(state, outcome.created);
    addStep(report, "path", outcome.changed ? "done" : "skipped", outcome.changed ? `added ${layout.binDir} to PATH (${outcome.edits.filter((e) => e.action !== "unchanged").map((e) => e.file).join(", ")})` : `${layout.binDir} is already on PATH`);
    for (const n of outcome.notes) feedback.warn(n);
    report.path_files = outcome.edits;
    if (outcome.notes.length) report.notes = outcome.notes;
  } else {
    addStep(report, "path", "skipped", "--no-modify-path");
  }
  if (plan.config !== null) {
    const config = await stage(ctx, "config", () => seedConfig(ctx, clusters, (c) => tshPathFor(ctx, groups, c), { dryRun: false }));
    rememberCreated(state, config.created);
  } else {
    addStep(report, "config", "skipped", "--no-config");
  }

  // The install has succeeded by now: an old version that cannot go (Windows refuses while its
  // tsh.exe runs) is a warning and is tried again next time.
  try {
    const removed = await pruneVersions(layout, plan.prune, host);
    addStep(report, "prune", removed.length > 0 ? "done" : "skipped", removed.length > 0 ? `removed ${removed.join(", ")} (--keep ${opts.keep})` : `nothing beyond --keep ${opts.keep}`);
  } catch (err) {
    feedback.warn(`could not remove an old version: ${(err as Error).message}; tshup tries again next time`);
    addStep(report, "prune", "skipped", `could not remove an old version: ${(err as Error).message}`);
  }
  await cleanWorkAreas(layout).catch(() => {});

  state.proxies = proxies.map((p) => p.addr);
  state.settings = settingsAfter(opts, state.settings);
  await stage(ctx, "state", () => writeState(layout, state));
  if (plan.settings.length > 0) addStep(report, "remember", "done", plan.settings.join("; "));
}

/** Runs one stage of an install; a failure is recorded under the stage's own name, and --verbose says how long each took. */
async function stage<T>(ctx: Context, name: string, run: () => Promise<T>): Promise<T> {
  const { report, host, feedback } = ctx;
  const started = host.now();
  try {
    const out = await run();
    feedback.verbose(`step ${name}: ${host.now() - started} ms`);
    return out;
  } catch (err) {
    feedback.verbose(`step ${name}: failed after ${host.now() - started} ms`);
    if (!report.steps.some((s) => s.status === "failed")) addStep(report, name, "failed", printable((err as Error)?.message ?? String(err), 300));
    throw err;
  }
}

/**
 * The places an install will write, checked before anything changes: the root, ~/.ssh/tshup and
 * TELEPORT_HOME (before the plan, whose dry runs read inside them), then the rc files and ssh
 * config the plan edits. A read-only ~/.ssh then fails the run with nothing done, rather than after
 * tsh was switched and PATH edited. (The files themselves were read by the plan's dry runs.)
 */
async function preflight(ctx: Context, plan: Plan | null): Promise<void> {
  const { layout, host, opts } = ctx;
  const { sshPaths } = await import("../io/sshconfig.js");
  const ssh = sshPaths(host);
  if (plan === null) {
    for (const d of [layout.root, ...(opts.seedConfig ? [ssh.tshupDir, ctx.teleportHome] : [])]) await requireWritable(d, "directory");
    return;
  }
  // Registry values (HKCU\Environment\Path) are edits too, but not files to check.
  const files = (plan.path ?? []).map((e) => e.file).filter((f) => pathFor(host).isAbsolute(f));
  if (plan.config !== null) files.push(ssh.config);
  for (const f of files) await requireWritable(f, "file");
}

/** The path, or the nearest directory that exists above it, must be writable (and a directory where one is needed). */
async function requireWritable(target: string, kind: "file" | "directory"): Promise<void> {
  let p = target;
  for (;;) {
    const st = statOrNull(p);
    if (st) {
      const dir = st.isDirectory() ? p : path.dirname(p);
      const hint = `move ${p} aside, or pass --no-config / --no-modify-path to leave that part alone`;
      if (!st.isDirectory() && p !== target) throw systemError(`cannot create ${target}: ${p} is a file, not a directory`, hint);
      if (p === target && st.isDirectory() !== (kind === "directory")) {
        throw systemError(`${p} is a ${st.isDirectory() ? "directory" : "file"}, not a ${kind}; tshup needs to write there`, hint);
      }
      try {
        fs.accessSync(dir, fs.constants.W_OK);
        if (p === target && !st.isDirectory()) fs.accessSync(p, fs.constants.W_OK);
      } catch (err) {
        throw fsError(err, "write to", p === target && !st.isDirectory() ? p : dir);
      }
      return;
    }
    const parent = path.dirname(p);
    if (parent === p) return;
    p = parent;
  }
}

/** How often the wizard asks for a proxy that cannot be reached before it gives up. */
const PROXY_ATTEMPTS = 3;

/**
 * The proxies from flags, environment, manifest or profile. A person at a terminal is asked instead
 * of failing, and the answer is tried at once: a proxy that cannot be reached or does not answer
 * like one (a typo, a VPN not up yet) is said and asked again, with the answer kept to edit.
 */
async function proxiesOrAsk(ctx: Context, interactive: boolean): Promise<{ proxies: ProxyAddress[]; clusters?: QueriedCluster[] }> {
  try {
    return { proxies: await resolveProxies(ctx) };
  } catch (err) {
    if (!(err instanceof TshupError) || err.code !== "usage" || ctx.opts.proxies.length > 0) throw err;
    if (!interactive) throw withWhyNotAsked(ctx, err);
  }
  const { askProxy, tellProblem } = await import("../ui/wizard.js");
  let answer: string | undefined;
  for (let attempt = 1; ; attempt++) {
    answer = await askProxy(ctx.host, answer);
    ctx.opts.proxies = [answer];
    const proxies = await resolveProxies(ctx);
    try {
      return { proxies, clusters: await queryClusters(ctx, proxies) };
    } catch (err) {
      if (!(err instanceof TshupError) || err.code !== "network" || attempt >= PROXY_ATTEMPTS) throw err;
      const left = PROXY_ATTEMPTS - attempt;
      tellProblem(ctx.host, err, `Check the address and try again (${left} more ${left === 1 ? "try" : "tries"}), or press Ctrl-C to stop.`);
    }
  }
}

/** A question tshup could not ask, its hint saying why when a person at a terminal could not tell. */
function withWhyNotAsked(ctx: Context, err: TshupError): TshupError {
  const why = whyNotAsked(ctx.host, ctx.opts);
  return why ? usageError(err.message, `${err.hint}. ${why}`) : err;
}

/**
 * The names ssh config needs: what the manifest's `ask` lists (and, without a manifest, the Teleport
 * user when config is seeded). A person is asked. An unattended run (a fleet's timer on a machine
 * nobody has logged in to yet) still installs tsh: the user comes from tsh's profile once the person
 * has logged in, and until then the ssh config waits, with a warning that says so.
 */
async function askMissingNames(ctx: Context, interactive: boolean): Promise<void> {
  const { opts, site } = ctx;
  if (!opts.seedConfig) return;
  const asks = site?.ask ?? (interactive ? ["user"] : []);
  const missing = (["user", "login"] as const).filter((k) => asks.includes(k) && !opts[k]);
  if (missing.length === 0) return;
  if (!interactive) {
    if (missing.includes("login")) ctx.feedback.warn("no SSH login given and this run cannot ask, so ssh logs in to the hosts with your local account name; pass --login NAME to set one");
    return;
  }
  const { askName } = await import("../ui/wizard.js");
  // An answer counts as the person's choice, remembered like a flag (commands/settings.ts).
  if (missing.includes("user")) opts.user = await askName(ctx.host, "Teleport user name (as you log in to Teleport)");
  if (missing.includes("login")) opts.login = await askName(ctx.host, "SSH login on the hosts (the Unix account)", opts.user ?? undefined);
  for (const k of missing) opts.explicit.add(k);
}

async function showDryRun(ctx: Context, clusters: QueriedCluster[], plan: Plan): Promise<number> {
  const { report } = ctx;
  for (const line of planLines(ctx, plan)) addStep(report, "plan", "skipped", line);
  report.plan = plan;
  report.clusters = clusters.map((c) => clusterReport(c, report.version));
  const code = dryRunExit(report, planChanges(plan));
  await printSummary(ctx, clusters, plan);
  return code;
}
