/**
 * tshup's own executable (SPEC section 2, `self install` and `self update`): where its stable copy
 * lives, what a site's published builds are called, and how their SHA256SUMS and version lines
 * read. Pure: the files themselves are io/self.ts's.
 */
import type { Host, PlatformName } from "../host.js";
import { envGet } from "../host.js";
import { pathFor } from "./layout.js";
import { isStrictVersion } from "./version.js";

/**
 * A string every build of tshup carries in its bytes (the bundle is embedded as text, this
 * constant with it) and no other program has by chance: how a file is known to be tshup's
 * without running it, before it is overwritten or removed.
 */
export const SELF_MARKER = "tshup-own-executable:3c5e1d0b9a7f";

/** `~/.local/bin/tshup`, or `%LOCALAPPDATA%\Programs\tshup\tshup.exe`: per user, no admin rights. */
export function selfInstallPath(host: Host): string {
  const p = pathFor(host);
  if (host.platform === "win32") {
    const local = envGet(host, "LOCALAPPDATA") || p.join(host.home, "AppData", "Local");
    return p.join(local, "Programs", "tshup", "tshup.exe");
  }
  return p.join(host.home, ".local", "bin", "tshup");
}

/** The published file for a platform, as `npm run dist` names it (scripts/node-targets.json), or null when none is built. */
export function selfFileName(platform: PlatformName, arch: string): string | null {
  if (platform === "win32") return arch === "x64" ? "tshup-win-x64.exe" : null;
  return arch === "x64" || arch === "arm64" ? `tshup-${platform}-${arch}` : null;
}

/**
 * `sha256sum` output, as `npm run dist` writes it: `<64 hex>  <name>` per line (`*<name>` in
 * binary mode). File name -> lower-case hex; lines that are not such an entry are ignored.
 */
export function parseSha256Sums(text: string): Map<string, string | "conflict"> {
  const sums = new Map<string, string | "conflict">();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([0-9a-fA-F]{64}) [ *]([^\s/\\]+)$/.exec(line.trim());
    if (!m) continue;
    const hash = m[1]!.toLowerCase();
    const had = sums.get(m[2]!);
    // A file listed twice with two hashes vouches for nothing: neither line is believed.
    sums.set(m[2]!, had === undefined || had === hash ? hash : "conflict");
  }
  return sums;
}

/** What `tshup --version` prints, `tshup 0.1.0 (abc123def456)`: the version and the build it came from. */
export interface SelfVersion {
  version: string;
  commit: string;
}

export function parseSelfVersion(output: string): SelfVersion | null {
  const m = /^tshup (\S+) \(([^()\s]*)\)\s*$/.exec(output.trim());
  return m && isStrictVersion(m[1]) ? { version: m[1]!, commit: m[2]! } : null;
}

export const showSelfVersion = (v: SelfVersion): string => `${v.version} (${v.commit})`;

/**
 * The work files kept beside the executable, so that each rename stays on one file system and a
 * root need not exist: the lock, a download in progress, the copy being moved in
 * (replaceExe's `.<name>.new-<pid>`) and a running Windows exe moved aside.
 */
export function selfWorkFiles(exe: string, host: Host): { lock: string; partial: string; asidePrefix: string } {
  const p = pathFor(host);
  const at = (suffix: string) => p.join(p.dirname(exe), `.${p.basename(exe)}.${suffix}`);
  return { lock: at("lock"), partial: at("partial"), asidePrefix: at("old-") };
}

/** Whether the stable copy's directory is tshup's alone (Programs\tshup), not one it shares (~/.local/bin). */
export const selfDirIsOwn = (host: Host): boolean => host.platform === "win32";

/** Whether a name in the executable's directory is one of the work files above, left by a run that stopped. */
export function isSelfWorkName(exeName: string, name: string): boolean {
  if (!name.startsWith(`.${exeName}.`)) return false;
  return /^(lock|partial|partial\.json|new-\d+|old-[a-z0-9-]+)$/.test(name.slice(exeName.length + 2));
}
