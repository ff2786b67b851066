// What every part of the bench shares: the row it reports, the median it takes, how it times a
// command and reads what a run recorded at exit, the Node the executables embed, and the tools it needs.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface BenchRow {
  name: string;
  value: string;
  target: string;
  ok: boolean;
}

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Times one command; asynchronous because a stand-in serving it may live in this process. */
export async function timeMs(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return (await timed(cmd, args, env)).ms;
}

/** Runs one command to its end and gives its time and what it wrote to stderr; fails on a non-zero exit. */
export function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(" ")} failed (${code}): ${stderr}`));
      else resolve({ ms, stderr });
    });
  });
}

/** What scripts/bench/exit-figures.cjs records of a run it was preloaded into. */
export interface ExitFigures {
  rss: number;
  cpuMs: number;
  written: number | null;
  cancelled: number | null;
}

/** node's arguments that preload exit-figures.cjs, and the environment that tells it where to write. */
export function withExitFigures(file: string): { nodeArgs: string[]; env: NodeJS.ProcessEnv } {
  return { nodeArgs: ["-r", path.join(ROOT, "scripts", "bench", "exit-figures.cjs")], env: { TSHUP_BENCH_FIGURES_FILE: file } };
}

export function readExitFigures(file: string): ExitFigures {
  return JSON.parse(fs.readFileSync(file, "utf8")) as ExitFigures;
}

/** The unmodified Node 22 the executables embed, from the build cache; null when not fetched yet. */
export function pinnedNode(): string | null {
  const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "dist.mjs"), "--print-node", "linux-x64"], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

export function requireTool(cmd: string, pkg: string): void {
  if (spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0) throw new Error(`the bench needs ${cmd}: sudo apt-get install -y ${pkg}`);
}
