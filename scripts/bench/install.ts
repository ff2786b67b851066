// Install speed and memory against a release-sized archive, with the shell pipeline a person would
// otherwise type as the baseline, measured in the same run.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { standinScript, tarGz, type TarEntry } from "../../test/support/archives.js";
import { startStandin } from "../../test/support/standin.js";

export interface BenchRow {
  name: string;
  value: string;
  target: string;
  ok: boolean;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const CLI = path.join(ROOT, "dist", "tshup.cjs");
const VERSION = "17.5.1";
const MB = 1024 * 1024;

/** Real executables from this machine, concatenated: compresses like Teleport's Go binaries do. */
function realExecutableBytes(size: number, skip: number): Buffer {
  const dirs = ["/usr/bin", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/libexec", "/usr/lib"];
  const parts: Buffer[] = [];
  let have = 0;
  let skipped = 0;
  for (const dir of dirs) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const n of names) {
      const p = path.join(dir, n);
      let st;
      try {
        st = fs.statSync(p);
      } catch {
        continue;
      }
      if (!st.isFile() || st.size < 64 * 1024) continue;
      const buf = fs.readFileSync(p);
      if (buf.readUInt32BE(0) !== 0x7f454c46) continue; // ELF only
      if (skipped < skip) {
        skipped += buf.length;
        continue;
      }
      parts.push(buf);
      have += buf.length;
      if (have >= size) return Buffer.concat(parts).subarray(0, size);
    }
  }
  // Fewer binaries than wanted on this machine: repeat what there is.
  const all = Buffer.concat(parts);
  const out = Buffer.alloc(size);
  for (let o = 0; o < size; o += all.length) all.copy(out, o, 0, Math.min(all.length, size - o));
  return out;
}

export function releaseArchive(): Buffer {
  const program = (name: string, size: number, skip: number) =>
    Buffer.concat([Buffer.from(standinScript(name, VERSION)), realExecutableBytes(size, skip)]);
  const entries: TarEntry[] = [
    { path: "teleport/", type: "dir" },
    { path: "teleport/examples/", type: "dir" },
    { path: "teleport/tsh", type: "file", mode: 0o755, data: program("tsh", 110 * MB, 0) },
    { path: "teleport/tctl", type: "file", mode: 0o755, data: program("tctl", 100 * MB, 20 * MB) },
    { path: "teleport/teleport", type: "file", mode: 0o755, data: program("teleport", 180 * MB, 40 * MB) },
    { path: "teleport/tbot", type: "file", mode: 0o755, data: program("tbot", 80 * MB, 60 * MB) },
    { path: "teleport/README.md", type: "file", data: "Teleport\n" },
    { path: "teleport/VERSION", type: "file", data: `${VERSION}\n` },
  ];
  return tarGz(entries, { level: 6 });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Times one command; asynchronous because the stand-in serving it lives in this process. */
function timeMs(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(" ")} failed (${code}): ${stderr}`));
      else resolve(ms);
    });
  });
}

/** The unmodified Node 22 the executables embed, from the build cache. */
function printNode(): string | null {
  const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "dist.mjs"), "--print-node", "linux-x64"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

export async function benchInstall(runs = 3): Promise<BenchRow[]> {
  process.stderr.write("building a release-sized archive from real executables (takes a while)...\n");
  const archive = releaseArchive();
  const standin = await startStandin();
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-bench-"));
  try {
    const proxy = await standin.addProxy({ cluster: "bench", serverVersion: VERSION });
    const name = `teleport-v${VERSION}-linux-amd64-bin.tar.gz`;
    const art = standin.setArtifact(name, archive);
    const env = { ...process.env, ...standin.env, PATH: process.env.PATH };

    const baseline: number[] = [];
    const tshup: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < runs; i++) {
      const out = path.join(work, `baseline-${i}`);
      fs.mkdirSync(out);
      const pipeline = `set -eo pipefail; curl -fsS --cacert "${standin.caFile}" "${art.url}" | tee >(sha256sum >/dev/null) | tar -xzf - -C "${out}" teleport/tsh`;
      baseline.push(await timeMs("bash", ["-c", pipeline], env));

      const home = path.join(work, `home-${i}`);
      fs.mkdirSync(home);
      const rssFile = path.join(work, `rss-${i}`);
      tshup.push(
        await timeMs(process.execPath, ["-r", path.join(ROOT, "scripts", "bench", "rss-hook.cjs"), CLI, "--proxy", proxy.addr, "--yes", "--quiet", "--no-modify-path"], {
          ...env,
          HOME: home,
          TSHUP_HOME: path.join(home, "root"),
          TSHUP_BENCH_RSS_FILE: rssFile,
        }),
      );
      rss.push(Number(fs.readFileSync(rssFile, "utf8")));
    }

    const home = path.join(work, "home-0");
    const noopRows: BenchRow[] = [];
    // The no-op run against a bare start of the same Node, interleaved. The target applies to what
    // users run, the single executable; the bundled script is shown for information, since this
    // Node (20) has no code cache and compiles the whole bundle from source on every start.
    const noopEnv = { ...env, HOME: home, TSHUP_HOME: path.join(home, "root") };
    const noopArgs = ["--proxy", proxy.addr, "--yes", "--quiet", "--no-modify-path"];
    const variants: { name: string; node: string; cmd: string[]; targeted: boolean }[] = [];
    const binary = path.join(ROOT, "dist", "bin", "tshup-linux-x64");
    const pinnedNode = process.platform === "linux" && process.arch === "x64" && fs.existsSync(binary) ? printNode() : null;
    if (pinnedNode) variants.push({ name: "tshup-linux-x64", node: pinnedNode, cmd: [binary], targeted: true });
    else noopRows.push({ name: "no-op run over bare node start (tshup-linux-x64)", value: "not measured", target: "run npm run dist on linux-x64", ok: false });
    variants.push({ name: `dist/tshup.cjs under node ${process.version}, for information`, node: process.execPath, cmd: [process.execPath, CLI], targeted: false });
    for (const v of variants) {
      const noop: number[] = [];
      const bare: number[] = [];
      for (let i = 0; i < 11; i++) {
        bare.push(await timeMs(v.node, ["-e", "0"], env));
        noop.push(await timeMs(v.cmd[0]!, [...v.cmd.slice(1), ...noopArgs], noopEnv));
      }
      const overhead = median(noop) - median(bare);
      noopRows.push({
        name: `no-op run over bare node start (${v.name})`,
        value: `${overhead.toFixed(0)} ms (${median(noop).toFixed(0)} ms vs ${median(bare).toFixed(0)} ms)`,
        target: v.targeted ? "<= 100 ms" : "",
        ok: !v.targeted || overhead <= 100,
      });
    }

    const ratio = median(tshup) / median(baseline);
    const peak = Math.max(...rss);
    return [
      { name: "archive size", value: `${(archive.length / MB).toFixed(1)} MB`, target: "~150 MB", ok: archive.length > 100 * MB },
      { name: "install: tshup (median)", value: `${median(tshup).toFixed(0)} ms`, target: "", ok: true },
      { name: "install: curl | sha256sum | tar (median)", value: `${median(baseline).toFixed(0)} ms`, target: "", ok: true },
      { name: "install ratio tshup / baseline", value: `${ratio.toFixed(2)}x`, target: "<= 1.10x", ok: ratio <= 1.1 },
      { name: "install peak RSS", value: `${(peak / MB).toFixed(1)} MB`, target: "<= 100 MB", ok: peak <= 100 * MB },
      ...noopRows,
    ];
  } finally {
    await standin.close();
    await fsp.rm(work, { recursive: true, force: true });
  }
}
