// tshup's own executable: `self install` copies the running single executable to its stable place
// and onto PATH, uninstall takes it away again. These run dist/bin/tshup-linux-x64 for real
// (`npm run dist -- --targets linux-x64`); TSHUP_TEST_BINARIES=0 skips them, saying so.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { ROOT, runCli, snapshot } from "./support/cli.js";
import { BINARY, binarySkip, EXE, SCRIPT, selfHome } from "./support/self.js";
import { requireTool } from "./support/tools.js";
import type { PlatformName } from "../src/host.js";
import { isSelfWorkName, parseSelfVersion, parseSha256Sums, selfFileName } from "../src/core/self.js";

/** The tshup a new login shell finds on PATH, and what it says it is. */
function loginShellTshup(shell: string, env: Record<string, string>): string {
  return execFileSync(requireTool(shell, shell), ["-lc", "command -v tshup && tshup --version"], { env, encoding: "utf8" });
}

test("the published file names are npm run dist's, one per built target, and nothing else", () => {
  const targets = JSON.parse(fs.readFileSync(path.join(ROOT, "scripts", "node-targets.json"), "utf8")).targets as Record<string, { output: string }>;
  for (const [target, { output }] of Object.entries(targets)) {
    const [os, arch] = target.split("-") as [string, string];
    assert.equal(selfFileName(os === "win" ? "win32" : (os as PlatformName), arch), output, target);
  }
  for (const [platform, arch] of [["win32", "arm64"], ["linux", "ia32"], ["linux", "arm"], ["darwin", "ppc64"]] as const) {
    assert.equal(selfFileName(platform, arch), null, `${platform}-${arch}`);
  }
});

test("SHA256SUMS lines, version lines and the names of the work files beside the executable", () => {
  const a = "A".repeat(64);
  const sums = parseSha256Sums(`${a}  tshup-linux-x64\r\n${"b".repeat(64)} *tshup-win-x64.exe\n\n# comment\n${"c".repeat(63)}  short\n${"d".repeat(64)}  ../escape\n`);
  assert.deepEqual([...sums], [["tshup-linux-x64", "a".repeat(64)], ["tshup-win-x64.exe", "b".repeat(64)]]);
  const twice = parseSha256Sums(`${a}  tshup-linux-x64\n${a.toLowerCase()}  tshup-linux-x64\n${"e".repeat(64)}  tshup-win-x64.exe\n${"f".repeat(64)}  tshup-win-x64.exe\n`);
  assert.equal(twice.get("tshup-linux-x64"), "a".repeat(64), "the same hash twice is one");
  assert.equal(twice.get("tshup-win-x64.exe"), "conflict", "two hashes for one file vouch for neither");
  assert.deepEqual(parseSelfVersion("tshup 0.1.0 (0123456789ab-dirty)\n"), { version: "0.1.0", commit: "0123456789ab-dirty" });
  for (const bad of ["tshup 0.1 (x)", "tsh 0.1.0 (x)", "tshup 0.1.0", "tshup 0.1.0 (x) extra", "Teleport v17.5.1"]) assert.equal(parseSelfVersion(bad), null, bad);
  for (const name of [".tshup.lock", ".tshup.partial", ".tshup.partial.json", ".tshup.new-123", ".tshup.old-123-abc-x1"]) assert.ok(isSelfWorkName("tshup", name), name);
  for (const name of ["tshup", ".tshup.lockx", ".tshup.new-x", ".tshupx.lock", ".other.lock", ".tshup.exe.lock"]) assert.equal(isSelfWorkName("tshup", name), false, name);
  assert.ok(isSelfWorkName("tshup.exe", ".tshup.exe.old-1-a-b"));
});

const doneSteps = (json: { steps: { status: string }[] }) => json.steps.filter((s) => s.status === "done");

test("the script form refuses self install (exit 2) and says what to run instead", async (t) => {
  const h = await selfHome();
  t.after(h.cleanup);
  const r = await runCli(SCRIPT, ["self", "install", "--json"], { env: h.env });
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.json.command, "self install");
  assert.equal(r.json.ok, false);
  assert.equal(r.json.error.code, "usage");
  assert.match(r.json.error.message, /runs as a script under Node/);
  assert.match(r.json.error.hint, /tshup-linux-x64 self install/);
  assert.equal(fs.existsSync(h.exe), false);
  assert.equal(fs.existsSync(h.root), false);
});

test("self takes exactly one subcommand", async () => {
  for (const args of [["self"], ["self", "upgrade"], ["self", "install", "extra"]]) {
    const r = await runCli(SCRIPT, args, {});
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, /self/);
  }
});

describe("self install with the single executable", { skip: binarySkip() }, () => {
  test("copies itself to ~/.local/bin/tshup (0755) that new login shells find first; a rerun changes nothing", async (t) => {
    const h = await selfHome();
    t.after(h.cleanup);
    const dry = await runCli(EXE, ["self", "install", "--dry-run", "--json"], { env: h.env });
    assert.equal(dry.code, 3, dry.stderr);
    assert.equal(dry.json.would_change, true);
    assert.deepEqual([...(await snapshot(h.home))], [], "a dry run writes nothing");
    const planned = dry.json.steps.map((s: any) => /^created: (.*)$/.exec(s.detail)?.[1] ?? new RegExp(` to (${h.exe}) `).exec(s.detail)?.[1]);

    const r = await runCli(EXE, ["self", "install", "--json"], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(planned.sort(), [...(await snapshot(h.home)).keys()].sort(), "the dry run named every file the run made, the root's marker and state.json too");
    assert.equal(r.json.command, "self install");
    assert.equal(r.json.ok, true);
    assert.equal(r.json.changed, true);
    assert.equal(r.json.error, null);
    assert.equal(r.json.self.path, h.exe);
    assert.deepEqual(doneSteps(r.json).map((s: any) => s.step), ["copy", "path"]);
    assert.ok((await fsp.readFile(h.exe)).equals(await fsp.readFile(BINARY)), "the copy has the executable's bytes");
    assert.equal((await fsp.stat(h.exe)).mode & 0o777, 0o755);
    assert.deepEqual((await fsp.readdir(path.dirname(h.exe))).sort(), ["tshup"], "no lock or temp file is left beside it");
    for (const shell of ["dash", "bash"]) {
      const out = loginShellTshup(shell, h.env).split("\n");
      assert.equal(out[0], h.exe, `${shell} -l finds the copy`);
      assert.match(out[1]!, /^tshup \d+\.\d+\.\d+/);
    }

    const again = await runCli(EXE, ["self", "install", "--json"], { env: h.env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.json.changed, false);
    assert.deepEqual(doneSteps(again.json), []);
    const dryAgain = await runCli(EXE, ["self", "install", "--dry-run", "--json"], { env: h.env });
    assert.equal(dryAgain.code, 0, "nothing to do: a dry run exits 0");

    // Run from the copy itself: nothing to copy, and still nothing to change.
    const fromCopy = await runCli({ name: "copy", command: [h.exe] }, ["self", "install", "--json"], { env: h.env });
    assert.equal(fromCopy.code, 0, fromCopy.stderr);
    assert.equal(fromCopy.json.changed, false);
    assert.match(fromCopy.json.steps[0].detail, /already runs from/);
  });

  test("a file there that is not tshup's is left byte for byte unless --force, even one that says it is tshup", async (t) => {
    const h = await selfHome();
    t.after(h.cleanup);
    await fsp.mkdir(path.dirname(h.exe), { recursive: true });
    const impostor = "#!/bin/sh\necho 'tshup 9.9.9 (impostor)'\n";
    for (const plant of [
      async () => fsp.writeFile(h.exe, impostor, { mode: 0o755 }),
      async () => fsp.symlink("/bin/true", h.exe),
      async () => fsp.mkdir(h.exe),
    ]) {
      await fsp.rm(h.exe, { recursive: true, force: true });
      await plant();
      const before = await snapshot(h.home);
      const r = await runCli(EXE, ["self", "install", "--json"], { env: h.env });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.json.error.code, "usage");
      assert.match(r.json.error.message, new RegExp(`^${h.exe} is .*; self install replaces only a tshup executable there$`));
      assert.match(r.json.error.hint, /--force/);
      assert.deepEqual(await snapshot(h.home), before, "nothing changed");
    }
    await fsp.rm(h.exe, { recursive: true, force: true });
    await fsp.writeFile(h.exe, impostor, { mode: 0o755 });
    const forced = await runCli(EXE, ["self", "install", "--force", "--json"], { env: h.env });
    assert.equal(forced.code, 0, forced.stderr);
    assert.ok((await fsp.readFile(h.exe)).equals(await fsp.readFile(BINARY)), "--force replaced it");
  });

  test("another tshup build there is replaced, and --no-modify-path leaves PATH alone", async (t) => {
    const h = await selfHome();
    t.after(h.cleanup);
    await fsp.mkdir(path.dirname(h.exe), { recursive: true });
    // The bundled script is tshup too (it carries the same marker) and runs with the node on PATH.
    await fsp.copyFile(path.join(ROOT, "dist", "tshup.cjs"), h.exe);
    await fsp.chmod(h.exe, 0o700);
    const env = { ...h.env, PATH: `${path.dirname(process.execPath)}:${h.env.PATH}` };
    const r = await runCli(EXE, ["self", "install", "--no-modify-path", "--json"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.previous, null, "another build is known by its marker, never run to learn its version");
    assert.equal(r.json.steps.find((s: any) => s.step === "copy").status, "done");
    assert.ok((await fsp.readFile(h.exe)).equals(await fsp.readFile(BINARY)));
    assert.equal((await fsp.stat(h.exe)).mode & 0o777, 0o755);
    assert.equal(fs.existsSync(path.join(h.home, ".profile")), false, "--no-modify-path: no startup file touched");
    assert.equal(fs.existsSync(h.root), false, "nor the root");
  });

  /**
   * A home whose ~/.local/share is read-only: a read-only mount as root (who writes through any
   * mode), else mode 0555. Undone before the home is removed.
   */
  async function readOnlyShareHome(t: { after: (fn: () => unknown) => void }) {
    const h = await selfHome();
    const share = path.join(h.home, ".local", "share");
    await fsp.mkdir(share, { recursive: true });
    const root = process.getuid?.() === 0;
    t.after(async () => {
      if (root) spawnSync("umount", ["-l", share]);
      else await fsp.chmod(share, 0o755);
      await h.cleanup();
    });
    if (root) {
      const m = spawnSync("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", share], { encoding: "utf8" });
      if (m.status !== 0) throw new Error(`mount -t tmpfs -o ro failed (${m.stderr.trim()}); this test needs it when run as root`);
    } else {
      await fsp.chmod(share, 0o555);
    }
    return h;
  }

  test("a self install that cannot write its root (~/.local/share read-only) is exit 7 and takes back the copy it made", async (t) => {
    const h = await readOnlyShareHome(t);
    const before = await snapshot(h.home);
    const r = await runCli(EXE, ["self", "install", "--json"], { env: h.env });
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.json.error.code, "system");
    assert.match(r.json.error.message, new RegExp(`^could not create the directory ${h.root}: `));
    assert.ok(r.json.error.hint);
    assert.equal(fs.existsSync(h.exe), false, "the copy is gone");
    assert.equal(fs.existsSync(path.dirname(h.exe)), false, "and ~/.local/bin, which this run made");
    assert.deepEqual(await snapshot(h.home), before);
  });

  test("a failed self install leaves the tshup copy that was there working, byte for byte", async (t) => {
    const h = await readOnlyShareHome(t);
    await fsp.mkdir(path.dirname(h.exe), { recursive: true });
    // The bundled script is tshup too (it carries the marker) and runs with the node on PATH.
    await fsp.copyFile(path.join(ROOT, "dist", "tshup.cjs"), h.exe);
    await fsp.chmod(h.exe, 0o700);
    const env = { ...h.env, PATH: `${path.dirname(process.execPath)}:${h.env.PATH}` };
    const was = execFileSync(h.exe, ["--version"], { env, encoding: "utf8" });
    const before = await snapshot(h.home);
    const r = await runCli(EXE, ["self", "install", "--json"], { env });
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.json.steps.find((s: any) => s.step === "rollback")?.status, "done", JSON.stringify(r.json.steps));
    assert.deepEqual(await snapshot(h.home), before, "the previous copy has its bytes");
    assert.equal((await fsp.stat(h.exe)).mode & 0o777, 0o700, "and its mode");
    assert.deepEqual(await fsp.readdir(path.dirname(h.exe)), ["tshup"], "no copy, lock or second name is left beside it");
    assert.equal(execFileSync(h.exe, ["--version"], { env, encoding: "utf8" }), was, "and it runs as before");
  });

  test("a self install whose state cannot be written puts the startup files and the root back as they were", async (t) => {
    const h = await selfHome();
    t.after(h.cleanup);
    // tshup's root, as an earlier run left it, with a directory where state.json goes.
    await fsp.mkdir(path.join(h.root, "state.json"), { recursive: true });
    await fsp.writeFile(path.join(h.root, ".tshup-root"), "{}\n");
    await fsp.writeFile(path.join(h.home, ".bashrc"), "# the user's own\nalias ll='ls -l'\n");
    const before = await snapshot(h.home);
    const r = await runCli(EXE, ["self", "install", "--json"], { env: h.env });
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.json.error.message, /state\.json is a directory, not a regular file/);
    assert.deepEqual(await snapshot(h.home), before, ".bashrc byte for byte; no .profile, env script or copy left");
    assert.equal(fs.existsSync(path.dirname(h.exe)), false);
  });

  test("uninstall removes the copy self install made, and keeps a file there that is not tshup's", async (t) => {
    const h = await selfHome();
    t.after(h.cleanup);
    const installed = await runCli(EXE, ["self", "install", "--json"], { env: h.env });
    assert.equal(installed.code, 0, installed.stderr);
    const dry = await runCli(EXE, ["uninstall", "--dry-run", "--json"], { env: h.env });
    assert.equal(dry.code, 3);
    assert.ok(dry.json.steps.some((s: any) => s.detail === "delete ~/.local/bin/tshup"), JSON.stringify(dry.json.steps));
    // The installed copy removes itself.
    const r = await runCli({ name: "copy", command: [h.exe] }, ["uninstall", "--yes", "--json"], { env: h.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.existsSync(h.exe), false);
    assert.deepEqual(await fsp.readdir(path.dirname(h.exe)), [], "nothing of tshup's is left in ~/.local/bin");
    assert.equal(fs.existsSync(h.root), false);
    assert.equal(fs.existsSync(path.join(h.home, ".profile")), false, "the .profile tshup created is gone");

    await fsp.writeFile(h.exe, "#!/bin/sh\necho mine\n", { mode: 0o755 });
    const other = await runCli(EXE, ["uninstall", "--yes", "--json"], { env: h.env });
    assert.equal(other.code, 0, other.stderr);
    assert.equal(await fsp.readFile(h.exe, "utf8"), "#!/bin/sh\necho mine\n");
    assert.match(other.stderr, /keeping ~\/\.local\/bin\/tshup \(a file that is not a tshup executable\): tshup removes only its own executable there/);
  });
});
