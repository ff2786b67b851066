/** tshup's own executable on disk: whether a file is one, and clearing what a stopped run left beside it. */
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { Host } from "../host.js";
import { isSelfWorkName, selfInstallPath, SELF_MARKER } from "../core/self.js";
import { fsError } from "../core/errors.js";

/** No build of tshup comes near this (about 100 MiB); a larger file is not read through. */
export const MAX_EXECUTABLE_BYTES = 512 * 1024 * 1024;

export type ExecutableKind = { kind: "absent" } | { kind: "tshup" } | { kind: "foreign"; what: string };

/**
 * What is at `file`: nothing, a tshup executable (a regular file carrying SELF_MARKER), or
 * something else, said in words for the message. The file is read, never run: whatever stands
 * there may be anyone's program.
 */
export async function inspectExecutable(file: string): Promise<ExecutableKind> {
  let st: fs.Stats;
  try {
    st = await fsp.lstat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { kind: "absent" };
    throw fsError(err, "inspect", file);
  }
  if (st.isSymbolicLink()) return { kind: "foreign", what: "a link" };
  if (st.isDirectory()) return { kind: "foreign", what: "a directory" };
  if (!st.isFile()) return { kind: "foreign", what: "not a regular file" };
  if (st.size > MAX_EXECUTABLE_BYTES) return { kind: "foreign", what: `a file of ${st.size} bytes, larger than any tshup` };
  try {
    return (await containsBytes(file, Buffer.from(SELF_MARKER))) ? { kind: "tshup" } : { kind: "foreign", what: "a file that is not a tshup executable" };
  } catch (err) {
    throw fsError(err, "read", file);
  }
}

async function containsBytes(file: string, needle: Buffer): Promise<boolean> {
  // The tail of each chunk is carried over, so a needle cut in two by a chunk boundary is found.
  let tail: Buffer = Buffer.alloc(0);
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    const buf = tail.length ? Buffer.concat([tail, chunk as Buffer]) : (chunk as Buffer);
    if (buf.includes(needle)) return true;
    tail = buf.subarray(Math.max(0, buf.length - needle.length + 1));
  }
  return false;
}

/**
 * Whether the stable copy is in place, which puts its directory on PATH next to the bin dir. A
 * regular file is enough here: PATH is only extended, and a user's own link there is theirs.
 */
export async function selfCopyPresent(host: Host): Promise<boolean> {
  return (await fsp.lstat(selfInstallPath(host)).catch(() => null))?.isFile() ?? false;
}

/**
 * Removes the copies and moved-aside executables a stopped run left beside `exe` (a Windows exe
 * still running refuses and goes next time). The lock and a partial download stay: another run may
 * hold the one, and the other resumes.
 */
export async function removeStaleSelfFiles(exe: string): Promise<void> {
  const dir = path.dirname(exe);
  const name = path.basename(exe);
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  const stale = names.filter((n) => isSelfWorkName(name, n) && /\.(new-\d+|old-[a-z0-9-]+)$/.test(n));
  await Promise.all(stale.map((n) => fsp.rm(path.join(dir, n), { force: true }).catch(() => {})));
}
