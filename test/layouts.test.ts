import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { main } from "../src/cli.js";
import type { Host, PlatformName } from "../src/host.js";
import { extractZip } from "../src/io/extract.js";
import { testHost } from "./support/host.js";
import { startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { teleportArchive, unsafeArchive } from "./support/archives.js";

/** The host a Mac or another Linux machine would hand tshup, with this machine's file system. */
function fakeHost(platform: PlatformName, arch: string, home: string): Host & { out: () => string } {
  const stdout = new PassThrough();
  let text = "";
  stdout.on("data", (d) => (text += d));
  const host = testHost(home, { platform, arch, env: { PATH: "/usr/bin:/bin", SHELL: "/bin/zsh" }, stdout, stderr: new PassThrough() });
  return { ...host, out: () => text };
}

let standin: Standin;
let proxy: StandinProxy;
before(async () => {
  standin = await startStandin();
  proxy = await standin.addProxy({ cluster: "example", serverVersion: "17.5.1" });
});
after(async () => standin.close());

async function install(platform: PlatformName, arch: string, extra: string[] = []) {
  const home = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-layout-"));
  const host = fakeHost(platform, arch, home);
  const code = await main(["--proxy", proxy.addr, "--ca-file", standin.caFile, "--cdn-url", standin.cdnUrl, "--json", "--no-modify-path", ...extra], host);
  const report = JSON.parse(host.out());
  return { home, root: path.join(home, ".local", "share", "tshup"), code, report };
}

test("macOS 17+: the whole tsh.app bundle is kept and bin/tsh runs the binary inside it", async () => {
  await standin.addArtifact({ version: "17.5.1", os: "darwin", arch: "universal", edition: "community" });
  const r = await install("darwin", "arm64", ["--tools", "tsh,tctl"]);
  assert.equal(r.code, 0, JSON.stringify(r.report.error));
  const v = path.join(r.root, "versions", "17.5.1");
  for (const f of ["tsh.app/Contents/MacOS/tsh", "tsh.app/Contents/Info.plist", "tctl.app/Contents/MacOS/tctl"]) {
    assert.ok(fs.existsSync(path.join(v, f)), f);
  }
  assert.equal(fs.readlinkSync(path.join(r.root, "bin", "tsh")), "../versions/17.5.1/tsh.app/Contents/MacOS/tsh");
  assert.match(execFileSync(path.join(r.root, "bin", "tsh"), ["version"], { encoding: "utf8" }), /^Teleport v17\.5\.1 /);
  assert.match(execFileSync(path.join(r.root, "bin", "tctl"), ["version"], { encoding: "utf8" }), /v17\.5\.1/);
  await fsp.rm(r.home, { recursive: true, force: true });
});

test("macOS before 17: the plain teleport/tsh layout", async () => {
  proxy.update({ serverVersion: "16.4.3" });
  try {
    await standin.addArtifact({ version: "16.4.3", os: "darwin", arch: "universal", edition: "community" });
    const r = await install("darwin", "x64");
    assert.equal(r.code, 0, JSON.stringify(r.report.error));
    assert.equal(fs.readlinkSync(path.join(r.root, "bin", "tsh")), "../versions/16.4.3/tsh");
    assert.match(execFileSync(path.join(r.root, "bin", "tsh"), ["version"], { encoding: "utf8" }), /v16\.4\.3 /);
    await fsp.rm(r.home, { recursive: true, force: true });
  } finally {
    proxy.update({ serverVersion: "17.5.1" });
  }
});

test("enterprise and FIPS clusters get the teleport-ent layout, side by side by id", async () => {
  proxy.update({ serverVersion: "17.5.1", edition: "ent", fips: true });
  try {
    await standin.addArtifact({ version: "17.5.1", os: "linux", arch: "arm64", edition: "ent", fips: true });
    const r = await install("linux", "arm64");
    assert.equal(r.code, 0, JSON.stringify(r.report.error));
    assert.ok(fs.existsSync(path.join(r.root, "versions", "17.5.1-ent-fips", "tsh")));
    assert.match(r.report.steps.find((s: any) => s.step === "download").detail, /teleport-ent-v17\.5\.1-linux-arm64-fips-bin\.tar\.gz/);
    await fsp.rm(r.home, { recursive: true, force: true });
  } finally {
    proxy.update({ edition: "community", fips: false });
  }
});

test("Windows zips: flat and pre-14 layouts, only tsh.exe taken; unsafe names refused", async (t) => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-zip-"));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  for (const version of ["17.5.1", "13.4.5"]) {
    const art = await teleportArchive({ version, os: "windows", arch: "amd64", edition: "community" });
    const file = path.join(dir, art.name);
    await fsp.writeFile(file, art.data);
    const staging = path.join(dir, `stage-${version}`);
    await fsp.mkdir(staging);
    const got = await extractZip(file, staging, ["tsh"], art.name);
    assert.deepEqual(got.tools, { tsh: "tsh.exe" });
    assert.deepEqual(fs.readdirSync(staging), ["tsh.exe"]);
  }
  const bad = await unsafeArchive("zip-dotdot", { version: "17.5.1", os: "windows", arch: "amd64", edition: "community" });
  const badFile = path.join(dir, "bad.zip");
  await fsp.writeFile(badFile, bad.data);
  const staging = path.join(dir, "stage-bad");
  await fsp.mkdir(staging);
  await assert.rejects(extractZip(badFile, staging, ["tsh"], bad.name), (e: any) => e.exitCode === 5 && /unsafe/.test(e.message));
});
