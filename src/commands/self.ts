import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { reportPaths, type Context } from "../context.js";
import { uniqueTag } from "../host.js";
import { COMMIT, VERSION } from "../build-info.js";
import { addStep, dryRunExit, newReport } from "../core/report.js";
import { ROOT_MARKER } from "../core/layout.js";
import { printable } from "../core/format.js";
import { TshupError, fsError, networkError, usageError, verificationError } from "../core/errors.js";
import { compareVersions } from "../core/version.js";
import { isSelfWorkName, parseSha256Sums, selfFileName, selfInstallPath, selfWorkFiles, showSelfVersion, type SelfVersion } from "../core/self.js";
import { acquireRunLock } from "../io/lock.js";
import { atomicWriteFile, exists, hashFile, lstatOrNull, missingDirs, mkdirp, readFileIfExists, removeMadeDirs, renameWithRetry, replaceExe, type ReplaceOptions } from "../io/fsx.js";
import { MAX_EXECUTABLE_BYTES, inspectExecutable, removeStaleSelfFiles } from "../io/self.js";
import { readSelfVersion } from "../io/spawn.js";
import { claimRoot } from "../io/root.js";
import { readState, rememberCreated, writeState } from "../io/store.js";
import { downloadVerified, removePartial } from "../io/download.js";

/** `tshup self install` and `tshup self update`: tshup's own executable, kept in one stable place. */
export async function runSelf(ctx: Context): Promise<number> {
  return ctx.opts.command === "self install" ? selfInstall(ctx) : selfUpdate(ctx);
}

const RUNNING: SelfVersion = { version: VERSION, commit: COMMIT };

/**
 * Copies the running executable to selfInstallPath (atomically, mode 0755) and puts its directory
 * on PATH. A file there that is not tshup's is left alone unless --force.
 */
/**
 * The first run of a downloaded tshup, at a terminal: with no copy at the stable place yet, offer
 * to put one there, so the next run (and a timer) finds tshup without the download's path. The
 * copy is reported apart from the install that ran.
 */
export async function offerSelfInstall(ctx: Context): Promise<void> {
  const { host } = ctx;
  const dest = selfInstallPath(host);
  if (host.selfExecutable === null || (await sameFile(host.selfExecutable, dest)) || (await inspectExecutable(dest)).kind !== "absent") return;
  const { askYesNo } = await import("../ui/wizard.js");
  if (!(await askYesNo(host, `Also put tshup itself at ${show(ctx, dest)}, on PATH, so it can keep tsh current?`, true))) return;
  await selfInstall({ ...ctx, report: newReport("self install") });
}

async function selfInstall(ctx: Context): Promise<number> {
  const { host, opts, report, layout, platform } = ctx;
  const source = host.selfExecutable;
  const dest = selfInstallPath(host);
  report.paths = reportPaths(ctx);
  report.version = RUNNING.version;
  if (source === null) {
    const file = selfFileName(host.platform, host.arch) ?? "tshup-<os>-<arch>";
    throw usageError(
      "self install copies the running tshup executable, but this tshup runs as a script under Node (node dist/tshup.cjs), so there is no executable to copy",
      `download ${file} (see "Getting tshup" in the README), then run it: ./${file} self install`,
    );
  }
  const here = await inspectExecutable(dest);
  if (here.kind === "foreign" && !opts.force) {
    throw usageError(`${dest} is ${here.what}; self install replaces only a tshup executable there`, `move ${dest} aside and run it again, or pass --force to replace it`);
  }
  const samePlace = await sameFile(source, dest);
  // Another tshup build there is known by its marker, never by running it: whatever stands at that
  // path may be anyone's program carrying the marker's bytes.
  const previous = samePlace ? RUNNING : null;
  report.previous = previous?.version ?? null;
  report.self = { path: dest, source, version: showSelfVersion(RUNNING), previous: previous ? showSelfVersion(previous) : null };
  const identical = here.kind === "tshup" && (samePlace || (await hashFile(dest)) === (await hashFile(source)));
  const copy = !samePlace && (!identical || opts.force);

  // The PATH entry goes through the root's env script (Windows: the user Path), as tsh's does.
  if (opts.modifyPath) await claimRoot(layout, host, { write: false });
  const pathPlan = opts.modifyPath ? await platform.addToPath(layout, { dryRun: true, withSelf: true }) : null;
  if (opts.dryRun) {
    if (copy) addStep(report, "plan", "skipped", `copy ${source} to ${dest} (tshup ${showSelfVersion(RUNNING)}${previous ? `, replacing ${showSelfVersion(previous)}` : ""})`);
    // A POSIX plan says "created", a Windows one "would be created".
    const edits = (pathPlan?.edits ?? []).filter((x) => x.action !== "unchanged").map((e) => ({ ...e, action: e.action.replace(/^would be /, "") }));
    const remembered = edits.length > 0 ? (await readState(layout)).createdFiles : [];
    // What the real run writes in the root around the PATH edits: its marker first, state.json last.
    const marker = path.join(layout.root, ROOT_MARKER);
    if (opts.modifyPath && lstatOrNull(marker) === null) addStep(report, "plan", "skipped", `created: ${marker}`);
    for (const e of edits) addStep(report, "plan", "skipped", `${e.action}: ${e.file}`);
    const created = edits.filter((e) => e.action === "created").map((e) => e.file);
    if (created.length > 0 && !created.every((f) => remembered.includes(f))) {
      addStep(report, "plan", "skipped", `${lstatOrNull(layout.statePath) ? "updated" : "created"}: ${layout.statePath}`);
    }
    return dryRunResult(ctx, report.steps.length > 0);
  }

  // A failure part-way takes back what this run made, newest first, and nothing that was there
  // before: the file it replaced comes back byte for byte. The lock beside the copy is held until
  // then, so no other run sees the copy come and go.
  const undo: Undo = [];
  const madeDirs = missingDirs(path.dirname(dest));
  try {
    await withSelfLock(ctx, dest, async () => {
      let kept: string | null = null;
      try {
        if (!copy) {
          addStep(report, "copy", "skipped", samePlace ? `tshup already runs from ${dest}` : `${dest} already is this tshup (${showSelfVersion(RUNNING)})`);
        } else {
          kept = await keepPrevious(ctx, dest);
          await replaceExe(source, dest, besideAside(ctx, dest));
          undo.push(async () => (kept ? renameWithRetry(kept, dest) : fsp.rm(dest, { force: true })));
          addStep(report, "copy", "done", `${source} -> ${dest}${previous ? ` (was ${showSelfVersion(previous)})` : ""}`);
        }
        await putSelfOnPath(ctx, path.dirname(dest), undo);
      } catch (err) {
        await rollBack(ctx, undo);
        throw err;
      }
      if (kept) await fsp.rm(kept, { force: true }).catch(() => {});
    });
  } catch (err) {
    // Once the lock beside it is gone: a directory this run made holds nothing now.
    removeMadeDirs(madeDirs);
    throw err;
  }
  const fresh = report.steps.some((s) => s.step === "path" && s.status === "done");
  printOutcome(ctx, `tshup ${showSelfVersion(RUNNING)} is at ${show(ctx, dest)}${fresh ? "; open a new terminal to run it as tshup" : ""}`);
  return 0;
}

/**
 * Replaces the stable copy (without one, the running executable) with the build the site publishes
 * at self_update.base_url: its hash from SHA256SUMS over verified https, the download checked
 * against it before it may run, then run once (`--version`) and renamed into place. The same
 * version is nothing to do; an older one needs --force.
 */
async function selfUpdate(ctx: Context): Promise<number> {
  const { host, opts, report, site } = ctx;
  const base = site?.self_update?.base_url;
  if (!base) {
    throw usageError(
      "self update needs to know where this site publishes tshup, and no manifest names it (self_update.base_url)",
      "pass --manifest FILE|URL with self_update: {base_url: https://...} (manifests/example.yaml shows it), or use a tshup built with one: npm run dist -- --manifest FILE",
    );
  }
  const name = selfFileName(host.platform, host.arch);
  if (!name) throw usageError(`no tshup build is made for ${host.platform}-${host.arch}`, "tshup is built for linux-x64, linux-arm64, darwin-x64, darwin-arm64 and win-x64");
  const target = await updateTarget(ctx);
  const running = host.selfExecutable !== null && (await sameFile(target, host.selfExecutable));
  // Only the running executable's version is known; another copy is not run to learn its own (it
  // may be anyone's program carrying the marker), so it is replaced whenever its bytes differ.
  const current = running ? RUNNING : null;
  const url = `${base}/${name}`;
  report.previous = current?.version ?? null;
  report.version = report.previous;
  report.self = { path: target, url, previous: current ? showSelfVersion(current) : null, version: current ? showSelfVersion(current) : null };

  const sha256 = (await fetchSha256Sums(ctx, base)).get(name);
  if (!sha256) {
    throw networkError(`${base}/SHA256SUMS lists no ${name}, the build for this machine`, `ask whoever runs ${base} to publish every file npm run dist writes, SHA256SUMS with them`);
  }
  if (sha256 === "conflict") {
    throw verificationError(`${base}/SHA256SUMS lists ${name} twice with different hashes; nothing was downloaded`, `tell whoever runs ${base}: SHA256SUMS must give one hash for each file`);
  }
  report.self = { ...(report.self as object), sha256 };
  if (!opts.force && (await hashFile(target)) === sha256) {
    addStep(report, "check", "skipped", `${target} already is the build ${base} publishes (sha256 ${sha256})`);
    printOutcome(ctx, `${show(ctx, target)} is up to date`);
    return 0;
  }
  if (opts.dryRun) {
    addStep(report, "plan", "skipped", `download ${url} (sha256 ${sha256}) and, if it is another version, replace ${target}${current ? ` (tshup ${showSelfVersion(current)})` : ""}`);
    return dryRunResult(ctx, true);
  }
  await withSelfLock(ctx, target, async () => {
    const partial = selfWorkFiles(target, host).partial;
    // Whatever happens, nothing downloaded stays beside the copy (a refused redirect leaves an
    // empty one): the directory is the user's ~/.local/bin, not a cache.
    try {
      await downloadBuild(ctx, { url, name, sha256, partial });
      await replaceWithBuild(ctx, { target, partial, url, current });
    } finally {
      await removePartial(partial);
    }
  });
  printOutcome(ctx, `${show(ctx, target)}: tshup ${report.version ?? "(version unknown)"}`);
  return 0;
}

/** What self update replaces: the stable copy when it is tshup's, else the executable that runs. */
async function updateTarget(ctx: Context): Promise<string> {
  const stable = selfInstallPath(ctx.host);
  if ((await inspectExecutable(stable)).kind === "tshup") return stable;
  if (ctx.host.selfExecutable) return ctx.host.selfExecutable;
  const file = selfFileName(ctx.host.platform, ctx.host.arch) ?? "tshup-<os>-<arch>";
  throw usageError(`there is no tshup executable to update: ${stable} holds none, and this tshup runs as a script under Node`, `install one first: download ${file} and run ./${file} self install`);
}

async function fetchSha256Sums(ctx: Context, base: string): Promise<Map<string, string>> {
  const url = `${base}/SHA256SUMS`;
  const res = await ctx.http.get(url, { maxBytes: 64 * 1024 });
  if (res.status === 404) {
    throw networkError(`no SHA256SUMS at ${url} (HTTP 404)`, "check self_update.base_url: it must name the directory where the output of npm run dist was published");
  }
  if (res.status !== 200) throw networkError(`${url} answered HTTP ${res.status}`, `try again later, or check self_update.base_url (${base})`);
  return parseSha256Sums(res.body.toString("utf8"));
}

/** Streams the build into its .partial file beside the target, hashed on the way: nothing runs before it matched. */
async function downloadBuild(ctx: Context, job: { url: string; name: string; sha256: string; partial: string }): Promise<void> {
  const { host, feedback, report } = ctx;
  const bar = feedback.progress(`Downloading ${job.name}`);
  try {
    await downloadVerified(ctx.http, {
      url: job.url,
      name: job.name,
      sha256: job.sha256,
      partialPath: job.partial,
      vouchedBy: `SHA256SUMS beside ${job.url}`,
      log: feedback.verbose,
      newExtractor: null,
      now: host.now,
      maxBytes: MAX_EXECUTABLE_BYTES,
      onProgress: (p) => bar.update(p.received, p.total),
      cutHint: "run tshup self update again; it downloads the build anew",
    });
  } catch (err) {
    if (err instanceof TshupError && err.notFound) {
      throw networkError(`${job.url} is not there (HTTP 404), though SHA256SUMS beside it lists it`, `ask whoever runs ${path.posix.dirname(job.url)} to publish ${job.name} with SHA256SUMS`);
    }
    throw err;
  } finally {
    bar.done();
  }
  addStep(report, "download", "done", `${job.url} (sha256 ${job.sha256})`);
}

/** The verified download, run once, replaces the target unless it is the same version (or, without --force, an older one). */
async function replaceWithBuild(ctx: Context, run: { target: string; partial: string; url: string; current: SelfVersion | null }): Promise<void> {
  const { host, opts, report, feedback } = ctx;
  const { target, partial, url, current } = run;
  try {
    await fsp.chmod(partial, 0o755);
  } catch (err) {
    throw fsError(err, "set the mode of", partial);
  }
  // The hash only says it is what the site published; the marker says the site published a tshup.
  if ((await inspectExecutable(partial)).kind !== "tshup") {
    throw verificationError(`${url} matches SHA256SUMS but is not a tshup build (it lacks the mark every build carries); nothing was replaced`, `tell whoever publishes ${url}: it must be a file npm run dist wrote`);
  }
  // As long as a small answer from the network may take (twice --timeout): a build that starts
  // slowly on a busy machine gets the same patience, and a test need not wait a minute.
  const next = await readSelfVersion(host, partial, `nothing was replaced; the build at ${url} is not a tshup for this machine: tell whoever publishes it`, 2 * opts.timeoutSeconds * 1000);
  addStep(report, "verify", "done", `sha256 matched and it runs: tshup ${showSelfVersion(next)}`);
  const was = current ? showSelfVersion(current) : "an unknown version";
  const keep = (why: string) => {
    addStep(report, "replace", "skipped", why);
    // Downloaded and checked, and then thrown away: the machine is as it was.
    report.changed = false;
  };
  if (!opts.force && current && showSelfVersion(current) === showSelfVersion(next)) return keep(`${target} already is tshup ${was}`);
  if (!opts.force && current && compareVersions(next.version, current.version) < 0) {
    feedback.warn(`${url} is tshup ${showSelfVersion(next)}, older than ${was}; kept ${target} (pass --force to go back to it)`);
    return keep(`tshup ${showSelfVersion(next)} is older than ${was}`);
  }
  await replaceExe(partial, target, besideAside(ctx, target));
  addStep(report, "replace", "done", `${target}: tshup ${was} -> ${showSelfVersion(next)}`);
  report.version = next.version;
  report.self = { ...(report.self as object), version: showSelfVersion(next) };
}

/** What a failed self install runs, last first, to take back what it made. */
type Undo = (() => Promise<unknown>)[];

async function rollBack(ctx: Context, undo: Undo): Promise<void> {
  if (undo.length === 0) return;
  let failed = false;
  for (const step of undo.reverse()) {
    await step().catch((err) => {
      failed = true;
      addStep(ctx.report, "rollback", "failed", printable(`could not take back a change of this run: ${(err as Error).message}`, 300));
    });
  }
  undo.length = 0;
  if (!failed) addStep(ctx.report, "rollback", "done", "took back what this run had changed");
}

/**
 * A second name for the file at `dest` (a hard link: the same bytes and mode, no copy), so that a
 * failure after it is replaced can put it back; null when nothing is there. A work-file name: a
 * run that is killed meanwhile leaves it for the next run to clear.
 */
async function keepPrevious(ctx: Context, dest: string): Promise<string | null> {
  const st = lstatOrNull(dest);
  if (!st || st.isDirectory()) return null;
  const kept = `${selfWorkFiles(dest, ctx.host).asidePrefix}${uniqueTag(ctx.host)}`;
  try {
    await fsp.link(dest, kept);
  } catch (err) {
    // A file system without hard links: a copy with the same mode does as well.
    if (!st.isFile()) throw fsError(err, "keep a second name for", dest);
    try {
      await fsp.copyFile(dest, kept, fs.constants.COPYFILE_EXCL);
      await fsp.chmod(kept, st.mode & 0o7777);
    } catch (copyErr) {
      await fsp.rm(kept, { force: true }).catch(() => {});
      throw fsError(copyErr, "keep a copy of", dest);
    }
  }
  return kept;
}

async function putSelfOnPath(ctx: Context, dir: string, undo: Undo): Promise<void> {
  const { opts, layout, platform, report, host, feedback } = ctx;
  if (!opts.modifyPath) {
    addStep(report, "path", "skipped", `--no-modify-path: add ${dir} to PATH yourself`);
    return;
  }
  const madeRoot = missingDirs(layout.root);
  const marker = path.join(layout.root, ROOT_MARKER);
  const hadMarker = lstatOrNull(marker) !== null;
  undo.push(async () => {
    if (!hadMarker) await fsp.rm(marker, { force: true });
    removeMadeDirs(madeRoot);
  });
  await claimRoot(layout, host);
  const lock = await acquireRunLock(layout.lockPath, host, layout.lockPath, feedback.info);
  try {
    undo.push(await restorerOfPathFiles(ctx));
    const outcome = await platform.addToPath(layout, { dryRun: false, withSelf: true });
    if (outcome.created.length > 0) {
      // So that uninstall may delete what it created, as after an install of tsh.
      const state = await readState(layout);
      rememberCreated(state, outcome.created);
      await writeState(layout, state);
    }
    const files = outcome.edits.filter((e) => e.action !== "unchanged").map((e) => e.file);
    addStep(report, "path", outcome.changed ? "done" : "skipped", outcome.changed ? `added ${dir} to PATH (${files.join(", ")})` : `${dir} is already on PATH`);
    for (const n of outcome.notes) feedback.warn(n);
    if (outcome.changed) report.path_files = outcome.edits;
  } finally {
    await lock.release();
  }
}

/**
 * Puts the startup files and env scripts that adding to PATH would touch, and state.json, back as
 * they are now: absent ones removed, others given their bytes again (through a dotfile manager's
 * link, as they are written). The Windows Path is a registry value, not a file, and is not put back.
 */
async function restorerOfPathFiles(ctx: Context): Promise<() => Promise<void>> {
  const { platform, layout } = ctx;
  if (platform.windows) return async () => {};
  const plan = await platform.addToPath(layout, { dryRun: true, withSelf: true });
  const files = [...plan.edits.filter((e) => e.action !== "unchanged").map((e) => e.file), layout.statePath];
  const before = await Promise.all(files.map(async (file) => ({ file, bytes: await readFileIfExists(file) })));
  return async () => {
    for (const { file, bytes } of before) {
      if (bytes === null) await fsp.rm(file, { force: true });
      else if (!(await readFileIfExists(file))?.equals(bytes)) await atomicWriteFile(file, bytes, { throughLinks: true });
    }
  };
}

/** Runs `work` holding the lock beside the executable: two runs never replace it at once, with or without a root. */
export async function withSelfLock<T>(ctx: Context, exe: string, work: () => Promise<T>): Promise<T> {
  await mkdirp(path.dirname(exe));
  const lockPath = selfWorkFiles(exe, ctx.host).lock;
  const lock = await acquireRunLock(lockPath, ctx.host, lockPath, ctx.feedback.info);
  try {
    await removeStaleSelfFiles(exe);
    return await work();
  } finally {
    await lock.release();
  }
}

/** A running Windows exe is renamed aside beside itself (same volume, no root needed); a later run removes it. */
function besideAside(ctx: Context, exe: string): ReplaceOptions {
  const { host } = ctx;
  return {
    pid: host.pid,
    mode: 0o755,
    moveAside: async (file) => {
      if (!(await exists(file))) return null;
      const aside = `${selfWorkFiles(exe, host).asidePrefix}${uniqueTag(host)}`;
      try {
        await renameWithRetry(file, aside);
      } catch (err) {
        throw fsError(err, "move aside", file);
      }
      return aside;
    },
  };
}

/**
 * For uninstall: the stable copy when it is tshup's, and the work files a stopped run left beside
 * it (the lock last: it goes when released); a file there that is not tshup's stays.
 */
export async function selfCopyInventory(ctx: Context): Promise<{ exe: string; remove: string[]; foreign: string | null }> {
  const exe = selfInstallPath(ctx.host);
  const here = await inspectExecutable(exe);
  const dir = path.dirname(exe);
  const work = (await fsp.readdir(dir).catch(() => [] as string[])).filter((n) => isSelfWorkName(path.basename(exe), n)).sort().map((n) => path.join(dir, n));
  return { exe, remove: here.kind === "tshup" ? [exe, ...work] : work, foreign: here.kind === "foreign" ? `${exe} (${here.what})` : null };
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([fsp.stat(a).catch(() => null), fsp.stat(b).catch(() => null)]);
  return x !== null && y !== null && x.dev === y.dev && x.ino === y.ino;
}

function dryRunResult(ctx: Context, wouldChange: boolean): number {
  const { report } = ctx;
  if (!wouldChange) addStep(report, "plan", "skipped", "nothing to do");
  printOutcome(ctx, "(dry run: nothing was changed)");
  return dryRunExit(report, wouldChange);
}

function printOutcome(ctx: Context, last: string): void {
  const { opts, host, report } = ctx;
  if (opts.json || opts.quiet) return;
  for (const s of report.steps) host.stdout.write(`${s.detail}\n`);
  host.stdout.write(`${last}\n`);
}

const show = (ctx: Context, p: string) => ctx.platform.display(p);
