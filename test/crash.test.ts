import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { linux, startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { cliVariants, makeHome, runCli } from "./support/cli.js";

const variant = cliVariants()[0]!;
const linuxPadded = (version: string, padding = 0) => ({ ...linux(version), padding, gzipLevel: 1 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function tshVersion(root: string): string {
  return execFileSync(path.join(root, "bin", "tsh"), ["version"], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } }).trim();
}

function filesUnder(dir: string): string[] {
  try {
    return fs.readdirSync(dir, { recursive: true }) as string[];
  } catch {
    return [];
  }
}

describe("kill -9 at any moment leaves the previous tsh working, and the next run finishes", () => {
  let standin: Standin;
  let proxy: StandinProxy;
  const big = "teleport-v17.5.2-linux-amd64-bin.tar.gz";
  before(async () => {
    standin = await startStandin();
    proxy = await standin.addProxy({ cluster: "example", serverVersion: "17.5.1" });
    await standin.addArtifact(linuxPadded("17.5.1"));
    await standin.addArtifact(linuxPadded("17.5.2", 12 * 1024 * 1024));
  });
  after(async () => standin.close());

  async function installedAt1751() {
    proxy.update({ serverVersion: "17.5.1" });
    const h = await makeHome();
    const root = path.join(h.home, ".local", "share", "tshup");
    const env = { ...h.env, ...standin.env };
    const first = await runCli(variant, ["--proxy", proxy.addr, "--json"], { env });
    assert.equal(first.code, 0, first.stderr);
    proxy.update({ serverVersion: "17.5.2" });
    return { ...h, root, env };
  }

  /** Starts an upgrade, waits for `moment`, then kills it with SIGKILL. */
  async function killWhen(env: Record<string, string>, moment: () => boolean | Promise<boolean>, what: string) {
    const [cmd, ...pre] = variant.command;
    const child = spawn(cmd!, [...pre, "--proxy", proxy.addr, "--json"], { env, stdio: "ignore" });
    const exited = new Promise((r) => child.on("exit", r));
    try {
      await until(what, moment);
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
  }

  async function recovers(h: { root: string; env: Record<string, string>; cleanup: () => Promise<void> }) {
    assert.match(tshVersion(h.root), /^Teleport v17\.5\.1 /, "the previous tsh still works");
    const state = JSON.parse(fs.readFileSync(path.join(h.root, "state.json"), "utf8"));
    assert.equal(state.schema, 1, "state.json is whole");
    standin.clearFaults();
    const again = await runCli(variant, ["--proxy", proxy.addr, "--json"], { env: h.env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json.version, "17.5.2");
    assert.match(tshVersion(h.root), /^Teleport v17\.5\.2 /);
    assert.deepEqual(fs.readdirSync(path.join(h.root, "versions")).sort(), ["17.5.1", "17.5.2"]);
    assert.ok(!fs.existsSync(path.join(h.root, ".staging")) || filesUnder(path.join(h.root, ".staging")).length === 0, "stale staging is cleaned");
    assert.ok(!fs.existsSync(path.join(h.root, ".lock")), "the lock is released");
    await h.cleanup();
  }

  test("during the download: the next run resumes with Range", async () => {
    const h = await installedAt1751();
    standin.setFault(big, { kind: "slow", bytesPerSecond: 4 * 1024 * 1024 });
    const partial = path.join(h.root, "downloads", `${big}.partial`);
    await killWhen(h.env, () => fs.existsSync(partial) && fs.statSync(partial).size > 2 * 1024 * 1024, "2 MB downloaded");
    assert.ok(fs.existsSync(path.join(h.root, ".lock")), "the killed run left its lock behind");
    standin.clearRequests();
    await recovers(h);
    const resumed = standin.requests.find((r) => r.path === `/${big}`);
    assert.match(String(resumed?.headers.range), /^bytes=\d{7,}-$/, "the rerun resumed where the killed one stopped");
  });

  test("during extraction: a half-written tsh in staging is never used", async () => {
    const h = await installedAt1751();
    standin.setFault(big, { kind: "slow", bytesPerSecond: 4 * 1024 * 1024 });
    const staged = () => filesUnder(path.join(h.root, ".staging")).some((f) => f.endsWith(`${path.sep}tsh`) && fs.statSync(path.join(h.root, ".staging", f)).size > 1024 * 1024);
    await killWhen(h.env, staged, "tsh half extracted");
    await recovers(h);
  });

  test("between staging and switch: verified, running its version check, not yet active", async () => {
    const h = await installedAt1751();
    // The stand-in tsh sleeps when asked to: the run is then inside its `tsh version` check.
    const env = { ...h.env, TSH_STANDIN_SLEEP: "30" };
    const verified = () => filesUnder(path.join(h.root, ".staging")).some((f) => f.endsWith(`${path.sep}tsh`) && (fs.statSync(path.join(h.root, ".staging", f)).mode & 0o100) !== 0);
    await killWhen(env, verified, "the staged tsh made executable");
    await recovers(h);
  });
});

describe("the lock", () => {
  let standin: Standin;
  let proxy: StandinProxy;
  before(async () => {
    standin = await startStandin();
    proxy = await standin.addProxy({ cluster: "example", serverVersion: "17.5.1" });
    await standin.addArtifact(linuxPadded("17.5.1"));
  });
  after(async () => standin.close());

  test("a live holder makes others wait, then exit 7 naming its pid", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const root = path.join(h.home, "root");
    await fsp.mkdir(root, { recursive: true });
    const holder = spawn("sleep", ["60"]);
    t.after(() => holder.kill());
    const os = await import("node:os");
    await fsp.writeFile(path.join(root, ".lock"), JSON.stringify({ pid: holder.pid, hostname: os.hostname(), since: new Date().toISOString() }));
    const r = await runCli(variant, ["--proxy", proxy.addr, "--json", "--prefix", root], { env: { ...h.env, ...standin.env, TSHUP_LOCK_TIMEOUT: "2" } });
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.json.error.code, "system");
    assert.match(r.json.error.message, new RegExp(`pid ${holder.pid}`));
    assert.match(r.json.error.hint, /delete .*\.lock/);
  });

  test("a lock whose holder died is taken over", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const root = path.join(h.home, "root");
    await fsp.mkdir(root, { recursive: true });
    const dead = spawn("true");
    await new Promise((r) => dead.on("exit", r));
    const os = await import("node:os");
    await fsp.writeFile(path.join(root, ".lock"), JSON.stringify({ pid: dead.pid, hostname: os.hostname(), since: new Date().toISOString() }));
    const r = await runCli(variant, ["--proxy", proxy.addr, "--json", "--prefix", root], { env: { ...h.env, ...standin.env, TSHUP_LOCK_TIMEOUT: "5" } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!fs.existsSync(path.join(root, ".lock")));
  });
});
