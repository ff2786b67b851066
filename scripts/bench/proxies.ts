// Several clusters: `status` against 20 proxies should cost little more than against one, since
// the TLS context is built once per run; measured with --ca-file, where it used to be rebuilt.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startStandin } from "../../test/support/standin.js";
import { median, ROOT, type BenchRow } from "./common.js";

const CLI = path.join(ROOT, "dist", "tshup.cjs");

export async function benchProxies(rounds = 9): Promise<BenchRow[]> {
  const standin = await startStandin();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "tshup-bench-proxies-"));
  try {
    const proxies: { addr: string }[] = [];
    for (let i = 0; i < 20; i++) proxies.push(await standin.addProxy({ cluster: `c${i}`, serverVersion: "17.5.1" }));
    const run = (n: number) =>
      new Promise<number>((resolve) => {
        const started = process.hrtime.bigint();
        const args = [CLI, "status", "--json", "--ca-file", standin.caFile, ...proxies.slice(0, n).flatMap((p) => ["--proxy", p.addr])];
        execFile(process.execPath, args, { env: { HOME: home, PATH: "/usr/bin:/bin" } }, () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
      });
    const one: number[] = [];
    const twenty: number[] = [];
    for (let i = 0; i < rounds; i++) {
      one.push(await run(1));
      twenty.push(await run(20));
    }
    const ratio = median(twenty) / median(one);
    return [
      {
        name: "status, 20 proxies vs 1 (--ca-file)",
        value: `${median(twenty).toFixed(0)} vs ${median(one).toFixed(0)} ms = ${ratio.toFixed(2)}x`,
        target: "<= 1.30x",
        ok: ratio <= 1.3,
      },
    ];
  } finally {
    await standin.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}
