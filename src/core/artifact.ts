import type { Edition } from "./ping.js";
import { major, compareVersions } from "./version.js";
import type { PlatformName } from "../host.js";

export type ArchiveKind = "tar.gz" | "zip" | "pkg";
export type Tool = "tsh" | "tctl";
/** A tool besides tsh: its bin/ entry can change without a switch. */
export type ExtraTool = Exclude<Tool, "tsh">;
/** Every tool tshup can put in bin/, tsh first. */
export const ALL_TOOLS: readonly Tool[] = ["tsh", "tctl"];

export interface ArtifactRequest {
  version: string;
  platform: PlatformName;
  /** Node's arch name: x64, arm64, arm, ia32. */
  arch: string;
  edition: Edition;
  fips: boolean;
}

export interface Artifact {
  name: string;
  kind: ArchiveKind;
}

const LINUX_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" };

/** The artifacts that carry tsh for one platform, best first: install tries them in order, moving on after a 404. */
export function artifactCandidates(req: ArtifactRequest): Artifact[] {
  const v = req.version;
  const ent = req.edition === "ent" || req.fips ? "-ent" : "";
  switch (req.platform) {
    case "linux": {
      const arch = LINUX_ARCH[req.arch];
      if (!arch) throw new Error(`no Teleport build for linux-${req.arch}`);
      if (req.fips && arch !== "amd64" && arch !== "arm64") {
        throw new Error(`Teleport publishes no FIPS build for linux-${arch}: FIPS builds exist for linux-amd64 and linux-arm64 only`);
      }
      return [{ name: `teleport${ent}-v${v}-linux-${arch}${req.fips ? "-fips" : ""}-bin.tar.gz`, kind: "tar.gz" }];
    }
    case "darwin": {
      if (req.fips) throw new Error("Teleport publishes no FIPS build for macOS");
      // Per-arch tarballs (holding tsh.app) are confirmed for v17 and v18, the universal one is not;
      // tsh's own updater only ever uses the packages, which every release has.
      const arch = req.arch === "x64" ? "amd64" : "arm64";
      const list: Artifact[] = [
        { name: `teleport${ent}-v${v}-darwin-${arch}-bin.tar.gz`, kind: "tar.gz" },
        { name: `teleport${ent}-v${v}-darwin-universal-bin.tar.gz`, kind: "tar.gz" },
      ];
      if (hasToolsPkg(v)) list.push({ name: `teleport-tools-${v}.pkg`, kind: "pkg" });
      list.push({ name: `teleport${ent}-${v}.pkg`, kind: "pkg" });
      if (major(v) < 17) list.push({ name: `tsh-${v}.pkg`, kind: "pkg" });
      return list;
    }
    case "win32": {
      if (req.arch !== "x64") throw new Error(`no Teleport build for windows-${req.arch}`);
      if (req.fips) throw new Error("Teleport publishes no FIPS build for Windows");
      // Windows builds are community only; the client works with enterprise clusters.
      return [{ name: `teleport-v${v}-windows-amd64-bin.zip`, kind: "zip" }];
    }
  }
}

function hasToolsPkg(v: string): boolean {
  const m = major(v);
  if (m >= 19) return true;
  if (m === 18) return compareVersions(v, "18.1.5") >= 0;
  if (m === 17) return compareVersions(v, "17.7.2") >= 0;
  return false;
}

/** Directory name of one installed version: the edition shows, so ent and community sit side by side. */
export function versionId(version: string, edition: Edition, fips: boolean): string {
  return `${version}${fips ? "-ent-fips" : edition === "ent" ? "-ent" : ""}`;
}

/** A sidecar's first whitespace-separated token is the hex SHA-256 (one or two spaces follow). */
export function parseSidecar(text: string): string | null {
  const token = text.trim().split(/\s+/, 1)[0] ?? "";
  return /^[0-9a-fA-F]{64}$/.test(token) ? token.toLowerCase() : null;
}

export interface MirrorPlatform {
  platform: PlatformName;
  /** Node's arch name, as artifactCandidates takes it. */
  arch: string;
  fips: boolean;
}

/** What `--platforms` accepts: Teleport's own platform names, as they appear in the artifact names. */
export const MIRROR_PLATFORMS: Readonly<Record<string, MirrorPlatform>> = {
  "linux-amd64": { platform: "linux", arch: "x64", fips: false },
  "linux-arm64": { platform: "linux", arch: "arm64", fips: false },
  "linux-arm": { platform: "linux", arch: "arm", fips: false },
  "linux-386": { platform: "linux", arch: "ia32", fips: false },
  "darwin-universal": { platform: "darwin", arch: "arm64", fips: false },
  "darwin-amd64": { platform: "darwin", arch: "x64", fips: false },
  "darwin-arm64": { platform: "darwin", arch: "arm64", fips: false },
  "windows-amd64": { platform: "win32", arch: "x64", fips: false },
  "linux-amd64-fips": { platform: "linux", arch: "x64", fips: true },
  "linux-arm64-fips": { platform: "linux", arch: "arm64", fips: true },
};

/** FIPS builds are a deliberate choice of a few sites, so they are fetched only when named. */
export const DEFAULT_MIRROR_PLATFORMS = Object.keys(MIRROR_PLATFORMS).filter((p) => !MIRROR_PLATFORMS[p]!.fips && p !== "darwin-amd64" && p !== "darwin-arm64");
