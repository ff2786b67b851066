// Start-up time and size of the single executables (`npm run dist` output), each next to its
// target; start-up also next to a bare `node -e 0` measured in the same run, interleaved, so that
// the machine's load shows in both.
import { spawnSync } from "node:child_process";
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { median, pinnedNode, ROOT, type BenchRow } from "./common.js";

const BIN = path.join(ROOT, "dist", "bin");
const NAMES = ["tshup-linux-x64", "tshup-linux-arm64", "tshup-darwin-x64", "tshup-darwin-arm64", "tshup-win-x64.exe"];
const MiB = 1024 * 1024;
const RUNS = 21;
const STARTUP_TARGET_MS = 60;
const RAW_TARGET = 110 * MiB;
const GZIP_TARGET = 40 * MiB;


function timeOnce(cmd: string, args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status ?? r.signal}: ${String(r.stderr).trim().slice(0, 300)}`);
  }
  return ms;
}


async function gzipSize(file: string): Promise<number> {
  let n = 0;
  const counter = new Writable({
    write(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      cb();
    },
  });
  await pipeline(createReadStream(file), createGzip(), counter);
  return n;
}

const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;

export async function benchStartup(): Promise<{ rows: BenchRow[] }> {
  const rows: BenchRow[] = [];
  const exe = path.join(BIN, "tshup-linux-x64");
  try {
    await fs.access(exe);
  } catch {
    throw new Error(`${exe} is missing: run npm run dist first`);
  }

  // Baselines: this Node, and the pinned Node the executable is built on (the floor it cannot
  // go below), when the dist build's cache has it.
  const baselines: { label: string; cmd: string }[] = [{ label: `node ${process.version}`, cmd: process.execPath }];
  const cmd = pinnedNode();
  if (cmd) {
    baselines.push({ label: `node ${spawnSync(cmd, ["--version"], { encoding: "utf8" }).stdout.trim()}`, cmd });
  }

  // One untimed run each fills the page cache; then all alternate.
  timeOnce(exe, ["--version"]);
  for (const b of baselines) timeOnce(b.cmd, ["-e", "0"]);
  const sea: number[] = [];
  const bare: number[][] = baselines.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    sea.push(timeOnce(exe, ["--version"]));
    baselines.forEach((b, j) => bare[j].push(timeOnce(b.cmd, ["-e", "0"])));
  }
  const seaMs = median(sea);
  const against = baselines.map((b, j) => `${b.label} -e 0: ${median(bare[j]).toFixed(0)} ms`).join(", ");
  rows.push({
    name: "start-up: tshup-linux-x64 --version",
    value: `${seaMs.toFixed(0)} ms median of ${RUNS} (${against})`,
    target: `<= ${STARTUP_TARGET_MS} ms`,
    ok: seaMs <= STARTUP_TARGET_MS,
  });

  const sizes = await Promise.all(
    NAMES.map(async (name) => {
      const file = path.join(BIN, name);
      try {
        return { name, raw: (await fs.stat(file)).size, gz: await gzipSize(file) };
      } catch {
        return { name, raw: -1, gz: -1 };
      }
    }),
  );
  for (const s of sizes) {
    rows.push(
      s.raw < 0
        ? { name: `size: ${s.name}`, value: "missing", target: "run npm run dist", ok: false }
        : {
            name: `size: ${s.name}`,
            value: `${mib(s.raw)} raw, ${mib(s.gz)} gzipped`,
            target: `<= ${RAW_TARGET / MiB} MiB raw, <= ${GZIP_TARGET / MiB} MiB gzipped`,
            ok: s.raw <= RAW_TARGET && s.gz <= GZIP_TARGET,
          },
    );
  }
  return { rows };
}
