// node --import tsx scripts/sea-training.ts ARCH plain|site SOURCE CACHE_OUT NODE [PREFIX...]
// The training run behind the Linux executables' code cache (scripts/sea-main.cjs): against the
// stand-in proxy and CDN the tests use, in a throw-away home, the target's Node (under PREFIX, e.g.
// qemu, when it cannot run here) installs tsh with the bundle, then makes the run a user repeats
// most, one with nothing to do, and the cache is taken at its end. Same commit, same runs, same
// cache: a clean environment keeps the user's settings out of it. A site's build (`site`: its
// manifest is built in) trains with a manifest of the stand-in's own in place of the site's, whose
// proxies, mirror, pins and keys the stand-in cannot answer for, and which would then fail the build.
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startStandin } from "../test/support/standin.js";

const TRAINER = path.join(path.dirname(fileURLToPath(import.meta.url)), "sea-train.cjs");
const VERSION = "17.5.1";

const [arch, kind, source, cacheOut, node, ...prefix] = process.argv.slice(2);
if ((arch !== "amd64" && arch !== "arm64") || (kind !== "plain" && kind !== "site") || !source || !cacheOut || !node) {
  throw new Error("usage: sea-training.ts amd64|arm64 plain|site SOURCE CACHE_OUT NODE [PREFIX...]");
}

const standin = await startStandin();
const home = await fs.mkdtemp(path.join(os.tmpdir(), "tshup-sea-training-"));
try {
  const proxy = await standin.addProxy({ cluster: "training", serverVersion: VERSION });
  await standin.addArtifact({ version: VERSION, os: "linux", arch, edition: "community" });
  const env = { HOME: home, PATH: "/usr/bin:/bin", LANG: "C.UTF-8", ...standin.env };
  const args = ["--proxy", proxy.addr, "--yes"];
  if (kind === "site") {
    const manifest = path.join(home, "training-site.yaml");
    await fs.writeFile(manifest, `name: Training\nclusters:\n  - proxy: ${proxy.addr}\n`);
    args.push("--manifest", manifest);
  }
  const run = (out: string) =>
    new Promise<void>((resolve, reject) => {
      const [cmd, ...pre] = [...prefix, node];
      execFile(cmd!, [...pre, "--random-seed=1", TRAINER, source, out, ...args], { env, timeout: 300_000 }, (err, _stdout, stderr) =>
        err ? reject(new Error(`the training run failed (${err.code ?? err.signal}): ${stderr.trim()}`)) : resolve(),
      );
    });
  await run(path.join(home, "install.cache"));
  await run(cacheOut);
} finally {
  await standin.close();
  await fs.rm(home, { recursive: true, force: true });
}
