/**
 * PATH on Linux and macOS (SPEC section 6): tshup's env scripts in the root, and a marked block that
 * sources them in each shell's startup files. Startup files are handled as bytes (latin1 decoding,
 * one char per byte) so that whatever encoding or line endings they use come back exactly.
 */
import fsp from "node:fs/promises";
import { constants as fsc } from "node:fs";
import path from "node:path";
import type { Host } from "../host.js";
import { envGet } from "../host.js";
import { fsError, usageError } from "../core/errors.js";
import { removeBlock, upsertBlock } from "../core/rcblock.js";
import { atomicWriteFile, readFileIfExists } from "../io/fsx.js";
import { SHELLS, exportPathLine, fishEnvScript, posixEnvScript, type RcTarget, type ShellProbe } from "./shells/index.js";
import { builtInRoot } from "../core/layout.js";

export interface RcEdit {
  file: string;
  action: "created" | "updated" | "unchanged" | "removed-block" | "deleted";
}

export interface PathResult {
  changed: boolean;
  edits: RcEdit[];
  /** `<root>/env`, the script a user can source to get tsh in the current terminal. */
  envScript: string;
}

const p = path.posix;

export function envScriptPaths(root: string): { sh: string; fish: string } {
  return { sh: p.join(root, "env"), fish: p.join(root, "env.fish") };
}

/**
 * Writes the env scripts and puts the tshup block in the startup files of every shell in use.
 * Files that were absent are reported as "created"; the caller keeps those in its state so that
 * uninstall may delete them. `also` names directories that go on PATH right after the bin dir.
 */
export async function addPosixPath(host: Host, root: string, binDir: string, opts: { dryRun: boolean; also?: string[] }): Promise<PathResult> {
  const also = opts.also ?? [];
  for (const dir of [binDir, ...also]) checkDirs(root, dir);
  const scripts = envScriptPaths(root);
  const edits: RcEdit[] = [];
  // A root given by --prefix (or by TSHUP_HOME) is found again by the next run (a timer's too,
  // when it reads the shell's environment) because the env scripts name it; compared with the
  // built-in root, not with TSHUP_HOME, or a shell the script set up would undo it.
  const remembered = p.resolve(root) === p.resolve(builtInRoot(host)) ? null : root;
  edits.push(await putScript(scripts.sh, posixEnvScript(binDir, also, remembered), opts.dryRun));
  edits.push(await putScript(scripts.fish, fishEnvScript(binDir, also, remembered), opts.dryRun));

  const probe = makeProbe(host);
  const seen = new Set<string>();
  for (const shell of SHELLS) {
    if (!(await shell.isUsed(probe))) continue;
    const body = toBytes(shell.blockBody(root));
    for (const target of shell.rcTargets(host)) {
      if (seen.has(target.file)) continue;
      seen.add(target.file);
      const edit = await upsertRc(target, body, opts.dryRun);
      if (edit) edits.push(edit);
    }
  }
  return { changed: edits.some((e) => e.action !== "unchanged"), edits, envScript: scripts.sh };
}

/**
 * Takes tshup's blocks out of every startup file that may hold one, and deletes the env scripts.
 * A startup file is deleted only when nothing but the block was in it and tshup created it (said by
 * the block itself, or by `createdFiles` from the caller's state); every other file gets back its
 * bytes from before the install.
 */
export async function removePosixPath(
  host: Host,
  root: string,
  opts: { dryRun: boolean; createdFiles: string[] },
): Promise<PathResult> {
  const scripts = envScriptPaths(root);
  const created = new Set(opts.createdFiles.map((f) => p.resolve(f)));
  const targets = new Map<string, RcTarget>();
  for (const shell of SHELLS) {
    for (const t of shell.cleanupFiles(host)) if (!targets.has(t.file)) targets.set(t.file, t);
  }
  // Files recorded at install time stay reachable after ZDOTDIR or XDG_CONFIG_HOME changed.
  for (const f of opts.createdFiles) {
    const file = p.resolve(f);
    if (file !== scripts.sh && file !== scripts.fish && !targets.has(file)) {
      targets.set(file, { file, create: false, owned: false });
    }
  }

  const edits: RcEdit[] = [];
  for (const t of targets.values()) {
    const edit = await removeRc(t, created.has(p.resolve(t.file)), opts.dryRun);
    if (edit) edits.push(edit);
  }
  for (const script of [scripts.sh, scripts.fish]) {
    if (!(await lexists(script))) continue;
    if (!opts.dryRun) {
      try {
        await fsp.rm(script, { force: true });
      } catch (err) {
        throw fsError(err, "delete", script);
      }
    }
    edits.push({ file: script, action: "deleted" });
  }
  return { changed: edits.length > 0, edits, envScript: scripts.sh };
}

/** For --no-modify-path: what to add to which file, shell by shell, to put the bin dir first. */
export function posixPathInstructions(host: Host, root: string, binDir: string): string {
  return [
    `tshup left your shell startup files alone. To put ${binDir} first in PATH yourself:`,
    ...SHELLS.map((s) => indent(s.manualInstructions(host, binDir))),
    `For the current terminal only, run: ${exportPathLine(binDir)}`,
  ].join("\n");
}

/** Whether the bin dir is the first PATH entry, which is what makes it win over an old tsh. */
export function binDirFirstOnPath(host: Host, binDir: string): boolean {
  return pathEntries(host)[0] === trimSlash(binDir);
}

function pathEntries(host: Host): string[] {
  return (envGet(host, "PATH") ?? "").split(":").map(trimSlash);
}

const trimSlash = (d: string) => (d.length > 1 ? d.replace(/\/+$/, "") : d);
const indent = (text: string) => text.replace(/^/gm, "  ");

/** Strings the shells get go through the same one-char-per-byte form as the files. */
const toBytes = (s: string) => Buffer.from(s, "utf8").toString("latin1");

function checkDirs(root: string, binDir: string): void {
  if (!p.isAbsolute(root) || !p.isAbsolute(binDir)) {
    throw usageError(`the tshup root must be an absolute path, not ${root}`, "pass --prefix with an absolute path");
  }
  // PATH separates entries with ":" and has no way to escape one; a newline would split the block.
  if (binDir.includes(":") || /[\n\r]/.test(root)) {
    throw usageError(
      `PATH cannot hold ${binDir}: the directory name contains a ":" or a line break`,
      "choose another root with --prefix or TSHUP_HOME",
    );
  }
}

function makeProbe(host: Host): ShellProbe {
  return {
    host,
    exists: async (file) => {
      try {
        await fsp.stat(file);
        return true;
      } catch {
        return false;
      }
    },
    onPath: async (program) => {
      for (const dir of (envGet(host, "PATH") ?? "").split(":")) {
        if (!dir || !p.isAbsolute(dir)) continue;
        const candidate = p.join(dir, program);
        try {
          const st = await fsp.stat(candidate);
          if (!st.isFile()) continue;
          await fsp.access(candidate, fsc.X_OK);
          return true;
        } catch {
          // Not here; look in the next directory.
        }
      }
      return false;
    },
  };
}

async function lexists(file: string): Promise<boolean> {
  try {
    await fsp.lstat(file);
    return true;
  } catch {
    return false;
  }
}

/** The file's bytes as a latin1 string, or null when it does not exist (a dangling link included). */
async function readBytes(file: string): Promise<string | null> {
  return (await readFileIfExists(file))?.toString("latin1") ?? null;
}

/**
 * Where a write to `file` must land: dotfile managers make startup files symlinks, and replacing
 * the link with a file would cut it off from the user's dotfiles. Followed by hand (not realpath)
 * so a link whose target does not exist yet is written through as well.
 */
async function writeTarget(file: string): Promise<string> {
  let current = file;
  for (let hops = 0; hops < 40; hops++) {
    let st;
    try {
      st = await fsp.lstat(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return current;
      throw fsError(err, "inspect", current);
    }
    if (!st.isSymbolicLink()) return current;
    const link = await fsp.readlink(current).catch((err: unknown) => {
      throw fsError(err, "read the link", current);
    });
    current = p.resolve(p.dirname(current), link);
  }
  throw fsError(Object.assign(new Error("too many levels of symbolic links"), { code: "ELOOP" }), "write", file);
}

async function writeBytes(file: string, text: string): Promise<void> {
  await atomicWriteFile(await writeTarget(file), Buffer.from(text, "latin1"));
}

async function putScript(file: string, content: string, dryRun: boolean): Promise<RcEdit> {
  const current = await readBytes(file);
  const wanted = toBytes(content);
  if (current === wanted) return { file, action: "unchanged" };
  if (!dryRun) await atomicWriteFile(file, Buffer.from(wanted, "latin1"), { mode: 0o644 });
  return { file, action: current === null ? "created" : "updated" };
}

async function upsertRc(target: RcTarget, body: string, dryRun: boolean): Promise<RcEdit | null> {
  const current = await readBytes(target.file);
  if (current === null && !target.create) return null;
  const r = upsertBlock(current, body);
  if (!r.changed) return { file: target.file, action: "unchanged" };
  if (!dryRun) await writeBytes(target.file, r.text);
  return { file: target.file, action: current === null ? "created" : "updated" };
}

async function removeRc(target: RcTarget, createdByUs: boolean, dryRun: boolean): Promise<RcEdit | null> {
  const current = await readBytes(target.file);
  if (current === null) return null;
  const r = removeBlock(current);
  if (!r.changed) return null;
  const left = r.text ?? "";
  let isLink = false;
  try {
    isLink = (await fsp.lstat(target.file)).isSymbolicLink();
  } catch (err) {
    throw fsError(err, "inspect", target.file);
  }
  // A link is never deleted: it belongs to the user's dotfiles even when its target is empty now.
  const remove = !isLink && left === "" && (r.text === null || createdByUs || target.owned);
  if (!dryRun) {
    if (remove) {
      try {
        await fsp.rm(target.file, { force: true });
      } catch (err) {
        throw fsError(err, "delete", target.file);
      }
    } else {
      await writeBytes(target.file, left);
    }
  }
  return { file: target.file, action: remove ? "deleted" : "removed-block" };
}
