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
import { cpioOdc, teleportArchive, teleportPkg, unsafeArchive, xar } from "./support/archives.js";
import { extractPkg } from "../src/io/pkg.js";
import { gzipSync } from "node:zlib";

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

test("macOS candidates in order: the per-arch tarball first, falling back on 404 to the universal one, then the packages", async () => {
  proxy.update({ serverVersion: "17.8.0" });
  try {
    // Only the per-arch tarball: taken first, no other request.
    await standin.addArtifact({ version: "17.8.0", os: "darwin", arch: "arm64", edition: "community" });
    standin.clearRequests();
    const perArch = await install("darwin", "arm64");
    assert.equal(perArch.code, 0, JSON.stringify(perArch.report.error));
    assert.deepEqual(perArch.report.artifacts.map((a: any) => a.name), ["teleport-v17.8.0-darwin-arm64-bin.tar.gz"]);
    assert.equal(fs.readlinkSync(path.join(perArch.root, "bin", "tsh")), "../versions/17.8.0/tsh.app/Contents/MacOS/tsh");
    await fsp.rm(perArch.home, { recursive: true, force: true });
    standin.removeArtifact("teleport-v17.8.0-darwin-arm64-bin.tar.gz");

    // No tarball at all: the teleport-tools package, read without an installer, tsh.app kept whole.
    const pkg = teleportPkg("17.8.0", ["tsh", "tctl"]);
    standin.setArtifact("teleport-tools-17.8.0.pkg", pkg);
    standin.clearRequests();
    const fromPkg = await install("darwin", "x64", ["--tools", "tsh,tctl", "--verbose"]);
    assert.equal(fromPkg.code, 0, JSON.stringify(fromPkg.report.error));
    const tried = standin.requests.filter((r) => r.server === "cdn").map((r) => r.path.slice(1));
    assert.deepEqual([...new Set(tried.filter((n) => !n.endsWith(".sha256")))], [
      "teleport-v17.8.0-darwin-amd64-bin.tar.gz",
      "teleport-v17.8.0-darwin-universal-bin.tar.gz",
      "teleport-tools-17.8.0.pkg",
    ]);
    const v = path.join(fromPkg.root, "versions", "17.8.0");
    for (const f of ["tsh.app/Contents/MacOS/tsh", "tsh.app/Contents/Info.plist", "tctl.app/Contents/MacOS/tctl"]) assert.ok(fs.existsSync(path.join(v, f)), f);
    assert.equal(fs.statSync(path.join(v, "tsh.app/Contents/MacOS/tsh")).mode & 0o777, 0o755);
    assert.match(execFileSync(path.join(fromPkg.root, "bin", "tsh"), ["version"], { encoding: "utf8" }), /^Teleport v17\.8\.0 /);
    assert.deepEqual(fromPkg.report.artifacts.map((a: any) => a.name), ["teleport-tools-17.8.0.pkg"]);
    await fsp.rm(fromPkg.home, { recursive: true, force: true });
    standin.removeArtifact("teleport-tools-17.8.0.pkg");

    // Nothing at all: one error naming every candidate tried.
    const none = await install("darwin", "arm64");
    assert.equal(none.code, 4);
    assert.match(none.report.error.message, /no artifact for tsh 17\.8\.0 .*tried teleport-v17\.8\.0-darwin-arm64-bin\.tar\.gz, teleport-v17\.8\.0-darwin-universal-bin\.tar\.gz, teleport-tools-17\.8\.0\.pkg, teleport-17\.8\.0\.pkg/);
    await fsp.rm(none.home, { recursive: true, force: true });
  } finally {
    proxy.update({ serverVersion: "17.5.1" });
  }
});

test("macOS before 17 from the all-in-one package: plain binaries under usr/local/bin", async () => {
  proxy.update({ serverVersion: "16.4.3" });
  try {
    standin.setArtifact("teleport-16.4.3.pkg", teleportPkg("16.4.3", ["tsh", "tctl"], "bin"));
    const r = await install("darwin", "arm64");
    assert.equal(r.code, 0, JSON.stringify(r.report.error));
    assert.equal(fs.readlinkSync(path.join(r.root, "bin", "tsh")), "../versions/16.4.3/tsh");
    assert.match(execFileSync(path.join(r.root, "bin", "tsh"), ["version"], { encoding: "utf8" }), /v16\.4\.3 /);
    await fsp.rm(r.home, { recursive: true, force: true });
  } finally {
    standin.removeArtifact("teleport-16.4.3.pkg");
    proxy.update({ serverVersion: "17.5.1" });
  }
});

test("hostile packages are refused (exit 5): a payload escaping with .., a link inside tsh.app, pbzx, a broken header", async (t) => {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-pkg-"));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  const payload = (entries: Parameters<typeof cpioOdc>[0]) => xar([{ path: "tsh.pkg/Payload", type: "file", data: gzipSync(cpioOdc(entries)) }]);
  const cases: [string, Buffer, RegExp][] = [
    ["dotdot", payload([{ path: "./tsh.app/../../../evil", type: "file", data: "x" }]), /unsafe: member .* is a "\.\." path/],
    ["link", payload([{ path: "./tsh.app/Contents/MacOS/tsh", type: "symlink", data: "/bin/sh" }]), /is a link, not a file/],
    ["twice", payload([{ path: "./tsh.app/Contents/MacOS/tsh", type: "file", data: "a" }, { path: "./tsh.app/Contents/MacOS/tsh", type: "file", data: "b" }]), /appears twice/],
    ["pbzx", xar([{ path: "tsh.pkg/Payload", type: "file", data: Buffer.from("pbzx\0\0\0\0") }]), /pbzx-compressed, which tshup does not read; on a Mac, pkgutil --expand-full/],
    ["not xar", Buffer.from("PK\u0003\u0004 not a package"), /not a valid macOS package: no xar header/],
    ["no payload", xar([{ path: "Distribution", type: "file", data: Buffer.from("x") }]), /holds no Payload/],
  ];
  for (const [name, data, message] of cases) {
    const file = path.join(dir, `${name}.pkg`);
    await fsp.writeFile(file, data);
    const staging = path.join(dir, `stage-${name}`);
    await fsp.mkdir(staging);
    await assert.rejects(extractPkg(file, staging, ["tsh"], `${name}.pkg`, 1024 ** 3), (e: any) => e.exitCode === 5 && message.test(e.message), name);
    assert.ok(!fs.existsSync(path.join(dir, "evil")), `${name}: nothing escaped`);
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
