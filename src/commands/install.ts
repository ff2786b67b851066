import path from "node:path";
import fs from "node:fs";
import fsp from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { reportPaths, type Context } from "../context.js";
import { canPrompt, envGet, uniqueTag } from "../host.js";
import { artifactCandidates, versionId, type Tool } from "../core/artifact.js";
import { chooseVersion, type Choice } from "../core/choose.js";
import type { Edition } from "../core/ping.js";
import { addStep, clusterReport } from "../core/report.js";
import { TshupError, usageError, fsError, networkError, systemError, verificationError } from "../core/errors.js";
import { onAbort } from "../io/abort.js";
import { printable } from "../core/format.js";
import { acquireLock, lockTimeoutMs } from "../io/lock.js";
import { cleanWorkAreas, commitVersion, listInstalled, newStagingDir, pruneVersions, readState, writeState, type VersionRecord } from "../io/store.js";
import type { Extracted } from "../io/extract.js";
import { checkTshVersion } from "../io/spawn.js";
import { ensureWorkDir } from "../io/fsx.js";
import { claimRoot } from "../io/root.js";
import { queryClusters, resolveProxies, type QueriedCluster } from "./clusters.js";
import { printSummary } from "../ui/summary.js";
import { seedConfig } from "./config.js";

export const DEFAULT_CDN = "https://cdn.teleport.dev";

export interface Target {
  version: string;
  edition: Edition;
  fips: boolean;
  id: string;
  /** The first candidate; the one installed is the first the CDN has. */
  artifact: string;
  kind: "tar.gz" | "zip" | "pkg";
  /** Every artifact that carries this tsh, best first (macOS: per-arch tarball, universal, packages). */
  candidates: { name: string; kind: "tar.gz" | "zip" | "pkg" }[];
  choice: Choice;
}

/** The version, edition and artifact every cluster accepts, from the proxies' answers and the flags. */
export function resolveTarget(ctx: Context, clusters: QueriedCluster[], active: VersionRecord | null): Target {
  const { opts, host } = ctx;
  const match = ctx.site?.policy?.match ?? "exact";
  const choice = chooseVersion({ clusters, pin: opts.version, force: opts.force, match, active: active?.version ?? null });
  let edition: Edition = opts.edition === "auto" ? (clusters.some((c) => c.edition === "ent") ? "ent" : "community") : opts.edition;
  let fips = opts.edition !== "community" && clusters.some((c) => c.fips);
  if (host.platform === "win32") {
    // Teleport ships one Windows client; it serves enterprise clusters too.
    edition = "community";
    fips = false;
  }
  if (host.platform === "darwin" && fips) fips = false;
  let candidates;
  try {
    candidates = artifactCandidates({ version: choice.version, platform: host.platform, arch: host.arch, edition, fips });
  } catch (err) {
    throw usageError((err as Error).message, "tshup supports Linux (x64, arm64, arm, 386), macOS and Windows x64");
  }
  const first = candidates[0]!;
  return { version: choice.version, edition, fips, id: versionId(choice.version, edition, fips), artifact: first.name, kind: first.kind, candidates, choice };
}

/** --cdn-url, TELEPORT_CDN_BASE_URL, or the public CDN; a plain directory is a file:// mirror. */
export function cdnBase(ctx: Context): string {
  const raw = ctx.opts.cdnUrl ?? envGet(ctx.host, "TELEPORT_CDN_BASE_URL") ?? ctx.site?.cdn ?? DEFAULT_CDN;
  if (/^(https?|file):\/\//i.test(raw)) {
    const bad = (why: string) => usageError(`--cdn-url ${raw}: ${why}`, "e.g. --cdn-url https://mirror.example.org/teleport, or a local directory");
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw bad("not a valid URL");
    }
    if (u.protocol === "file:") {
      try {
        fileURLToPath(u);
      } catch (err) {
        throw bad((err as Error).message);
      }
    }
    return raw.replace(/\/+$/, "");
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) throw usageError(`--cdn-url ${raw}: only https://, http://, file:// or a directory`, "e.g. --cdn-url https://mirror.example.org/teleport");
  return pathToFileURL(path.resolve(raw)).href.replace(/\/+$/, "");
}

/**
 * What vouches for an artifact: a hash pinned in a trusted manifest, or its sidecar, which must
 * come over verified https or from a local mirror. A plain-http sidecar could be forged by anyone
 * on the path, so it needs --allow-http-mirror, and the report says so.
 */
export function hashSource(ctx: Context, artifactUrl: string, pinned: string | undefined): "pinned" | "sidecar" | "sidecar over plain http" {
  if (pinned) return "pinned";
  if (!/^http:/i.test(artifactUrl)) return "sidecar";
  if (!ctx.opts.allowHttpMirror) {
    throw verificationError(
      `refusing ${artifactUrl}.sha256: it comes over plain http, where anyone on the network path could replace the archive and its checksum together`,
      "use an https mirror or a local directory, pin the hash in an https or local manifest (policy.sha256), or pass --allow-http-mirror if you trust the network",
    );
  }
  ctx.feedback.warn(`trusting ${artifactUrl}.sha256 over plain http (--allow-http-mirror): the network path decides what tsh runs`);
  ctx.report.insecure_http_mirror = true;
  return "sidecar over plain http";
}

export function hasTools(record: VersionRecord, tools: readonly Tool[]): boolean {
  return tools.every((t) => Boolean(record.tools[t]));
}

export async function runInstall(ctx: Context): Promise<number> {
  const { opts, layout, platform, report, feedback, host } = ctx;
  const interactive = canPrompt(host, opts);
  const proxies = await proxiesOrAsk(ctx, interactive);
  await askMissingNames(ctx, interactive);
  if (opts.jitterSeconds > 0) {
    // Spreads a fleet's cron runs so they do not reach the proxy and the CDN in the same second.
    const delay = Math.floor(host.random() * opts.jitterSeconds * 1000);
    feedback.verbose(`waiting ${(delay / 1000).toFixed(1)} s (--jitter ${opts.jitterSeconds})`);
    await sleep(delay);
  }
  // A root tshup must not use is refused before anything else, network included.
  await stage(report, "root", () => claimRoot(layout, host, { write: false }));
  const clusters = await stage(report, "proxy", () => queryClusters(ctx, proxies));
  report.paths = reportPaths(ctx);

  const before = await installedAndActive(ctx);
  report.previous = before.active?.version ?? null;
  report.version = report.previous;
  const groups = planGroups(ctx, clusters, before.active);
  const base = cdnBase(ctx);

  if (opts.dryRun) return dryRun(ctx, clusters, groups, before);
  if (interactive) {
    const { confirmPlan } = await import("./plan.js");
    if (!(await confirmPlan(ctx, clusters, groups, before))) return 0;
  }

  // What can be checked before the first change is: a run that would fail half-way fails here.
  await stage(report, "preflight", () => preflight(ctx, clusters, groups));
  await stage(report, "root", () => claimRoot(layout, host));
  const lock = await stage(report, "lock", () =>
    acquireLock(layout.lockPath, {
      host,
      timeoutMs: lockTimeoutMs(host, 10 * 60 * 1000),
      onWait: (o) => feedback.info(`Waiting for another tshup (pid ${o.pid}) to finish with ${layout.root}`),
    }),
  );
  try {
    await cleanWorkAreas(layout);
    // Another run may have finished the job while we waited for the lock.
    const now = await installedAndActive(ctx);
    const records = new Map<Group, VersionRecord>();
    for (const g of groups) {
      let record = now.installed.find((r) => r.id === g.target.id && hasTools(r, opts.tools)) ?? null;
      if (record && !opts.force) {
        addStep(report, "download", "skipped", `tsh ${g.target.version} is already installed`);
      } else {
        record = await stage(report, "download", () => installVersion(ctx, g.target, base));
        now.installed.push(record);
      }
      records.set(g, record);
    }
    const primary = records.get(groups[0]!)!;
    const switching = now.activeId !== primary.id || opts.force;
    if (switching) {
      await stage(report, "activate", () => platform.activate(layout, primary));
      addStep(report, "activate", "done", `tsh ${primary.version} is now the active tsh${now.active ? ` (was ${now.active.version})` : ""}`);
    } else {
      addStep(report, "activate", "skipped", `tsh ${primary.version} is already active`);
    }
    report.version = primary.version;
    try {
      await finishInstall(ctx, { clusters, groups, records, proxies });
    } catch (err) {
      // A step after the switch failed: the tsh that worked before this run is the one left active.
      if (switching && now.active && now.active.id !== primary.id) {
        await platform.activate(layout, now.active).then(
          () => {
            addStep(report, "rollback", "done", `tsh ${now.active!.version} is active again`);
            report.version = now.active!.version;
          },
          (undo) => addStep(report, "rollback", "failed", printable(`could not make tsh ${now.active!.version} active again: ${(undo as Error).message}`, 300)),
        );
      }
      throw err;
    }
  } finally {
    await lock.release();
  }
  report.clusters = clusters.map((c) => clusterReport(c, groups.find((g) => g.clusters.includes(c))!.target.version));
  printSummary(ctx, clusters);
  return 0;
}

/** The steps after the switch: aliases, PATH, config, pruning and the remembered state. */
async function finishInstall(
  ctx: Context,
  run: { clusters: QueriedCluster[]; groups: Group[]; records: Map<Group, VersionRecord>; proxies: { addr: string }[] },
): Promise<void> {
  const { opts, layout, platform, report, feedback, host } = ctx;
  const { clusters, groups, records, proxies } = run;
  const state = await readState(layout);
  const aliases = groups.filter((g) => g.alias !== null);
  for (const g of aliases) {
    const changed = await platform.linkAlias(layout, g.alias!, records.get(g)!);
    addStep(report, "alias", changed ? "done" : "skipped", `${g.alias} runs tsh ${g.target.version} for ${g.clusters.map((c) => c.cluster || c.proxy).join(", ")}`);
  }
  for (const stale of state.aliases.filter((a) => !aliases.some((g) => g.alias === a))) {
    await platform.linkAlias(layout, stale, null);
    addStep(report, "alias", "done", `removed ${stale}`);
  }
  state.aliases = aliases.map((g) => g.alias!);
  report.per_cluster = groups.flatMap((g) =>
    g.clusters.map((c) => ({ proxy: c.proxy, cluster: c.cluster, version: g.target.version, tsh: path.join(layout.binDir, platform.binName((g.alias ?? "tsh") as Tool)) })),
  );

  if (opts.modifyPath) {
    const outcome = await stage(report, "path", () => platform.addToPath(layout, { dryRun: false }));
    state.createdFiles = [...new Set([...state.createdFiles, ...outcome.created])];
    addStep(report, "path", outcome.changed ? "done" : "skipped", outcome.changed ? `added ${layout.binDir} to PATH (${outcome.edits.filter((e) => e.action !== "unchanged").map((e) => e.file).join(", ")})` : `${layout.binDir} is already on PATH`);
    for (const n of outcome.notes) feedback.warn(n);
    report.path_files = outcome.edits;
    if (outcome.notes.length) report.notes = outcome.notes;
  } else {
    addStep(report, "path", "skipped", "--no-modify-path");
  }
  if (opts.seedConfig) {
    const config = await stage(report, "config", () => seedConfig(ctx, clusters, (c) => tshPathFor(ctx, groups, c), { dryRun: false }));
    state.createdFiles = [...new Set([...state.createdFiles, ...config.created])];
  } else {
    addStep(report, "config", "skipped", "--no-config");
  }

  // The install has succeeded by now: an old version that cannot go (Windows refuses while its
  // tsh.exe runs) is a warning and is tried again next time.
  try {
    const removed = await pruneVersions(layout, opts.keep, [...records.values()].map((r) => r.id), host);
    addStep(report, "prune", removed.length > 0 ? "done" : "skipped", removed.length > 0 ? `removed ${removed.join(", ")} (--keep ${opts.keep})` : `nothing beyond --keep ${opts.keep}`);
  } catch (err) {
    feedback.warn(`could not remove an old version: ${(err as Error).message}; tshup tries again next time`);
    addStep(report, "prune", "skipped", `could not remove an old version: ${(err as Error).message}`);
  }
  await cleanWorkAreas(layout).catch(() => {});

  state.proxies = proxies.map((p) => p.addr);
  await stage(report, "state", () => writeState(layout, state));
}

/** Runs one stage of an install; a failure is recorded under the stage's own name. */
async function stage<T>(report: Context["report"], name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!report.steps.some((s) => s.status === "failed")) addStep(report, name, "failed", printable((err as Error)?.message ?? String(err), 300));
    throw err;
  }
}

/**
 * The places an install will write, checked before anything changes: the root, the rc files it
 * edits, ~/.ssh and TELEPORT_HOME. A read-only ~/.ssh then fails the run with nothing done, rather
 * than after tsh was switched and PATH edited.
 */
async function preflight(ctx: Context, clusters: QueriedCluster[], groups: Group[]): Promise<void> {
  const { layout, platform, opts, host } = ctx;
  // Dry runs read every file the real steps will read (a FIFO, a device or a huge file fails here).
  await readState(layout);
  const dirs = [layout.root];
  const files: string[] = [];
  if (opts.modifyPath) files.push(...(await platform.addToPath(layout, { dryRun: true })).edits.filter((e) => e.action !== "unchanged").map((e) => e.file));
  if (opts.seedConfig) {
    const { sshPaths } = await import("../io/sshconfig.js");
    const ssh = sshPaths(host);
    files.push(ssh.config);
    dirs.push(ssh.tshupDir, ctx.teleportHome);
  }
  for (const d of dirs) await requireWritable(d, "directory");
  for (const f of files) await requireWritable(f, "file");
  if (opts.seedConfig) await seedConfig(ctx, clusters, (c) => tshPathFor(ctx, groups, c), { dryRun: true, quiet: true });
}

/** The path, or the nearest directory that exists above it, must be writable (and a directory where one is needed). */
async function requireWritable(target: string, kind: "file" | "directory"): Promise<void> {
  let p = target;
  for (;;) {
    const st = await fsp.stat(p).catch(() => null);
    if (st) {
      const dir = st.isDirectory() ? p : path.dirname(p);
      const hint = `move ${p} aside, or pass --no-config / --no-modify-path to leave that part alone`;
      if (!st.isDirectory() && p !== target) throw systemError(`cannot create ${target}: ${p} is a file, not a directory`, hint);
      if (p === target && st.isDirectory() !== (kind === "directory")) {
        throw systemError(`${p} is a ${st.isDirectory() ? "directory" : "file"}, not a ${kind}; tshup needs to write there`, hint);
      }
      try {
        await fsp.access(dir, fs.constants.W_OK);
        if (p === target && !st.isDirectory()) await fsp.access(p, fs.constants.W_OK);
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

/** Clusters that share one tsh. The first group's version is `tsh`; the others get `tsh-<cluster>`. */
export interface Group {
  target: Target;
  clusters: QueriedCluster[];
  alias: string | null;
}

/**
 * One tsh for every cluster when their windows overlap (SPEC section 8). With --per-cluster and
 * windows that do not overlap, one per cluster, side by side.
 */
export function planGroups(ctx: Context, clusters: QueriedCluster[], active: VersionRecord | null): Group[] {
  let groups: Group[];
  try {
    groups = [{ target: resolveTarget(ctx, clusters, active), clusters, alias: null }];
  } catch (err) {
    if (!(err instanceof TshupError) || err.code !== "incompatible" || !ctx.opts.perCluster || ctx.opts.version || clusters.length < 2) throw err;
    groups = [];
    for (const c of clusters) {
      const target = resolveTarget(ctx, [c], null);
      const same = groups.find((g) => g.target.id === target.id);
      if (same) same.clusters.push(c);
      else groups.push({ target, clusters: [c], alias: groups.length === 0 ? null : aliasFor(c) });
    }
  }
  for (const g of groups) {
    for (const name of g.target.choice.outside) ctx.feedback.warn(`tsh ${g.target.version} lies outside the window of ${name} (--force)`);
  }
  return groups;
}

function aliasFor(c: QueriedCluster): string {
  const name = (c.cluster || c.proxy.replace(/:\d+$/, "")).replace(/[^A-Za-z0-9._-]/g, "-");
  return `tsh-${name}`;
}

export function tshPathFor(ctx: Context, groups: Group[], c: QueriedCluster): string {
  const g = groups.find((x) => x.clusters.includes(c));
  return path.join(ctx.layout.binDir, ctx.platform.binName((g?.alias ?? "tsh") as Tool));
}

/** The proxies from flags, environment, manifest or profile; a person at a terminal is asked instead of failing. */
async function proxiesOrAsk(ctx: Context, interactive: boolean) {
  try {
    return await resolveProxies(ctx);
  } catch (err) {
    if (!(err instanceof TshupError) || err.code !== "usage" || !interactive || ctx.opts.proxies.length > 0) throw err;
    const { askProxy } = await import("../ui/wizard.js");
    ctx.opts.proxies = [await askProxy(ctx.host)];
    return resolveProxies(ctx);
  }
}

/**
 * The names ssh config needs: what the manifest's `ask` lists (and, without a manifest, the Teleport
 * user when config is seeded). A person is asked; a script gets exit 2 naming the flag.
 */
async function askMissingNames(ctx: Context, interactive: boolean): Promise<void> {
  const { opts, site } = ctx;
  if (!opts.seedConfig) return;
  const asks = site?.ask ?? (interactive ? ["user"] : []);
  const missing = (["user", "login"] as const).filter((k) => asks.includes(k) && !opts[k]);
  if (missing.length === 0) return;
  if (!interactive) {
    const flags = missing.map((k) => `--${k} NAME`).join(" and ");
    throw usageError(`the site manifest asks for the ${missing.map((k) => (k === "user" ? "Teleport user" : "SSH login")).join(" and ")}, and this run cannot ask`, `pass ${flags}, or --no-config to skip ssh config`);
  }
  const { askName } = await import("../ui/wizard.js");
  if (missing.includes("user")) opts.user = await askName(ctx.host, "Teleport user name (as you log in to Teleport)");
  if (missing.includes("login")) opts.login = await askName(ctx.host, "SSH login on the hosts (the Unix account)", opts.user ?? undefined);
}


export interface Installed {
  installed: VersionRecord[];
  activeId: string | null;
  active: VersionRecord | null;
}

export async function installedAndActive(ctx: Context): Promise<Installed> {
  const installed = await listInstalled(ctx.layout);
  const activeId = await ctx.platform.readActiveId(ctx.layout);
  return { installed, activeId, active: installed.find((r) => r.id === activeId) ?? null };
}

/**
 * Downloads, verifies, runs once and moves into versions/<id>: nothing is runnable before the hash
 * matched. Whatever fails, the staged files go at once (a signal too), and a full disk also drops
 * the partial download, so the disk is left as it was found.
 */
async function installVersion(ctx: Context, target: Target, base: string): Promise<VersionRecord> {
  const staged: string[] = [];
  const dropStaged = () => {
    for (const dir of staged) fs.rmSync(dir, { recursive: true, force: true });
  };
  const forget = onAbort(dropStaged);
  try {
    // Candidates in order; one the CDN does not have (404) gives way to the next.
    const missing: string[] = [];
    for (const [i, c] of target.candidates.entries()) {
      try {
        return await fetchAndStage(ctx, { ...target, artifact: c.name, kind: c.kind }, base, (dir) => staged.push(dir));
      } catch (err) {
        if (!(err as { notFound?: boolean }).notFound || i === target.candidates.length - 1) {
          if (missing.length > 0 && (err as { notFound?: boolean }).notFound) {
            throw networkError(`no artifact for tsh ${target.version} on ${base}: tried ${[...missing, c.name].join(", ")} (HTTP 404 each)`, "check the version, the edition and --cdn-url; a mirror must hold one of these");
          }
          throw err;
        }
        missing.push(c.name);
        ctx.feedback.verbose(`${base}/${c.name} is not there (HTTP 404); trying ${target.candidates[i + 1]!.name}`);
      }
    }
    throw new Error("no artifact candidates");
  } catch (err) {
    dropStaged();
    if ((err as { cause?: { code?: string } }).cause?.code === "ENOSPC" || (err as { code?: string }).code === "ENOSPC") {
      const { removePartial } = await import("../io/download.js");
      await removePartial(path.join(ctx.layout.downloadsDir, `${target.artifact}.partial`)).catch(() => {});
      const e = err as TshupError;
      throw systemError(`${e.message}`, `free some disk space where ${ctx.layout.root} is (a Teleport archive takes up to about 250 MB while it installs) and run tshup again`, err);
    }
    throw err;
  } finally {
    forget();
  }
}

async function fetchAndStage(ctx: Context, target: Target, base: string, onStaging: (dir: string) => void): Promise<VersionRecord> {
  const { layout, opts, report, feedback, host } = ctx;
  const url = `${base}/${target.artifact}`;
  // Loaded only when there is something to download, so a run with nothing to do starts faster.
  const { extractZip, streamingTarGzExtractor, MAX_MEMBER_BYTES } = await import("../io/extract.js");
  const { downloadVerified, fetchSidecar, removePartial } = await import("../io/download.js");
  // A site's pinned hash is checked instead of the CDN's sidecar (SPEC section 7).
  const pinned = ctx.site?.policy?.sha256?.[target.artifact];
  const vouchedBy = hashSource(ctx, url, pinned);
  const sha256 = pinned ?? (await fetchSidecar(ctx.http, url)).sha256;
  // The signature vouches for the digest the download must then match: checked first, no second pass.
  const { checkSignature } = await import("../io/signatures.js");
  const signature = await checkSignature(ctx, url, target.artifact, sha256);
  const artifacts = (report.artifacts ??= []) as { name: string; url: string; sha256: string; vouched_by: string[]; signature: string }[];
  artifacts.push({ name: target.artifact, url, sha256, vouched_by: [vouchedBy, ...(signature.key ? [`signature by key ${signature.key}`] : [])], signature: signature.status });
  await ensureWorkDir(layout.downloadsDir);
  const partialPath = path.join(layout.downloadsDir, `${target.artifact}.partial`);
  let staging = "";
  const bar = feedback.progress(`Downloading ${target.artifact}`);
  let extracted: Extracted;
  try {
    const { extractor } = await downloadVerified(ctx.http, {
      url,
      name: target.artifact,
      sha256,
      partialPath,
      retries: 4,
      now: host.now,
      onProgress: (p) => bar.update(p.received, p.total),
      newExtractor:
        target.kind === "tar.gz"
          ? async () => {
              staging = await newStagingDir(layout, target.id, uniqueTag(host));
              onStaging(staging);
              return streamingTarGzExtractor(staging, opts.tools, target.artifact);
            }
          : null,
    });
    bar.done();
    if (extractor) {
      extracted = await extractor.done;
    } else {
      staging = await newStagingDir(layout, target.id, uniqueTag(host));
      onStaging(staging);
      if (target.kind === "pkg") {
        const { extractPkg } = await import("../io/pkg.js");
        extracted = await extractPkg(partialPath, staging, opts.tools, target.artifact, MAX_MEMBER_BYTES);
      } else {
        extracted = await extractZip(partialPath, staging, opts.tools, target.artifact);
      }
    }
  } catch (err) {
    bar.done();
    throw err;
  }
  addStep(report, "download", "done", `${url} (sha256 ${sha256})`);

  for (const tool of opts.tools) {
    if (!extracted.tools[tool]) {
      throw verificationError(`${target.artifact} holds no ${tool}`, "the archive is not a Teleport release; check --cdn-url and the version");
    }
  }
  // Only now, with the whole archive verified, do the files become executable.
  for (const [rel, mode] of extracted.modes) {
    const file = path.join(staging, ...rel.split("/"));
    try {
      await fsp.chmod(file, mode | 0o400);
    } catch (err) {
      throw fsError(err, "set the mode of", file);
    }
  }
  addStep(report, "verify", "done", `sha256 matched ${target.artifact}`);
  await checkTshVersion(host, path.join(staging, ...extracted.tools.tsh!.split("/")), target.version, target.artifact);

  const record: VersionRecord = {
    id: target.id,
    version: target.version,
    edition: target.edition,
    fips: target.fips,
    tools: extracted.tools,
    artifact: target.artifact,
    sha256,
    installedAt: new Date(host.now()).toISOString(),
  };
  await commitVersion(layout, staging, record, host);
  await removePartial(partialPath);
  addStep(report, "install", "done", `tsh ${target.version} in ${path.join(layout.versionsDir, target.id)}`);
  return record;
}

async function dryRun(ctx: Context, clusters: QueriedCluster[], groups: Group[], before: Installed): Promise<number> {
  const { report } = ctx;
  const { describePlan } = await import("./plan.js");
  const plan = await describePlan(ctx, clusters, groups, before);
  for (const line of plan.lines) addStep(report, "plan", "skipped", line);
  report.dry_run = true;
  report.would_change = plan.wouldChange;
  report.clusters = clusters.map((c) => clusterReport(c, report.version));
  printSummary(ctx, clusters);
  return plan.wouldChange ? 3 : 0;
}
