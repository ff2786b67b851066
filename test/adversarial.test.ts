/**
 * tshup used as a hostile or careless user would: bad proxy answers, crafted archives, hostile
 * manifests, planted files, a full disk, odd flags. Every case asserts its exit code, exactly one
 * JSON document, that nothing outside tshup's own files changed (a decoy tree and the user's files,
 * byte for byte), that the previous tsh still works, that no lock or work area is left, and a time
 * bound; the CLI runs with a 256 MB heap, so a case that blows up memory fails too. Anything found
 * later goes in as another row.
 */
import { after, before, describe, test, type TestContext } from "node:test";
import tls from "node:tls";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { linux, startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { isRunScratch, makeHome, runCli, snapshot, ROOT, type CliVariant, type RunResult } from "./support/cli.js";
import { sha256Sidecar, standinScript, tar, tarGz, zip, type TarEntry } from "./support/archives.js";
import { randomBytes } from "node:crypto";
import { requireTool } from "./support/tools.js";
import { extractZip } from "../src/io/extract.js";
import { TshupError } from "../src/core/errors.js";

const CLI: CliVariant = { name: "tshup.cjs (256 MB heap)", command: [process.execPath, "--max-old-space-size=256", path.join(ROOT, "dist", "tshup.cjs")] };
const OLD = "17.5.1";
const artifact = (v: string) => `teleport-v${v}-linux-amd64-bin.tar.gz`;
const USER_SSH_CONFIG = "Host mine\n  User me\n";

interface World {
  home: string;
  root: string;
  env: Record<string, string>;
  decoy: string;
  cleanup: () => Promise<void>;
}

/** The tar members of a release whose tsh is a working stand-in for `version`. */
function releaseEntries(version: string): TarEntry[] {
  return [
    { path: "teleport/", type: "dir" },
    { path: "teleport/tsh", type: "file", data: standinScript("tsh", version), mode: 0o755 },
    { path: "teleport/VERSION", type: "file", data: `${version}\n` },
  ];
}

/** Sets a ustar header's size field (and its checksum) after the fact: a member that claims to be huge. */
function claimSize(archive: Buffer, headerOffset: number, size: number): Buffer {
  const out = Buffer.from(archive);
  out.write(size.toString(8).padStart(11, "0") + "\0", headerOffset + 124, 12, "ascii");
  out.fill(" ", headerOffset + 148, headerOffset + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += out[headerOffset + i]!;
  out.write(sum.toString(8).padStart(6, "0") + "\0 ", headerOffset + 148, 8, "ascii");
  return out;
}

describe("adversarial: nothing hostile runs, nothing of the user's is lost", { concurrency: 1 }, () => {
  let standin: Standin;
  let proxy: StandinProxy;

  before(async () => {
    standin = await startStandin();
    proxy = await standin.addProxy({ cluster: "example", serverVersion: OLD });
    await standin.addArtifact(linux(OLD));
  });
  after(async () => standin.close());

  /** A home with tsh 17.5.1 installed, ssh config seeded, and user files tshup must never touch. */
  async function world(): Promise<World> {
    proxy.update({ serverVersion: OLD });
    proxy.setPing(null);
    proxy.clearFaults();
    standin.clearFaults();
    const h = await makeHome("tshup-adv-");
    const root = path.join(h.home, ".local", "share", "tshup");
    const env = { ...h.env, ...standin.env };
    await fsp.mkdir(path.join(h.home, ".ssh"), { recursive: true, mode: 0o700 });
    await fsp.writeFile(path.join(h.home, ".ssh", "id_ed25519"), "PRIVATE KEY\n", { mode: 0o600 });
    await fsp.writeFile(path.join(h.home, ".ssh", "config"), USER_SSH_CONFIG, { mode: 0o600 });
    await fsp.writeFile(path.join(h.home, ".bashrc"), "# my bashrc\nalias ll='ls -l'\n");
    const decoy = path.join(h.home, "decoy");
    await fsp.mkdir(path.join(decoy, "deep"), { recursive: true });
    await fsp.writeFile(path.join(decoy, "precious.txt"), "keep me\n");
    await fsp.writeFile(path.join(decoy, "deep", "data.bin"), Buffer.from([0, 1, 2, 255]));
    const first = await runCli(CLI, ["--proxy", proxy.addr, "--user", "alice", "--yes", "--json"], { env });
    assert.equal(first.code, 0, first.stderr);
    return { ...h, root, env, decoy };
  }

  /** The cluster moves to 17.5.2 and the CDN has it, until the test ends. */
  async function offerUpgrade(t: { after: (fn: () => void) => void }) {
    proxy.update({ serverVersion: "17.5.2" });
    t.after(() => proxy.update({ serverVersion: OLD }));
    await standin.addArtifact(linux("17.5.2"));
    t.after(() => standin.removeArtifact(artifact("17.5.2")));
  }

  /** What a failed run must leave exactly as it was: the decoy, the user's files, the installed versions. */
  async function fingerprint(w: World) {
    const keep = await snapshot(w.home);
    return [...keep].filter(([p]) => !isRunScratch(p) && !p.startsWith(path.join(w.home, "victim")));
  }

  async function expectRefused(w: World, r: RunResult, code: number, message: RegExp, started: number, before: [string, string][], maxSeconds = 15) {
    const elapsed = (Date.now() - started) / 1000;
    assert.equal(r.code, code, `exit code (stderr: ${r.stderr.slice(0, 500)})`);
    assert.equal(r.stdout.trim().split(/\n(?=\{)/).length, 1, "exactly one JSON document on stdout");
    assert.equal(r.json.ok, false);
    assert.match(r.json.error.message, message);
    assert.ok(r.json.error.hint, "an error carries a hint");
    assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(r.stderr.replace(/\x1b\[[0-9;]*m/g, "")), "no control characters reach the terminal");
    assert.ok(r.stderr.length < 8192, `a bounded message (${r.stderr.length} bytes of stderr)`);
    assert.ok(elapsed < maxSeconds, `finished in ${elapsed.toFixed(1)} s`);
    assert.deepEqual(await fingerprint(w), before, "nothing outside tshup's work areas changed");
    assert.match(execFileSync(path.join(w.root, "bin", "tsh"), ["version"], { encoding: "utf8" }), new RegExp(`v${OLD.replace(/\./g, "\\.")} `), "the previous tsh still works");
    assert.ok(!fs.existsSync(path.join(w.root, ".lock")), "the lock is released");
    assert.ok(!fs.existsSync(path.join(w.root, ".staging")), ".staging is gone, not only emptied");
  }

  /** A home on a 3 MB tmpfs, tshup's root in it, and the environment for the stand-in. */
  async function smallDisk(t: TestContext, prefix: string) {
    if (process.getuid?.() !== 0) throw new Error("this test mounts a 3 MB tmpfs and needs root (CI runs as root)");
    const h = await makeHome(prefix);
    const small = path.join(h.home, "small");
    await fsp.mkdir(small);
    const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", small], { encoding: "utf8" });
    if (m.status !== 0) throw new Error(`mount -t tmpfs failed (${m.stderr.trim()}); the full-disk test needs it`);
    t.after(async () => {
      spawnSync("umount", ["-l", small]);
      await h.cleanup();
    });
    return { small, root: path.join(small, "tshup"), env: { ...h.env, ...standin.env } };
  }

  async function attempt(w: World, args: string[], extraEnv: Record<string, string> = {}) {
    return runCli(CLI, ["--json", ...args], { env: { ...w.env, ...extraEnv }, timeoutMs: 60_000 });
  }

  describe("proxy answers", { concurrency: 1 }, () => {
    const cases: [string, string, number, RegExp, string[]?][] = [
      [
        "a version near a billion with a managed version past it",
        JSON.stringify({ server_version: "999999999.0.0", min_client_version: "999999998.0.0-aa", auto_update: { tools_auto_update: true, tools_version: "1000000000.0.0" } }),
        6,
        /asks clients to run tsh 1000000000\.0\.0/,
      ],
      ["a version past 2^53", JSON.stringify({ server_version: "9007199254740993.0.0" }), 4, /server_version "9007199254740993\.0\.0" is not a version/],
      ["a cluster_name nested 150,000 deep", `{"server_version":"17.5.1","cluster_name":${"[".repeat(150_000)}${"]".repeat(150_000)}}`, 4, /not a (valid Teleport answer|Teleport proxy)/],
      ["a 1 MB cluster_name", JSON.stringify({ server_version: "17.5.1", cluster_name: "a".repeat(1_000_000) }), 4, /cluster_name "a+\.\.\. is not a cluster name/],
      ["terminal escapes in a value", JSON.stringify({ server_version: "17.5.1\u001b]0;pwned\u0007" }), 4, /server_version .* is not a version/],
      ["a public_addr of \":\" (a profile named \":\")", JSON.stringify({ server_version: "17.5.1", proxy: { ssh: { public_addr: ":" } } }), 4, /proxy\.ssh\.public_addr ":" is not host:port/],
      ["a public_addr that is an ssh option", JSON.stringify({ server_version: "17.5.1", proxy: { ssh: { public_addr: "-oProxyCommand:443" } } }), 4, /public_addr "-oProxyCommand:443" is not host:port/],
    ];
    for (const [name, body, code, message] of cases) {
      test(name, async (t) => {
        const w = await world();
        t.after(w.cleanup);
        proxy.setPing(body);
        t.after(() => proxy.setPing(null));
        const before = await fingerprint(w);
        const started = Date.now();
        const r = await attempt(w, ["--proxy", proxy.addr]);
        await expectRefused(w, r, code, message, started, before, 5);
      });
    }

    test("ESC and BEL in a 403 error body never reach the terminal", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      proxy.setPing(JSON.stringify({ error: { message: "denied \u001b[2J\u001b]0;owned\u0007 by policy" } }), 403);
      t.after(() => proxy.setPing(null));
      const before = await fingerprint(w);
      const started = Date.now();
      const r = await attempt(w, ["--proxy", proxy.addr]);
      await expectRefused(w, r, 4, /HTTP 403: denied \[2J\]0;owned by policy/, started, before);
    });

    test("a proxy that drips one byte a second is cut off by the overall deadline", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      proxy.setFault("/webapi/find", { kind: "slow", bytesPerSecond: 1 });
      t.after(() => proxy.clearFaults());
      const before = await fingerprint(w);
      const started = Date.now();
      const r = await attempt(w, ["--proxy", proxy.addr, "--timeout", "1"]);
      await expectRefused(w, r, 4, /no complete answer within 5 s/, started, before, 12);
    });
  });

  describe("archives", { concurrency: 1 }, () => {
    async function serving(t: { after: (fn: () => void) => void }, data: Buffer, sidecar?: string) {
      const name = artifact("17.5.2");
      standin.setArtifact(name, data, sidecar);
      t.after(() => standin.removeArtifact(name));
    }
    // tctl is still wanted when the second tsh comes, so the archive is still being read.
    const twoTsh = tarGz([...releaseEntries("17.5.2"), { path: "teleport/tsh", type: "file", data: "#!/bin/sh\necho evil\n", mode: 0o755 }, { path: "teleport/tctl", type: "file", data: standinScript("tctl", "17.5.2"), mode: 0o755 }]);
    const dirThenFile = tarGz([{ path: "teleport/", type: "dir" }, { path: "teleport/tsh/", type: "dir" }, { path: "teleport/tsh", type: "file", data: "x", mode: 0o755 }]);
    const hugeHeader = (() => {
      const plain = tar(releaseEntries("17.5.2"));
      // The tsh member's header is the second one (after the directory's).
      return gzipSync(claimSize(plain, 512, 1100 * 1024 * 1024).subarray(0, 4096));
    })();
    const cases: [string, Buffer, RegExp, string[]?][] = [
      ["teleport/tsh twice, with tctl still to come", twoTsh, /"teleport\/tsh" appears twice/, ["--tools", "tsh,tctl"]],
      ["a teleport/tsh/ directory, then a file", dirThenFile, /appears twice \(or a file and a directory share its name\)/],
      ["a member that claims 1.1 GiB", hugeHeader, /expands to more than 1 GiB/],
    ];
    for (const [name, data, message, args = []] of cases) {
      test(`${name}: exit 5, nothing staged is left`, async (t) => {
        const w = await world();
        t.after(w.cleanup);
        proxy.update({ serverVersion: "17.5.2" });
        t.after(() => proxy.update({ serverVersion: OLD }));
        await serving(t, data);
        const before = await fingerprint(w);
        const started = Date.now();
        const r = await attempt(w, ["--proxy", proxy.addr, ...args]);
        await expectRefused(w, r, 5, message, started, before);
      });
    }

    describe("after the last wanted member, the archive is only hashed", () => {
      // After tsh: 2 MiB that do not compress (so that what follows is well past the piece that
      // held tsh's end), a second tsh, a member that would land outside, and a broken gzip trailer.
      const clean = tarGz([
        ...releaseEntries("17.5.2"),
        { path: "teleport/tctl", type: "file", data: randomBytes(2 * 1024 * 1024), mode: 0o755 },
        { path: "teleport/tsh", type: "file", data: "#!/bin/sh\necho evil\n", mode: 0o755 },
        { path: "teleport/../../evil", type: "file", data: "evil\n", mode: 0o755 },
      ]);
      const brokenTail = Buffer.from(clean);
      brokenTail.fill(0xff, brokenTail.length - 4096);

      test("nothing after tsh is unpacked, judged or written; the first tsh is installed", async (t) => {
        const w = await world();
        t.after(w.cleanup);
        proxy.update({ serverVersion: "17.5.2" });
        t.after(() => proxy.update({ serverVersion: OLD }));
        await serving(t, brokenTail);
        const before = await fingerprint(w);
        const r = await runCli(CLI, ["--proxy", proxy.addr, "--json", "--verbose"], { env: w.env, timeoutMs: 60_000 });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stderr, /inflating teleport-v17\.5\.2-linux-amd64-bin\.tar\.gz stopped after teleport\/tsh, \d+ bytes in; the rest was only hashed/);
        assert.match(r.stderr, /sha256 of teleport-v17\.5\.2-linux-amd64-bin\.tar\.gz: .*: match/, "every byte, the broken tail too, was hashed");
        assert.match(execFileSync(path.join(w.root, "bin", "tsh"), ["version"], { encoding: "utf8" }), /v17\.5\.2 /, "the first tsh, not the second");
        const installed = fs.readdirSync(path.join(w.root, "versions", "17.5.2")).filter((n) => !n.startsWith("."));
        assert.deepEqual(installed, ["tsh"], "only tsh was written");
        for (const escaped of [path.join(w.root, "evil"), path.join(w.root, "versions", "evil"), path.join(w.home, "evil")]) {
          assert.ok(!fs.existsSync(escaped), `${escaped} was not written`);
        }
        const after = new Map(await fingerprint(w));
        for (const [p, fp] of before) {
          if (!p.startsWith(w.root)) assert.equal(after.get(p), fp, `${p} unchanged`);
        }
      });

      test("the bytes after tsh still count: a tail that differs from the vouched hash is exit 5", async (t) => {
        const w = await world();
        t.after(w.cleanup);
        proxy.update({ serverVersion: "17.5.2" });
        t.after(() => proxy.update({ serverVersion: OLD }));
        await serving(t, brokenTail, sha256Sidecar(artifact("17.5.2"), clean));
        const before = await fingerprint(w);
        const started = Date.now();
        const r = await attempt(w, ["--proxy", proxy.addr]);
        await expectRefused(w, r, 5, /checksum mismatch for teleport-v17\.5\.2/, started, before);
      });
    });

    test("a checksum mismatch leaves nothing of what was extracted (64 MiB from a small download)", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      proxy.update({ serverVersion: "17.5.2" });
      t.after(() => proxy.update({ serverVersion: OLD }));
      const bomb = tarGz([{ path: "teleport/", type: "dir" }, { path: "teleport/tsh", type: "file", data: Buffer.alloc(64 * 1024 * 1024), mode: 0o755 }], { level: 9 });
      assert.ok(bomb.length < 1024 * 1024);
      await serving(t, bomb, `${"0".repeat(64)}  ${artifact("17.5.2")}\n`);
      const before = await fingerprint(w);
      const started = Date.now();
      const r = await attempt(w, ["--proxy", proxy.addr]);
      await expectRefused(w, r, 5, /checksum mismatch/, started, before);
      assert.ok(!fs.existsSync(path.join(w.root, "downloads", `${artifact("17.5.2")}.partial`)), "a mismatched download is not kept");
    });

    test("a full disk during the download: exit 7 naming the path, partial and staging dropped", async (t) => {
      const { root, env } = await smallDisk(t, "tshup-adv-full-");
      const first = await runCli(CLI, ["--proxy", proxy.addr, "--prefix", root, "--no-config", "--no-modify-path", "--json"], { env });
      assert.equal(first.code, 0, first.stderr);
      proxy.update({ serverVersion: "17.5.2" });
      t.after(() => proxy.update({ serverVersion: OLD }));
      // Incompressible padding: the archive alone is larger than the whole file system.
      const padding = randomBytes(5 * 1024 * 1024);
      const big = tarGz([...releaseEntries("17.5.2"), { path: "teleport/tctl", type: "file", data: padding }], { level: 0 });
      standin.setArtifact(artifact("17.5.2"), big);
      t.after(() => standin.removeArtifact(artifact("17.5.2")));
      const started = Date.now();
      const r = await runCli(CLI, ["--proxy", proxy.addr, "--prefix", root, "--no-config", "--no-modify-path", "--json"], { env });
      assert.equal(r.code, 7, r.stderr);
      assert.equal(r.json.error.code, "system");
      assert.match(r.json.error.message, /no space left/i);
      assert.ok(r.json.error.message.includes(root), r.json.error.message);
      assert.match(r.json.error.hint, /free some disk space/);
      assert.ok(Date.now() - started < 15_000);
      assert.match(execFileSync(path.join(root, "bin", "tsh"), ["version"], { encoding: "utf8" }), /v17\.5\.1 /);
      assert.ok(!fs.existsSync(path.join(root, ".lock")));
      assert.ok(!fs.existsSync(path.join(root, "downloads")), "the partial download is dropped, and downloads/ with it");
      assert.ok(!fs.existsSync(path.join(root, ".staging")), ".staging is gone");
    });

    test("use on a full disk: exit 7, and the active tsh and the pin as they were", async (t) => {
      const { small, root, env } = await smallDisk(t, "tshup-adv-full-use-");
      const flags = ["--proxy", proxy.addr, "--prefix", root, "--no-config", "--no-modify-path", "--json"];
      assert.equal((await runCli(CLI, flags, { env })).code, 0);
      await standin.addArtifact(linux("17.5.2"));
      t.after(() => standin.removeArtifact(artifact("17.5.2")));
      proxy.update({ serverVersion: "17.5.2" });
      t.after(() => proxy.update({ serverVersion: OLD }));
      assert.equal((await runCli(CLI, flags, { env })).code, 0);
      const before = await snapshot(root);
      // One page left, which the lock takes: then there is room for the switch of bin/tsh (a short
      // link) but not for a new state.json.
      const filler = path.join(small, "filler");
      const fd = fs.openSync(filler, "w");
      let size = 0;
      try {
        const block = Buffer.alloc(4096);
        for (;;) size += fs.writeSync(fd, block);
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, "ENOSPC");
      } finally {
        fs.closeSync(fd);
      }
      fs.truncateSync(filler, size - 4096);
      const r = await runCli(CLI, ["use", OLD, "--prefix", root, "--json"], { env });
      assert.equal(r.code, 7, r.stderr);
      assert.match(r.json.error.message, /no space left/i);
      assert.match(execFileSync(path.join(root, "bin", "tsh"), ["version"], { encoding: "utf8" }), /v17\.5\.2 /, "the active tsh is the one before the failed use");
      assert.deepEqual(await snapshot(root), before, "state.json, the links and the versions are as they were");
      // And with no page at all, even the lock cannot be written: it must not stay behind, empty.
      fs.appendFileSync(filler, Buffer.alloc(4096));
      const full = await runCli(CLI, ["use", OLD, "--prefix", root, "--json"], { env });
      assert.equal(full.code, 7, full.stderr);
      assert.deepEqual(await snapshot(root), before, "no empty .lock is left in the way of later runs");
    });
  });

  describe("zips (the Windows artifact)", { concurrency: 1 }, () => {
    const cases: [string, () => Promise<Buffer>, RegExp][] = [
      ["tsh.exe twice", () => zip([{ path: "tsh.exe", data: "a" }, { path: "tsh.exe", data: "b" }]), /appears twice/],
      ["TSH.EXE and tsh.exe", () => zip([{ path: "TSH.EXE", data: "a" }, { path: "tsh.exe", data: "b" }]), /appears twice/],
      ["a tsh.exe/ directory", () => zip([{ path: "tsh.exe", type: "dir" }, { path: "tsh.exe/x", data: "b" }]), /is a directory where tsh\.exe should be a file/],
      ["a ../tsh.exe member", () => zip([{ path: "../tsh.exe", data: "evil" }]), /is unsafe: member "\.\.\/tsh\.exe" is a "\.\." path/],
      ["an absolute /tsh.exe member", () => zip([{ path: "/tsh.exe", data: "evil" }]), /is unsafe: member "\/tsh\.exe" is an absolute path/],
      ["a drive-letter C:tsh.exe member", () => zip([{ path: "C:tsh.exe", data: "evil" }]), /is unsafe: member "C:tsh\.exe" is a drive-letter path/],
    ];
    for (const [name, make, message] of cases) {
      test(`${name}: exit 5`, async (t) => {
        const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-zip-"));
        t.after(() => fsp.rm(dir, { recursive: true, force: true }));
        const file = path.join(dir, "a.zip");
        await fsp.writeFile(file, await make());
        const staging = path.join(dir, "staging");
        await fsp.mkdir(staging);
        await assert.rejects(extractZip(file, staging, ["tsh"], "teleport-v17.5.1-windows-amd64-bin.zip"), (e: unknown) => e instanceof TshupError && e.exitCode === 5 && message.test(e.message));
      });
    }
  });

  describe("manifests", { concurrency: 1 }, () => {
    const JUMP = (extra: string) => `clusters:\n  - proxy: PROXY\n    ssh:\n      style: proxyjump\n      hosts: ["node-*"]\n${extra}`;
    const cases: [string, string, RegExp][] = [
      ["KnownHostsCommand", JUMP("      options:\n        KnownHostsCommand: /bin/touch PWNED\n"), /KnownHostsCommand is not one of the options tshup writes/],
      ["LocalCommand", JUMP("      options:\n        PermitLocalCommand: true\n        LocalCommand: touch\n"), /PermitLocalCommand is not one of the options tshup writes/],
      ["Compression: maybe (ssh would refuse every host)", JUMP("      options:\n        Compression: maybe\n"), /Compression: must be one of yes, no/],
      ["ServerAliveInterval: 1e300", JUMP("      options:\n        ServerAliveInterval: 1e300\n"), /ServerAliveInterval: must be a whole number from 0/],
      ["LogLevel: LOUD", JUMP("      options:\n        LogLevel: LOUD\n"), /LogLevel: must be one of QUIET/],
      ["Port: 0", JUMP("      options:\n        Port: 0\n"), /Port: must be a whole number from 1 to 65535/],
      ["a login with $(...)", "login: x$(touch PWNED)\n" + JUMP(""), /login must be a user name/],
      ["a jump user with $(...)", JUMP('      jump: "a$(touch PWNED)@jump.example.org"\n'), /jump (must be|the user must be)/],
      ["a YAML alias bomb", `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`, /manifest .*(alias|Excessive)/i],
    ];
    for (const [name, text, message] of cases) {
      test(`${name}: exit 2 before anything is written`, async (t) => {
        const w = await world();
        t.after(w.cleanup);
        const file = path.join(w.decoy, "..", "site.yaml");
        await fsp.writeFile(file, text.replace("PROXY", proxy.addr).replace(/PWNED/g, path.join(w.home, "PWNED")));
        const before = await fingerprint(w);
        const started = Date.now();
        const r = await attempt(w, ["--manifest", file, "--user", "alice", "--login", "bob"]);
        await expectRefused(w, r, 2, message, started, before);
        assert.ok(!fs.existsSync(path.join(w.home, "PWNED")));
      });
    }

    test("a manifest over plain http is refused: exit 2 with the https form in the hint", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      const before = await fingerprint(w);
      const started = Date.now();
      const r = await attempt(w, ["--manifest", `${standin.cdnHttpUrl}/site.yaml`]);
      await expectRefused(w, r, 2, /refusing a manifest over plain http/, started, before);
      assert.match(r.json.error.hint, /https:\/\/127\.0\.0\.1/);
    });

    test("a plain-http mirror without a trusted hash is refused (exit 5); --allow-http-mirror is recorded", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      await offerUpgrade(t);
      const before = await fingerprint(w);
      const started = Date.now();
      const r = await attempt(w, ["--proxy", proxy.addr, "--cdn-url", standin.cdnHttpUrl]);
      await expectRefused(w, r, 5, /comes over plain http/, started, before);
      const opted = await attempt(w, ["--proxy", proxy.addr, "--cdn-url", standin.cdnHttpUrl, "--allow-http-mirror"]);
      assert.equal(opted.code, 0, opted.stderr);
      assert.equal(opted.json.insecure_http_mirror, true);
      assert.deepEqual(opted.json.artifacts[0].vouched_by, ["sidecar over plain http"]);
      assert.match(opted.stderr, /trusting .* over plain http/);
    });
  });

  describe("local state", { concurrency: 1 }, () => {
    test("planted .trash and .staging links never make tshup delete in their targets", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      const victim = path.join(w.home, "victim");
      await fsp.mkdir(victim);
      await fsp.writeFile(path.join(victim, "mine.txt"), "mine\n");
      await fsp.symlink(victim, path.join(w.root, ".trash"));
      await fsp.rm(path.join(w.root, ".staging"), { recursive: true, force: true });
      await fsp.symlink(victim, path.join(w.root, ".staging"));
      const r = await attempt(w, ["--proxy", proxy.addr, "--force"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(fs.readdirSync(victim), ["mine.txt"]);
      assert.equal(fs.readFileSync(path.join(victim, "mine.txt"), "utf8"), "mine\n");
      assert.ok(!fs.lstatSync(path.join(w.root, ".trash")).isSymbolicLink() || !fs.existsSync(path.join(w.root, ".trash")));
    });

    test("links planted in place of tshup's own files are replaced, never written through", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      const victims: string[] = [];
      for (const name of ["state.json", "env", "env.fish", ".tshup-root"]) {
        const victim = path.join(w.home, `victim-${name}`);
        await fsp.writeFile(victim, "mine\n");
        await fsp.rm(path.join(w.root, name), { force: true });
        await fsp.symlink(victim, path.join(w.root, name));
        victims.push(victim);
      }
      const r = await attempt(w, ["--proxy", proxy.addr, "--user", "alice", "--force"]);
      assert.equal(r.code, 0, r.stderr);
      for (const v of victims) assert.equal(fs.readFileSync(v, "utf8"), "mine\n", v);
      const tshupSsh = path.join(w.home, ".ssh", "tshup");
      const decoy = path.join(w.home, "ssh-decoy");
      await fsp.rm(tshupSsh, { recursive: true });
      await fsp.mkdir(decoy);
      await fsp.symlink(decoy, tshupSsh);
      const linked = await attempt(w, ["--proxy", proxy.addr, "--user", "alice", "--force"]);
      assert.equal(linked.code, 7, linked.stderr);
      assert.match(linked.json.error.message, /\.ssh\/tshup is a link/);
      assert.deepEqual(fs.readdirSync(decoy), []);
    });

    test("a stray file in versions/ is ignored", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      await fsp.writeFile(path.join(w.root, "versions", "notes.txt"), "hello\n");
      for (const args of [["--proxy", proxy.addr], ["status", "--proxy", proxy.addr], ["list"]]) {
        const r = await attempt(w, args);
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      }
    });

    const rcCases: [string, (w: World) => Promise<void>, RegExp][] = [
      ["~/.bashrc is a FIFO", async (w) => {
        await fsp.rm(path.join(w.home, ".bashrc"));
        execFileSync("mkfifo", [path.join(w.home, ".bashrc")]);
      }, /\.bashrc is a FIFO, not a regular file/],
      ["~/.bashrc links to /dev/zero", async (w) => {
        await fsp.rm(path.join(w.home, ".bashrc"));
        await fsp.symlink("/dev/zero", path.join(w.home, ".bashrc"));
      }, /\.bashrc is a device, not a regular file/],
      ["~/.ssh/config is a FIFO", async (w) => {
        await fsp.rm(path.join(w.home, ".ssh", "config"));
        execFileSync("mkfifo", [path.join(w.home, ".ssh", "config")]);
      }, /\.ssh\/config is a FIFO, not a regular file/],
      ["state.json is 600 MB", async (w) => {
        const fh = await fsp.open(path.join(w.root, "state.json"), "r+");
        await fh.truncate(600 * 1024 * 1024);
        await fh.close();
      }, /state\.json is 629145600 bytes, more than/],
    ];
    for (const [name, plant, message] of rcCases) {
      test(`${name}: exit 7 naming it, without hanging`, async (t) => {
        const w = await world();
        t.after(w.cleanup);
        await offerUpgrade(t);
        await plant(w);
        const before = await fingerprint(w);
        const started = Date.now();
        const r = await attempt(w, ["--proxy", proxy.addr, "--user", "alice"]);
        await expectRefused(w, r, 7, message, started, before);
      });
    }

    test("~/.ssh is not a directory: exit 7 before tsh is switched or an rc file edited", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      await offerUpgrade(t);
      await fsp.rm(path.join(w.home, ".ssh"), { recursive: true });
      await fsp.writeFile(path.join(w.home, ".ssh"), "not a directory\n");
      await fsp.rm(path.join(w.home, ".profile"), { force: true });
      const before = await fingerprint(w);
      const started = Date.now();
      const r = await attempt(w, ["--proxy", proxy.addr, "--user", "alice"]);
      await expectRefused(w, r, 7, /\.ssh is a file, not a directory/, started, before);
      assert.deepEqual(r.json.steps.filter((s: any) => s.status === "failed").map((s: any) => s.step), ["preflight"]);
      assert.deepEqual(r.json.steps.filter((s: any) => s.status === "done"), []);
    });

    const notDirCases: [string, (w: World) => Promise<Record<string, string>>, RegExp][] = [
      ["~/.ssh/tshup is a file", async (w) => {
        await fsp.rm(path.join(w.home, ".ssh", "tshup"), { recursive: true, force: true });
        await fsp.writeFile(path.join(w.home, ".ssh", "tshup"), "mine\n");
        return {};
      }, /\.ssh\/tshup is a file, not a directory/],
      ["TELEPORT_HOME is a file", async (w) => {
        await fsp.writeFile(path.join(w.home, "tsh-home-file"), "mine\n");
        return { TELEPORT_HOME: path.join(w.home, "tsh-home-file") };
      }, /tsh-home-file is a file, not a directory/],
    ];
    for (const [name, plant, message] of notDirCases) {
      test(`${name}: exit 7 at preflight, before tsh is switched`, async (t) => {
        const w = await world();
        t.after(w.cleanup);
        await offerUpgrade(t);
        const extraEnv = await plant(w);
        const before = await fingerprint(w);
        const started = Date.now();
        const r = await attempt(w, ["--proxy", proxy.addr, "--user", "alice"], extraEnv);
        await expectRefused(w, r, 7, message, started, before);
        assert.deepEqual(r.json.steps.filter((s: any) => s.status === "failed").map((s: any) => s.step), ["preflight"]);
      });
    }

    test("a step failing after the switch puts the previous tsh back (rollback), exit 7", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      await offerUpgrade(t);
      const legacy = await standin.addProxy({ cluster: "legacy", serverVersion: "15.4.2" });
      await standin.addArtifact(linux("15.4.2"));
      t.after(() => standin.removeArtifact(artifact("15.4.2")));
      // A directory of the user's where the legacy cluster's alias would go: linking it fails after
      // the new tsh was made active, which no check beforehand can promise against.
      const planted = path.join(w.root, "bin", "tsh-legacy");
      await fsp.mkdir(planted);
      await fsp.writeFile(path.join(planted, "mine.txt"), "mine\n");
      const decoyBefore = await snapshot(w.decoy);
      const r = await attempt(w, ["--proxy", proxy.addr, "--proxy", legacy.addr, "--per-cluster", "--user", "alice"]);
      assert.equal(r.code, 7, r.stderr);
      assert.equal(r.stdout.trim().split(/\n(?=\{)/).length, 1, "exactly one JSON document");
      assert.ok(r.json.error.hint, "the error carries a hint");
      assert.ok(r.json.steps.some((s: any) => s.step === "activate" && s.status === "done"), "the new tsh had been switched in");
      assert.ok(r.json.steps.some((s: any) => s.step === "rollback" && s.status === "done" && /17\.5\.1 is active again/.test(s.detail)), JSON.stringify(r.json.steps));
      assert.equal(r.json.version, OLD);
      assert.match(execFileSync(path.join(w.root, "bin", "tsh"), ["version"], { encoding: "utf8" }), /v17\.5\.1 /, "the previous tsh is active again");
      assert.equal(fs.readFileSync(path.join(planted, "mine.txt"), "utf8"), "mine\n");
      assert.deepEqual(await snapshot(w.decoy), decoyBefore);
      assert.ok(!fs.existsSync(path.join(w.root, ".lock")));
    });

    test("--ca-file /dev/zero is exit 2 naming it", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      const before = await fingerprint(w);
      const started = Date.now();
      const r = await attempt(w, ["--proxy", proxy.addr, "--ca-file", "/dev/zero"]);
      await expectRefused(w, r, 2, /--ca-file \/dev\/zero: .*device/, started, before);
    });

    test("--ca-file with a damaged certificate after a good one is exit 2 naming which", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      const damaged = path.join(w.home, "cas.pem");
      const good = fs.readFileSync(standin.caFile, "utf8");
      // The second block's base64 is the first's cut short: a PEM shape that is no certificate.
      const cut = good.replace(/(-----BEGIN CERTIFICATE-----\r?\n)([\s\S]+?)(\r?\n-----END CERTIFICATE-----)/, (_m, a, body: string, b) => `${a}${body.slice(0, 200)}${b}`);
      assert.notEqual(cut, good);
      fs.writeFileSync(damaged, `${good}\n${cut}\n`);
      const before = await fingerprint(w);
      const started = Date.now();
      const r = await attempt(w, ["--proxy", proxy.addr, "--ca-file", damaged]);
      await expectRefused(w, r, 2, /--ca-file \S+cas\.pem: certificate 2 of 2 is not a valid certificate \(/, started, before);
    });

    test("--ca-file beside an unreadable NODE_EXTRA_CA_CERTS: exit 2 naming it where tshup reads that file itself", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      const before = await fingerprint(w);
      const started = Date.now();
      const r = await attempt(w, ["--proxy", proxy.addr, "--ca-file", standin.caFile], { NODE_EXTRA_CA_CERTS: "/dev/zero" });
      if (typeof (tls as { getCACertificates?: unknown }).getCACertificates === "function") {
        // Node 22 reads NODE_EXTRA_CA_CERTS itself, warns and goes on; --ca-file still trusts the proxy.
        assert.equal(r.code, 0, r.stderr);
      } else {
        // Node 20's store copies leave NODE_EXTRA_CA_CERTS out, so tshup reads it, before any request.
        await expectRefused(w, r, 2, /NODE_EXTRA_CA_CERTS \/dev\/zero: .*device/, started, before);
      }
    });

    test("a directory in place of the lock: exit 7 naming it, the directory kept", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      await offerUpgrade(t);
      await fsp.mkdir(path.join(w.root, ".lock"));
      await fsp.writeFile(path.join(w.root, ".lock", "mine.txt"), "mine\n");
      const started = Date.now();
      const r = await attempt(w, ["--proxy", proxy.addr]);
      assert.equal(r.code, 7, r.stderr);
      assert.equal(r.stdout.trim().split(/\n(?=\{)/).length, 1);
      assert.match(r.json.error.message, /\.lock is a directory, not tshup's lock file/);
      assert.match(r.json.error.hint, /move .*\.lock aside/);
      assert.ok(Date.now() - started < 15_000);
      assert.equal(fs.readFileSync(path.join(w.root, ".lock", "mine.txt"), "utf8"), "mine\n");
      assert.deepEqual(fs.readdirSync(w.root).filter((n) => n.startsWith(".lock")), [".lock"], "nothing moved aside");
      assert.match(execFileSync(path.join(w.root, "bin", "tsh"), ["version"], { encoding: "utf8" }), /v17\.5\.1 /);
    });

    test("a planted version record cannot point bin/tsh outside its version directory", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      const evil = path.join(w.home, "evil.sh");
      await fsp.writeFile(evil, "#!/bin/sh\necho EVIL\n", { mode: 0o755 });
      const planted = path.join(w.root, "versions", "17.9.9");
      await fsp.mkdir(planted);
      await fsp.writeFile(path.join(planted, ".tshup-complete"), JSON.stringify({ id: "17.9.9", version: "17.9.9", edition: "community", fips: false, tools: { tsh: "../../../../evil.sh" }, artifact: "x", sha256: "0", installedAt: "" }));
      const list = await attempt(w, ["list"]);
      assert.equal(list.code, 0, list.stderr);
      assert.ok(!JSON.stringify(list.json).includes("17.9.9"), "list does not offer it");
      const use = await attempt(w, ["use", "17.9.9"]);
      assert.equal(use.code, 2, use.stderr);
      assert.match(use.json.error.message, /17\.9\.9 is not installed/);
      assert.match(execFileSync(path.join(w.root, "bin", "tsh"), ["version"], { encoding: "utf8" }), /v17\.5\.1 /);
    });

    test("a lock held by a live process that is not the run that took it is taken over", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      const other = spawn("sleep", ["60"]);
      t.after(() => other.kill());
      // The pid is alive, but its start time is not the one recorded: a pid reused after a reboot.
      await fsp.writeFile(path.join(w.root, ".lock"), JSON.stringify({ pid: other.pid, hostname: os.hostname(), since: "2026-01-01T00:00:00.000Z", identity: "another-boot:12345" }));
      const started = Date.now();
      const r = await attempt(w, ["--proxy", proxy.addr, "--force"], { TSHUP_LOCK_TIMEOUT: "30" });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(Date.now() - started < 10_000, "no wait for the whole lock timeout");
      assert.ok(!fs.existsSync(path.join(w.root, ".lock")));
    });

    test("SIGTERM during a --json run prints one document (exit 143) and leaves no lock or staging", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      await offerUpgrade(t);
      standin.setFault(artifact("17.5.2"), { kind: "slow", bytesPerSecond: 500 });
      t.after(() => standin.clearFaults());
      const before = await fingerprint(w);
      const started = Date.now();
      const r = await runCli(CLI, ["--json", "--proxy", proxy.addr], {
        env: w.env,
        onSpawn: (child) => {
          const poll = setInterval(() => {
            if (fs.existsSync(path.join(w.root, ".staging")) && fs.readdirSync(path.join(w.root, ".staging")).length > 0) {
              clearInterval(poll);
              child.kill("SIGTERM");
            }
          }, 50);
          child.on("exit", () => clearInterval(poll));
        },
      });
      assert.equal(r.code, 143, r.stderr);
      assert.equal(r.json.error.code, "system");
      assert.match(r.json.error.message, /interrupted by SIGTERM/);
      await expectRefused(w, { ...r, code: 143 }, 143, /interrupted/, started, before);
    });
  });

  describe("flags", { concurrency: 1 }, () => {
    const cases: [string, string[], RegExp][] = [
      ["--prefix ''", ["--prefix", ""], /--prefix needs a directory/],
      ["--prefix /", ["--prefix", "/"], /is the root of a file system/],
      ["--prefix /proc/x", ["--prefix", "/proc/x"], /kernel file system/],
      ["--prefix HOME", ["--prefix", "HOME"], /is your home directory/],
      ["--prefix ~/.local", ["--prefix", "HOME/.local"], /a directory other programs share/],
      ["--prefix a non-empty directory of the user's", ["--prefix", "HOME/decoy"], /is not empty and was not made by tshup/],
      ["--version past 2^64", ["--version", "99999999999999999999.0.0"], /is not a version like 17\.5\.1/],
      ["--user with a space", ["--user", "a b"], /--user "a b" must be letters/],
      ["--login with $(...)", ["--login", "x$(id)"], /--login "x\$\(id\)" must be a user name/],
    ];
    for (const [name, args, message] of cases) {
      test(`${name}: exit 2`, async (t) => {
        const w = await world();
        t.after(w.cleanup);
        const before = await fingerprint(w);
        const started = Date.now();
        const r = await attempt(w, ["--proxy", proxy.addr, ...args.map((a) => a.replace(/^HOME/, w.home))]);
        await expectRefused(w, r, 2, message, started, before);
      });
    }
  });

  describe("uninstall", { concurrency: 1 }, () => {
    test("a root without tshup's marker is refused and nothing is touched (TSHUP_HOME=$HOME, --prefix ~/.local, --prefix .)", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      await fsp.mkdir(path.join(w.home, ".local", "bin"), { recursive: true });
      await fsp.writeFile(path.join(w.home, ".local", "bin", "mytool"), "#!/bin/sh\n");
      // Files that look like an earlier release's state do not make a home tshup's.
      await fsp.writeFile(path.join(w.home, "state.json"), JSON.stringify({ schema: 1, createdFiles: [] }));
      await fsp.writeFile(path.join(w.home, "env"), "MY_OWN=1\n");
      const before = await snapshot(w.home);
      for (const [args, env] of [
        [["uninstall", "--yes"], { TSHUP_HOME: w.home }],
        [["uninstall", "--yes", "--prefix", path.join(w.home, ".local")], {}],
        [["uninstall", "--yes", "--prefix", "."], {}],
      ] as const) {
        const r = await runCli(CLI, ["--json", ...args], { env: { ...w.env, ...env }, cwd: w.decoy });
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
        // The home and ~/.local are refused for what they are, the user's other directory for its missing marker.
        assert.match(r.json.error.message, (args as readonly string[]).includes(".") ? /was not made by tshup \(it has no \.tshup-root\)/ : /(is your home directory|is a directory other programs share).*, so it cannot be tshup's root and uninstall touches nothing$/);
      }
      assert.deepEqual(await snapshot(w.home), before, "every file is still there, byte for byte");
    });

    test("names that look like tshup's, or a planted marker in a home, never make a directory tshup's", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      const stuff = path.join(w.home, "stuff");
      await fsp.mkdir(path.join(stuff, "downloads"), { recursive: true });
      await fsp.writeFile(path.join(stuff, "downloads", "thesis.pdf"), "mine\n");
      await fsp.writeFile(path.join(stuff, "env"), "MINE=1\n");
      await fsp.writeFile(path.join(w.home, ".tshup-root"), "{}\n");
      const before = await snapshot(w.home);
      for (const [args, env] of [
        [["uninstall", "--yes", "--prefix", stuff], {}],
        [["--proxy", proxy.addr, "--prefix", stuff], {}],
        [["uninstall", "--yes"], { TSHUP_HOME: w.home }],
        [["--proxy", proxy.addr, "--prefix", w.home], {}],
      ] as const) {
        const r = await runCli(CLI, ["--json", ...args], { env: { ...w.env, ...env } });
        assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      }
      assert.deepEqual(await snapshot(w.home), before, "every file is still there, byte for byte");
    });

    test("a home reached through a link, or a root linking to the home, is still a home", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      const realHome = path.join(w.home, "realhome");
      await fsp.mkdir(realHome);
      await fsp.writeFile(path.join(realHome, "env"), "MINE=1\n");
      await fsp.writeFile(path.join(realHome, ".tshup-root"), "{}\n");
      const linkHome = path.join(w.home, "linkhome");
      await fsp.symlink(realHome, linkHome);
      // A default root that is a link to the home, with a marker planted in the home.
      await fsp.mkdir(path.join(realHome, ".local", "share"), { recursive: true });
      await fsp.symlink(realHome, path.join(realHome, ".local", "share", "tshup"));
      const before = await snapshot(realHome);
      for (const [args, env] of [
        [["--proxy", proxy.addr, "--yes"], { HOME: linkHome, TSHUP_HOME: realHome }],
        [["--proxy", proxy.addr, "--yes"], { HOME: realHome }],
        [["uninstall", "--yes"], { HOME: linkHome, TSHUP_HOME: realHome }],
      ] as const) {
        const r = await runCli(CLI, ["--json", ...args], { env: { ...w.env, ...env } });
        assert.equal(r.code, 2, `${args.join(" ")} with ${JSON.stringify(env)}: ${r.stderr}`);
        assert.match(r.json.error.message, /through a link/);
      }
      assert.deepEqual(await snapshot(realHome), before, "the real home keeps every byte");
    });

    test("a directory holding only another program's .lock is not tshup's", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      const svc = path.join(w.home, "svc");
      await fsp.mkdir(svc);
      await fsp.writeFile(path.join(svc, ".lock"), "held by my service\n");
      const before = await snapshot(svc);
      const r = await runCli(CLI, ["--json", "--proxy", proxy.addr, "--prefix", svc], { env: w.env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.json.error.message, /is not empty and was not made by tshup/);
      assert.deepEqual(await snapshot(svc), before);
    });

    test("uninstall removes what tshup made, keeps the user's files inside and beside the root", async (t) => {
      const w = await world();
      t.after(w.cleanup);
      await fsp.writeFile(path.join(w.root, "notes.txt"), "mine\n");
      await fsp.writeFile(path.join(w.root, "bin", "mytool"), "#!/bin/sh\necho mine\n", { mode: 0o755 });
      await fsp.mkdir(path.join(w.root, "versions", "my-build"));
      await fsp.writeFile(path.join(w.root, "versions", "my-build", "tsh"), "mine\n");
      const userFiles = [path.join(w.root, "notes.txt"), path.join(w.root, "bin", "mytool"), path.join(w.root, "versions", "my-build", "tsh")];
      const bytes = userFiles.map((f) => fs.readFileSync(f));
      assert.ok(fs.existsSync(path.join(w.home, ".ssh", "config.tshup-backup")), "tshup backed up the user's ssh config");
      const outside = (await snapshot(w.decoy));
      const dry = await runCli(CLI, ["uninstall", "--dry-run", "--json"], { env: w.env });
      assert.equal(dry.code, 3);
      assert.ok(dry.json.steps.some((s: any) => s.detail.startsWith("keep") && s.detail.includes("notes.txt")));
      const r = await runCli(CLI, ["uninstall", "--yes", "--json"], { env: w.env });
      assert.equal(r.code, 0, r.stderr);
      userFiles.forEach((f, i) => assert.deepEqual(fs.readFileSync(f), bytes[i], `${f} keeps every byte`));
      assert.match(r.stderr, /kept .*notes\.txt: tshup did not make it/);
      assert.ok(!fs.existsSync(path.join(w.root, "bin", "tsh")));
      assert.ok(!fs.existsSync(path.join(w.root, "versions", OLD)));
      assert.ok(fs.existsSync(path.join(w.root, ".tshup-root")), "a root that keeps the user's files keeps its marker, so the next run still knows it");
      assert.ok(!fs.existsSync(path.join(w.root, "state.json")));
      assert.deepEqual(fs.readdirSync(path.join(w.home, ".ssh")).sort(), ["config", "id_ed25519"], "tshup's ssh files and backup are gone, the key stays");
      assert.equal(fs.readFileSync(path.join(w.home, ".ssh", "config"), "utf8"), USER_SSH_CONFIG, "the user's ssh config has its own bytes back");
      assert.equal(fs.readFileSync(path.join(w.home, ".bashrc"), "utf8"), "# my bashrc\nalias ll='ls -l'\n");
      assert.deepEqual(await snapshot(w.decoy), outside);

      // Run again: nothing of tshup's is left, which is no error, and the user's files stay.
      const again = await runCli(CLI, ["uninstall", "--yes"], { env: w.env });
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^Nothing to remove: nothing of tshup's is left in \S+; it keeps .*notes\.txt.*, which tshup did not make$/m);
      userFiles.forEach((f, i) => assert.deepEqual(fs.readFileSync(f), bytes[i], `${f} keeps every byte`));
      const dryAgain = await runCli(CLI, ["uninstall", "--dry-run", "--json"], { env: w.env });
      assert.equal(dryAgain.code, 0, dryAgain.stderr);
    });
  });

  describe("hostile ssh values never reach a file ssh reads (real OpenSSH)", { concurrency: 1 }, () => {
    test("a refused login leaves ~/.ssh/config as it was; ssh -G and a connection attempt run nothing", async (t) => {
      const ssh = requireTool("ssh", "openssh-client");
      const w = await world();
      t.after(w.cleanup);
      const pwned = path.join(w.home, "PWNED");
      const hostile = `x$(touch ${pwned})`;
      const before = await snapshot(path.join(w.home, ".ssh"));
      const viaFlag = await attempt(w, ["--proxy", proxy.addr, "--user", "alice", "--login", hostile, "--force"]);
      assert.equal(viaFlag.code, 2);
      const site = path.join(w.home, "site.yaml");
      await fsp.writeFile(site, `clusters:\n  - proxy: ${proxy.addr}\n    ssh:\n      style: proxyjump\n      hosts: ["node-*"]\n      jump: "j$(touch ${pwned})@127.0.0.1:1"\n      options:\n        KnownHostsCommand: /usr/bin/touch ${pwned}\n`);
      const viaManifest = await attempt(w, ["--manifest", site, "--user", "alice", "--force"]);
      assert.equal(viaManifest.code, 2);
      assert.deepEqual(await snapshot(path.join(w.home, ".ssh")), before, "no ssh file changed");
      const config = path.join(w.home, ".ssh", "config");
      const g = execFileSync(ssh, ["-F", config, "-G", "node-1.example"], { encoding: "utf8", env: { HOME: w.home, PATH: "/usr/bin:/bin" } });
      assert.ok(!g.includes("$("), "no command substitution in any option ssh resolves");
      const set = g.split("\n").filter((l) => /^(knownhostscommand|localcommand|permitlocalcommand|user) /.test(l));
      assert.ok(set.every((l) => / (none|no)$/.test(l) || /^user [A-Za-z0-9._@-]+$/.test(l)), `no command-running option is set: ${set.join("; ")}`);
      // A real connection through the seeded config (the proxy answers no ssh; what matters is what ran).
      spawnSync(ssh, ["-F", config, "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", "node-1.example", "true"], { env: { HOME: w.home, PATH: "/usr/bin:/bin" }, timeout: 15_000 });
      spawnSync(ssh, ["-F", config, "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", `whatever.example`, "true"], { env: { HOME: w.home, PATH: "/usr/bin:/bin" }, timeout: 15_000 });
      assert.ok(!fs.existsSync(pwned), "nothing ran the hostile command");
    });
  });
});

test("a root another run is writing into at this moment is judged by what is there, never an internal error", async (t) => {
  const { rootKind } = await import("../src/io/root.js");
  const { layoutFor } = await import("../src/core/layout.js");
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tshup-root-race-"));
  // Another process does what install and uninstall do, in their order, as fast as it can: the
  // marker written as a temp sibling renamed into place, then the lock taken and released, then the
  // marker removed.
  const writer = spawn(
    process.execPath,
    [
      "-e",
      `const fs = require("fs"), path = require("path"), root = process.argv[1];
       for (let i = 0; ; i++) {
         const tmp = path.join(root, "..tshup-root.tmp-" + (i % 65536).toString(16).padStart(16, "0"));
         fs.writeFileSync(tmp, "");
         fs.renameSync(tmp, path.join(root, ".tshup-root"));
         fs.writeFileSync(path.join(root, ".lock"), JSON.stringify({ pid: process.pid, hostname: "h", since: "now" }));
         fs.rmSync(path.join(root, ".lock"));
         fs.rmSync(path.join(root, ".tshup-root"));
       }`,
      root,
    ],
    { stdio: "ignore" },
  );
  // The writer must be gone before its directory goes, or it refills it under rmSync (ENOTEMPTY).
  t.after(async () => {
    if (writer.exitCode === null && writer.signalCode === null) {
      const exited = new Promise((resolve) => writer.once("exit", resolve));
      writer.kill("SIGKILL");
      await exited;
    }
    fs.rmSync(root, { recursive: true, force: true });
  });
  const layout = layoutFor(root, path);
  const seen = new Set<string>();
  const until = Date.now() + 3000;
  while (Date.now() < until) seen.add(await rootKind(layout));
  for (const kind of seen) assert.ok(["empty", "owned", "legacy"].includes(kind), `judged ${kind} while another run wrote into it`);
  assert.ok(seen.size > 1, `the writer ran alongside: ${[...seen].join(", ")}`);
});
