// Builders for the archives the stand-in CDN serves: Teleport's real artifact names and layouts
// (TELEPORT.md sections 3 and 4) with small stand-in programs inside, plus deliberately unsafe or
// broken variants. The tar writer is hand-rolled so tests can produce what well-behaved writers
// refuse to (absolute paths, `..`, links); zips come from yazl, patched where yazl refuses a name.
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { deflateSync, gzip, gzipSync } from "node:zlib";
import semver from "semver";
import yazl from "yazl";

/** Fixed modification time of every member (2024-06-01T00:00:00Z) so archives are reproducible. */
export const FIXED_MTIME = new Date("2024-06-01T00:00:00Z");
const FIXED_MTIME_SECONDS = Math.floor(FIXED_MTIME.getTime() / 1000);

export type TarEntryType = "file" | "dir" | "symlink" | "hardlink";

export interface TarEntry {
  /** Written verbatim (no normalisation), so `/abs`, `a/../../b` and so on survive. */
  path: string;
  type: TarEntryType;
  data?: Buffer | string;
  /** Defaults: file/hardlink 0o644, dir 0o755, symlink 0o777. */
  mode?: number;
  /** Target of a symlink or hardlink. */
  linkname?: string;
  /** Seconds since the epoch; defaults to FIXED_MTIME. */
  mtime?: number;
}

export interface TarGzOptions {
  /** zlib level, 0-9; default 6 (gzip's own default). */
  level?: number;
}

// ---------------------------------------------------------------------------------------------
// ustar writer

const BLOCK = 512;
const RECORD = 20 * BLOCK;

function putString(header: Buffer, offset: number, length: number, value: string): void {
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length > length) throw new Error(`tar header field too long (${bytes.length} > ${length}): ${value}`);
  bytes.copy(header, offset);
}

function putOctal(header: Buffer, offset: number, length: number, value: number): void {
  const digits = value.toString(8);
  if (digits.length > length - 1) throw new Error(`tar header number too large for ${length} bytes: ${value}`);
  putString(header, offset, length, digits.padStart(length - 1, "0") + "\0");
}

function truncateUtf8(value: string, maxBytes: number): string {
  let out = value;
  while (Buffer.byteLength(out) > maxBytes) out = out.slice(0, -1);
  return out;
}

const TYPEFLAG: Record<TarEntryType | "pax", string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  dir: "5",
  pax: "x",
};

function header(fields: {
  path: string;
  typeflag: string;
  size: number;
  mode: number;
  mtime: number;
  linkname?: string;
}): Buffer {
  const h = Buffer.alloc(BLOCK);
  putString(h, 0, 100, fields.path);
  putOctal(h, 100, 8, fields.mode & 0o7777);
  putOctal(h, 108, 8, 0); // uid
  putOctal(h, 116, 8, 0); // gid
  putOctal(h, 124, 12, fields.size);
  putOctal(h, 136, 12, fields.mtime);
  h.write(fields.typeflag, 156, "latin1");
  if (fields.linkname) putString(h, 157, 100, fields.linkname);
  h.write("ustar\0", 257, "latin1");
  h.write("00", 263, "latin1");
  putString(h, 265, 32, "root");
  putString(h, 297, 32, "root");
  // The checksum is computed with its own field read as eight spaces.
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of h) sum += byte;
  putString(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

function paxRecord(key: string, value: string): string {
  // Each record is "<len> <key>=<value>\n" where <len> counts the whole record, itself included.
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function padded(data: Buffer): Buffer[] {
  const rest = data.length % BLOCK;
  return rest === 0 ? [data] : [data, Buffer.alloc(BLOCK - rest)];
}

/** An uncompressed tar stream (ustar, with PAX records for paths or link names over 100 bytes). */
export function tar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const data =
      entry.type === "file" ? (typeof entry.data === "string" ? Buffer.from(entry.data) : (entry.data ?? Buffer.alloc(0))) : Buffer.alloc(0);
    const entryPath = entry.type === "dir" && !entry.path.endsWith("/") ? entry.path + "/" : entry.path;
    const mode =
      entry.mode ?? (entry.type === "dir" ? 0o755 : entry.type === "symlink" ? 0o777 : 0o644);
    const mtime = entry.mtime ?? FIXED_MTIME_SECONDS;
    if ((entry.type === "symlink" || entry.type === "hardlink") && !entry.linkname) {
      throw new Error(`tar entry ${entry.path}: a ${entry.type} needs a linkname`);
    }

    let pax = "";
    if (Buffer.byteLength(entryPath) > 100) pax += paxRecord("path", entryPath);
    if (entry.linkname && Buffer.byteLength(entry.linkname) > 100) pax += paxRecord("linkpath", entry.linkname);
    if (pax) {
      const paxData = Buffer.from(pax, "utf8");
      const base = entryPath.replace(/\/+$/, "").split("/").pop() ?? "entry";
      parts.push(
        header({ path: truncateUtf8(`PaxHeader/${base}`, 100), typeflag: TYPEFLAG.pax, size: paxData.length, mode: 0o644, mtime }),
        ...padded(paxData),
      );
    }
    parts.push(
      header({
        path: truncateUtf8(entryPath, 100),
        typeflag: TYPEFLAG[entry.type],
        size: data.length,
        mode,
        mtime,
        linkname: entry.linkname ? truncateUtf8(entry.linkname, 100) : undefined,
      }),
    );
    if (data.length > 0) parts.push(...padded(data));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  const total = parts.reduce((n, p) => n + p.length, 0);
  // GNU tar pads the stream to whole 10 KiB records; readers must cope with the trailing zeros.
  if (total % RECORD !== 0) parts.push(Buffer.alloc(RECORD - (total % RECORD)));
  return Buffer.concat(parts);
}

/** `tar(entries)` gzipped (zlib level 6 unless `opts.level`). */
export function tarGz(entries: TarEntry[], opts: TarGzOptions = {}): Buffer {
  return gzipSync(tar(entries), { level: opts.level ?? 6 });
}

// ---------------------------------------------------------------------------------------------
// zip via yazl

export interface ZipEntry {
  /** Written verbatim: names yazl refuses (`..`, absolute, backslashes) are patched in afterwards. */
  path: string;
  type?: "file" | "dir";
  data?: Buffer | string;
  /** Unix mode stored in the external attributes; defaults 0o644 / 0o755. */
  mode?: number;
  /** Deflate the member (default true). */
  compress?: boolean;
}

export interface ZipOptions {
  /** Deflate level, 0-9; default 6. */
  level?: number;
}

function yazlAccepts(name: string): boolean {
  return !(/^[a-zA-Z]:/.test(name) || name.startsWith("/") || name.includes("\\") || name.split("/").includes(".."));
}

/** A zip archive with a fixed modification time on every member. */
export function zip(entries: ZipEntry[], opts: ZipOptions = {}): Promise<Buffer> {
  const zipfile = new yazl.ZipFile();
  const patches: { placeholder: Buffer; real: Buffer }[] = [];
  entries.forEach((entry, index) => {
    const isDir = entry.type === "dir";
    let name = isDir && !entry.path.endsWith("/") && !entry.path.endsWith("\\") ? entry.path + "/" : entry.path;
    if (!yazlAccepts(name)) {
      // Same byte length, so only the name bytes change in the local and central headers; the
      // CRC and sizes do not cover the name.
      const real = Buffer.from(name, "utf8");
      const tag = `zz${index.toString(36)}q`;
      if (real.length < tag.length + (isDir ? 1 : 0)) throw new Error(`zip entry name too short to patch: ${name}`);
      const placeholder = Buffer.from(isDir ? tag.padEnd(real.length - 1, "q") + "/" : tag.padEnd(real.length, "q"));
      patches.push({ placeholder, real });
      name = placeholder.toString("utf8");
    }
    if (isDir) {
      zipfile.addEmptyDirectory(name, { mtime: FIXED_MTIME, mode: entry.mode ?? 0o755 });
    } else {
      const data = typeof entry.data === "string" ? Buffer.from(entry.data) : (entry.data ?? Buffer.alloc(0));
      zipfile.addBuffer(data, name, {
        mtime: FIXED_MTIME,
        mode: entry.mode ?? 0o644,
        compress: entry.compress ?? true,
        compressionLevel: opts.level ?? 6,
      });
    }
  });
  zipfile.end();
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    zipfile.outputStream.on("data", (chunk: Buffer) => chunks.push(chunk));
    zipfile.outputStream.on("error", reject);
    zipfile.outputStream.on("end", () => {
      const out = Buffer.concat(chunks);
      for (const { placeholder, real } of patches) {
        let found = 0;
        for (let at = out.indexOf(placeholder); at !== -1; at = out.indexOf(placeholder, at + placeholder.length)) {
          real.copy(out, at);
          found++;
        }
        // Once in the local header, once in the central directory.
        if (found !== 2) {
          reject(new Error(`zip name patch for ${real.toString()} matched ${found} times, expected 2`));
          return;
        }
      }
      resolve(out);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Teleport artifacts

export type ArchiveOS = "linux" | "darwin" | "windows";
export type ArchiveArch = "amd64" | "arm64" | "arm" | "386" | "universal";

export interface ArchiveSpec {
  /** Teleport version without a leading `v`, strict semver. */
  version: string;
  os: ArchiveOS;
  arch: ArchiveArch;
  edition: "community" | "ent";
  /** FIPS builds exist for Linux only and are always enterprise. */
  fips?: boolean;
  /** A real Windows program to ship as tsh.exe and tctl.exe; a non-runnable placeholder otherwise. */
  windowsTsh?: Buffer;
  /** Seeded pseudo-random bytes appended after the stand-in tsh, to make a big archive. */
  padding?: number;
  /**
   * gzip level for tarballs (default 6). Padding does not compress, so for big archives level 0
   * (stored blocks) gives nearly the same size about three times faster.
   */
  gzipLevel?: number;
  /** Windows zips only: store member names with `\` separators, as some Windows zip tools do. */
  windowsBackslashes?: boolean;
}

export interface ArchiveFile {
  /** The CDN artifact name, e.g. `teleport-v17.5.1-linux-amd64-bin.tar.gz`. */
  name: string;
  data: Buffer;
}

const GITREF_SUFFIX = "-0-g1a2b3c4";
const GO_RUNTIME = "go1.23.8";

function checkVersion(version: string): void {
  if (semver.valid(version) !== version) {
    throw new Error(`archive spec: version must be strict semver without a leading v, got ${JSON.stringify(version)}`);
  }
}

/** The line the stand-in prints for `tsh version`, exactly as a real tsh formats its first line. */
export function versionLine(version: string): string {
  return `Teleport v${version} git:v${version}${GITREF_SUFFIX} ${GO_RUNTIME}`;
}

/** The stand-in's `tsh version --format=json` output (one line). */
export function versionJson(version: string): string {
  return JSON.stringify({ version, gitref: `v${version}${GITREF_SUFFIX}`, runtime: GO_RUNTIME });
}

/**
 * The POSIX sh stand-in for a Teleport client program. It ends with `exit 0` on its own line, so
 * bytes appended after it (padding) are never read by the shell.
 */
export function standinScript(program: string, version: string): string {
  checkVersion(version);
  if (!/^[a-z][a-z0-9-]*$/.test(program)) throw new Error(`standinScript: bad program name ${program}`);
  return [
    "#!/bin/sh",
    `# Stand-in for ${program} ${version} used by tshup's tests; it only imitates the version output.`,
    'if [ -n "${TSH_STANDIN_SLEEP:-}" ]; then',
    '  sleep "$TSH_STANDIN_SLEEP"',
    "fi",
    'if [ "${1:-}" = "version" ]; then',
    "  fmt=text",
    "  prev=",
    '  for arg in "$@"; do',
    '    case "$arg" in',
    "      --format=json) fmt=json ;;",
    '      json) case "$prev" in --format|-f) fmt=json ;; esac ;;',
    "    esac",
    '    prev="$arg"',
    "  done",
    '  if [ "$fmt" = json ]; then',
    `    printf '%s\\n' '${versionJson(version)}'`,
    "  else",
    `    printf '%s\\n' '${versionLine(version)}'`,
    "  fi",
    "  exit 0",
    "fi",
    // `tsh clusters --format=json` answers what a test put in TSH_STANDIN_CLUSTERS.
    'if [ "${1:-}" = "clusters" ]; then',
    "  printf '%s\\n' \"${TSH_STANDIN_CLUSTERS:-[]}\"",
    "  exit 0",
    "fi",
    `printf '%s\\n' "${program} stand-in ${version}: $*"`,
    "exit 0",
    "",
  ].join("\n");
}

/** Deterministic, incompressible bytes (xoshiro128** seeded from SHA-256 of `seed`). */
export function pseudoRandomBytes(seed: string, length: number): Buffer {
  const h = createHash("sha256").update(seed).digest();
  let a = h.readUInt32LE(0) | 1;
  let b = h.readUInt32LE(4);
  let c = h.readUInt32LE(8);
  let d = h.readUInt32LE(12);
  const words = new Uint32Array(Math.ceil(length / 4));
  for (let i = 0; i < words.length; i++) {
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9);
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    words[i] = result >>> 0;
  }
  return Buffer.from(words.buffer, 0, length);
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function isEnterprise(spec: ArchiveSpec): boolean {
  return spec.edition === "ent" || spec.fips === true;
}

/** The artifact name the CDN uses for `spec` (TELEPORT.md section 3). */
export function artifactName(spec: ArchiveSpec): string {
  checkVersion(spec.version);
  const v = spec.version;
  switch (spec.os) {
    case "linux": {
      if (!["amd64", "arm64", "arm", "386"].includes(spec.arch)) throw new Error(`no Linux artifact for arch ${spec.arch}`);
      return `teleport${isEnterprise(spec) ? "-ent" : ""}-v${v}-linux-${spec.arch}${spec.fips ? "-fips" : ""}-bin.tar.gz`;
    }
    case "darwin": {
      if (spec.fips) throw new Error("there is no FIPS build for macOS");
      if (!["universal", "amd64", "arm64"].includes(spec.arch)) throw new Error(`no macOS artifact for arch ${spec.arch}`);
      return `teleport${isEnterprise(spec) ? "-ent" : ""}-v${v}-darwin-${spec.arch}-bin.tar.gz`;
    }
    case "windows":
      if (spec.arch !== "amd64") throw new Error(`no Windows artifact for arch ${spec.arch}`);
      // Only one Windows zip exists per version: edition and FIPS do not change the name.
      return `teleport-v${v}-windows-amd64-bin.zip`;
  }
}

interface Layout {
  name: string;
  format: "tar.gz" | "zip";
  entries: TarEntry[];
  /** Paths of the entries that make up tsh (the program, or its whole .app bundle). */
  tshPaths: string[];
  /** The path of the tsh program itself. */
  tshProgram: string;
}

function docs(version: string): { readme: string; changelog: string; versionFile: string } {
  return {
    readme: `# Teleport ${version} (stand-in)\n\nA small imitation of the Teleport release layout, for tshup's tests.\n`,
    changelog: `# Changelog\n\n## ${version}\n\n* Stand-in release used by tshup's tests.\n`,
    versionFile: `v${version}\n`,
  };
}

function infoPlist(program: string, version: string): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<plist version="1.0">',
    "<dict>",
    "  <key>CFBundleExecutable</key>",
    `  <string>${program}</string>`,
    "  <key>CFBundleIdentifier</key>",
    `  <string>com.gravitational.teleport.${program}</string>`,
    "  <key>CFBundleShortVersionString</key>",
    `  <string>${version}</string>`,
    "</dict>",
    "</plist>",
    "",
  ].join("\n");
}

function programData(spec: ArchiveSpec, name: string, program: string): Buffer {
  const script = Buffer.from(standinScript(program, spec.version));
  if (program !== "tsh" || !spec.padding) return script;
  return Buffer.concat([script, pseudoRandomBytes(`${name}/${program}`, spec.padding)]);
}

function windowsProgram(spec: ArchiveSpec, name: string, program: string): Buffer {
  const base =
    spec.windowsTsh ??
    Buffer.from(`MZ${program}.exe stand-in ${spec.version}: a placeholder, not a runnable program.\r\n`);
  if (program !== "tsh" || !spec.padding) return base;
  return Buffer.concat([base, pseudoRandomBytes(`${name}/${program}.exe`, spec.padding)]);
}

function layout(spec: ArchiveSpec): Layout {
  const name = artifactName(spec);
  const v = spec.version;
  const d = docs(v);

  if (spec.os === "windows") {
    const flat = semver.gte(v, "14.1.5");
    const sep = spec.windowsBackslashes ? "\\" : "/";
    const top = flat ? "" : `teleport${sep}`;
    const entries: TarEntry[] = [];
    if (!flat) entries.push({ path: top, type: "dir" });
    entries.push(
      { path: `${top}tsh.exe`, type: "file", data: windowsProgram(spec, name, "tsh"), mode: 0o755 },
      { path: `${top}tctl.exe`, type: "file", data: windowsProgram(spec, name, "tctl"), mode: 0o755 },
    );
    if (flat) entries.push({ path: `${top}tbot.exe`, type: "file", data: windowsProgram(spec, name, "tbot"), mode: 0o755 });
    entries.push(
      { path: `${top}README.md`, type: "file", data: d.readme },
      { path: `${top}CHANGELOG.md`, type: "file", data: d.changelog },
      { path: `${top}VERSION`, type: "file", data: d.versionFile },
    );
    return { name, format: "zip", entries, tshPaths: [`${top}tsh.exe`], tshProgram: `${top}tsh.exe` };
  }

  const top = isEnterprise(spec) ? "teleport-ent/" : "teleport/";
  const major = semver.major(v);
  const exe = (program: string): TarEntry => ({
    path: `${top}${program}`,
    type: "file",
    data: programData(spec, name, program),
    mode: 0o755,
  });
  const entries: TarEntry[] = [
    { path: top, type: "dir" },
    { path: `${top}examples/`, type: "dir" },
    { path: `${top}examples/systemd/`, type: "dir" },
    {
      path: `${top}examples/systemd/teleport.service`,
      type: "file",
      data: "[Unit]\nDescription=Teleport Service (stand-in)\n\n[Service]\nExecStart=/usr/local/bin/teleport start\n",
    },
    {
      path: `${top}install`,
      type: "file",
      data: "#!/bin/sh\necho 'stand-in install script; not for use' >&2\nexit 1\n",
      mode: 0o755,
    },
    { path: `${top}README.md`, type: "file", data: d.readme },
    { path: `${top}CHANGELOG.md`, type: "file", data: d.changelog },
    { path: `${top}VERSION`, type: "file", data: d.versionFile },
    exe("teleport"),
  ];

  let tshPaths: string[];
  let tshProgram: string;
  if (spec.os === "darwin" && major >= 17) {
    const bundle = (program: string): TarEntry[] => {
      const app = `${top}${program}.app/`;
      return [
        { path: app, type: "dir" },
        { path: `${app}Contents/`, type: "dir" },
        { path: `${app}Contents/Info.plist`, type: "file", data: infoPlist(program, v) },
        { path: `${app}Contents/MacOS/`, type: "dir" },
        { path: `${app}Contents/MacOS/${program}`, type: "file", data: programData(spec, name, program), mode: 0o755 },
        { path: `${app}Contents/_CodeSignature/`, type: "dir" },
        {
          path: `${app}Contents/_CodeSignature/CodeResources`,
          type: "file",
          data: `<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0"><dict><!-- stand-in for ${program} ${v} --></dict></plist>\n`,
        },
      ];
    };
    const tshBundle = bundle("tsh");
    entries.push(...bundle("tctl"), ...tshBundle);
    tshPaths = tshBundle.map((e) => e.path);
    tshProgram = `${top}tsh.app/Contents/MacOS/tsh`;
  } else {
    entries.push(exe("tctl"), exe("tsh"));
    tshPaths = [`${top}tsh`];
    tshProgram = `${top}tsh`;
  }
  entries.push(exe("tbot"), exe("fdpass-teleport"));
  if (major >= 17) entries.push(exe("teleport-update"));
  return { name, format: "tar.gz", entries, tshPaths, tshProgram };
}

async function encode(spec: ArchiveSpec, l: Layout): Promise<Buffer> {
  if (l.format === "zip") return zip(l.entries.map((e) => ({ path: e.path, type: e.type === "dir" ? "dir" : "file", data: e.data, mode: e.mode })));
  // Off the main thread: large archives take seconds to compress and the stand-in servers may be
  // answering in this same process meanwhile.
  return gzipAsync(tar(l.entries), { level: spec.gzipLevel ?? 6 });
}

const gzipAsync = promisify(gzip);

function cacheKey(kind: string, spec: ArchiveSpec): string {
  const { windowsTsh, ...rest } = spec;
  const tshHash = windowsTsh ? createHash("sha256").update(windowsTsh).digest("hex") : null;
  return JSON.stringify([kind, rest, tshHash]);
}

// Large padded archives take a while to gzip; tests ask for the same ones repeatedly. Callers
// must treat the returned buffers as read-only.
const archiveCache = new Map<string, Promise<ArchiveFile>>();

function cached(kind: string, spec: ArchiveSpec, build: () => Promise<ArchiveFile>): Promise<ArchiveFile> {
  const key = cacheKey(kind, spec);
  let hit = archiveCache.get(key);
  if (!hit) {
    hit = build();
    archiveCache.set(key, hit);
    hit.catch(() => archiveCache.delete(key));
  }
  return hit;
}

/** The artifact for `spec` with Teleport's real name and member layout, stand-in programs inside. */
export function teleportArchive(spec: ArchiveSpec): Promise<ArchiveFile> {
  return cached("normal", spec, async () => {
    const l = layout(spec);
    return { name: l.name, data: await encode(spec, l) };
  });
}

/** The member path of the tsh program inside the artifact for `spec`. */
export function tshMemberPath(spec: ArchiveSpec): string {
  return layout(spec).tshProgram;
}

export type UnsafeKind =
  | "absolute"
  | "dotdot"
  | "tsh-symlink"
  | "tsh-hardlink"
  | "missing-tsh"
  | "corrupt-gzip"
  | "corrupt-midway"
  | "corrupt-zip"
  | "zip-dotdot";

/**
 * A broken or hostile variant of `teleportArchive(spec)` under the same artifact name:
 * - `absolute`: an extra member `/tmp/evil` (`/tmp/evil.exe` in a zip), just before tsh
 * - `dotdot`: an extra member `<top>/../../evil` (zip: `teleport/../../evil.exe`), just before tsh
 * - `tsh-symlink` / `tsh-hardlink` (tarballs): the tsh program is a symlink / hardlink to `/bin/sh`
 * - `missing-tsh`: no tsh (on macOS 17+ no tsh.app at all)
 * - `corrupt-gzip` (tarballs): a valid gzip header followed by garbage
 * - `corrupt-midway` (tarballs): a tsh padded to 3 MiB, its deflate stream overwritten with 0xff
 *   for 4 KiB two thirds of the way in, so that inflating fails after several megabytes went well
 * - `corrupt-zip` (zips): a zip local-header signature followed by garbage
 * - `zip-dotdot` (zips): an extra member `../../evil.exe`
 */
export function unsafeArchive(kind: UnsafeKind, spec: ArchiveSpec): Promise<ArchiveFile> {
  return cached(kind, spec, async () => {
    const l = layout(spec);
    const isZip = l.format === "zip";
    const evil = (p: string): TarEntry => ({ path: p, type: "file", data: "evil\n", mode: 0o755 });
    const needs = (format: Layout["format"]) => {
      if (l.format !== format) throw new Error(`unsafeArchive ${kind} applies to ${format} artifacts, not ${l.name}`);
    };
    // Before the tsh program: a tarball is unpacked only up to its last wanted member.
    const beforeTsh = (e: TarEntry) => l.entries.splice(l.entries.findIndex((m) => l.tshPaths.includes(m.path)), 0, e);
    switch (kind) {
      case "absolute":
        beforeTsh(evil(isZip ? "/tmp/evil.exe" : "/tmp/evil"));
        break;
      case "dotdot":
        beforeTsh(evil(isZip ? "teleport/../../evil.exe" : `${l.entries[0]!.path}../../evil`));
        break;
      case "zip-dotdot":
        needs("zip");
        l.entries.push(evil("../../evil.exe"));
        break;
      case "tsh-symlink":
      case "tsh-hardlink": {
        needs("tar.gz");
        const i = l.entries.findIndex((e) => e.path === l.tshProgram);
        l.entries[i] = {
          path: l.tshProgram,
          type: kind === "tsh-symlink" ? "symlink" : "hardlink",
          linkname: "/bin/sh",
          mode: kind === "tsh-symlink" ? 0o777 : 0o755,
        };
        break;
      }
      case "missing-tsh":
        l.entries = l.entries.filter((e) => !l.tshPaths.includes(e.path));
        break;
      case "corrupt-gzip": {
        needs("tar.gz");
        // Magic, deflate, no flags, zero mtime, no extra flags, OS unix: a header any gunzip accepts.
        const head = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]);
        return { name: l.name, data: Buffer.concat([head, pseudoRandomBytes(`${l.name}/corrupt`, 4096)]) };
      }
      case "corrupt-midway": {
        needs("tar.gz");
        const padded = { ...spec, padding: 3 * 1024 * 1024 };
        const data = Buffer.from(await encode(padded, layout(padded)));
        data.fill(0xff, Math.floor((data.length * 2) / 3), Math.floor((data.length * 2) / 3) + 4096);
        return { name: l.name, data };
      }
      case "corrupt-zip": {
        needs("zip");
        const head = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
        return { name: l.name, data: Buffer.concat([head, pseudoRandomBytes(`${l.name}/corrupt`, 4096)]) };
      }
    }
    return { name: l.name, data: await encode(spec, l) };
  });
}

export type SidecarStyle = "two-space" | "one-space";

export function sha256Hex(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * The `.sha256` sidecar text for an artifact: `<hex>  <name>\n` (two spaces, Linux/macOS) or
 * `<hex> <name>\n` (one space, Windows); the style defaults from the name.
 */
export function sha256Sidecar(name: string, data: Buffer, style?: SidecarStyle): string {
  const s = style ?? (name.endsWith(".zip") ? "one-space" : "two-space");
  return `${sha256Hex(data)}${s === "two-space" ? "  " : " "}${name}\n`;
}

// ---------------------------------------------------------------------------------------------
// macOS packages: xar with component Payloads of gzip-compressed odc cpio, as pkgbuild writes them

export interface CpioEntry {
  path: string;
  type: "file" | "dir" | "symlink";
  data?: Buffer | string;
  mode?: number;
}

/** An odc ("070707") cpio archive, the format of a pkgbuild Payload. */
export function cpioOdc(entries: CpioEntry[]): Buffer {
  const oct = (n: number, width: number) => n.toString(8).padStart(width, "0");
  const parts: Buffer[] = [];
  const add = (name: string, mode: number, data: Buffer, ino: number) => {
    const nameBytes = Buffer.from(`${name}\0`, "utf8");
    parts.push(
      Buffer.from(
        `070707${oct(0, 6)}${oct(ino, 6)}${oct(mode, 6)}${oct(0, 6)}${oct(0, 6)}${oct(1, 6)}${oct(0, 6)}${oct(FIXED_MTIME_SECONDS, 11)}${oct(nameBytes.length, 6)}${oct(data.length, 11)}`,
        "latin1",
      ),
      nameBytes,
      data,
    );
  };
  entries.forEach((e, i) => {
    const data = e.type === "symlink" ? Buffer.from(String(e.data ?? "")) : e.type === "file" ? Buffer.from(e.data ?? "") : Buffer.alloc(0);
    const kind = e.type === "dir" ? 0o040000 : e.type === "symlink" ? 0o120000 : 0o100000;
    add(e.path, kind | (e.mode ?? (e.type === "dir" ? 0o755 : 0o644)), data, i + 1);
  });
  add("TRAILER!!!", 0, Buffer.alloc(0), 0);
  return Buffer.concat(parts);
}

export interface XarFile {
  path: string;
  type: "file" | "directory";
  data?: Buffer;
}

/** A xar archive (the container of a .pkg): header, zlib-compressed XML table of contents, heap. */
export function xar(files: XarFile[]): Buffer {
  const heap: Buffer[] = [];
  let offset = 20; // the table of contents' SHA-1 comes first in the heap
  interface Node {
    name: string;
    type: "file" | "directory";
    data?: Buffer;
    children: Node[];
  }
  const root: Node = { name: "", type: "directory", children: [] };
  for (const f of files) {
    const segs = f.path.split("/");
    let dir = root;
    for (const s of segs.slice(0, -1)) {
      let next = dir.children.find((c) => c.name === s);
      if (!next) dir.children.push((next = { name: s, type: "directory", children: [] }));
      dir = next;
    }
    const existing = dir.children.find((c) => c.name === segs[segs.length - 1]);
    if (existing) Object.assign(existing, { type: f.type, data: f.data });
    else dir.children.push({ name: segs[segs.length - 1]!, type: f.type, data: f.data, children: [] });
  }
  let id = 0;
  const render = (n: Node): string => {
    id++;
    let data = "";
    if (n.type === "file") {
      const bytes = n.data ?? Buffer.alloc(0);
      const sum = createHash("sha1").update(bytes).digest("hex");
      data = `<data><length>${bytes.length}</length><offset>${offset}</offset><size>${bytes.length}</size><encoding style="application/octet-stream"/><extracted-checksum style="sha1">${sum}</extracted-checksum><archived-checksum style="sha1">${sum}</archived-checksum></data>`;
      heap.push(bytes);
      offset += bytes.length;
    }
    return `<file id="${id}">${data}<name>${n.name.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</name><type>${n.type}</type>${n.children.map(render).join("")}</file>`;
  };
  const body = root.children.map(render).join("");
  const toc = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<xar><toc><checksum style="sha1"><offset>0</offset><size>20</size></checksum><creation-time>2024-06-01T00:00:00</creation-time>${body}</toc></xar>`, "utf8");
  const packed = deflateSync(toc);
  const header = Buffer.alloc(28);
  header.writeUInt32BE(0x78617221, 0);
  header.writeUInt16BE(28, 4);
  header.writeUInt16BE(1, 6);
  header.writeBigUInt64BE(BigInt(packed.length), 8);
  header.writeBigUInt64BE(BigInt(toc.length), 16);
  header.writeUInt32BE(1, 24);
  return Buffer.concat([header, packed, createHash("sha1").update(packed).digest(), ...heap]);
}

/**
 * A macOS package laid out like Teleport's: `teleport-tools-<v>.pkg` (and, since 17, the others)
 * hold one component per tool whose Payload installs `<tool>.app` into /Applications; before 17
 * `teleport-<v>.pkg` installs plain binaries into /usr/local/bin.
 */
export function teleportPkg(version: string, tools: ("tsh" | "tctl")[] = ["tsh", "tctl"], style: "apps" | "bin" = "apps"): Buffer {
  const files: XarFile[] = [{ path: "Distribution", type: "file", data: Buffer.from("<installer-gui-script minSpecVersion=\"1\"/>\n") }];
  if (style === "apps") {
    for (const tool of tools) {
      const payload = cpioOdc([
        { path: ".", type: "dir" },
        { path: `./${tool}.app`, type: "dir" },
        { path: `./${tool}.app/Contents`, type: "dir" },
        { path: `./${tool}.app/Contents/Info.plist`, type: "file", data: `<plist><dict><key>CFBundleExecutable</key><string>${tool}</string></dict></plist>\n` },
        { path: `./${tool}.app/Contents/MacOS`, type: "dir" },
        { path: `./${tool}.app/Contents/MacOS/${tool}`, type: "file", data: standinScript(tool, version), mode: 0o755 },
      ]);
      files.push({ path: `${tool}.pkg/PackageInfo`, type: "file", data: Buffer.from(`<pkg-info identifier="com.gravitational.teleport.${tool}" install-location="/Applications"/>\n`) });
      files.push({ path: `${tool}.pkg/Payload`, type: "file", data: gzipSync(payload) });
    }
  } else {
    const payload = cpioOdc([
      { path: ".", type: "dir" },
      { path: "./usr", type: "dir" },
      { path: "./usr/local", type: "dir" },
      { path: "./usr/local/bin", type: "dir" },
      ...tools.map((tool) => ({ path: `./usr/local/bin/${tool}`, type: "file" as const, data: standinScript(tool, version), mode: 0o755 })),
    ]);
    files.push({ path: "teleport.pkg/Payload", type: "file", data: gzipSync(payload) });
  }
  return xar(files);
}
