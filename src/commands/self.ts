import fsp from "node:fs/promises";
import path from "node:path";
import { reportPaths, type Context } from "../context.js";
import { uniqueTag } from "../host.js";
import { COMMIT, VERSION } from "../build-info.js";
import { addStep } from "../core/report.js";
import { fsError, usageError } from "../core/errors.js";
import { tildify } from "../core/format.js";
import { isSelfWorkName, selfFileName, selfInstallPath, selfWorkFiles, showSelfVersion, type SelfVersion } from "../core/self.js";
import { acquireLock, lockTimeoutMs, type Lock } from "../io/lock.js";
import { exists, hashFile, mkdirp, renameWithRetry, replaceExe, type ReplaceOptions } from "../io/fsx.js";
import { inspectExecutable, removeStaleSelfFiles } from "../io/self.js";
import { readSelfVersion } from "../io/spawn.js";
import { claimRoot } from "../io/root.js";
import { readState, writeState } from "../io/store.js";

/** `tshup self install` and `tshup self update`: tshup's own executable, kept in one stable place. */
export async function runSelf(ctx: Context): Promise<number> {
  const action = ctx.opts.positionals[0];
  ctx.report.command = `self ${action}`;
  return selfInstall(ctx);
}

const RUNNING: SelfVersion = { version: VERSION, commit: COMMIT };

/**
 * Copies the running executable to selfInstallPath (atomically, mode 0755) and puts its directory
 * on PATH. A file there that is not tshup's is left alone unless --force.
 */
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
  const previous = here.kind !== "tshup" ? null : samePlace ? RUNNING : await readSelfVersion(host, dest, "").catch(() => null);
  report.previous = previous?.version ?? null;
  report.self = { path: dest, source, version: showSelfVersion(RUNNING), previous: previous ? showSelfVersion(previous) : null };
  const identical = here.kind === "tshup" && (samePlace || (await hashFile(dest)) === (await hashFile(source)));
  const copy = !samePlace && (!identical || opts.force);

  // The PATH entry goes through the root's env script (Windows: the user Path), as tsh's does.
  if (opts.modifyPath) await claimRoot(layout, host, { write: false });
  const pathPlan = opts.modifyPath ? await platform.addToPath(layout, { dryRun: true, withSelf: true }) : null;
  if (opts.dryRun) {
    if (copy) addStep(report, "plan", "skipped", `copy ${source} to ${dest} (tshup ${showSelfVersion(RUNNING)}${previous ? `, replacing ${showSelfVersion(previous)}` : ""})`);
    for (const e of pathPlan?.edits.filter((x) => x.action !== "unchanged") ?? []) addStep(report, "plan", "skipped", `${e.action.replace(/^would be /, "")}: ${e.file}`);
    return dryRunResult(ctx, report.steps.length > 0);
  }

  await withSelfLock(ctx, dest, async () => {
    if (!copy) {
      addStep(report, "copy", "skipped", samePlace ? `tshup already runs from ${dest}` : `${dest} already is this tshup (${showSelfVersion(RUNNING)})`);
      return;
    }
    await replaceExe(source, dest, besideAside(ctx, dest));
    addStep(report, "copy", "done", `${source} -> ${dest}${previous ? ` (was ${showSelfVersion(previous)})` : ""}`);
  });
  await putSelfOnPath(ctx, path.dirname(dest));
  printOutcome(ctx, `tshup ${showSelfVersion(RUNNING)} is at ${show(ctx, dest)}`);
  return 0;
}

async function putSelfOnPath(ctx: Context, dir: string): Promise<void> {
  const { opts, layout, platform, report, host, feedback } = ctx;
  if (!opts.modifyPath) {
    addStep(report, "path", "skipped", `--no-modify-path: add ${dir} to PATH yourself`);
    return;
  }
  await claimRoot(layout, host);
  const lock = await takeLock(ctx, layout.lockPath);
  try {
    const outcome = await platform.addToPath(layout, { dryRun: false, withSelf: true });
    if (outcome.created.length > 0) {
      // So that uninstall may delete what it created, as after an install of tsh.
      const state = await readState(layout);
      state.createdFiles = [...new Set([...state.createdFiles, ...outcome.created])];
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

/** Runs `work` holding the lock beside the executable: two runs never replace it at once, with or without a root. */
export async function withSelfLock<T>(ctx: Context, exe: string, work: () => Promise<T>): Promise<T> {
  await mkdirp(path.dirname(exe));
  const lock = await takeLock(ctx, selfWorkFiles(exe, ctx.host).lock);
  try {
    await removeStaleSelfFiles(exe);
    return await work();
  } finally {
    await lock.release();
  }
}

function takeLock(ctx: Context, lockPath: string): Promise<Lock> {
  return acquireLock(lockPath, {
    host: ctx.host,
    timeoutMs: lockTimeoutMs(ctx.host, 10 * 60 * 1000),
    onWait: (o) => ctx.feedback.info(`Waiting for another tshup (pid ${o.pid}) to finish with ${lockPath}`),
  });
}

/** A running Windows exe is renamed aside beside itself (same volume, no root needed); a later run removes it. */
function besideAside(ctx: Context, exe: string): ReplaceOptions {
  const { host } = ctx;
  const windows = host.platform === "win32";
  return {
    pid: host.pid,
    windows,
    mode: 0o755,
    moveAside: async (file) => {
      if (!(await exists(file))) return null;
      const aside = `${selfWorkFiles(exe, host).asidePrefix}${uniqueTag(host)}`;
      try {
        await renameWithRetry(file, aside, windows);
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
  report.dry_run = true;
  report.would_change = wouldChange;
  if (!wouldChange) addStep(report, "plan", "skipped", "nothing to do");
  printOutcome(ctx, "(dry run: nothing was changed)");
  return wouldChange ? 3 : 0;
}

function printOutcome(ctx: Context, last: string): void {
  const { opts, host, report } = ctx;
  if (opts.json || opts.quiet) return;
  for (const s of report.steps) host.stdout.write(`${s.detail}\n`);
  host.stdout.write(`${last}\n`);
}

const show = (ctx: Context, p: string) => tildify(p, ctx.host.home, ctx.host.platform === "win32" ? "\\" : "/");
