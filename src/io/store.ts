import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { Layout } from "../core/layout.js";
import type { Tool } from "../core/artifact.js";
import type { Edition } from "../core/ping.js";
import { isStrictVersion } from "../core/version.js";
import { compareNewestFirst } from "../core/plan.js";
import { atomicWriteFile, ensureWorkDir, lstatOrNull, mkdirp, readRegularFile, readTextIfExists, removeWithRetry, renameWithRetry, requireRealDir, exists } from "./fsx.js";
import { uniqueTag, type Host } from "../host.js";
import { fsError } from "../core/errors.js";
import { unsafeReason } from "../core/members.js";
import { printable } from "../core/format.js";
import { parseProxyAddress } from "../core/proxyaddr.js";
import { loginProblem, teleportUserProblem } from "../core/sshconfig.js";

/** Written last into a staged version: a version directory without it does not count. */
export const COMPLETE_MARKER = ".tshup-complete";

export interface VersionRecord {
  id: string;
  version: string;
  edition: Edition;
  fips: boolean;
  /** Each tool's binary, relative to the version directory with "/" separators. */
  tools: Partial<Record<Tool, string>>;
  artifact: string;
  sha256: string;
  installedAt: string;
}

/** What tshup remembers between runs beyond the files themselves. */
export interface State {
  schema: 1;
  /** rc and config files tshup created (not merely edited), so uninstall can delete them. */
  createdFiles: string[];
  /** Proxies of the last install, for `status` and `doctor` without flags. */
  proxies: string[];
  /** bin/ entries like tsh-<cluster> made by --per-cluster, so stale ones can be removed. */
  aliases: string[];
  /** What the user chose, so that a routine rerun keeps it (commands/settings.ts). */
  settings: Settings;
}

export interface Settings {
  tools?: Tool[];
  perCluster?: true;
  user?: string;
  login?: string;
  /** The version `tshup use` made active, kept until a run asks for a version with --version. */
  pin?: string;
}

const EMPTY_STATE: State = { schema: 1, createdFiles: [], proxies: [], aliases: [], settings: {} };

export async function readState(layout: Layout): Promise<State> {
  const text = (await readRegularFile(layout.statePath, 4 * 1024 * 1024))?.toString("utf8") ?? null;
  if (text === null) return { ...EMPTY_STATE };
  try {
    const parsed = JSON.parse(text) as Partial<State>;
    return {
      schema: 1,
      createdFiles: Array.isArray(parsed.createdFiles) ? parsed.createdFiles.filter((f) => typeof f === "string") : [],
      proxies: Array.isArray(parsed.proxies) ? parsed.proxies.filter((f) => typeof f === "string" && isProxyAddress(f)) : [],
      aliases: Array.isArray(parsed.aliases) ? parsed.aliases.filter((f) => typeof f === "string" && /^tsh-[A-Za-z0-9._-]+$/.test(f)) : [],
      settings: parseSettings(parsed.settings),
    };
  } catch {
    // A state file is only ever replaced whole, so damage means someone edited it: start afresh.
    return { ...EMPTY_STATE };
  }
}

/** A remembered proxy must be one tshup would accept from --proxy: it reaches messages and URLs. */
function isProxyAddress(value: string): boolean {
  try {
    return value.length <= 300 && parseProxyAddress(value).addr === value;
  } catch {
    return false;
  }
}

/** Remembered settings, each checked as its flag would be; anything else (a hand edit) is dropped. */
function parseSettings(raw: unknown): Settings {
  if (typeof raw !== "object" || raw === null) return {};
  const r = raw as Record<string, unknown>;
  const out: Settings = {};
  if (Array.isArray(r.tools) && r.tools.includes("tsh") && r.tools.every((t) => t === "tsh" || t === "tctl")) out.tools = [...new Set(r.tools as Tool[])];
  if (r.perCluster === true) out.perCluster = true;
  if (typeof r.user === "string" && teleportUserProblem(r.user) === null) out.user = r.user;
  if (typeof r.login === "string" && loginProblem(r.login) === null) out.login = r.login;
  if (typeof r.pin === "string" && isStrictVersion(r.pin)) out.pin = r.pin;
  return out;
}

/** What the last install did, so an admin can see that a timer ran, and how it ended. */
export interface LastRun {
  at: string;
  command: string;
  ok: boolean;
  exit_code: number;
  changed: boolean;
  version: string | null;
  error: { code: string; message: string } | null;
}

const lastRunPath = (layout: Layout) => path.join(layout.root, "last-run.json");

/**
 * Recorded only in a root that is tshup's own (never in a shared directory, whatever marker it
 * holds), and never at the cost of the run's own outcome. The one file a run with nothing to do
 * writes: that it ran is what an admin wants to see.
 */
export async function recordLastRun(layout: Layout, host: Host, run: LastRun): Promise<void> {
  const { rootKind, rootSafetyProblem } = await import("./root.js");
  const [kind, problem] = await Promise.all([rootKind(layout).catch(() => "foreign"), rootSafetyProblem(layout, host).catch(() => "unreadable")]);
  if ((kind !== "owned" && kind !== "legacy") || problem !== null) return;
  // A record, not a setting: after a power cut the previous one (or none) is as good, so no fsync.
  await atomicWriteFile(lastRunPath(layout), `${JSON.stringify(run, null, 2)}\n`, { mode: 0o644, durable: false }).catch(() => {});
}

export async function readLastRun(layout: Layout): Promise<LastRun | null> {
  try {
    const r = JSON.parse((await readRegularFile(lastRunPath(layout), 64 * 1024))?.toString("utf8") ?? "null") as Record<string, unknown> | null;
    if (!r || typeof r.ok !== "boolean" || !Number.isInteger(r.exit_code) || typeof r.at !== "string" || Number.isNaN(Date.parse(r.at))) return null;
    // A hand-edited (or hostile) record reaches the terminal only as plain, short text.
    const text = (v: unknown, max = 300) => (typeof v === "string" ? printable(v, max) : null);
    const error = typeof r.error === "object" && r.error !== null ? (r.error as Record<string, unknown>) : null;
    return {
      at: new Date(Date.parse(r.at)).toISOString(),
      command: text(r.command, 40) ?? "install",
      ok: r.ok,
      exit_code: r.exit_code as number,
      changed: r.changed === true,
      version: text(r.version, 40),
      error: error ? { code: text(error.code, 40) ?? "unknown", message: text(error.message) ?? "" } : null,
    };
  } catch {
    return null;
  }
}

/** Records files tshup created (not merely edited), so that uninstall may delete them. */
export function rememberCreated(state: State, files: string[]): void {
  state.createdFiles = [...new Set([...state.createdFiles, ...files])];
}

/** Writes state.json atomically, and not at all when it already holds these bytes (a no-op run). */
export async function writeState(layout: Layout, state: State): Promise<void> {
  const text = `${JSON.stringify(state, null, 2)}\n`;
  if ((await readTextIfExists(layout.statePath)) === text) return;
  await atomicWriteFile(layout.statePath, text, { mode: 0o644 });
}

/** A complete version's record, or null for anything else (a stray file, a link, a half-staged copy). */
export async function readVersionRecord(versionDir: string): Promise<VersionRecord | null> {
  if (!lstatOrNull(versionDir)?.isDirectory()) return null;
  try {
    const text = (await readRegularFile(path.join(versionDir, COMPLETE_MARKER), 64 * 1024))?.toString("utf8");
    if (text === undefined) return null;
    const r = JSON.parse(text) as VersionRecord;
    const toolsInside =
      typeof r.tools === "object" && r.tools !== null &&
      Object.entries(r.tools).every(([tool, rel]) => (tool === "tsh" || tool === "tctl") && typeof rel === "string" && rel !== "" && unsafeReason(rel) === null);
    // A planted record must not make bin/tsh point outside its own version directory.
    return isStrictVersion(r.version) && typeof r.id === "string" && r.id === path.basename(versionDir) && toolsInside ? r : null;
  } catch {
    return null;
  }
}

/** Where `record`'s `tool` is inside its version directory, or null when the version has none. */
export function versionToolPath(layout: Layout, record: VersionRecord, tool: Tool): string | null {
  const rel = record.tools[tool];
  return rel ? path.join(layout.versionsDir, record.id, ...rel.split("/")) : null;
}

/** Complete versions, newest first. */
export async function listInstalled(layout: Layout): Promise<VersionRecord[]> {
  let names: string[];
  try {
    names = fs.readdirSync(layout.versionsDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Not there, or a file where the directory should be: nothing is installed.
    if (code === "ENOENT" || code === "ENOTDIR") return [];
    throw fsError(err, "read", layout.versionsDir);
  }
  const records = await Promise.all(names.filter((n) => !n.startsWith(".")).map((n) => readVersionRecord(path.join(layout.versionsDir, n))));
  return records.filter((r): r is VersionRecord => r !== null).sort(compareNewestFirst);
}

/**
 * Work left by a killed run: staging directories and the trash. Only called under the lock, so
 * nothing there belongs to a live process.
 */
export async function cleanWorkAreas(layout: Layout): Promise<void> {
  // fs.rm removes a link itself, never what it points to.
  await removeWithRetry(layout.stagingDir);
  const trash = lstatOrNull(layout.trashDir);
  if (!trash) return;
  if (!trash.isDirectory()) {
    await fsp.rm(layout.trashDir, { force: true });
    return;
  }
  // The trash may hold an exe that is still running on Windows: whatever cannot go now goes next time.
  const names = await fsp.readdir(layout.trashDir).catch(() => [] as string[]);
  await Promise.all(names.map((n) => fsp.rm(path.join(layout.trashDir, n), { recursive: true, force: true }).catch(() => {})));
}

export async function newStagingDir(layout: Layout, id: string, tag: string): Promise<string> {
  await ensureWorkDir(layout.stagingDir);
  const dir = path.join(layout.stagingDir, `${id}-${tag}`);
  await removeWithRetry(dir);
  await mkdirp(dir, 0o755);
  return dir;
}

/**
 * Moves a path into the trash (a rename, which works on Windows even for a running exe) and says
 * where it went, or null when there was nothing to move.
 */
export async function moveToTrash(layout: Layout, target: string, tag: string): Promise<string | null> {
  if (!(await exists(target))) return null;
  await ensureWorkDir(layout.trashDir);
  const dest = path.join(layout.trashDir, `${path.basename(target)}-${tag}`);
  try {
    await renameWithRetry(target, dest);
  } catch (err) {
    throw fsError(err, "move aside", target);
  }
  return dest;
}

/** Puts a verified staging directory in place as versions/<id>; the marker goes in first. */
export async function commitVersion(layout: Layout, stagingDir: string, record: VersionRecord, host: Host): Promise<string> {
  await atomicWriteFile(path.join(stagingDir, COMPLETE_MARKER), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
  await requireRealDir(layout.versionsDir);
  const dest = path.join(layout.versionsDir, record.id);
  await moveToTrash(layout, dest, uniqueTag(host));
  try {
    await renameWithRetry(stagingDir, dest);
  } catch (err) {
    throw fsError(err, "move into place", dest);
  }
  return dest;
}

/** Moves the versions a plan prunes out of versions/ (see versionsToPrune); returns the ids removed. */
export async function pruneVersions(layout: Layout, ids: string[], host: Host): Promise<string[]> {
  const removed: string[] = [];
  for (const id of ids) {
    await moveToTrash(layout, path.join(layout.versionsDir, id), uniqueTag(host));
    removed.push(id);
  }
  return removed;
}
