// tshup's Windows executable under wine, against the stand-in proxy and CDN, with a Windows zip
// whose tsh.exe is a real Windows program: the user Path in the registry kept byte for byte, cmd
// finding tsh through it, an upgrade while the old tsh.exe runs, a failed run that leaves
// everything as it was, and uninstall giving the Path back. One wine prefix for the whole file.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { artifactName } from "./support/archives.js";
import { compileStandinTsh, createWinePrefix, readUserEnv, tshupWindowsCommand, zPath, type WinePrefix, type WineResult } from "./support/wine.js";
import { parseRegQuery } from "./support/blocks.js";

const win = (version: string, windowsTsh: Buffer) => ({ version, os: "windows" as const, arch: "amd64" as const, edition: "community" as const, windowsTsh });

/** A user Path of at least `min` characters, with the entries that are easy to damage. */
function seededPath(min: number): string {
  const tricky = [
    "%USERPROFILE%\\AppData\\Local\\Microsoft\\WindowsApps",
    "%USERPROFILE%\\.dotnet\\tools",
    "C:\\Program Files\\Tool With Spaces\\bin\\",
    '"C:\\Quoted;Semicolon\\bin"',
    "",
    "C:\\Users\\Jürgen Łukasz\\bin",
    "C:\\R&D\\100%\\^caret",
    "%SystemRoot%\\System32\\OpenSSH",
  ];
  const entries = [...tricky];
  for (let i = 0; entries.join(";").length < min; i++) entries.push(`%USERPROFILE%\\AppData\\Local\\Programs\\Vendor ${i}\\Product ${i}\\bin`);
  // Ends with a backslash after a space-holding entry: the case where quoting goes wrong.
  entries.push("C:\\Last Entry\\");
  return entries.join(";");
}

const cli = tshupWindowsCommand();

describe(`Windows under wine (${cli.name})`, { timeout: 600_000 }, () => {
  let w: WinePrefix;
  let standin: Standin;
  let proxy: StandinProxy;
  let work: string;
  let seed: string;
  const started = Date.now();

  before(async () => {
    work = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-windows-"));
    const [prefix, s, tsh1, tsh2] = await Promise.all([
      createWinePrefix(),
      startStandin({ dir: path.join(work, "standin") }),
      compileStandinTsh("17.5.1", work),
      compileStandinTsh("17.5.2", work),
    ]);
    w = prefix;
    standin = s;
    proxy = await standin.addProxy({ cluster: "example", serverVersion: "17.5.1" });
    await standin.addArtifact(win("17.5.1", tsh1));
    await standin.addArtifact(win("17.5.2", tsh2));
    await standin.addArtifact(win("17.5.3", tsh2));
    standin.setFault(`/${artifactName(win("17.5.3", tsh2))}.sha256`, { kind: "wrong-hash" });
    process.stderr.write(`# wine prefix, stand-in tsh and CDN ready in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });
  after(async () => {
    await standin?.close();
    await w?.close();
    await fsp.rm(work, { recursive: true, force: true });
    process.stderr.write(`# Windows suite took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });

  const tshup = async (args: string[]): Promise<WineResult & { json: any }> => {
    const t0 = Date.now();
    const r = await w.run([...cli.argv, ...args], {
      env: { TELEPORT_CDN_BASE_URL: standin.cdnUrl },
      cwd: work,
    });
    process.stderr.write(`# tshup ${args[0] === "uninstall" || args[0] === "use" ? args[0] : "install"} under wine: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    let json: any;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
    return { ...r, json };
  };
  const install = (...extra: string[]) => tshup(["--proxy", proxy.addr, "--ca-file", zPath(standin.caFile), "--json", "--yes", ...extra]);
  const root = () => `${w.profile}\\AppData\\Local\\tshup`;
  const binDir = () => `${root()}\\bin`;
  /** `tsh version` as a new cmd finds it: cmd reads the user Path from the registry at start. */
  const cmdTshVersion = () => w.run(["cmd", "/c", "tsh version"], { cwd: work });

  test("first install: the 2,000-character REG_EXPAND_SZ Path kept byte for byte, bin added once in front; cmd finds tsh", async () => {
    seed = seededPath(2000);
    const seeded = await w.run(["reg", "add", "HKCU\\Environment", "/v", "Path", "/t", "REG_EXPAND_SZ", "/d", seed, "/f"]);
    assert.equal(seeded.code, 0, seeded.stderr);
    assert.deepEqual(await readUserEnv(w, "Path"), { type: "REG_EXPAND_SZ", value: seed }, "the seed went in exactly");
    assert.ok(seed.length >= 2000);

    const before = await cmdTshVersion();
    assert.doesNotMatch(before.stdout, /Teleport v/, "no tsh before the install");

    const first = await install();
    assert.equal(first.code, 0, first.stderr + first.stdout);
    assert.equal(first.json.ok, true);
    assert.equal(first.json.changed, true);
    assert.equal(first.json.version, "17.5.1");
    assert.equal(first.json.paths.bin_dir, binDir());
    assert.equal(first.json.paths.tsh, `${binDir()}\\tsh.exe`);
    const pathStep = first.json.steps.find((s: any) => s.step === "path");
    assert.equal(pathStep.status, "done");
    assert.match(pathStep.detail, /HKCU\\Environment\\Path/);
    // Wine's powershell.exe is a stub: the broadcast cannot be confirmed and the user is told.
    assert.match(first.stderr, /PowerShell could not tell running programs/);

    assert.deepEqual(await readUserEnv(w, "Path"), { type: "REG_EXPAND_SZ", value: `${binDir()};${seed}` });
    const query = await w.run(["reg", "query", "HKCU\\Environment", "/v", "Path"]);
    assert.equal(parseRegQuery(query.stdout, "Path")?.type, "REG_EXPAND_SZ", "reg query agrees on the type");
    assert.ok(fs.existsSync(w.unixPath(`${binDir()}\\tsh.exe`)));
    assert.ok(fs.existsSync(w.unixPath(`${root()}\\versions\\17.5.1\\tsh.exe`)));

    const found = await cmdTshVersion();
    assert.equal(found.code, 0, found.stderr);
    assert.match(found.stdout, /^Teleport v17\.5\.1 git:v17\.5\.1-0-g1a2b3c4 go1\.23\.8/);

    const again = await install();
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json.changed, false);
    assert.deepEqual(again.json.steps.filter((s: any) => s.status === "done"), []);
    assert.deepEqual(await readUserEnv(w, "Path"), { type: "REG_EXPAND_SZ", value: `${binDir()};${seed}` }, "a second run leaves the Path alone");
  });

  test("upgrade while the old tsh.exe runs; the old one finishes, its leftover goes on a later run", async () => {
    const startedFile = path.join(work, "tsh-started");
    const releaseFile = path.join(work, "tsh-release");
    const old = w.start([w.unixPath(`${binDir()}\\tsh.exe`), "version"], {
      env: { TSH_STANDIN_STARTED: zPath(startedFile), TSH_STANDIN_WAIT_FOR: zPath(releaseFile) },
      cwd: work,
    });
    try {
      for (let i = 0; i < 600 && !fs.existsSync(startedFile); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(fs.existsSync(startedFile), "the old tsh.exe started");

      proxy.update({ serverVersion: "17.5.2" });
      const up = await install();
      assert.equal(up.code, 0, up.stderr + up.stdout);
      assert.equal(up.json.version, "17.5.2");
      assert.equal(up.json.previous, "17.5.1");
      const now = await cmdTshVersion();
      assert.match(now.stdout, /^Teleport v17\.5\.2 /);
      const trash = w.unixPath(`${root()}\\.trash`);
      assert.ok(
        fs.readdirSync(trash).some((n) => n.startsWith("tsh.exe-")),
        "the running tsh.exe was moved aside into the trash, where it stays while it runs",
      );
    } finally {
      fs.writeFileSync(releaseFile, "go\n");
    }
    const oldResult = await old.done;
    assert.equal(oldResult.code, 0, oldResult.stderr);
    assert.match(oldResult.stdout, /^Teleport v17\.5\.1 /, "the old tsh.exe ran to its end undisturbed");

    const later = await install();
    assert.equal(later.code, 0, later.stderr);
    assert.equal(later.json.changed, false);
    const trash = w.unixPath(`${root()}\\.trash`);
    assert.deepEqual(fs.existsSync(trash) ? fs.readdirSync(trash) : [], [], "the leftover is gone once it no longer runs");

    // With nothing running, one rename replaces bin\tsh.exe in place: no moment without it.
    const use = await tshup(["use", "17.5.1", "--json"]);
    assert.equal(use.code, 0, use.stderr + use.stdout);
    assert.equal(use.json.version, "17.5.1");
    assert.match((await cmdTshVersion()).stdout, /^Teleport v17\.5\.1 /);
    assert.deepEqual(fs.existsSync(trash) ? fs.readdirSync(trash) : [], [], "nothing was moved aside");
  });

  test("a wrong checksum: exit 5 with the JSON error; tsh.exe and the Path stay as they were", async () => {
    const pathBefore = await readUserEnv(w, "Path");
    proxy.update({ serverVersion: "17.5.3" });
    try {
      // The earlier `use 17.5.1` pinned it; asking for the cluster's version lifts the pin.
      const bad = await install("--version", "17.5.3");
      assert.equal(bad.code, 5, bad.stderr + bad.stdout);
      assert.equal(bad.json.ok, false);
      assert.equal(bad.json.error.code, "verification");
      assert.match(bad.json.error.message, /teleport-v17\.5\.3-windows-amd64-bin\.zip/);
      assert.equal(bad.json.version, "17.5.1");
    } finally {
      proxy.update({ serverVersion: "17.5.2" });
    }
    const still = await cmdTshVersion();
    assert.match(still.stdout, /^Teleport v17\.5\.1 /);
    assert.deepEqual(await readUserEnv(w, "Path"), pathBefore);
  });

  test("uninstall takes out exactly tshup's entry: the seeded Path comes back byte for byte", async () => {
    const r = await tshup(["uninstall", "--json", "--yes"]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.deepEqual(await readUserEnv(w, "Path"), { type: "REG_EXPAND_SZ", value: seed });
    assert.ok(!fs.existsSync(w.unixPath(`${binDir()}\\tsh.exe`)));
  });
});
