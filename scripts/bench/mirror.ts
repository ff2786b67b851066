// `tshup mirror` of the six default platforms against what an admin would script instead: every
// artifact and its sidecar fetched by parallel curl, then `sha256sum -c`, in the same run, interleaved.
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pseudoRandomBytes } from "../../test/support/archives.js";
import { startStandin } from "../../test/support/standin.js";
import { BENCH_VERSION } from "./archive.js";
import { median, pinnedNode, requireTool, ROOT, timeMs, type BenchRow } from "./common.js";

const CLI = path.join(ROOT, "dist", "tshup.cjs");
const MB = 1024 * 1024;
/** About what each platform's artifact weighs (the hash and the disk see only bytes, not their meaning). */
const ARTIFACTS: { name: string; mb: number }[] = [
  { name: `teleport-v${BENCH_VERSION}-linux-amd64-bin.tar.gz`, mb: 160 },
  { name: `teleport-v${BENCH_VERSION}-linux-arm64-bin.tar.gz`, mb: 150 },
  { name: `teleport-v${BENCH_VERSION}-linux-arm-bin.tar.gz`, mb: 140 },
  { name: `teleport-v${BENCH_VERSION}-linux-386-bin.tar.gz`, mb: 140 },
  { name: `teleport-v${BENCH_VERSION}-darwin-universal-bin.tar.gz`, mb: 300 },
  { name: `teleport-v${BENCH_VERSION}-windows-amd64-bin.zip`, mb: 100 },
];

export async function benchMirror(rounds = 3): Promise<BenchRow[]> {
  requireTool("curl", "curl");
  const node = pinnedNode() ?? process.execPath;
  const standin = await startStandin();
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-bench-mirror-"));
  try {
    const urls = ARTIFACTS.map((a) => standin.setArtifact(a.name, pseudoRandomBytes(a.name, a.mb * MB)).url);
    const env = { ...process.env, ...standin.env };
    const fetchAll = urls.map((u, i) => `curl -fsS --cacert "$CA" -o "${ARTIFACTS[i]!.name}" "${u}" & curl -fsS --cacert "$CA" -o "${ARTIFACTS[i]!.name}.sha256" "${u}.sha256" &`).join("\n");
    const curlScript = `set -e\ncd "$1"\n${fetchAll}\nwait\ncat *.sha256 | sha256sum -c --quiet -`;
    const tshup: number[] = [];
    const curl: number[] = [];
    for (let i = -1; i < rounds; i++) {
      const a = path.join(work, `curl-${i}`);
      fs.mkdirSync(a);
      const c = await timeMs("bash", ["-c", curlScript, "bench", a], { ...env, CA: standin.caFile });
      fs.rmSync(a, { recursive: true, force: true });
      const b = path.join(work, `tshup-${i}`);
      const t = await timeMs(node, [CLI, "mirror", b, "--version", BENCH_VERSION, "--quiet"], { ...env, HOME: work });
      fs.rmSync(b, { recursive: true, force: true });
      if (i < 0) continue;
      curl.push(c);
      tshup.push(t);
    }
    const ratio = median(tshup) / median(curl);
    const total = ARTIFACTS.reduce((n, a) => n + a.mb, 0);
    return [
      {
        name: `mirror, 6 platforms (${total} MB): tshup / parallel curl + sha256sum -c`,
        value: `${ratio.toFixed(2)}x (${median(tshup).toFixed(0)} vs ${median(curl).toFixed(0)} ms)`,
        target: "<= 1.10x",
        ok: ratio <= 1.1,
      },
    ];
  } finally {
    await standin.close();
    await fsp.rm(work, { recursive: true, force: true });
  }
}
