import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { makeHome, ROOT } from "./support/cli.js";
import { requireTool } from "./support/tools.js";

let standin: Standin;
let proxy: StandinProxy;
before(async () => {
  standin = await startStandin();
  proxy = await standin.addProxy({ cluster: "example", serverVersion: "17.5.1" });
  const art = await standin.addArtifact({ version: "17.5.1", os: "linux", arch: "amd64", edition: "community", padding: 8 * 1024 * 1024, gzipLevel: 1 });
  standin.setFault(art.name, { kind: "slow", bytesPerSecond: 16 * 1024 * 1024 });
});
after(async () => standin.close());

/** Runs the built CLI on a real pseudo-terminal (util-linux `script`), as a person at a terminal would. */
function onTerminal(args: string[], env: Record<string, string>): Promise<string> {
  const script = requireTool("script", "bsdutils");
  const quoted = [process.execPath, path.join(ROOT, "dist", "tshup.cjs"), ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(script, ["-qec", `stty cols 120 rows 40; ${quoted}`, "/dev/null"], { env, stdio: ["pipe", "pipe", "pipe"] });
    // A run that waits for input it will never get must fail the test, not hang it.
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`exit ${code}: ${out}`));
    });
  });
}

test("on a terminal: a spinner while asking, a progress bar with bytes, rate and ETA, colour", async (t) => {
  const h = await makeHome();
  t.after(h.cleanup);
  const out = await onTerminal(["--proxy", proxy.addr, "--yes"], { ...h.env, ...standin.env, TERM: "xterm" });
  assert.match(out, /Asking 127\.0\.0\.1:\d+ which version it runs/);
  assert.match(out, /Downloading teleport-v17\.5\.1-linux-amd64-bin\.tar\.gz \[.*\] +\d+% [\d.]+ (KB|MB)\/[\d.]+ MB [\d.]+ (KB|MB)\/s ETA \d+s/);
  assert.match(out, /\r\x1b\[2K/, "the bar redraws in place");
  assert.match(out, /\x1b\[32m✔\x1b\[0m tsh 17\.5\.1 installed/);
});

test("on a terminal with NO_COLOR: animation stays, colour goes", async (t) => {
  const h = await makeHome();
  t.after(h.cleanup);
  const out = await onTerminal(["--proxy", proxy.addr, "--yes"], { ...h.env, ...standin.env, TERM: "xterm", NO_COLOR: "1" });
  assert.match(out, /ETA \d+s/);
  assert.doesNotMatch(out, /\x1b\[3\dm/, "no colour codes");
});

test("on a terminal with --json or --quiet: no animation at all", async (t) => {
  for (const flag of ["--json", "--quiet"]) {
    const h = await makeHome();
    t.after(h.cleanup);
    const out = await onTerminal(["--proxy", proxy.addr, "--yes", flag], { ...h.env, ...standin.env, TERM: "xterm" });
    assert.doesNotMatch(out, /ETA|\r\x1b\[2K|\x1b\[\?25l/, flag);
  }
});
