/**
 * tshup's root is its own: it carries a marker, install refuses a directory someone else fills, and
 * uninstall removes the entries tshup made there and nothing else, never through a link.
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { Host } from "../host.js";
import { ROOT_MARKER, OWNED_ROOT_FILES, OWNED_WORK_DIRS, isOwnedBinEntry, unsafeRootReason, type Layout } from "../core/layout.js";
import { fsError, systemError, usageError } from "../core/errors.js";
import { atomicWriteFile, isTempSiblingName, lstatOrNull, readRegularFile } from "./fsx.js";
import { COMPLETE_MARKER, readVersionRecord } from "./store.js";
import { readLockOwner } from "./lock.js";

/**
 * absent/empty: free to take. owned: has the marker. legacy: made by a release before the marker
 * (its state.json or a complete version), adopted as it is. foreign: anything else.
 */
export type RootKind = "absent" | "empty" | "owned" | "legacy" | "foreign";

export async function rootKind(layout: Layout): Promise<RootKind> {
  let names: string[];
  // Synchronous, as the reads of small files are (fsx.readRegularFile): every run asks this first.
  try {
    names = fs.readdirSync(layout.root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "absent";
    if (code === "ENOTDIR") return "foreign";
    throw fsError(err, "read", layout.root);
  }
  if (names.length === 0) return "empty";
  // A marker listed and gone a moment later was there: an uninstall is removing it.
  if (names.includes(ROOT_MARKER) && fileOrGone(path.join(layout.root, ROOT_MARKER)) !== "other") return "owned";
  // Only another run's lock, or its marker on the way into place (a concurrent first run). What was
  // listed a moment ago may be gone by now (the marker's temp file renamed into place, the lock
  // released), which is no evidence against the root. Names alone prove nothing more: a user's own
  // `downloads/` or `env` must not make it tshup's.
  const ours = async (n: string) => {
    const p = path.join(layout.root, n);
    if (n === ".lock") return (await isTshupLock(p)) || fileOrGone(p) === "gone";
    return isOwnTempName(n) && fileOrGone(p) !== "other";
  };
  if ((await Promise.all(names.map(ours))).every(Boolean)) return "legacy";
  return (await madeByEarlierRelease(layout)) ? "legacy" : "foreign";
}

async function madeByEarlierRelease(layout: Layout): Promise<boolean> {
  try {
    const state = JSON.parse((await readRegularFile(layout.statePath, 1024 * 1024))?.toString("utf8") ?? "null") as { schema?: unknown; createdFiles?: unknown } | null;
    if (state && state.schema === 1 && Array.isArray(state.createdFiles)) return true;
  } catch {
    // Not tshup's state file: look at the versions.
  }
  const versions = lstatOrNull(layout.versionsDir);
  if (!versions?.isDirectory()) return false;
  for (const name of await fsp.readdir(layout.versionsDir)) {
    if (await readVersionRecord(path.join(layout.versionsDir, name))) return true;
  }
  return false;
}

/** A lock file as tshup writes it (pid, host, since): another program's `.lock` is not one. */
function fileOrGone(p: string): "file" | "gone" | "other" {
  try {
    return fs.lstatSync(p).isFile() ? "file" : "other";
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "gone";
    throw fsError(err, "look at", p);
  }
}

async function isTshupLock(file: string): Promise<boolean> {
  const owner = await readLockOwner(file);
  return owner !== null && typeof owner.since === "string";
}

/**
 * Why the root must not be tshup's, judged on the path as given and on where it really is: a home
 * reached through a link (HOME=/home/x-link, or ~/.local/share/tshup linking to ~) is still a home.
 */
export async function rootSafetyProblem(layout: Layout, host: Host): Promise<string | null> {
  const given = unsafeRootReason(layout.root, host);
  if (given) return given;
  const real = await realPathOfNearest(layout.root);
  const realHome = await realPathOfNearest(host.home);
  if (real === layout.root && realHome === host.home) return null;
  const why = unsafeRootReason(real, { ...host, home: realHome });
  return why ? `${why.replace(/^is /, "is, through a link, ")} (${real})` : null;
}

/** The real path of `p`, or of its nearest existing ancestor with the rest appended. */
async function realPathOfNearest(p: string): Promise<string> {
  const rest: string[] = [];
  let dir = p;
  for (;;) {
    try {
      return path.join(fs.realpathSync.native(dir), ...rest.reverse());
    } catch {
      const parent = path.dirname(dir);
      if (parent === dir) return p;
      rest.push(path.basename(dir));
      dir = parent;
    }
  }
}

/** Temp files of tshup's atomic writes (fsx.tempSibling) and lock take-overs. */
function isOwnTempName(name: string): boolean {
  return isTempSiblingName(name) || /^\.lock\.stale-/.test(name);
}

const marker = () => `${JSON.stringify({ tool: "tshup", note: "This directory belongs to tshup; 'tshup uninstall' removes what tshup put here." })}\n`;

/** Before install writes anything: the root must be new, empty, or tshup's (an earlier release's is adopted). */
export async function claimRoot(layout: Layout, host: Host, opts: { write: boolean } = { write: true }): Promise<void> {
  const p = host.platform === "win32" ? path.win32 : path.posix;
  const suggestion = `e.g. --prefix ${p.join(layout.root, "tshup")}`;
  // Before the marker: a marker planted in a home or a shared directory does not make it tshup's.
  const reason = await rootSafetyProblem(layout, host);
  if (reason) throw usageError(`${layout.root} ${reason}, so it cannot be tshup's root`, `give tshup a directory of its own, ${suggestion}`);
  const markerPath = path.join(layout.root, ROOT_MARKER);
  const markerStat = lstatOrNull(markerPath);
  // A link or other file there is replaced by the write; a directory would make it fail half-way.
  if (markerStat?.isDirectory()) {
    throw systemError(`${markerPath} is a directory, where tshup keeps its marker file`, `move ${markerPath} aside and run tshup again`);
  }
  const kind = await rootKind(layout);
  if (kind === "owned") return;
  if (kind === "foreign") {
    throw usageError(`${layout.root} is not empty and was not made by tshup`, `give tshup a new or empty directory, ${suggestion}`);
  }
  if (!opts.write) return;
  try {
    await fsp.mkdir(layout.root, { recursive: true });
  } catch (err) {
    throw fsError(err, "create the directory", layout.root);
  }
  await atomicWriteFile(path.join(layout.root, ROOT_MARKER), marker(), { mode: 0o644 });
}

/** For uninstall: a root that exists must be tshup's; nothing is touched otherwise. */
export async function requireOwnRoot(layout: Layout, host: Host, command: string): Promise<RootKind> {
  const kind = await rootKind(layout);
  // A shared directory (a home, ~/.local) is never taken for tshup's, whatever marker or files in
  // it look like tshup's.
  const reason = kind === "absent" ? null : await rootSafetyProblem(layout, host);
  const hint = "check --prefix and TSHUP_HOME: they must name the directory tshup installed into";
  if (reason) throw usageError(`${layout.root} ${reason}, so it cannot be tshup's root and ${command} touches nothing`, hint);
  if (kind === "foreign") throw usageError(`${layout.root} was not made by tshup (it has no ${ROOT_MARKER}), so ${command} touches nothing`, hint);
  return kind;
}

/** One entry uninstall would remove, or leave because tshup did not make it. */
export interface RootEntry {
  path: string;
  ours: boolean;
}

/**
 * What uninstall removes from the root, entry by entry: tshup's own files, its work areas, the
 * versions it completed and the bin/ entries it made; everything else is listed as not ours.
 */
export async function rootInventory(layout: Layout): Promise<RootEntry[]> {
  const out: RootEntry[] = [];
  const list = async (dir: string) => (await fsp.readdir(dir).catch(() => [] as string[])).sort();
  for (const name of await list(layout.root)) {
    const full = path.join(layout.root, name);
    const st = await fsp.lstat(full);
    if (name === "versions" && st.isDirectory()) {
      for (const v of await list(full)) {
        const vp = path.join(full, v);
        const vst = await fsp.lstat(vp);
        const complete = vst.isDirectory() && (await readVersionRecord(vp)) !== null;
        // A staged copy that lost its race, or an old one being replaced, is tshup's too.
        out.push({ path: vp, ours: complete || (vst.isDirectory() && lstatOrNull(path.join(vp, COMPLETE_MARKER)) !== null) });
      }
      out.push({ path: full, ours: true });
    } else if (name === "bin" && st.isDirectory()) {
      for (const b of await list(full)) out.push({ path: path.join(full, b), ours: isOwnedBinEntry(b) });
      out.push({ path: full, ours: true });
    } else if ((OWNED_WORK_DIRS as readonly string[]).includes(name)) {
      out.push({ path: full, ours: true });
    } else if ((OWNED_ROOT_FILES as readonly string[]).includes(name) && !st.isDirectory()) {
      out.push({ path: full, ours: true });
    } else if (isOwnTempName(name)) {
      out.push({ path: full, ours: true });
    } else {
      out.push({ path: full, ours: false });
    }
  }
  return out;
}
