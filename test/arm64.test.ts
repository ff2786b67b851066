import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { makeHome, ROOT, runCli, type CliVariant } from "./support/cli.js";
import { requireTool } from "./support/tools.js";

/** The linux-arm64 executable, run by qemu's user-mode emulator with Debian's arm64 libraries. */
function arm64(): CliVariant {
  const qemu = requireTool("qemu-aarch64-static", "qemu-user-static");
  for (const [lib, pkg] of [["ld-linux-aarch64.so.1", "libc6-arm64-cross"], ["libstdc++.so.6", "libstdc++6-arm64-cross"], ["libgcc_s.so.1", "libgcc-s1-arm64-cross"]]) {
    if (!fs.existsSync(path.join("/usr/aarch64-linux-gnu/lib", lib!))) throw new Error(`${lib} is missing; install it with: apt-get install -y ${pkg}`);
  }
  const binary = path.join(ROOT, "dist", "bin", "tshup-linux-arm64");
  if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: run npm run dist (npm test does it)`);
  return { name: "tshup-linux-arm64 (qemu)", command: [qemu, "-L", "/usr/aarch64-linux-gnu", binary] };
}

let standin: Standin;
let proxy: StandinProxy;
before(async () => {
  standin = await startStandin();
  proxy = await standin.addProxy({ cluster: "example", serverVersion: "17.5.1" });
  await standin.addArtifact({ version: "17.5.1", os: "linux", arch: "arm64", edition: "community" });
});
after(async () => standin.close());

test("tshup-linux-arm64 prints its version and installs the arm64 tsh under qemu", async (t) => {
  const variant = arm64();
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  const v = await runCli(variant, ["--version"], { env: { PATH: "/usr/bin:/bin" }, timeoutMs: 300_000 });
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, new RegExp(`^tshup ${pkg.version.replace(/\./g, "\\.")} \\([0-9a-f]{12}(-dirty)?\\)\\n$`));

  const h = await makeHome();
  t.after(h.cleanup);
  standin.clearRequests();
  const r = await runCli(variant, ["--proxy", proxy.addr, "--json", "--yes"], { env: { ...h.env, ...standin.env }, timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json.version, "17.5.1");
  assert.ok(standin.requests.some((q) => q.path === "/teleport-v17.5.1-linux-arm64-bin.tar.gz"), "it asked for the arm64 artifact");
  const tsh = path.join(h.home, ".local", "share", "tshup", "bin", "tsh");
  assert.match(execFileSync(tsh, ["version"], { encoding: "utf8" }), /^Teleport v17\.5\.1 /);
});
