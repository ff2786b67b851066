import fs from "node:fs/promises";
import fsSync from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { systemError, fsError } from "../core/errors.js";
import { envGet, type Host } from "../host.js";
import { lstatOrNull, readRegularFile, readRegularFileSync } from "./fsx.js";
import { onAbort } from "./abort.js";

interface LockOwner {
  pid: number;
  hostname: string;
  since: string;
  /** Tells this process from a later one that got the same pid (after a reboot, say). */
  identity?: string | null;
}

export interface Lock {
  release(): Promise<void>;
}

/** The run a lock file names, or null for anything that is not a lock tshup wrote. */
export async function readLockOwner(file: string): Promise<LockOwner | null> {
  try {
    const owner = JSON.parse((await readRegularFile(file, 64 * 1024))?.toString("utf8") ?? "null") as LockOwner;
    return owner && Number.isInteger(owner.pid) && typeof owner.hostname === "string" ? owner : null;
  } catch {
    return null;
  }
}

/** A holder on this machine whose process is gone, or whose pid now belongs to another process. */
function heldByDeadRun(owner: LockOwner, host: Host): boolean {
  if (owner.hostname !== host.hostname) return false;
  if (!host.isProcessAlive(owner.pid)) return true;
  if (owner.identity) {
    const now = host.processIdentity(owner.pid);
    return now !== null && now !== owner.identity;
  }
  return false;
}

/**
 * One tshup at a time per root, across processes. A holder killed with -9 leaves its file behind;
 * the next run sees its process is gone (or that its pid was reused) and takes over. Waiting is
 * bounded so a fleet run never hangs.
 */
export async function acquireLock(lockPath: string, opts: { host: Host; timeoutMs: number; onWait?: (owner: LockOwner) => void }): Promise<Lock> {
  const { host } = opts;
  const me: LockOwner = { pid: host.pid, hostname: host.hostname, since: new Date(host.now()).toISOString(), identity: host.processIdentity(host.pid) };
  const deadline = host.now() + opts.timeoutMs;
  let told = false;
  for (;;) {
    try {
      const fh = await fs.open(lockPath, "wx", 0o644);
      try {
        await fh.writeFile(JSON.stringify(me));
      } catch (err) {
        // The file is this run's (wx made it): left empty, on a full disk, it would stand in every
        // later run's way.
        await fh.close().catch(() => {});
        await fs.rm(lockPath, { force: true }).catch(() => {});
        throw err;
      }
      await fh.close();
      const forget = onAbort(() => releaseLockSync(lockPath, me.pid));
      return {
        release: async () => {
          forget();
          await releaseLock(lockPath, me.pid);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw fsError(err, "create the lock file", lockPath);
    }
    const st = lstatOrNull(lockPath);
    if (st?.isDirectory()) {
      // Not a lock any run of tshup made, and not one to delete: someone else's directory.
      throw systemError(`${lockPath} is a directory, not tshup's lock file`, `move ${lockPath} aside (tshup never made it) and run tshup again`);
    }
    const owner = await readLockOwner(lockPath);
    if (owner === null) {
      // Just created and not yet written, or left empty (or garbled) by a crash: give the writer a moment.
      await sleep(100);
      const again = await readLockOwner(lockPath);
      if (again === null && (await lockAgeMs(lockPath, host)) > 2000) await takeOver(lockPath, null, host);
      continue;
    }
    if (heldByDeadRun(owner, host)) {
      await takeOver(lockPath, owner, host);
      continue;
    }
    if (!told) {
      opts.onWait?.(owner);
      told = true;
    }
    if (host.now() >= deadline) {
      throw systemError(
        `another tshup (pid ${owner.pid} on ${owner.hostname}, since ${owner.since}) holds ${lockPath}`,
        `wait for it to finish; if no tshup is running, delete ${lockPath}`,
      );
    }
    await sleep(150 + Math.floor(host.random() * 100));
  }
}

async function lockAgeMs(lockPath: string, host: Host): Promise<number> {
  try {
    return host.now() - (await fs.lstat(lockPath)).mtimeMs;
  } catch {
    return 0;
  }
}

/** Moves the dead holder's file aside first, so two waiters cannot both delete a fresh lock. */
async function takeOver(lockPath: string, dead: LockOwner | null, host: Host): Promise<void> {
  const aside = `${lockPath}.stale-${host.pid}-${Math.floor(host.random() * 1e9).toString(36)}`;
  try {
    await fs.rename(lockPath, aside);
  } catch {
    return; // someone else got there first
  }
  const moved = await readLockOwner(aside);
  const same = moved !== null && dead !== null && moved.pid === dead.pid && moved.identity === dead.identity && moved.since === dead.since;
  if (moved !== null && !same && !heldByDeadRun(moved, host)) {
    // We moved a live holder's fresh lock: put it back unless a new one already stands.
    await fs.link(aside, lockPath).catch(() => {});
  }
  await fs.rm(aside, { force: true });
}

async function releaseLock(lockPath: string, pid: number): Promise<void> {
  const owner = await readLockOwner(lockPath);
  if (owner?.pid === pid) await fs.rm(lockPath, { force: true });
}

function releaseLockSync(lockPath: string, pid: number): void {
  try {
    const owner = JSON.parse(readRegularFileSync(lockPath, 64 * 1024).toString("utf8")) as LockOwner;
    if (owner.pid === pid) fsSync.rmSync(lockPath, { force: true });
  } catch {
    // Gone already, or not ours.
  }
}

/**
 * The lock of a run that changes things (install, self update, mirror): it waits up to
 * TSHUP_LOCK_TIMEOUT seconds (default ten minutes) and says once what it is waiting for.
 */
export function acquireRunLock(lockPath: string, host: Host, what: string, say: (line: string) => void): Promise<Lock> {
  return acquireLock(lockPath, {
    host,
    timeoutMs: lockTimeoutMs(host, 10 * 60 * 1000),
    onWait: (o) => say(`Waiting for another tshup (pid ${o.pid}) to finish with ${what}`),
  });
}

/** How long to wait for another run's lock: TSHUP_LOCK_TIMEOUT seconds, else the command's default. */
export function lockTimeoutMs(host: Host, defaultMs: number): number {
  const s = Number(envGet(host, "TSHUP_LOCK_TIMEOUT") ?? "");
  return Number.isFinite(s) && s > 0 ? s * 1000 : defaultMs;
}
