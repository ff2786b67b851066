// A run with nothing to do, of the shipped executable, against a bare HTTPS GET of the same proxy by
// the Node it embeds, interleaved: what tshup adds to the one request it cannot avoid.
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { linux, startStandin } from "../../test/support/standin.js";
import { median, pinnedNode, ROOT, timeMs, type BenchRow } from "./common.js";

const NAME = "no-op run of tshup-linux-x64 over one HTTPS GET by its node";
const VERSION = "17.5.1";

export async function benchNoop(rounds = 41): Promise<BenchRow[]> {
  const binary = path.join(ROOT, "dist", "bin", "tshup-linux-x64");
  const pinned = pinnedNode();
  if (!pinned || process.platform !== "linux" || process.arch !== "x64" || !fs.existsSync(binary)) {
    return [{ name: NAME, value: "not measured", target: "run npm run dist on linux-x64", ok: false }];
  }
  const standin = await startStandin();
  const home = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-bench-noop-"));
  try {
    const proxy = await standin.addProxy({ cluster: "bench", serverVersion: VERSION });
    await standin.addArtifact(linux(VERSION));
    const env = { ...process.env, ...standin.env, HOME: home, TSHUP_HOME: path.join(home, "root") };
    const args = ["--proxy", proxy.addr, "--yes", "--quiet", "--no-modify-path", "--no-config"];
    // The first run installs; every later one finds tsh current.
    await timeMs(binary, args, env);
    const get = `require("node:https").get("https://${proxy.addr}/webapi/ping", (r) => { r.resume(); r.on("end", () => process.exit(r.statusCode === 200 ? 0 : 1)); })`;
    const noop: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < rounds; i++) {
      bare.push(await timeMs(pinned, ["-e", get], env));
      noop.push(await timeMs(binary, args, env));
    }
    const over = median(noop) - median(bare);
    return [{ name: NAME, value: `+${over.toFixed(0)} ms (${median(noop).toFixed(0)} vs ${median(bare).toFixed(0)} ms)`, target: "<= 15 ms", ok: over <= 15 }];
  } finally {
    await standin.close();
    await fsp.rm(home, { recursive: true, force: true });
  }
}
