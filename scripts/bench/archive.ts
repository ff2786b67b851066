// Release-shaped archives for the bench, made the way Teleport's Makefile makes its Linux tarballs:
// `tar --sort=name --owner=root:0 --group=root:0 --mtime='UTC 2015-03-02' --format=gnu -c teleport
// | gzip -n` (the reproducible build its buildbox runs), over the members its release target copies
// in. Program bytes are this machine's own executables, which compress as Teleport's Go binaries
// do. Kept in a cache outside the repository: the 600 MB one takes about a minute to make.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { standinScript } from "../../test/support/archives.js";
import { requireTool } from "./common.js";

export const BENCH_VERSION = "17.5.1";
const MB = 1024 * 1024;
/** Bumped whenever the recipe below changes, so a cached archive from an older recipe is made again. */
const RECIPE = 2;

/** Uncompressed sizes at scale 1 (a 17.x linux-amd64 release is about 160 MB compressed). */
const PROGRAMS: { name: string; mb: number }[] = [
  { name: "fdpass-teleport", mb: 1 },
  { name: "tbot", mb: 80 },
  { name: "tctl", mb: 100 },
  { name: "teleport", mb: 180 },
  { name: "teleport-update", mb: 30 },
  { name: "tsh", mb: 110 },
];

export interface BenchArchive {
  file: string;
  bytes: number;
  /** Members in archive order, as `tar -t` lists them. */
  members: string[];
}

export function benchCacheDir(): string {
  return process.env.TSHUP_BENCH_CACHE ?? path.join(os.homedir(), ".cache", "tshup", "bench");
}

/** Writes `size` bytes of the machine's ELF executables to `fd`, starting `skip` bytes into them. */
function writeExecutableBytes(fd: number, size: number, skip: number): void {
  const dirs = ["/usr/bin", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/libexec", "/usr/lib"];
  const files: string[] = [];
  for (const dir of dirs) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      try {
        const st = fs.statSync(p);
        if (!st.isFile() || st.size < 64 * 1024) continue;
        const head = Buffer.alloc(4);
        const f = fs.openSync(p, "r");
        fs.readSync(f, head, 0, 4, 0);
        fs.closeSync(f);
        if (head.readUInt32BE(0) === 0x7f454c46) files.push(p);
      } catch {
        // unreadable: not part of the corpus
      }
    }
  }
  if (files.length === 0) throw new Error("no ELF executables under /usr to build a bench archive from");
  let left = size;
  let toSkip = skip;
  // Fewer executables than wanted on this machine: go round again.
  for (let i = 0; left > 0; i = (i + 1) % files.length) {
    let buf = fs.readFileSync(files[i]!);
    if (toSkip >= buf.length) {
      toSkip -= buf.length;
      continue;
    }
    buf = buf.subarray(toSkip, toSkip + left);
    toSkip = 0;
    fs.writeSync(fd, buf);
    left -= buf.length;
  }
}

/**
 * Member order: `sorted` as the release build makes it (tsh last); `tsh-first` as a build without
 * --sort=name could put it, which is where stopping the inflate after tsh saves the most.
 */
export type MemberOrder = "sorted" | "tsh-first";

/** The release-shaped archive with every program `scale` times its usual size, made once and cached. */
export function benchArchive(scale: number, order: MemberOrder = "sorted"): BenchArchive {
  const name = `teleport-v${BENCH_VERSION}-linux-amd64-bin.r${RECIPE}.x${scale}${order === "sorted" ? "" : `.${order}`}.tar.gz`;
  const dir = benchCacheDir();
  const file = path.join(dir, name);
  const listFile = `${file}.members`;
  if (fs.existsSync(file) && fs.existsSync(listFile)) {
    return { file, bytes: fs.statSync(file).size, members: fs.readFileSync(listFile, "utf8").split("\n").filter(Boolean) };
  }
  requireTool("tar", "tar");
  requireTool("gzip", "gzip");
  fs.mkdirSync(dir, { recursive: true });
  process.stderr.write(`bench: making ${file} (once; it is cached)...\n`);
  const work = fs.mkdtempSync(path.join(dir, "make-"));
  try {
    const top = path.join(work, "teleport");
    fs.mkdirSync(path.join(top, "examples"), { recursive: true });
    fs.writeFileSync(path.join(top, "README.md"), "Teleport\n");
    fs.writeFileSync(path.join(top, "CHANGELOG.md"), "# Changelog\n".repeat(4000));
    fs.writeFileSync(path.join(top, "LICENSE-community"), "License\n".repeat(2000));
    fs.writeFileSync(path.join(top, "VERSION"), `v${BENCH_VERSION}\n`);
    fs.writeFileSync(path.join(top, "install"), "#!/bin/bash\necho install\n", { mode: 0o755 });
    // 16.2.0 has 582 members, nearly all of them small files under examples/.
    for (let i = 0; i < 560; i++) {
      const sub = path.join(top, "examples", `set-${Math.floor(i / 20)}`);
      fs.mkdirSync(sub, { recursive: true });
      fs.writeFileSync(path.join(sub, `example-${i}.yaml`), `kind: example\nindex: ${i}\n`.repeat(40));
    }
    let skip = 0;
    for (const p of PROGRAMS) {
      const fd = fs.openSync(path.join(top, p.name), "w", 0o755);
      try {
        fs.writeSync(fd, standinScript(p.name, BENCH_VERSION));
        writeExecutableBytes(fd, p.mb * scale * MB, skip);
      } finally {
        fs.closeSync(fd);
      }
      skip += 20 * MB;
    }
    const tmp = `${file}.tmp`;
    const flags = "--owner=root:0 --group=root:0 --mtime='UTC 2015-03-02' --format=gnu";
    const tarCommand =
      order === "sorted"
        ? `tar --sort=name ${flags} -C "${work}" -c teleport`
        : `(cd "${work}" && { echo teleport; echo teleport/tsh; find teleport -mindepth 1 ! -path teleport/tsh | LC_ALL=C sort; } | tar --no-recursion ${flags} -T - -c)`;
    const made = spawnSync("bash", ["-c", `set -o pipefail; ${tarCommand} | gzip -n > "${tmp}"`], { stdio: ["ignore", "inherit", "inherit"] });
    if (made.status !== 0) throw new Error(`making ${file} failed (exit ${made.status})`);
    const listed = spawnSync("tar", ["-tzf", tmp], { encoding: "utf8", maxBuffer: 64 * MB });
    if (listed.status !== 0) throw new Error(`tar -tzf ${tmp} failed: ${listed.stderr}`);
    fs.writeFileSync(listFile, listed.stdout);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return benchArchive(scale, order);
}
