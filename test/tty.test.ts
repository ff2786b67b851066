import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { startStandin, type ArtifactInfo, type Standin, type StandinProxy } from "./support/standin.js";
import { makeHome, ROOT } from "./support/cli.js";
import { requireTool } from "./support/tools.js";
import { Terminal } from "./support/terminal.js";

let standin: Standin;
let proxy: StandinProxy;
let art: ArtifactInfo;
const FAST = 16 * 1024 * 1024;
before(async () => {
  standin = await startStandin();
  proxy = await standin.addProxy({ cluster: "example", serverVersion: "17.5.1" });
  art = await standin.addArtifact({ version: "17.5.1", os: "linux", arch: "amd64", edition: "community", padding: 8 * 1024 * 1024, gzipLevel: 1 });
  standin.setFault(art.name, { kind: "slow", bytesPerSecond: FAST });
});
after(async () => standin.close());

/** Runs the built CLI on a real pseudo-terminal (util-linux `script`), as a person at a terminal would. */
function onTerminal(args: string[], env: Record<string, string>, columns = 120): Promise<string> {
  const script = requireTool("script", "bsdutils");
  const quoted = [process.execPath, path.join(ROOT, "dist", "tshup.cjs"), ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(script, ["-qec", `stty cols ${columns} rows 40; ${quoted}`, "/dev/null"], { env, stdio: ["pipe", "pipe", "pipe"] });
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
  assert.match(out, /Downloading teleport-v17\.5\.1-linux-amd64-bin\.tar\.gz \[.*\] +\d+% +[\d.]+\/[\d.]+ MB +[\d.]+ (KB|MB)\/s ETA +\d+s/);
  assert.match(out, /\x1b\[J[^\n]*Downloading[^\n]*\r/, "the bar redraws in place");
  assert.match(out, /\x1b\[32m✔\x1b\[0m tsh 17\.5\.1 installed/);
});

test("on a terminal with NO_COLOR: animation stays, colour goes", async (t) => {
  const h = await makeHome();
  t.after(h.cleanup);
  const out = await onTerminal(["--proxy", proxy.addr, "--yes"], { ...h.env, ...standin.env, TERM: "xterm", NO_COLOR: "1" });
  assert.match(out, /ETA +\d+s/);
  assert.doesNotMatch(out, /\x1b\[3\dm/, "no colour codes");
});

test("on a terminal with --json or --quiet: no animation at all", async (t) => {
  for (const flag of ["--json", "--quiet"]) {
    const h = await makeHome();
    t.after(h.cleanup);
    const out = await onTerminal(["--proxy", proxy.addr, "--yes", flag], { ...h.env, ...standin.env, TERM: "xterm" });
    assert.doesNotMatch(out, /ETA|\x1b\[J|\x1b\[\?25l/, flag);
  }
});

/**
 * What a person sees of the bar: one line, redrawn in place. A line wider than the terminal wraps,
 * and every redraw then leaves a row behind and scrolls; the pane and its scrollback show that.
 */
function assertOneBarLine(rows: string, joined: string, columns: number, what: string) {
  const starts = rows.split("\n").filter((l) => l.startsWith("Downloading"));
  assert.equal(starts.length, 1, `${what}: one Downloading line on screen, got:\n${rows}`);
  const lines = joined.split("\n").filter((l) => l.includes("Downloading"));
  assert.equal(lines.length, 1, `${what}: ${joined}`);
  assert.ok(lines[0]!.length < columns, `${what}: the bar fits in ${columns} columns: ${JSON.stringify(lines[0])}`);
  assert.match(lines[0]!, columns >= 80 ? /^Downloading teleport-v17\.5\.1.* 100%/ : /^Downloading teleport.* 100%/, what);
}

/** `tshup --proxy ... --yes` in a fresh home, in tmux at `columns`. */
async function installOnScreen(t: { after: (fn: () => unknown) => void }, name: string, columns: number): Promise<Terminal> {
  const h = await makeHome();
  t.after(h.cleanup);
  const term = new Terminal(name);
  t.after(() => term.close());
  await term.start(["--proxy", proxy.addr, "--yes"], { ...h.env, ...standin.env, TERM: "xterm-256color" }, { columns, rows: 40 });
  return term;
}

test("in tmux at 80 and 120 columns: the bar fits the width and redraws in place, at most ten times a second", async (t) => {
  standin.setFault(art.name, { kind: "slow", bytesPerSecond: 3 * 1024 * 1024 });
  t.after(() => standin.setFault(art.name, { kind: "slow", bytesPerSecond: FAST }));
  for (const columns of [80, 120]) {
    const term = await installOnScreen(t, `bar${columns}`, columns);
    assert.match(await term.waitFor(/EXIT=\d+/), /EXIT=0/);
    assertOneBarLine(await term.screen({ joined: false }), await term.screen(), columns, `${columns} columns`);
  }
  // The bytes themselves: each redraw is one erase-and-draw, and there are no more than ten a second.
  const h = await makeHome();
  t.after(h.cleanup);
  const started = Date.now();
  const out = await onTerminal(["--proxy", proxy.addr, "--yes"], { ...h.env, ...standin.env, TERM: "xterm" }, 80);
  const seconds = (Date.now() - started) / 1000;
  const draws = out.match(/\x1b\[J[^\n\x1b]*Downloading/g) ?? [];
  assert.ok(draws.length >= 5, `the bar moves: ${draws.length} draws`);
  assert.ok(draws.length <= seconds * 10 + 3, `${draws.length} draws in ${seconds.toFixed(1)} s`);
});

test("in tmux, narrowed to 60 and then 40 columns mid-download: the bar follows the width, and nothing is left behind", async (t) => {
  standin.setFault(art.name, { kind: "slow", bytesPerSecond: 2 * 1024 * 1024 });
  t.after(() => standin.setFault(art.name, { kind: "slow", bytesPerSecond: FAST }));
  const term = await installOnScreen(t, "resize", 120);
  await term.waitFor(/Downloading.* \d+%/);
  await term.resize(60, 40);
  // Redrawn for the new width at once, well before the download ends.
  await term.waitFor(/^(?=.{1,59}$)Downloading.* \d\d?%/m, 2_000);
  await new Promise((r) => setTimeout(r, 500));
  await term.resize(40, 40);
  assert.match(await term.waitFor(/EXIT=\d+/, 60_000), /EXIT=0/);
  const rows = await term.screen({ joined: false });
  assertOneBarLine(rows, await term.screen(), 40, "after the resizes");
  assert.match(rows.split("\n").find((l) => l.startsWith("Downloading"))!, /\[#+\] 100%/, "still a bar at 40 columns");
});

test("in tmux, a download cut off and retried: the retry line stands above the bar, which goes on in place", async (t) => {
  standin.setFault(art.name, { kind: "truncate", bytes: 2 * 1024 * 1024, times: 1 });
  standin.addFault(art.name, { kind: "slow", bytesPerSecond: 4 * 1024 * 1024 });
  t.after(() => standin.setFault(art.name, { kind: "slow", bytesPerSecond: FAST }));
  const term = await installOnScreen(t, "retry", 80);
  assert.match(await term.waitFor(/EXIT=\d+/), /EXIT=0/);
  const rows = await term.screen({ joined: false });
  assert.match(rows, /^retrying in 0\.\d s \(connection (cut|closed early|reset)\)\nDownloading /m);
  assertOneBarLine(rows, await term.screen(), 80, "after a retry");
});

test("in tmux, a retry while the spinner turns: the retry line stands on its own, and the spinner ends below it", async (t) => {
  proxy.setFault("/webapi/find", { kind: "status", status: 503, times: 1 });
  t.after(() => proxy.clearFaults());
  const term = await installOnScreen(t, "spin", 80);
  assert.match(await term.waitFor(/EXIT=\d+/), /EXIT=0/);
  const rows = await term.screen({ joined: false });
  assert.match(rows, /^retrying in 0\.\d s \(HTTP 503\)\n✔ example runs Teleport 17\.5\.1$/m);
});
