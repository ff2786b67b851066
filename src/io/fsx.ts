import crypto from "node:crypto";
import fs from "node:fs/promises";
import fsSync, { constants as fsConstants } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fsError, systemError } from "../core/errors.js";

const RETRYABLE = new Set(["EPERM", "EBUSY", "EACCES", "ENOTEMPTY"]);

/**
 * Windows refuses to rename or delete a file that a scanner or indexer has open for a moment;
 * retrying with backoff turns that into a short wait instead of a failed install.
 */
async function withFsRetry<T>(op: () => Promise<T>, windows: boolean): Promise<T> {
  let delay = 50;
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "";
      if (!windows || !RETRYABLE.has(code) || attempt >= 8) throw err;
      await sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
  }
}

/**
 * Windows file semantics (a running exe, a scanner holding a file open for a moment) go with
 * Windows paths: a drive letter or a UNC share. tshup's paths are absolute, so the path itself says
 * which rules apply, with no look at the process it runs in.
 */
export function isWindowsPath(p: string): boolean {
  return /^([A-Za-z]:[\\/]|\\\\)/.test(p);
}

export async function renameWithRetry(from: string, to: string): Promise<void> {
  // One system call that never waits on the disk: a thread-pool round trip would cost more.
  await withFsRetry(async () => fsSync.renameSync(from, to), isWindowsPath(to));
}

export async function removeWithRetry(target: string): Promise<void> {
  await withFsRetry(() => fs.rm(target, { recursive: true, force: true }), isWindowsPath(target));
}

/**
 * Whether a path exists, for a decision that must not guess: "not there" only when it is not
 * there; a path that cannot be looked at (permissions, a file where a directory should be) is an
 * error naming it.
 */
export async function existsOrThrow(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw fsError(err, "read", p);
  }
}

/**
 * What a path is, not following a link (`lstatOrNull`) or following it (`statOrNull`); null when it
 * cannot be looked at. Synchronous, as the small reads of a run with nothing to do are: each
 * asynchronous call is a thread-pool round trip, which costs more than the call.
 */
export function lstatOrNull(p: string): fsSync.Stats | null {
  try {
    return fsSync.lstatSync(p);
  } catch {
    return null;
  }
}

export function statOrNull(p: string): fsSync.Stats | null {
  try {
    return fsSync.statSync(p);
  } catch {
    return null;
  }
}

/** A directory with something in it; a missing or unreadable one has nothing. */
export function dirHasEntries(dir: string): boolean {
  try {
    return fsSync.readdirSync(dir).length > 0;
  } catch {
    return false;
  }
}

/** Whether a path exists; anything that keeps it from being looked at counts as not there. */
export async function exists(p: string): Promise<boolean> {
  return lstatOrNull(p) !== null;
}

/** Files tshup reads (rc files, ssh config, state, profiles) are small; anything larger is refused, not slurped. */
export const MAX_READ_BYTES = 16 * 1024 * 1024;

/**
 * A regular file's bytes (a link to one is followed), or null when it does not exist. A FIFO, a
 * device or a directory in its place is refused before a byte is read: opening non-blocking means a
 * FIFO with no writer cannot hang the run while it holds the lock. The calls are synchronous: these
 * files are small and local, and each asynchronous call would be a thread-pool round trip (about
 * 0.3 ms here), of which a run with nothing to do would make dozens before it could finish.
 */
export async function readRegularFile(p: string, maxBytes = MAX_READ_BYTES): Promise<Buffer | null> {
  return readRegular(p, maxBytes);
}

/** readRegularFile for the few places that must stay synchronous (trust settings built in a constructor); a missing file is an error. */
export function readRegularFileSync(p: string, maxBytes = MAX_READ_BYTES): Buffer {
  const bytes = readRegular(p, maxBytes);
  if (bytes === null) throw fsError(Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: "ENOENT" }), "read", p);
  return bytes;
}

function readRegular(p: string, maxBytes: number): Buffer | null {
  let fd: number;
  try {
    fd = fsSync.openSync(p, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    if (code === "EISDIR") throw notRegular(p, "a directory");
    throw fsError(err, "read", p);
  }
  try {
    const st = fsSync.fstatSync(fd);
    if (!st.isFile()) throw notRegular(p, st.isDirectory() ? "a directory" : st.isFIFO() ? "a FIFO" : st.isCharacterDevice() || st.isBlockDevice() ? "a device" : st.isSocket() ? "a socket" : "not a regular file");
    if (st.size > maxBytes) {
      throw systemError(`${p} is ${st.size} bytes, more than the ${maxBytes} tshup reads from such a file`, `check ${p}: it should be a small text file`);
    }
    // Read no more than the limit even if the file grows meanwhile.
    const buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(st.size, 0) + 1));
    let got = 0;
    for (;;) {
      const bytesRead = fsSync.readSync(fd, buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got === buf.length) {
        if (got > maxBytes) throw systemError(`${p} grew past ${maxBytes} bytes while tshup read it`, `check ${p}`);
        break;
      }
    }
    return buf.subarray(0, got);
  } catch (err) {
    throw fsError(err, "read", p);
  } finally {
    fsSync.closeSync(fd);
  }
}

function notRegular(p: string, what: string): Error {
  return systemError(`${p} is ${what}, not a regular file`, `tshup reads only regular files there; replace ${p} with a file, or remove it`);
}

/** A file's bytes, or null when it does not exist (a dangling link included). */
export async function readFileIfExists(p: string): Promise<Buffer | null> {
  return readRegularFile(p);
}

export async function readTextIfExists(p: string): Promise<string | null> {
  return (await readFileIfExists(p))?.toString("utf8") ?? null;
}

/** Whether a name is one tempSibling makes: what an interrupted atomic write leaves behind. */
export function isTempSiblingName(name: string): boolean {
  // Earlier releases named them .tmp-<pid>-<random>; these are .tmp-<random>.
  return /^\.[A-Za-z0-9._-]+\.tmp-(\d+-)?[a-z0-9]+$/.test(name);
}

/** A unique sibling name, so concurrent writers (other processes included) never share a temp file. */
export function tempSibling(p: string): string {
  return path.join(path.dirname(p), `.${path.basename(p)}.tmp-${crypto.randomBytes(8).toString("hex")}`);
}

/**
 * Writes a file so that readers see the old bytes or the new ones, never half: temp file in the same
 * directory, fsync, rename. A link in the file's place is replaced, never written through, unless
 * `throughLinks` says the file is the user's own (a ~/.ssh/config a dotfile manager links
 * elsewhere), where the link is kept and its target written. `durable: false` skips the fsync, for
 * records whose loss in a power cut costs nothing.
 */
export async function atomicWriteFile(p: string, data: string | Buffer, opts: { mode?: number; throughLinks?: boolean; durable?: boolean } = {}): Promise<void> {
  // Synchronous calls: each asynchronous one is a thread-pool round trip, six for one small file,
  // which was most of the time a run with nothing to do spent writing its last-run record.
  let target = p;
  if (opts.throughLinks) {
    try {
      target = fsSync.realpathSync.native(p);
    } catch {
      // Absent: create it where asked.
    }
  }
  let mode = opts.mode;
  if (mode === undefined) {
    try {
      const st = fsSync.lstatSync(target);
      mode = st.isFile() ? st.mode & 0o7777 : 0o644;
    } catch {
      mode = 0o644;
    }
  }
  const tmp = tempSibling(target);
  try {
    fsSync.mkdirSync(path.dirname(target), { recursive: true });
    const fd = fsSync.openSync(tmp, "wx", mode);
    try {
      fsSync.writeFileSync(fd, data);
      if (opts.durable !== false) fsSync.fsyncSync(fd);
    } finally {
      fsSync.closeSync(fd);
    }
    if (!isWindowsPath(tmp)) fsSync.chmodSync(tmp, mode);
    await renameWithRetry(tmp, target);
  } catch (err) {
    try {
      fsSync.rmSync(tmp, { force: true });
    } catch {
      // The error that matters is the one above.
    }
    throw fsError(err, "write", target);
  }
}

/** The directories mkdirp(dir) would create, deepest first: what a run that fails may take away again. */
export function missingDirs(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; lstatOrNull(d) === null; d = path.dirname(d)) {
    if (path.dirname(d) === d) break;
    out.push(d);
  }
  return out;
}

/** Removes directories a run made (missingDirs), deepest first, each only while it is empty. */
export function removeMadeDirs(dirs: string[]): void {
  for (const d of dirs) if (!removeIfEmpty(d)) return;
}

export async function mkdirp(dir: string, mode?: number): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode });
  } catch (err) {
    throw fsError(err, "create the directory", dir);
  }
}

/**
 * A work directory directly under the root, made fresh when something else stands in its place: a
 * link planted there must never make tshup write or delete through it.
 */
export async function ensureWorkDir(dir: string, mode = 0o755): Promise<void> {
  const st = lstatOrNull(dir);
  if (st && !st.isDirectory()) {
    try {
      await fs.unlink(dir);
    } catch (err) {
      throw fsError(err, "replace", dir);
    }
  }
  try {
    await fs.mkdir(dir, { recursive: true, mode });
  } catch (err) {
    throw fsError(err, "create the directory", dir);
  }
}

/**
 * Removes a work directory that a run left empty, so a failed or finished run leaves no empty
 * husk; one still holding something (a partial download kept for resume), or a link planted in
 * its place (rmdir never follows one), stays. Synchronous, as a signal's cleanup must be. Says
 * whether it went.
 */
export function removeIfEmpty(dir: string): boolean {
  try {
    fsSync.rmdirSync(dir);
    return true;
  } catch {
    // Not empty, not there, or not ours to remove: it stays.
    return false;
  }
}

/** versions/ and bin/ hold what users run: a link there is refused rather than followed or replaced. */
export async function requireRealDir(dir: string): Promise<void> {
  const st = lstatOrNull(dir);
  if (st && !st.isDirectory()) {
    throw systemError(`${dir} is ${st.isSymbolicLink() ? "a link" : "not a directory"}; tshup writes only into directories it made`, `move ${dir} away and run tshup again`);
  }
  if (!st) {
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    } catch (err) {
      throw fsError(err, "create the directory", dir);
    }
  }
}


export interface ReplaceOptions {
  /** Names the copy in progress (`.<name>.new-<pid>`), which a later run recognises and removes. */
  pid: number;
  /** Renames the old file out of the way, and says where it went (null: nothing was there). */
  moveAside: (file: string) => Promise<string | null>;
  /** Set on the copy before it is renamed into place, so it is never seen with another mode. */
  mode?: number;
}

/**
 * Puts a copy of `source` at `dest` so that `dest` is missing for as short a time as possible: the
 * copy is made (and flushed) beside it first; then one rename replaces it, which works unless the
 * old exe is running on Windows. If Windows refuses, the running one is renamed aside (allowed for
 * a running exe) and the copy renamed in right after; should that last step fail, the old one is
 * put back.
 */
export async function replaceExe(source: string, dest: string, opts: ReplaceOptions): Promise<void> {
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.new-${opts.pid}`);
  try {
    await fs.copyFile(source, tmp);
    if (opts.mode !== undefined) await fs.chmod(tmp, opts.mode);
    const fh = await fs.open(tmp, "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw fsError(err, "write", tmp);
  }
  try {
    await fs.rename(tmp, dest);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (!["EPERM", "EACCES", "EBUSY"].includes(code)) {
      await fs.rm(tmp, { force: true }).catch(() => {});
      throw fsError(err, "replace", dest);
    }
  }
  const aside = await opts.moveAside(dest).catch(async (err) => {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw err;
  });
  try {
    await renameWithRetry(tmp, dest);
  } catch (err) {
    if (aside) await fs.rename(aside, dest).catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw fsError(err, "replace", dest);
  }
}

/** SHA-256 of a regular file, or null when there is none (a directory in its place counts as none). */
export async function hashFile(file: string): Promise<string | null> {
  const hash = crypto.createHash("sha256");
  // A FIFO or device would never end: only a regular file is read.
  const st = lstatOrNull(file);
  if (st && !st.isFile()) {
    if (st.isDirectory()) return null;
    throw fsError(Object.assign(new Error("not a regular file"), { code: "EINVAL" }), "read", file);
  }
  try {
    for await (const chunk of fsSync.createReadStream(file)) hash.update(chunk as Buffer);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    // A directory where a file should be is as good as absent: it gets replaced, or the rename says why.
    if (code === "EISDIR") return null;
    throw fsError(err, "read", file);
  }
  return hash.digest("hex");
}
