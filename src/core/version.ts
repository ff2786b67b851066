/** Strict X.Y.Z[-pre][+build], no leading "v": versions come from the network and end up in URLs and paths. */
const STRICT_SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export function isStrictVersion(value: unknown): value is string {
  if (typeof value !== "string" || value.length > 64) return false;
  const m = STRICT_SEMVER.exec(value);
  // No Teleport release is near 2^53, and numbers past it would not compare exactly.
  return m !== null && [m[1], m[2], m[3]].every((n) => Number(n) <= Number.MAX_SAFE_INTEGER);
}

interface Parsed {
  core: [number, number, number];
  pre: string[];
}

/**
 * SemVer 2.0 parsing and precedence, by hand: the semver package builds some forty regular
 * expressions when it loads, about 3 ms of every run, for the two questions tshup asks of it.
 */
function parse(v: string): Parsed {
  const m = isStrictVersion(v) ? STRICT_SEMVER.exec(v) : null;
  if (!m) throw new TypeError(`Invalid Version: ${String(v).slice(0, 64)}`);
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split(".") : [] };
}

function compareIdentifiers(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) return Math.sign(Number(a) - Number(b));
  // Numeric identifiers sort before alphanumeric ones; these compare as ASCII.
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export const major = (v: string): number => parse(v).core[0];

/** -1, 0 or 1 by SemVer precedence: build metadata is ignored, a pre-release sorts before its release. */
export function compareVersions(a: string, b: string): number {
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return x.core[i]! < y.core[i]! ? -1 : 1;
  if (x.pre.length === 0 || y.pre.length === 0) return x.pre.length === y.pre.length ? 0 : x.pre.length === 0 ? 1 : -1;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    if (i >= x.pre.length) return -1;
    if (i >= y.pre.length) return 1;
    const c = compareIdentifiers(x.pre[i]!, y.pre[i]!);
    if (c !== 0) return c;
  }
  return 0;
}

/** The versions a cluster accepts: >= min_client_version and no newer major than the server's. */
export interface VersionWindow {
  min: string;
  maxMajor: number;
}

export function windowFor(serverVersion: string, minClientVersion: string | null): VersionWindow {
  const maxMajor = major(serverVersion);
  // Servers without min_client_version still refuse clients two majors behind.
  const min = minClientVersion ?? `${Math.max(0, maxMajor - 1)}.0.0-aa`;
  return { min, maxMajor };
}

export function inWindow(version: string, w: VersionWindow): boolean {
  return compareVersions(version, w.min) >= 0 && major(version) <= w.maxMajor;
}

/** "16.x or 17.x" style, for messages. */
export function describeWindow(w: VersionWindow): string {
  const lowMajor = major(w.min);
  // Two majors in practice; a hostile server's answer must not turn this into a billion-item list.
  const majors =
    w.maxMajor < lowMajor ? [] : w.maxMajor - lowMajor <= 3 ? Array.from({ length: w.maxMajor - lowMajor + 1 }, (_, i) => `${lowMajor + i}.x`) : [`${lowMajor}.x to ${w.maxMajor}.x`];
  if (majors.length === 0) return `nothing (its minimum client ${w.min} is newer than its own major ${w.maxMajor})`;
  const floor = w.min.endsWith(".0.0-aa") || /^\d+\.0\.0$/.test(w.min) ? "" : ` (at least ${w.min})`;
  return `${majors.join(" or ")}${floor}`;
}

/** Parses `tsh version` output: "Teleport v17.5.1 git:v17.5.1-0-gabc go1.23.8", old builds lack the space before git:. */
export function parseTshVersionOutput(output: string): string | null {
  const m = /Teleport v(\S+?)\s*git/.exec(output);
  if (!m) return null;
  return isStrictVersion(m[1]) ? m[1] : null;
}
