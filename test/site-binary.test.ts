import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import YAML from "yaml";
import { startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { makeHome, ROOT, runCli } from "./support/cli.js";

let standin: Standin;
let proxy: StandinProxy;
before(async () => {
  standin = await startStandin();
  proxy = await standin.addProxy({ cluster: "site", serverVersion: "17.5.1" });
  await standin.addArtifact({ version: "17.5.2", os: "linux", arch: "amd64", edition: "community" });
});
after(async () => standin.close());

test("a site-branded executable applies its built-in manifest when run with no arguments", { skip: process.platform !== "linux" || process.arch !== "x64" ? "the linux-x64 executable runs only on linux-x64" : false }, async (t) => {
  const h = await makeHome();
  t.after(h.cleanup);
  const manifest = path.join(h.home, "site.yaml");
  // A pin the build's training stand-in cannot serve: the build must not depend on the site's
  // manifest being answerable from where it is built.
  await fsp.writeFile(
    manifest,
    YAML.stringify({ name: "Example site", user: "alice", policy: { version: "17.5.2" }, clusters: [{ proxy: proxy.addr, ssh: { style: "tsh-proxy" } }] }),
  );
  const out = path.join(h.home, "out");
  // The stand-in serves from this process: the build must not block it, so it runs asynchronously.
  const code = await new Promise<number | null>((resolve) =>
    spawn(process.execPath, [path.join(ROOT, "scripts", "dist.mjs"), "--manifest", manifest, "--targets", "linux-x64", "--out-dir", out], { cwd: ROOT, stdio: "inherit" }).on("close", resolve),
  );
  assert.equal(code, 0, "npm run dist -- --manifest FILE builds");
  const binary = path.join(out, "tshup-linux-x64");
  assert.ok(fs.existsSync(binary));
  const r = await runCli({ name: "site", command: [binary] }, ["--json"], { env: { ...h.env, ...standin.env } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.version, "17.5.2", "the pin came from the built-in manifest");
  assert.equal(r.json.clusters[0].proxy, proxy.addr, "the proxy came from the built-in manifest");
  const conf = fs.readFileSync(path.join(h.home, ".ssh", "tshup", "site.conf"), "utf8");
  assert.match(conf, /keys\/127\.0\.0\.1\/alice/, "so did the Teleport user");
});
