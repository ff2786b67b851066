/**
 * Writes tshup's ssh configuration: `~/.ssh/tshup/<cluster>.conf` per cluster and the include block
 * at the top of `~/.ssh/config` (SPEC section 6). `~/.ssh/config` is handled as bytes (decoded as
 * latin1, one character per byte) so that every byte outside tshup's block survives, whatever its
 * encoding.
 */
import fs from "node:fs/promises";
import type { Host } from "../host.js";
import { fsError, systemError, usageError } from "../core/errors.js";
import { pathFor } from "../core/layout.js";
import {
  clusterConfigFileName,
  clusterKnownHostsFileName,
  renderKnownHosts,
  hasByteOrderMark,
  includeLineFor,
  managedFileState,
  removeIncludeBlock,
  renderClusterConfig,
  upsertIncludeBlock,
  type ClusterSshConfig,
} from "../core/sshconfig.js";
import { atomicWriteFile, isTempSiblingName, lstatOrNull, readFileIfExists, removeWithRetry } from "./fsx.js";

export type SshEditAction = "created" | "updated" | "unchanged" | "kept-user-edit";

export interface SshSeedResult {
  changed: boolean;
  edits: { file: string; action: SshEditAction }[];
  warnings: string[];
  /** The copy of `~/.ssh/config` made before tshup first changed it (planned, on a dry run). */
  backup?: string;
}

export interface SshRemoveResult {
  changed: boolean;
  edits: { file: string; action: "removed" | "updated" | "unchanged" }[];
  warnings: string[];
}

export interface SshPaths {
  sshDir: string;
  config: string;
  tshupDir: string;
  backup: string;
}

/** Where tshup's ssh files are for this host (Windows: `%USERPROFILE%\.ssh`, host.home being that). */
export function sshPaths(host: Host): SshPaths {
  const p = pathFor(host);
  const sshDir = p.join(host.home, ".ssh");
  return {
    sshDir,
    config: p.join(sshDir, "config"),
    tshupDir: p.join(sshDir, "tshup"),
    backup: p.join(sshDir, "config.tshup-backup"),
  };
}


async function mkdirPrivate(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw fsError(err, "create the directory", dir);
  }
}

/** ssh ignores (or refuses) config that others can write; say so rather than leave a silent failure. */
async function permissionWarnings(host: Host, files: string[]): Promise<string[]> {
  if (host.platform === "win32") return [];
  const out: string[] = [];
  for (const f of files) {
    try {
      const st = await fs.stat(f);
      if (st.mode & 0o022) {
        out.push(`${f} can be written by other users, so ssh refuses it ("Bad owner or permissions"); run: chmod go-w ${f}`);
      }
    } catch {
      // Absent: nothing to say.
    }
  }
  return out;
}

/** A backup name not taken yet: the plain one, else one stamped with the time. */
async function backupName(paths: SshPaths, current: Buffer, now: number): Promise<{ path: string; needed: boolean }> {
  const existing = await readFileIfExists(paths.backup);
  if (existing === null) return { path: paths.backup, needed: true };
  if (existing.equals(current)) return { path: paths.backup, needed: false };
  const stamp = new Date(now).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return { path: `${paths.backup}-${stamp}`, needed: true };
}

/**
 * Seeds ssh for the given clusters: writes each cluster's file (keeping one a person edited unless
 * `force`) and puts the include block at the top of `~/.ssh/config`, backing that file up the first
 * time. With `dryRun` nothing is written and the result says what would be.
 */
export async function seedSshConfig(
  host: Host,
  clusters: ClusterSshConfig[],
  opts: { dryRun: boolean; force: boolean },
): Promise<SshSeedResult> {
  // Nothing to point ssh at: leave the user's config alone rather than add an include of nothing.
  if (clusters.length === 0) return { changed: false, edits: [], warnings: [] };
  const p = pathFor(host);
  const paths = sshPaths(host);
  const edits: SshSeedResult["edits"] = [];
  const warnings: string[] = [];
  let backup: string | undefined;

  // Render everything first: a bad value fails the run before anything is written.
  const files = new Map<string, { cluster: string; text: string }>();
  const rendered = clusters.flatMap((c) => [
    { c, file: p.join(paths.tshupDir, clusterConfigFileName(c.cluster)), text: renderClusterConfig(c) },
    ...(c.style === "proxyjump" && c.hostCAs?.length ? [{ c, file: p.join(paths.tshupDir, clusterKnownHostsFileName(c.cluster)), text: renderKnownHosts(c) }] : []),
  ]);
  for (const { c, file, text } of rendered) {
    const other = files.get(file);
    if (other && other.text === text) continue;
    if (other) {
      throw usageError(
        `cannot write ssh config: clusters ${JSON.stringify(other.cluster)} and ${JSON.stringify(c.cluster)} (proxy ${c.proxyHost}) would share ${file}`,
        "tshup keeps one ssh file per cluster name; leave the ssh section out for one of them in the manifest",
      );
    }
    files.set(file, { cluster: c.cluster, text });
  }

  const writes: (() => Promise<void>)[] = [];
  // tshup's own directory: a link or a file in its place is refused, never written through.
  const own = lstatOrNull(paths.tshupDir);
  if (own && !own.isDirectory()) {
    throw systemError(`${paths.tshupDir} is ${own.isSymbolicLink() ? "a link" : "not a directory"}; tshup writes its ssh files only into a directory of its own`, `move ${paths.tshupDir} aside and run tshup again`);
  }
  if (!(await isDirectory(paths.sshDir))) writes.push(() => mkdirPrivate(paths.sshDir));
  writes.push(() => mkdirPrivate(paths.tshupDir));

  for (const [file, { text }] of files) {
    const current = await readFileIfExists(file);
    const wanted = Buffer.from(text, "utf8");
    let action: SshEditAction;
    if (current === null) action = "created";
    else if (current.equals(wanted)) action = "unchanged";
    else if (managedFileState(current.toString("utf8")) === "tshup" || opts.force) action = "updated";
    else {
      action = "kept-user-edit";
      warnings.push(`${file} was changed by hand, so tshup kept it as it is; run tshup with --force to replace it with tshup's version (your changes are lost), or delete it`);
    }
    edits.push({ file, action });
    if (action === "created" || action === "updated") writes.push(() => atomicWriteFile(file, wanted, { mode: 0o600 }));
  }

  // The include block goes in last, so it never points at files that are not written yet.
  const configBytes = await readFileIfExists(paths.config);
  const original = configBytes === null ? null : configBytes.toString("latin1");
  const includeLine = Buffer.from(includeLineFor(host.home, host.platform === "win32"), "utf8").toString("latin1");
  const up = upsertIncludeBlock(original, includeLine);
  if (original !== null && hasByteOrderMark(original)) {
    warnings.push(`${paths.config} starts with a byte order mark, which OpenSSH rejects ("Bad configuration option"); save it as UTF-8 without BOM`);
  }
  if (!up.changed) {
    edits.push({ file: paths.config, action: "unchanged" });
  } else {
    edits.push({ file: paths.config, action: original === null ? "created" : "updated" });
    const firstChange = original !== null && original !== "" && removeIncludeBlock(original).changed === false;
    if (firstChange) {
      const b = await backupName(paths, configBytes!, host.now());
      backup = b.path;
      if (b.needed) writes.push(() => atomicWriteFile(b.path, configBytes!, { mode: 0o600 }));
    }
    const data = Buffer.from(up.text, "latin1");
    // An existing config keeps its mode (and its owner's choice of where it really lives: symlinks
    // are written through); a new one is private like the rest of ~/.ssh.
    writes.push(() => atomicWriteFile(paths.config, data, original === null ? { mode: 0o600 } : { throughLinks: true }));
  }

  if (!opts.dryRun) {
    for (const w of writes) await w();
    warnings.push(...(await permissionWarnings(host, [paths.config, ...files.keys()])));
  }
  const changed = edits.some((e) => e.action === "created" || e.action === "updated");
  return { changed, edits, warnings, ...(backup ? { backup } : {}) };
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}


/**
 * Undoes seedSshConfig: takes the block out of `~/.ssh/config` (its bytes then are exactly what they
 * were before tshup; a config tshup created and that holds nothing else is deleted) and deletes
 * tshup's files in `~/.ssh/tshup/`. Files there that tshup did not write are kept. Once the block is
 * out, the config holds exactly the bytes its backups hold, so tshup's backups go too.
 */
export async function removeSshConfig(host: Host, opts: { dryRun: boolean }): Promise<SshRemoveResult> {
  const p = pathFor(host);
  const paths = sshPaths(host);
  const edits: SshRemoveResult["edits"] = [];
  const warnings: string[] = [];
  const writes: (() => Promise<void>)[] = [];

  const configBytes = await readFileIfExists(paths.config);
  if (configBytes !== null) {
    const r = removeIncludeBlock(configBytes.toString("latin1"));
    if (!r.changed) edits.push({ file: paths.config, action: "unchanged" });
    else if (r.text === null) {
      edits.push({ file: paths.config, action: "removed" });
      writes.push(() => removeFile(paths.config));
    } else {
      edits.push({ file: paths.config, action: "updated" });
      const data = Buffer.from(r.text, "latin1");
      writes.push(() => atomicWriteFile(paths.config, data, { throughLinks: true }));
    }
  }

  for (const name of (await fs.readdir(paths.sshDir).catch(() => [] as string[])).sort()) {
    if (!/^config\.tshup-backup(-\d{8}T\d{6}Z)?$/.test(name)) continue;
    const file = p.join(paths.sshDir, name);
    if (!(await fs.lstat(file)).isFile()) continue;
    edits.push({ file, action: "removed" });
    writes.push(() => removeFile(file));
  }

  let names: string[] = [];
  const dir = lstatOrNull(paths.tshupDir);
  if (dir && !dir.isDirectory()) {
    warnings.push(`kept ${paths.tshupDir}: it is not a directory tshup made${dir.isSymbolicLink() ? " (a link)" : ""}`);
  } else if (dir) {
    try {
      names = (await fs.readdir(paths.tshupDir)).sort();
    } catch (err) {
      throw fsError(err, "read", paths.tshupDir);
    }
  }
  let kept = 0;
  for (const name of names) {
    const file = p.join(paths.tshupDir, name);
    if (isTempSiblingName(name)) {
      writes.push(() => removeFile(file));
      continue;
    }
    const bytes = name.endsWith(".conf") || name.endsWith(".known_hosts") ? await readFileIfExists(file).catch(() => null) : null;
    const state = bytes === null ? "foreign" : managedFileState(bytes.toString("utf8"));
    if (state === "foreign") {
      kept++;
      warnings.push(`kept ${file}: tshup did not write it`);
      continue;
    }
    if (state === "edited") warnings.push(`removed ${file}, which had been changed by hand`);
    edits.push({ file, action: "removed" });
    writes.push(() => removeFile(file));
  }
  if (names.length > 0 && kept === 0) {
    writes.push(async () => {
      try {
        await fs.rmdir(paths.tshupDir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOENT" && code !== "ENOTEMPTY") throw fsError(err, "remove", paths.tshupDir);
      }
    });
  } else if (names.length === 0) {
    // An empty directory tshup made: remove it quietly.
    writes.push(() => fs.rmdir(paths.tshupDir).catch(() => {}));
  }

  if (!opts.dryRun) for (const w of writes) await w();
  return { changed: edits.some((e) => e.action !== "unchanged"), edits, warnings };
}

async function removeFile(file: string): Promise<void> {
  try {
    await removeWithRetry(file);
  } catch (err) {
    throw fsError(err, "remove", file);
  }
}
