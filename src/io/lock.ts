import fs from "node:fs/promises";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { systemError, fsError } from "../core/errors.js";
import { envGet, type Host } from "../host.js";

interface LockOwner {
  pid: number;
  hostname: string;
  since: string;
}

export interface Lock {
  release(): Promise<void>;
}


function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function readOwner(file: string): Promise<LockOwner | null> {
  try {
    const owner = JSON.parse(await fs.readFile(file, "utf8")) as LockOwner;
    return Number.isInteger(owner.pid) ? owner : null;
  } catch {
    return null;
  }
}

/**
 * One tshup at a time per root, across processes. A holder killed with -9 leaves its file behind;
 * the next run sees its pid is gone and takes over. Waiting is bounded so a fleet run never hangs.
 */
export async function acquireLock(
  lockPath: string,
  opts: { timeoutMs: number; onWait?: (owner: LockOwner) => void; pid: number },
): Promise<Lock> {
  const me: LockOwner = { pid: opts.pid, hostname: os.hostname(), since: new Date().toISOString() };
  const deadline = Date.now() + opts.timeoutMs;
  let told = false;
  for (;;) {
    try {
      const fh = await fs.open(lockPath, "wx", 0o644);
      try {
        await fh.writeFile(JSON.stringify(me));
      } finally {
        await fh.close();
      }
      return { release: () => releaseLock(lockPath, me.pid) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw fsError(err, "create the lock file", lockPath);
    }
    const owner = await readOwner(lockPath);
    if (owner === null) {
      // Just created and not yet written, or left empty by a crash: give the writer a moment.
      await sleep(100);
      const again = await readOwner(lockPath);
      if (again === null && (await lockAgeMs(lockPath)) > 2000) await takeOver(lockPath, null);
      continue;
    }
    if (owner.hostname === me.hostname && !isAlive(owner.pid)) {
      await takeOver(lockPath, owner.pid);
      continue;
    }
    if (!told) {
      opts.onWait?.(owner);
      told = true;
    }
    if (Date.now() >= deadline) {
      throw systemError(
        `another tshup (pid ${owner.pid} on ${owner.hostname}, since ${owner.since}) holds ${lockPath}`,
        `wait for it to finish; if no tshup is running, delete ${lockPath}`,
      );
    }
    await sleep(150 + Math.floor(Math.random() * 100));
  }
}

async function lockAgeMs(lockPath: string): Promise<number> {
  try {
    return Date.now() - (await fs.stat(lockPath)).mtimeMs;
  } catch {
    return 0;
  }
}

/** Moves the dead holder's file aside first, so two waiters cannot both delete a fresh lock. */
async function takeOver(lockPath: string, deadPid: number | null): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await fs.rename(lockPath, aside);
  } catch {
    return; // someone else got there first
  }
  const moved = await readOwner(aside);
  if (moved !== null && moved.pid !== deadPid && isAlive(moved.pid)) {
    // We moved a live holder's fresh lock: put it back unless a new one already stands.
    await fs.link(aside, lockPath).catch(() => {});
  }
  await fs.rm(aside, { force: true });
}

async function releaseLock(lockPath: string, pid: number): Promise<void> {
  const owner = await readOwner(lockPath);
  if (owner?.pid === pid) await fs.rm(lockPath, { force: true });
}

/** How long to wait for another run's lock: TSHUP_LOCK_TIMEOUT seconds, else the command's default. */
export function lockTimeoutMs(host: Host, defaultMs: number): number {
  const s = Number(envGet(host, "TSHUP_LOCK_TIMEOUT") ?? "");
  return Number.isFinite(s) && s > 0 ? s * 1000 : defaultMs;
}
