// Install speed and memory against release-shaped archives (scripts/bench/archive.ts), each next to
// its baselines measured in the same run, round-robin: the shell pipeline a person would otherwise
// type, and `pigz -dc` of the same file, the decompression floor here.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startStandin, type Standin } from "../../test/support/standin.js";
import { PARTIAL_WRITE_BUFFER } from "../../src/io/download.js";
import { BENCH_VERSION, benchArchive, type MemberOrder } from "./archive.js";
import { median, pinnedNode, readExitFigures, requireTool, ROOT, timed, timeMs, withExitFigures, type BenchRow } from "./common.js";

const CLI = path.join(ROOT, "dist", "tshup.cjs");
const MB = 1024 * 1024;

const mb = (n: number) => `${(n / MB).toFixed(0)} MiB`;

interface SizeFigures {
  archiveBytes: number;
  tshup: number;
  pipeline: number;
  pigz: number;
  rss: number;
  written: number | null;
  cancelled: number | null;
  partialWriteMs: number;
}

/** One archive size: every round runs the pipeline, pigz and tshup once each, in that order. */
async function measureSize(standin: Standin, proxyAddr: string, node: string, scale: number, rounds: number, work: string): Promise<SizeFigures> {
  const archive = benchArchive(scale);
  const art = standin.setArtifact(`teleport-v${BENCH_VERSION}-linux-amd64-bin.tar.gz`, fs.readFileSync(archive.file));
  const env = { ...process.env, ...standin.env };
  const pipeline: number[] = [];
  const pigz: number[] = [];
  const tshup: number[] = [];
  const rss: number[] = [];
  const written: number[] = [];
  const cancelled: number[] = [];
  // One untimed pass of each fills the page cache and warms the stand-in.
  for (let i = -1; i < rounds; i++) {
    const out = path.join(work, `baseline-${scale}-${i}`);
    fs.mkdirSync(out);
    const p = await timeMs("bash", ["-c", `set -eo pipefail; curl -fsS --cacert "${standin.caFile}" "${art.url}" | tee >(sha256sum >/dev/null) | tar -xzf - -C "${out}" teleport/tsh`], env);
    fs.rmSync(out, { recursive: true, force: true });
    const z = await timeMs("bash", ["-c", `pigz -dc < "${archive.file}" > /dev/null`], env);
    const home = path.join(work, `home-${scale}-${i}`);
    fs.mkdirSync(home);
    const figuresFile = path.join(work, `figures-${scale}-${i}`);
    const hook = withExitFigures(figuresFile);
    const t = await timeMs(node, [...hook.nodeArgs, CLI, "--proxy", proxyAddr, "--yes", "--quiet", "--no-modify-path", "--no-config"], {
      ...env,
      ...hook.env,
      HOME: home,
      TSHUP_HOME: path.join(home, "root"),
    });
    const figures = readExitFigures(figuresFile);
    fs.rmSync(home, { recursive: true, force: true });
    if (i < 0) continue;
    pipeline.push(p);
    pigz.push(z);
    tshup.push(t);
    rss.push(figures.rss);
    if (figures.written !== null) written.push(figures.written);
    if (figures.cancelled !== null) cancelled.push(figures.cancelled);
  }
  return {
    archiveBytes: archive.bytes,
    tshup: median(tshup),
    pipeline: median(pipeline),
    pigz: median(pigz),
    rss: Math.max(...rss),
    written: written.length ? median(written) : null,
    cancelled: cancelled.length ? median(cancelled) : null,
    partialWriteMs: await partialWriteCost(node, archive.file, work),
  };
}

/**
 * What keeping the archive for resume costs by itself: the same bytes written the way the download
 * writes its .partial file (16 KiB network chunks into one write stream, its buffer as large), then
 * removed.
 */
async function partialWriteCost(node: string, archiveFile: string, work: string): Promise<number> {
  const script = `
    const fs = require("node:fs");
    const data = fs.readFileSync(process.argv[1]);
    const out = fs.createWriteStream(process.argv[2], { flags: "a", highWaterMark: Number(process.argv[3]) });
    const t0 = process.hrtime.bigint();
    let at = 0;
    const next = () => {
      while (at < data.length) {
        const chunk = data.subarray(at, (at += 16384));
        if (!out.write(chunk)) return out.once("drain", next);
      }
      out.end(() => {
        process.stdout.write(String(Number(process.hrtime.bigint() - t0) / 1e6));
        fs.rmSync(process.argv[2]);
      });
    };
    next();`;
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(node, ["-e", script, archiveFile, path.join(work, "partial-cost"), String(PARTIAL_WRITE_BUFFER)], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`measuring the .partial write failed: ${r.stderr}`);
    times.push(Number(r.stdout));
  }
  return median(times);
}

interface OrderFigures {
  archiveBytes: number;
  ms: number;
  /** What tshup's --verbose says went to inflate before it stopped; null when it read to the end. */
  inflated: number | null;
}

/**
 * What stopping the inflate after the last wanted member saves: the release's own order (tsh last)
 * against tsh first, each round installing from both, with where tshup itself says it stopped.
 */
async function measureMemberOrders(standin: Standin, proxyAddr: string, node: string, rounds: number, work: string): Promise<Record<MemberOrder, OrderFigures>> {
  const orders: MemberOrder[] = ["sorted", "tsh-first"];
  const data = Object.fromEntries(orders.map((o) => [o, fs.readFileSync(benchArchive(1, o).file)])) as Record<MemberOrder, Buffer>;
  const times: Record<MemberOrder, number[]> = { sorted: [], "tsh-first": [] };
  const inflated: Record<MemberOrder, number | null> = { sorted: null, "tsh-first": null };
  const env = { ...process.env, ...standin.env };
  for (let i = -1; i < rounds; i++) {
    for (const order of orders) {
      standin.setArtifact(`teleport-v${BENCH_VERSION}-linux-amd64-bin.tar.gz`, data[order]);
      const home = path.join(work, `order-${order}-${i}`);
      fs.mkdirSync(home);
      const args = [CLI, "--proxy", proxyAddr, "--yes", "--no-modify-path", "--no-config"];
      const runEnv = { ...env, HOME: home, TSHUP_HOME: path.join(home, "root") };
      if (i < 0) {
        // The untimed pass says where it stopped.
        const { stderr } = await timed(node, [...args, "--verbose"], runEnv);
        const m = / stopped after teleport\/tsh, (\d+) bytes in;/.exec(stderr);
        inflated[order] = m ? Number(m[1]) : null;
      } else {
        times[order].push(await timeMs(node, [...args, "--quiet"], runEnv));
      }
      fs.rmSync(home, { recursive: true, force: true });
    }
  }
  const figures = (o: MemberOrder): OrderFigures => ({ archiveBytes: data[o].length, ms: median(times[o]), inflated: inflated[o] });
  return { sorted: figures("sorted"), "tsh-first": figures("tsh-first") };
}

export async function benchInstall(): Promise<BenchRow[]> {
  requireTool("pigz", "pigz");
  requireTool("curl", "curl");
  const pinned = pinnedNode();
  const node = pinned ?? process.execPath;
  const nodeLabel = pinned ? "node 22, as in the executables" : `node ${process.version}: run npm run dist for the executables' node 22`;
  const standin = await startStandin();
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-bench-"));
  const rows: BenchRow[] = [];
  try {
    const proxy = await standin.addProxy({ cluster: "bench", serverVersion: BENCH_VERSION });
    const small = await measureSize(standin, proxy.addr, node, 1, 5, work);
    const large = await measureSize(standin, proxy.addr, node, 3.5, 3, work);
    for (const [label, f, targeted] of [
      [mb(small.archiveBytes), small, true],
      [mb(large.archiveBytes), large, false],
    ] as const) {
      const vsPipeline = f.tshup / f.pipeline;
      const vsPigz = f.tshup / f.pigz;
      rows.push(
        { name: `install ${label} (${nodeLabel})`, value: `tshup ${f.tshup.toFixed(0)} ms, curl | tee >(sha256sum) | tar ${f.pipeline.toFixed(0)} ms, pigz -dc ${f.pigz.toFixed(0)} ms`, target: "", ok: true },
        { name: `install ${label}: tshup / pipeline`, value: `${vsPipeline.toFixed(2)}x`, target: targeted ? "<= 0.70x" : "", ok: !targeted || vsPipeline <= 0.7 },
        { name: `install ${label}: tshup / pigz -dc`, value: `${vsPigz.toFixed(2)}x`, target: targeted ? "<= 1.10x" : "", ok: !targeted || vsPigz <= 1.1 },
        { name: `install ${label}: peak RSS`, value: mb(f.rss), target: "<= 100 MiB", ok: f.rss <= 100 * MB },
        {
          name: `install ${label}: written`,
          value: `${f.written === null ? "not measured" : mb(f.written)}, of which the .partial kept for resume ${mb(f.archiveBytes)}: ${f.partialWriteMs.toFixed(0)} ms alone, ${((100 * f.partialWriteMs) / f.tshup).toFixed(0)}% of the install; ${f.cancelled === null ? "" : `${mb(f.cancelled)} never reached the disk`}`,
          target: "",
          ok: true,
        },
      );
    }
    const perMb = large.tshup / large.archiveBytes / (small.tshup / small.archiveBytes);
    rows.push({ name: `install time per MB, ${mb(large.archiveBytes)} / ${mb(small.archiveBytes)}`, value: `${perMb.toFixed(2)}x`, target: "<= 1.15x (linear)", ok: perMb <= 1.15 });

    const orders = await measureMemberOrders(standin, proxy.addr, node, 5, work);
    const skipped = (f: OrderFigures) => {
      const bytes = f.archiveBytes - (f.inflated ?? f.archiveBytes);
      return `${((100 * bytes) / f.archiveBytes).toFixed(1)}% of the archive only hashed`;
    };
    const sorted = orders.sorted;
    const first = orders["tsh-first"];
    rows.push(
      {
        name: "inflate stopped after tsh, release order (tar --sort=name: tsh last)",
        value: `${skipped(sorted)}, install ${sorted.ms.toFixed(0)} ms`,
        target: "",
        ok: true,
      },
      {
        name: "inflate stopped after tsh, tsh first (an unsorted build)",
        value: `${skipped(first)}, install ${first.ms.toFixed(0)} ms: ${(100 * (1 - first.ms / sorted.ms)).toFixed(0)}% less time`,
        target: "inflated < archive",
        ok: first.inflated !== null && first.inflated < first.archiveBytes && first.ms < sorted.ms,
      },
    );
  } finally {
    await standin.close();
    await fsp.rm(work, { recursive: true, force: true });
  }
  return rows;
}

