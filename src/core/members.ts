import type { Tool } from "./artifact.js";

export type MemberDecision =
  | { kind: "unsafe"; why: string }
  | { kind: "skip" }
  /** `dest` is relative to the version directory, with "/" separators; `tool` marks the binary itself. */
  | { kind: "wanted"; dest: string; tool: Tool | null };

/** Refuses names that would land outside the target: absolute, drive-lettered, UNC, or with "..". */
export function unsafeReason(name: string): string | null {
  if (name.includes("\0")) return "a NUL byte in the name";
  if (/^[/\\]/.test(name)) return "an absolute path";
  if (/^[A-Za-z]:/.test(name)) return "a drive-letter path";
  if (name.split(/[/\\]+/).includes("..")) return 'a ".." path';
  return null;
}

function segmentsOf(name: string): string[] {
  return name.split(/[/\\]+/).filter((s) => s !== "" && s !== ".");
}

/**
 * Which members of a Linux/macOS tarball tshup keeps: `<top>/<tool>` (Linux, macOS before 17) or
 * everything under `<top>/<tool>.app/` (macOS 17+, where the bundle must stay whole).
 */
export function classifyTarMember(name: string, tools: readonly Tool[]): MemberDecision {
  const why = unsafeReason(name);
  if (why) return { kind: "unsafe", why };
  const segs = segmentsOf(name);
  if (segs.length < 2) return { kind: "skip" };
  const rel = segs.slice(1);
  for (const tool of tools) {
    if (rel.length === 1 && rel[0] === tool) return { kind: "wanted", dest: tool, tool };
    if (rel[0] === `${tool}.app`) {
      const isBinary = rel.length === 4 && rel[1] === "Contents" && rel[2] === "MacOS" && rel[3] === tool;
      return { kind: "wanted", dest: rel.join("/"), tool: isBinary ? tool : null };
    }
  }
  return { kind: "skip" };
}

/** Windows zips are flat since 14.1.5 and had a `teleport\` folder before: match by base name. */
export function classifyZipMember(name: string, tools: readonly Tool[]): MemberDecision {
  const why = unsafeReason(name);
  if (why) return { kind: "unsafe", why };
  const segs = segmentsOf(name);
  if (segs.length === 0 || segs.length > 2) return { kind: "skip" };
  const base = segs[segs.length - 1]!.toLowerCase();
  for (const tool of tools) {
    if (base === `${tool}.exe`) return { kind: "wanted", dest: `${tool}.exe`, tool };
  }
  return { kind: "skip" };
}
