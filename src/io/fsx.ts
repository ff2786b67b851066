import fs from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fsError } from "../core/errors.js";

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

export async function renameWithRetry(from: string, to: string, windows = process.platform === "win32"): Promise<void> {
  await withFsRetry(() => fs.rename(from, to), windows);
}

export async function removeWithRetry(target: string, windows = process.platform === "win32"): Promise<void> {
  await withFsRetry(() => fs.rm(target, { recursive: true, force: true }), windows);
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** A file's bytes, or null when it does not exist (a dangling link included). */
export async function readFileIfExists(p: string): Promise<Buffer | null> {
  try {
    return await fs.readFile(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw fsError(err, "read", p);
  }
}

export async function readTextIfExists(p: string): Promise<string | null> {
  return (await readFileIfExists(p))?.toString("utf8") ?? null;
}

/** A unique sibling name, so concurrent writers never share a temp file. */
export function tempSibling(p: string): string {
  return path.join(path.dirname(p), `.${path.basename(p)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
}

/**
 * Writes a file so that readers see the old bytes or the new ones, never half: temp file in the same
 * directory, fsync, rename. A symlinked target (dotfile managers) is written through, not replaced.
 */
export async function atomicWriteFile(p: string, data: string | Buffer, opts: { mode?: number } = {}): Promise<void> {
  let target = p;
  try {
    target = await fs.realpath(p);
  } catch {
    // Absent: create it where asked.
  }
  let mode = opts.mode;
  if (mode === undefined) {
    try {
      mode = (await fs.stat(target)).mode & 0o7777;
    } catch {
      mode = 0o644;
    }
  }
  const tmp = tempSibling(target);
  try {
    await fs.mkdir(path.dirname(target), { recursive: true });
    const fh = await fs.open(tmp, "wx", mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (process.platform !== "win32") await fs.chmod(tmp, mode);
    await renameWithRetry(tmp, target);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    throw fsError(err, "write", target);
  }
}

export async function mkdirp(dir: string, mode?: number): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode });
  } catch (err) {
    throw fsError(err, "create the directory", dir);
  }
}
