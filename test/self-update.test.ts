// `tshup self update` against a site served over real TLS by the loopback stand-in: its
// SHA256SUMS and a second linux-x64 build made from this tree with another commit. The installed
// copy updates itself while it runs, and the script form updates the copy it does not run from.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startStandin, type Standin } from "./support/standin.js";
import { runCli, snapshot, type CliVariant } from "./support/cli.js";
import { BINARY, binarySkip, buildExecutable, EXE, ROOT_SCRIPT, SCRIPT, selfHome } from "./support/self.js";
import { SELF_MARKER } from "../src/core/self.js";

const NAME = "tshup-linux-x64";
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const versionOf = (exe: string) => execFileSync(exe, ["--version"], { encoding: "utf8" }).trim();

// One site for the whole file: the stand-in serves the self_update directory the manifest names.
let standin: Standin;
let tmp: string;
let manifest: string;

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-self-update-"));
  standin = await startStandin();
  manifest = path.join(tmp, "site.yaml");
  await fsp.writeFile(manifest, `self_update:\n  base_url: ${standin.cdnUrl}/\n`);
});
after(async () => {
  await standin?.close();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

/** Publishes `data` as the linux-x64 build, with a SHA256SUMS that says `hash` for it (its own by default). */
function publish(data: Buffer | null, hash = data ? sha256(data) : "0".repeat(64), sums = true): void {
  standin.removeArtifact(NAME);
  standin.removeArtifact("SHA256SUMS");
  if (data) standin.setArtifact(NAME, data, null);
  if (sums) standin.setArtifact("SHA256SUMS", Buffer.from(`${"1".repeat(64)}  tshup-darwin-arm64\n${hash}  ${NAME}\n${"2".repeat(64)}  tshup-win-x64.exe\n`), null);
}

/** Whether a process runs; a zombie nobody has reaped yet (a container's init may not) has stopped. */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

test("self update without a manifest naming self_update.base_url is exit 2 with the key in the hint", async (t) => {
  const h = await selfHome();
  t.after(h.cleanup);
  const r = await runCli(SCRIPT, ["self", "update", "--json"], { env: h.env });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.json.command, "self update");
  assert.equal(r.json.error.code, "usage");
  assert.match(r.json.error.message, /self_update\.base_url/);
  assert.match(r.json.error.hint, /--manifest/);
});

describe("self update from a site's https directory", { skip: binarySkip() }, () => {
  let next: Buffer;
  const nextCommit = "next-build";

  before(async () => {
    next = await fsp.readFile(await buildExecutable(path.join(tmp, "site"), nextCommit));
  });

  /** A home whose ~/.local/bin/tshup is dist/bin's executable, put there by its own self install. */
  async function installedHome() {
    const h = await selfHome();
    const r = await runCli(EXE, ["self", "install", "--json"], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    return { ...h, env: { ...h.env, NODE_EXTRA_CA_CERTS: standin.caFile } };
  }

  const binaryRequests = () => standin.requests.filter((r) => r.path === `/${NAME}`).length;

  test("a newer build replaces the running copy, which then runs as the new one; the next run has nothing to do", async (t) => {
    const h = await installedHome();
    t.after(h.cleanup);
    publish(next);
    const old = versionOf(h.exe);
    const copy: CliVariant = { name: "installed copy", command: [h.exe] };

    const dry = await runCli(copy, ["self", "update", "--manifest", manifest, "--dry-run", "--json"], { env: h.env });
    assert.equal(dry.code, 3, dry.stderr);
    assert.equal(versionOf(h.exe), old, "a dry run replaces nothing");
    assert.equal(binaryRequests(), 0, "nor downloads the build");

    const r = await runCli(copy, ["self", "update", "--manifest", manifest, "--json"], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.command, "self update");
    assert.equal(r.json.changed, true);
    assert.equal(r.json.self.path, h.exe);
    assert.equal(r.json.self.sha256, sha256(next));
    assert.equal(`tshup ${r.json.self.previous}`, old);
    assert.match(r.json.self.version, new RegExp(`\\(${nextCommit}\\)$`));
    assert.deepEqual(r.json.steps.filter((s: any) => s.status === "done").map((s: any) => s.step), ["download", "verify", "replace"]);
    assert.ok((await fsp.readFile(h.exe)).equals(next), "the copy now has the published bytes");
    assert.equal((await fsp.stat(h.exe)).mode & 0o777, 0o755);
    assert.match(versionOf(h.exe), new RegExp(`^tshup \\S+ \\(${nextCommit}\\)$`), "and runs as the new build");
    assert.deepEqual(await fsp.readdir(path.dirname(h.exe)), ["tshup"], "no partial, lock or copy is left beside it");

    const before = binaryRequests();
    const again = await runCli(copy, ["self", "update", "--manifest", manifest, "--json"], { env: h.env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json.changed, false);
    assert.equal(binaryRequests(), before, "an up-to-date copy is not downloaded again");
    const dryAgain = await runCli(copy, ["self", "update", "--manifest", manifest, "--dry-run", "--json"], { env: h.env });
    assert.equal(dryAgain.code, 0);
  });

  test("the script form updates the stable copy it does not run from, trusting the CA given with --ca-file", async (t) => {
    const h = await installedHome();
    t.after(h.cleanup);
    publish(next);
    const env = { ...h.env, NODE_EXTRA_CA_CERTS: "" };
    const r = await runCli(SCRIPT, ["self", "update", "--manifest", manifest, "--ca-file", standin.caFile, "--json"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.changed, true);
    assert.ok((await fsp.readFile(h.exe)).equals(next));
    const untrusted = await runCli(SCRIPT, ["self", "update", "--manifest", manifest, "--json"], { env });
    assert.equal(untrusted.code, 4, "without the CA the site is not trusted");
    assert.match(untrusted.json.error.message, /TLS verification failed/);
  });

  test("the same version in other bytes is nothing to do for the copy that runs, and it stays", async (t) => {
    const h = await installedHome();
    t.after(h.cleanup);
    // Bytes after the end of the ELF file change its hash, not what it runs.
    publish(Buffer.concat([await fsp.readFile(BINARY), Buffer.from("padding")]));
    const before = await fsp.readFile(h.exe);
    // Only the running copy's version is known (another is never run to learn it): update from it.
    const r = await runCli({ name: "installed copy", command: [h.exe] }, ["self", "update", "--manifest", manifest, "--json"], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.changed, false);
    assert.equal(r.json.steps.find((s: any) => s.step === "replace").status, "skipped");
    assert.ok((await fsp.readFile(h.exe)).equals(before));
    assert.deepEqual(await fsp.readdir(path.dirname(h.exe)), ["tshup"]);
  });

  test("while another run holds the lock beside the copy, an update waits, then gives up with exit 7 and the copy as it was", async (t) => {
    const h = await installedHome();
    t.after(h.cleanup);
    publish(next);
    const lock = path.join(path.dirname(h.exe), ".tshup.lock");
    // This test's own process: alive, on this host, so the lock is live.
    await fsp.writeFile(lock, JSON.stringify({ pid: process.pid, hostname: os.hostname(), since: new Date().toISOString() }));
    const before = await fsp.readFile(h.exe);
    const r = await runCli(EXE, ["self", "update", "--manifest", manifest, "--json"], { env: { ...h.env, TSHUP_LOCK_TIMEOUT: "1" } });
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.json.error.code, "system");
    assert.match(r.json.error.message, new RegExp(`another tshup \\(pid ${process.pid} on .*\\) holds ${lock}`));
    assert.ok((await fsp.readFile(h.exe)).equals(before));
    await fsp.rm(lock);
  });

  test("a build that does not match SHA256SUMS is exit 5 and leaves the copy byte for byte", async (t) => {
    const h = await installedHome();
    t.after(h.cleanup);
    publish(next, sha256(Buffer.from("something else")));
    const before = await snapshot(h.home);
    const r = await runCli(EXE, ["self", "update", "--manifest", manifest, "--json"], { env: h.env });
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.json.ok, false);
    assert.equal(r.json.error.code, "verification");
    assert.match(r.json.error.message, /^checksum mismatch for tshup-linux-x64: expected [0-9a-f]{64}, got [0-9a-f]{64}$/);
    assert.ok(r.json.error.hint);
    assert.deepEqual(await snapshot(h.home), before, "the copy and everything else are as they were; no partial is kept");
  });

  test("a build that matches SHA256SUMS but is not tshup's (no mark, a script that says tshup) is exit 5 and never runs", async (t) => {
    const h = await installedHome();
    t.after(h.cleanup);
    const ran = path.join(h.home, "RAN");
    publish(Buffer.from(`#!/bin/sh\ntouch ${ran}\necho 'tshup 9.9.9 (other)'\n`));
    const before = await snapshot(h.home);
    const r = await runCli(EXE, ["self", "update", "--manifest", manifest, "--json"], { env: h.env });
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.json.error.message, /matches SHA256SUMS but is not a tshup build/);
    assert.ok(!fs.existsSync(ran), "the download was not run");
    assert.deepEqual(await snapshot(h.home), before, "the copy is as it was; no partial is kept");
  });

  test("a build SHA256SUMS lists but the site lacks, no SHA256SUMS, or none for this platform is exit 4", async (t) => {
    const h = await installedHome();
    t.after(h.cleanup);
    const before = await snapshot(h.home);
    for (const [what, setup, message] of [
      ["the build is missing", () => publish(null, sha256(next)), /tshup-linux-x64 is not there \(HTTP 404\), though SHA256SUMS beside it lists it/],
      ["SHA256SUMS is missing", () => publish(next, sha256(next), false), /^no SHA256SUMS at https:\/\/127\.0\.0\.1:\d+\/SHA256SUMS \(HTTP 404\)$/],
      ["SHA256SUMS names no linux-x64 build", () => {
        publish(next);
        standin.setArtifact("SHA256SUMS", Buffer.from(`${sha256(next)}  tshup-linux-arm64\n`), null);
      }, /SHA256SUMS lists no tshup-linux-x64, the build for this machine$/],
    ] as const) {
      setup();
      const r = await runCli(EXE, ["self", "update", "--manifest", manifest, "--json"], { env: h.env });
      assert.equal(r.code, 4, `${what}: ${r.stderr}`);
      assert.equal(r.json.error.code, "network", what);
      assert.match(r.json.error.message, message, what);
      assert.ok(r.json.error.hint, what);
      assert.deepEqual(await snapshot(h.home), before, `${what}: nothing changed`);
    }
    assert.equal(fs.existsSync(h.exe), true);
  });
});

// These run the script form against a stable copy that is the bundled script (it carries the
// marker), so they need no second build and run in the quick loop too.
describe("self update failures leave nothing behind", { skip: process.platform === "win32" ? "POSIX shell builds" : false }, () => {
  async function copiedHome() {
    const h = await selfHome();
    await fsp.mkdir(path.dirname(h.exe), { recursive: true });
    await fsp.copyFile(ROOT_SCRIPT, h.exe);
    await fsp.chmod(h.exe, 0o755);
    return { ...h, env: { ...h.env, NODE_EXTRA_CA_CERTS: standin.caFile } };
  }

  test("a build whose --version never answers is stopped after twice --timeout, with what it started, and is exit 5", async (t) => {
    const h = await copiedHome();
    t.after(h.cleanup);
    const pids = path.join(tmp, "pids");
    // It carries the marker, so it is run; it starts a child of its own and waits on it for ever.
    publish(Buffer.from(`#!/bin/sh\n# ${SELF_MARKER}\nsleep 300 &\necho $$ $! > ${pids}\nwait\n`));
    const before = await snapshot(h.home);
    const started = Date.now();
    const r = await runCli(SCRIPT, ["self", "update", "--manifest", manifest, "--timeout", "1", "--json"], { env: h.env, timeoutMs: 60_000 });
    const elapsed = (Date.now() - started) / 1000;
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.json.error.code, "verification");
    const partial = path.join(path.dirname(h.exe), ".tshup.partial");
    assert.equal(r.json.error.message, `${partial} gave no answer to --version within 2 s; it was stopped, with every process it started`);
    assert.match(r.json.error.hint, /nothing was replaced; the build at https:\/\/127\.0\.0\.1:\d+\/tshup-linux-x64 is not a tshup for this machine/);
    assert.match(r.json.error.hint, /run again with a longer --timeout \(the check waits twice that; now 2 s\)/);
    assert.ok(elapsed < 20, `gave up in ${elapsed.toFixed(1)} s`);
    const [shell, sleeper] = fs.readFileSync(pids, "utf8").trim().split(" ").map(Number) as [number, number];
    assert.equal(running(shell), false, "the build is stopped");
    assert.equal(running(sleeper), false, "and the process it started");
    assert.deepEqual(await snapshot(h.home), before, "the copy is as it was; no partial is kept");
  });

  test("a redirect to plain http is refused (exit 4) and leaves no .tshup.partial beside the copy", async (t) => {
    const h = await copiedHome();
    t.after(h.cleanup);
    publish(Buffer.from(`#!/bin/sh\n# ${SELF_MARKER}\n`));
    standin.setFault(NAME, { kind: "redirect", to: `${standin.cdnHttpUrl}/${NAME}` });
    t.after(() => standin.clearFaults());
    const before = await snapshot(h.home);
    const r = await runCli(SCRIPT, ["self", "update", "--manifest", manifest, "--json"], { env: h.env });
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.json.error.code, "network");
    assert.match(r.json.error.message, /redirected to plain http \(http:\/\/127\.0\.0\.1:\d+\/tshup-linux-x64\); tshup does not follow that$/);
    assert.deepEqual(await fsp.readdir(path.dirname(h.exe)), ["tshup"]);
    assert.deepEqual(await snapshot(h.home), before);
  });
});
