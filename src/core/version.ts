// The two functions by their own modules: semver's index also builds every range and comparator
// class, a few milliseconds of every run for code tshup never calls.
import semverCompare from "semver/functions/compare.js";
import semverMajor from "semver/functions/major.js";

/** Strict X.Y.Z[-pre][+build], no leading "v": versions come from the network and end up in URLs and paths. */
const STRICT_SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export function isStrictVersion(value: unknown): value is string {
  if (typeof value !== "string" || value.length > 64) return false;
  const m = STRICT_SEMVER.exec(value);
  // semver itself refuses numbers past 2^53, and no Teleport release is near them.
  return m !== null && [m[1], m[2], m[3]].every((n) => Number(n) <= Number.MAX_SAFE_INTEGER);
}

export const major = (v: string): number => semverMajor(v);
export const compareVersions = (a: string, b: string): number => semverCompare(a, b);

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
