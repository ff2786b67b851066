import fsp from "node:fs/promises";
import path from "node:path";
import type { Host } from "../host.js";
import { envGet, uniqueTag } from "../host.js";
import { builtInRoot, type Layout } from "../core/layout.js";
import { ALL_TOOLS, type ExtraTool, type Tool } from "../core/artifact.js";
import type { VersionRecord } from "../io/store.js";
import { fsError, systemError } from "../core/errors.js";
import {
  USER_PATH_KEY,
  addToPath,
  cmdPathLine,
  isStringType,
  powershellPathLine,
  removeFromPath,
  typeToWrite,
  type EnvLookup,
  type RegValue,
} from "../core/winpath.js";
import { atomicWriteFile, exists, lstatOrNull, readTextIfExists, removeWithRetry, replaceExe, requireRealDir, type ReplaceOptions } from "../io/fsx.js";
import { tildify } from "../core/format.js";
import { moveToTrash, versionToolPath } from "../io/store.js";
import { selfCopyPresent } from "../io/self.js";
import { selfInstallPath } from "../core/self.js";
import { regExeUserEnvironment, type UserEnvironment } from "./win32-registry.js";
import type { PathOutcome, PlatformStrategy } from "./types.js";

const ACTIVE_MARKER = ".tshup-active";
const PATH_NAME = "Path";
const HOME_NAME = "TSHUP_HOME";
const USER_HOME_KEY = "HKCU\\Environment\\TSHUP_HOME";

export interface Win32Deps {
  /** HKCU\Environment; reg.exe and PowerShell unless a test hands in its own. */
  registry?: UserEnvironment;
}

/**
 * Windows: links need privileges, so bin\tsh.exe is a copy of the active version. A running exe
 * cannot be overwritten or deleted but can be renamed, so when the plain replace is refused the
 * old one is moved aside into the trash (emptied by a later run, once it has exited).
 */
export function win32Strategy(host: Host, deps: Win32Deps = {}): PlatformStrategy {
  const lookup: EnvLookup = (name) => envGet(host, name);
  let registry = deps.registry;
  const env = (): UserEnvironment =>
    (registry ??= regExeUserEnvironment({
      systemRoot: envGet(host, "SystemRoot") || envGet(host, "windir") || "C:\\Windows",
      tmpdir: host.tmpdir,
      join: (...parts) => path.join(...parts),
      tag: () => uniqueTag(host),
    }));
  // A running tsh.exe goes into the root's trash, emptied by a later run once it has exited.
  const trashAside = (layout: Layout): ReplaceOptions => ({ pid: host.pid, moveAside: (file) => moveToTrash(layout, file, uniqueTag(host)) });
  /** bin\<tool>.exe as a copy of `record`'s, or moved to the trash when there is none (null, or a version without it). */
  async function placeTool(layout: Layout, tool: Tool, record: VersionRecord | null): Promise<void> {
    const dest = path.join(layout.binDir, `${tool}.exe`);
    const source = record && versionToolPath(layout, record, tool);
    if (!source) {
      await moveToTrash(layout, dest, uniqueTag(host));
      return;
    }
    await replaceExe(source, dest, trashAside(layout));
  }

  async function readUserPath(): Promise<RegValue | null> {
    let v: RegValue | null;
    try {
      v = await env().read(PATH_NAME);
    } catch (err) {
      throw systemError(`could not read the user Path (${USER_PATH_KEY}): ${(err as Error).message}`, "nothing was changed; check that reg.exe runs for this user, or use --no-modify-path", err);
    }
    if (v && !isStringType(v.type)) {
      throw systemError(
        `the user Path (${USER_PATH_KEY}) is a ${v.type}, which Windows does not read as a list of directories`,
        "tshup left it alone: fix it in the Environment Variables dialog (rundll32 sysdm.cpl,EditEnvironmentVariables), or use --no-modify-path",
      );
    }
    return v;
  }

  /** Writes, reads back and compares; on a mismatch puts the earlier value back as well as it can. */
  async function writeUserPath(before: RegValue | null, next: { type: "REG_SZ" | "REG_EXPAND_SZ"; value: string } | null): Promise<void> {
    const what = next === null ? "remove" : "write";
    try {
      if (next === null) await env().remove(PATH_NAME);
      else await env().write(PATH_NAME, next);
    } catch (err) {
      throw systemError(`could not ${what} the user Path (${USER_PATH_KEY}): ${(err as Error).message}`, registryHint(), err);
    }
    let after: RegValue | null;
    try {
      after = await env().read(PATH_NAME);
    } catch (err) {
      throw systemError(`wrote the user Path (${USER_PATH_KEY}) but could not read it back: ${(err as Error).message}`, registryHint(), err);
    }
    const same = next === null ? after === null : after !== null && after.type === next.type && after.value === next.value;
    if (same) return;
    if (before && isStringType(before.type)) await env().write(PATH_NAME, { type: before.type, value: before.value }).catch(() => {});
    else if (before === null) await env().remove(PATH_NAME).catch(() => {});
    throw systemError(
      `the user Path (${USER_PATH_KEY}) read back different from what tshup wrote; the earlier value was put back`,
      `${registryHint()}; to add it by hand: rundll32 sysdm.cpl,EditEnvironmentVariables`,
    );
  }

  function registryHint(): string {
    return "another program may be editing it, or policy forbids registry edits; run tshup again, or use --no-modify-path";
  }

  const notesAfterChange = async (): Promise<string[]> => {
    const why = await env().broadcast();
    return why
      ? [`${why}; terminals started from Explorer, the Start menu or Windows Terminal may see the new Path only after you sign out and back in`]
      : [];
  };

  const sameDir = (a: string, b: string) => path.win32.resolve(a).toLowerCase() === path.win32.resolve(b).toLowerCase();

  /**
   * A root given by --prefix is named in the user environment as TSHUP_HOME, so tshup finds it
   * again from any new terminal or scheduled task: the edit it makes (or would make), or null.
   */
  async function rememberRoot(layout: Layout, dryRun: boolean): Promise<{ file: string; action: string } | null> {
    if (sameDir(layout.root, builtInRoot(host))) return null;
    // A TSHUP_HOME already there is the user's (or says the same): never overwritten.
    if ((await env().read(HOME_NAME)) !== null) return null;
    const action = "created";
    if (dryRun) return { file: USER_HOME_KEY, action: `would be ${action}` };
    try {
      await env().write(HOME_NAME, { type: "REG_SZ", value: layout.root });
    } catch (err) {
      throw systemError(`could not write ${USER_HOME_KEY}: ${(err as Error).message}`, registryHint(), err);
    }
    return { file: USER_HOME_KEY, action };
  }

  function withHome(home: { file: string; action: string } | null, outcome: PathOutcome): PathOutcome {
    if (!home) return outcome;
    return { ...outcome, changed: true, edits: [home, ...outcome.edits], created: home.action === "created" ? [USER_HOME_KEY, ...outcome.created] : outcome.created };
  }

  async function addUserPath(layout: Layout, opts: { dryRun: boolean; withSelf?: boolean }): Promise<PathOutcome> {
    const dirs = [layout.binDir, ...(opts.withSelf || (await selfCopyPresent(host)) ? [path.win32.dirname(selfInstallPath(host))] : [])];
    const before = await readUserPath();
    // Added in reverse, each in front: the bin dir ends up first.
    const value = [...dirs].reverse().reduce<string | null>((v, dir) => addToPath(v, dir, lookup), before?.value ?? null)!;
    if (before !== null && value === before.value) {
      return { changed: false, edits: [{ file: USER_PATH_KEY, action: "unchanged" }], created: [], notes: [] };
    }
    const action = before === null ? "created" : "updated";
    if (opts.dryRun) return { changed: true, edits: [{ file: USER_PATH_KEY, action: `would be ${action}` }], created: [], notes: [] };
    await writeUserPath(before, { type: typeToWrite(before?.type ?? null, value), value });
    return { changed: true, edits: [{ file: USER_PATH_KEY, action }], created: before === null ? [USER_PATH_KEY] : [], notes: await notesAfterChange() };
  }

  async function removeUserPath(layout: Layout, opts: { dryRun: boolean; createdFiles: string[] }): Promise<PathOutcome> {
    const before = await readUserPath();
    if (before === null) return { changed: false, edits: [], created: [], notes: [] };
    // The stable copy's directory is tshup's own (Programs\tshup): only tshup puts it on the Path.
    const value = [layout.binDir, path.win32.dirname(selfInstallPath(host))].reduce((v, dir) => removeFromPath(v, dir, lookup), before.value);
    if (value === before.value) return { changed: false, edits: [{ file: USER_PATH_KEY, action: "unchanged" }], created: [], notes: [] };
    // A value tshup created and that holds nothing else goes away entirely, as before.
    const drop = value === "" && opts.createdFiles.includes(USER_PATH_KEY);
    const action = drop ? "deleted" : "updated";
    if (opts.dryRun) return { changed: true, edits: [{ file: USER_PATH_KEY, action }], created: [], notes: [] };
    await writeUserPath(before, drop ? null : { type: typeToWrite(before.type, value), value });
    return { changed: true, edits: [{ file: USER_PATH_KEY, action }], created: [], notes: await notesAfterChange() };
  }

  return {
    host,
    windows: true,
    binName: (tool) => `${tool}.exe`,
    display: (p) => tildify(p, host.home, "\\"),
    // Teleport ships one Windows client; it serves enterprise clusters too.
    clientBuild: () => ({ edition: "community", fips: false }),
    async removeOwned(target) {
      try {
        await removeWithRetry(target);
        return null;
      } catch (err) {
        // A running tsh.exe cannot be deleted, only renamed: park what is left in the temp dir.
        const parkDir = path.join(host.tmpdir, `tshup-leftover-${host.pid}`);
        const count = await parkInUse(target, parkDir, host);
        if (count === 0) throw fsError(err, "remove", target);
        return { parkedIn: parkDir, count };
      }
    },

    async activate(layout: Layout, record: VersionRecord, tools: readonly Tool[]) {
      await requireRealDir(layout.binDir);
      await removeStaleCopies(layout.binDir);
      // A tool not asked for, or one the new version lacks, must not keep running an old one.
      for (const tool of ALL_TOOLS) await placeTool(layout, tool, tool === "tsh" || tools.includes(tool) ? record : null);
      await atomicWriteFile(path.join(layout.binDir, ACTIVE_MARKER), `${record.id}\n`);
    },

    async setTool(layout: Layout, tool: ExtraTool, record: VersionRecord | null) {
      await requireRealDir(layout.binDir);
      await placeTool(layout, tool, record);
    },

    async linkedTools(layout: Layout) {
      const present = await Promise.all(ALL_TOOLS.map((t) => exists(path.join(layout.binDir, `${t}.exe`))));
      return ALL_TOOLS.filter((_, i) => present[i]);
    },

    async linkAlias(layout: Layout, alias: string, record: VersionRecord | null) {
      const dest = path.join(layout.binDir, `${alias}.exe`);
      if (record === null) {
        const had = await exists(dest);
        await moveToTrash(layout, dest, uniqueTag(host));
        await fsp.rm(path.join(layout.binDir, `.${alias}.id`), { force: true });
        return had;
      }
      // A copy cannot say what it is a copy of, so a marker beside it does, as for bin\tsh.exe.
      const marker = path.join(layout.binDir, `.${alias}.id`);
      const current = (await readTextIfExists(marker))?.trim();
      if (current === record.id && (await exists(dest))) return false;
      await requireRealDir(layout.binDir);
      await replaceExe(versionToolPath(layout, record, "tsh")!, dest, trashAside(layout));
      await atomicWriteFile(marker, `${record.id}\n`);
      return true;
    },

    async readAliasId(layout: Layout, alias: string) {
      if (!(await exists(path.join(layout.binDir, `${alias}.exe`)))) return null;
      return (await readTextIfExists(path.join(layout.binDir, `.${alias}.id`)))?.trim() ?? "";
    },

    async readActiveId(layout: Layout) {
      // Without bin\tsh.exe nothing is active, whatever the marker says (a run stopped between
      // moving the old one aside and putting the new one in).
      if (!(await exists(path.join(layout.binDir, "tsh.exe")))) return null;
      const id = (await readTextIfExists(path.join(layout.binDir, ACTIVE_MARKER)))?.trim();
      return id ? id : null;
    },

    async addToPath(layout, opts): Promise<PathOutcome> {
      return withHome(await rememberRoot(layout, opts.dryRun), await addUserPath(layout, opts));
    },

    async removeFromPath(layout, opts): Promise<PathOutcome> {
      // TSHUP_HOME goes only when tshup set it and it still names this root.
      const home = opts.createdFiles.includes(USER_HOME_KEY) ? await env().read(HOME_NAME) : null;
      const dropHome = home !== null && sameDir(home.value, layout.root);
      if (dropHome && !opts.dryRun) await env().remove(HOME_NAME);
      const outcome = await removeUserPath(layout, opts);
      return dropHome ? { ...outcome, changed: true, edits: [{ file: USER_HOME_KEY, action: "deleted" }, ...outcome.edits] } : outcome;
    },

    pathInstructions: (layout) =>
      [
        `Add ${layout.binDir} to your user Path (no admin needed; never with setx, which cuts the Path at 1024 characters):`,
        "  rundll32 sysdm.cpl,EditEnvironmentVariables   (select Path under your user, New, paste the folder, OK)",
        "then open a new terminal. In the current one only:",
        `  cmd:        ${cmdPathLine(layout.binDir)}`,
        `  PowerShell: ${powershellPathLine(layout.binDir)}`,
      ].join("\n"),
    currentShellHint: (layout) => `${cmdPathLine(layout.binDir)} (cmd) or ${powershellPathLine(layout.binDir)} (PowerShell)`,
  };
}

/** Copies left by a run that stopped between copying and renaming; they are never in use. */
async function removeStaleCopies(binDir: string): Promise<void> {
  let names: string[] = [];
  try {
    names = await fsp.readdir(binDir);
  } catch {
    return;
  }
  await Promise.all(names.filter((n) => /^\..+\.exe\.new-\d+$/.test(n)).map((n) => fsp.rm(path.join(binDir, n), { force: true }).catch(() => {})));
}

/** Deletes what it can under `target` and renames each file it cannot into `parkDir`; returns how many it parked. */
async function parkInUse(target: string, parkDir: string, host: Host): Promise<number> {
  let parked = 0;
  const stat = lstatOrNull(target);
  if (!stat) return 0;
  if (stat.isDirectory()) {
    for (const name of await fsp.readdir(target)) parked += await parkInUse(path.join(target, name), parkDir, host);
    await fsp.rmdir(target).catch(() => {});
    return parked;
  }
  try {
    await fsp.rm(target, { force: true });
    return 0;
  } catch {
    await fsp.mkdir(parkDir, { recursive: true });
    await fsp.rename(target, path.join(parkDir, `${uniqueTag(host)}-${path.basename(target)}`));
    return 1;
  }
}
