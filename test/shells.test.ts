import { after, test } from "node:test";
import { testHost } from "./support/host.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Host } from "../src/host.js";
import {
  addPosixPath,
  binDirFirstOnPath,
  posixPathInstructions,
  removePosixPath,
  type PathResult,
} from "../src/platform/posix-path.js";
import { BLOCK_END, BLOCK_START } from "../src/core/rcblock.js";
import { requireTool } from "./support/tools.js";

const SHELL_TOOLS = {
  dash: requireTool("dash", "dash"),
  bash: requireTool("bash", "bash"),
  zsh: requireTool("zsh", "zsh"),
  fish: requireTool("fish", "fish"),
};

const CLEAN_PATH = "/usr/local/bin:/usr/bin:/bin";

function fakeHost(home: string, env: Record<string, string>, platform: "linux" | "darwin" = "linux"): Host {
  return testHost(home, { platform, env });
}

interface World {
  tmp: string;
  home: string;
  root: string;
  binDir: string;
  tsh: string;
}

const tempDirs: string[] = [];
after(async () => {
  for (const d of tempDirs) await fs.rm(d, { recursive: true, force: true });
});

async function makeWorld(rootName = "root"): Promise<World> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "tshup-shells-"));
  tempDirs.push(tmp);
  const home = path.join(tmp, "home");
  const root = path.join(tmp, rootName);
  const binDir = path.join(root, "bin");
  await fs.mkdir(home, { recursive: true });
  await fs.mkdir(binDir, { recursive: true });
  const tsh = path.join(binDir, "tsh");
  await fs.writeFile(tsh, "#!/bin/sh\necho fake tsh\n", { mode: 0o755 });
  return { tmp, home, root, binDir, tsh };
}

const POSIX_PROBE = `printf 'TSH=%s\\nPATH=%s\\n' "$(command -v tsh)" "$PATH"`;
const FISH_PROBE = `echo "TSH="(command -v tsh); echo "PATH="(string join : $PATH)`;

type Invocation = "dash -l" | "bash -l" | "bash -i" | "zsh -i" | "zsh -l" | "fish -l";
const ALL: Invocation[] = ["dash -l", "bash -l", "bash -i", "zsh -i", "zsh -l", "fish -l"];

/** Starts a new shell the way a terminal or login would, with a clean environment, and asks it where tsh is. */
function probe(how: Invocation, env: Record<string, string>): { tsh: string; path: string[]; raw: string } {
  const [name, flag] = how.split(" ") as [keyof typeof SHELL_TOOLS, string];
  const script = name === "fish" ? FISH_PROBE : POSIX_PROBE;
  const r = spawnSync(SHELL_TOOLS[name], [flag, "-c", script], {
    env,
    cwd: env.HOME,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 60_000,
  });
  const raw = `status ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  assert.equal(r.status, 0, `${how} failed\n${raw}`);
  // bash -i may warn about job control on stderr; only stdout counts.
  const lines = r.stdout.split("\n");
  const last = (prefix: string) => lines.filter((l) => l.startsWith(prefix)).pop()?.slice(prefix.length);
  return { tsh: last("TSH=") ?? "", path: (last("PATH=") ?? "").split(":"), raw };
}

function assertResolves(how: Invocation, env: Record<string, string>, w: World): void {
  const got = probe(how, env);
  assert.equal(got.tsh, w.tsh, `${how}: tsh resolves elsewhere\n${got.raw}`);
  assert.equal(got.path[0], w.binDir, `${how}: bin dir is not first in PATH\n${got.raw}`);
  assert.equal(got.path.filter((d) => d === w.binDir).length, 1, `${how}: bin dir not exactly once in PATH\n${got.raw}`);
}

/** Every file under the dirs, as bytes (or a link's target), to compare before and after. */
async function snapshot(...dirs: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(dir: string): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isSymbolicLink()) out.set(p, `link -> ${await fs.readlink(p)}`);
      else if (e.isDirectory()) await walk(p);
      // fish keeps its own state (history, variables) under the home; that is not ours.
      else if (!p.includes(`${path.sep}.local${path.sep}share${path.sep}fish`)) {
        out.set(p, (await fs.readFile(p)).toString("base64"));
      }
    }
  }
  for (const d of dirs) await walk(d);
  return out;
}

const createdOf = (r: PathResult) => r.edits.filter((e) => e.action === "created").map((e) => e.file);
const actionOf = (r: PathResult, file: string) => r.edits.find((e) => e.file === file)?.action;

async function bytesOrNull(p: string): Promise<Buffer | null> {
  try {
    return await fs.readFile(p);
  } catch {
    return null;
  }
}

test("dash, bash, zsh and fish shells all find <root>/bin/tsh first and once; a second run changes nothing; removal restores every byte", async () => {
  const w = await makeWorld();
  const profile = path.join(w.home, ".profile");
  const bashrc = path.join(w.home, ".bashrc");
  const profileBytes = Buffer.from("# my profile, edited on Windows\r\nexport FROM_PROFILE=1\r\n");
  const bashrcBytes = Buffer.from("# my bashrc\nexport FROM_BASHRC=1");
  await fs.writeFile(profile, profileBytes);
  await fs.writeFile(bashrc, bashrcBytes);
  const host = fakeHost(w.home, { PATH: CLEAN_PATH, SHELL: SHELL_TOOLS.bash });

  const first = await addPosixPath(host, w.root, w.binDir, { dryRun: false });
  assert.equal(first.changed, true);
  assert.equal(first.envScript, path.join(w.root, "env"));
  const zshenv = path.join(w.home, ".zshenv");
  const fishConf = path.join(w.home, ".config", "fish", "conf.d", "tshup.fish");
  assert.equal(actionOf(first, profile), "updated");
  assert.equal(actionOf(first, bashrc), "updated");
  assert.equal(actionOf(first, zshenv), "created");
  assert.equal(actionOf(first, fishConf), "created");
  assert.equal(actionOf(first, path.join(w.root, "env")), "created");
  assert.equal(actionOf(first, path.join(w.root, "env.fish")), "created");
  // Files the user does not have are not created for bash.
  assert.equal(await bytesOrNull(path.join(w.home, ".bash_profile")), null);
  // The CRLF file got a CRLF block, and the shells still read it.
  assert.match((await fs.readFile(profile, "latin1")).slice(profileBytes.length), /^# >>> tshup >>>\r\n[^\n]*\r\n# <<< tshup <<<\r\n$/);

  const env = { HOME: w.home, PATH: CLEAN_PATH, SHELL: SHELL_TOOLS.bash };
  for (const how of ALL) assertResolves(how, env, w);

  const before = await snapshot(w.home, w.root);
  const second = await addPosixPath(host, w.root, w.binDir, { dryRun: false });
  assert.equal(second.changed, false);
  assert.ok(second.edits.every((e) => e.action === "unchanged"), JSON.stringify(second.edits));
  assert.deepEqual(await snapshot(w.home, w.root), before);

  const removed = await removePosixPath(host, w.root, { dryRun: false, createdFiles: createdOf(first) });
  assert.equal(removed.changed, true);
  assert.deepEqual(await fs.readFile(profile), profileBytes);
  assert.deepEqual(await fs.readFile(bashrc), bashrcBytes);
  for (const gone of [zshenv, fishConf, path.join(w.root, "env"), path.join(w.root, "env.fish")]) {
    assert.equal(await bytesOrNull(gone), null, `${gone} should be deleted`);
    assert.equal(actionOf(removed, gone), "deleted");
  }
  assert.equal(actionOf(removed, profile), "removed-block");

  const again = await removePosixPath(host, w.root, { dryRun: false, createdFiles: createdOf(first) });
  assert.equal(again.changed, false);
});

test("an existing ~/.bash_profile gets the block, since bash -l then skips ~/.profile", async () => {
  const w = await makeWorld();
  const bashProfile = path.join(w.home, ".bash_profile");
  const zshenv = path.join(w.home, ".zshenv");
  const bashProfileBytes = Buffer.from("# does not source .profile\r\nexport A=1");
  const zshenvBytes = Buffer.from("export FROM_ZSHENV=1\n\texport B=2");
  await fs.writeFile(bashProfile, bashProfileBytes);
  await fs.writeFile(zshenv, zshenvBytes);
  const host = fakeHost(w.home, { PATH: CLEAN_PATH, SHELL: SHELL_TOOLS.zsh });

  const first = await addPosixPath(host, w.root, w.binDir, { dryRun: false });
  assert.equal(actionOf(first, bashProfile), "updated");
  assert.equal(actionOf(first, zshenv), "updated");
  assert.equal(actionOf(first, path.join(w.home, ".profile")), "created");

  const env = { HOME: w.home, PATH: CLEAN_PATH, SHELL: SHELL_TOOLS.zsh };
  for (const how of ["bash -l", "dash -l", "zsh -l", "zsh -i"] as const) assertResolves(how, env, w);

  await removePosixPath(host, w.root, { dryRun: false, createdFiles: createdOf(first) });
  assert.deepEqual(await fs.readFile(bashProfile), bashProfileBytes);
  assert.deepEqual(await fs.readFile(zshenv), zshenvBytes);
  assert.equal(await bytesOrNull(path.join(w.home, ".profile")), null);
});

test("ZDOTDIR and XDG_CONFIG_HOME decide where the zsh and fish files go", async () => {
  const w = await makeWorld();
  const zdot = path.join(w.tmp, "zdot");
  const xdg = path.join(w.tmp, "xdg");
  await fs.mkdir(zdot);
  const extra = { ZDOTDIR: zdot, XDG_CONFIG_HOME: xdg };
  const host = fakeHost(w.home, { PATH: CLEAN_PATH, SHELL: SHELL_TOOLS.zsh, ...extra });

  const first = await addPosixPath(host, w.root, w.binDir, { dryRun: false });
  const zshenv = path.join(zdot, ".zshenv");
  const fishConf = path.join(xdg, "fish", "conf.d", "tshup.fish");
  assert.equal(actionOf(first, zshenv), "created");
  assert.equal(actionOf(first, fishConf), "created");
  assert.equal(await bytesOrNull(path.join(w.home, ".zshenv")), null);
  assert.equal(await bytesOrNull(path.join(w.home, ".config", "fish", "conf.d", "tshup.fish")), null);

  const env = { HOME: w.home, PATH: CLEAN_PATH, SHELL: SHELL_TOOLS.zsh, ...extra };
  for (const how of ["zsh -i", "zsh -l", "fish -l"] as const) assertResolves(how, env, w);

  // Uninstall after ZDOTDIR was unset still finds the file through the recorded created files.
  const later = fakeHost(w.home, { PATH: CLEAN_PATH, SHELL: SHELL_TOOLS.zsh });
  const removed = await removePosixPath(later, w.root, { dryRun: false, createdFiles: createdOf(first) });
  assert.equal(actionOf(removed, zshenv), "deleted");
  assert.equal(actionOf(removed, fishConf), "deleted");
  assert.equal(await bytesOrNull(zshenv), null);
  assert.equal(await bytesOrNull(fishConf), null);
});

test("a root whose path holds spaces, quotes, $ and glob characters is quoted right in every shell", async () => {
  const w = await makeWorld(`my tsh 'root' "x" $HOME [a]*`);
  await fs.writeFile(path.join(w.home, ".bashrc"), "# bashrc\n");
  const host = fakeHost(w.home, { PATH: CLEAN_PATH, SHELL: SHELL_TOOLS.bash });
  await addPosixPath(host, w.root, w.binDir, { dryRun: false });
  const env = { HOME: w.home, PATH: CLEAN_PATH, SHELL: SHELL_TOOLS.bash };
  for (const how of ALL) assertResolves(how, env, w);
});

test("the bin dir wins over an older tsh earlier in PATH, and moves to the front when already present", async () => {
  const w = await makeWorld();
  const decoy = path.join(w.tmp, "old bin");
  await fs.mkdir(decoy);
  await fs.writeFile(path.join(decoy, "tsh"), "#!/bin/sh\necho old tsh\n", { mode: 0o755 });
  // Lines that run before the block and put the old tsh in front, as a distribution profile or
  // macOS path_helper would.
  await fs.writeFile(path.join(w.home, ".profile"), `PATH="${decoy}:$PATH"\n`);
  await fs.writeFile(path.join(w.home, ".bashrc"), `PATH="${decoy}:$PATH"\n`);
  const host = fakeHost(w.home, { PATH: CLEAN_PATH, SHELL: SHELL_TOOLS.bash });
  await addPosixPath(host, w.root, w.binDir, { dryRun: false });

  // The parent already had the bin dir, but not first, and twice.
  const inherited = [decoy, "/usr/bin", w.binDir, "/bin", w.binDir].join(":");
  const env = { HOME: w.home, PATH: inherited, SHELL: SHELL_TOOLS.bash };
  for (const how of ["dash -l", "bash -l", "bash -i", "zsh -i", "fish -l"] as const) assertResolves(how, env, w);
});

test("on macOS the zsh block also goes in .zprofile, which runs after path_helper", async () => {
  const w = await makeWorld();
  const decoy = path.join(w.tmp, "path_helper bin");
  await fs.mkdir(decoy);
  await fs.writeFile(path.join(decoy, "tsh"), "#!/bin/sh\necho old tsh\n", { mode: 0o755 });
  const zprofile = path.join(w.home, ".zprofile");
  const zprofileBytes = Buffer.from(`export PATH="${decoy}:$PATH"`);
  await fs.writeFile(zprofile, zprofileBytes);
  const host = fakeHost(w.home, { PATH: "/nonexistent", SHELL: "/bin/zsh" }, "darwin");
  const first = await addPosixPath(host, w.root, w.binDir, { dryRun: false });
  assert.equal(actionOf(first, zprofile), "updated");
  assert.equal(actionOf(first, path.join(w.home, ".zshenv")), "created");
  assertResolves("zsh -l", { HOME: w.home, PATH: CLEAN_PATH, SHELL: SHELL_TOOLS.zsh }, w);
  await removePosixPath(host, w.root, { dryRun: false, createdFiles: createdOf(first) });
  assert.deepEqual(await fs.readFile(zprofile), zprofileBytes);
  assert.equal(await bytesOrNull(path.join(w.home, ".zshenv")), null);
});

test("zsh and fish files are left alone when neither shell is used", async () => {
  const w = await makeWorld();
  const host = fakeHost(w.home, { PATH: path.join(w.tmp, "empty"), SHELL: "/bin/bash" });
  const r = await addPosixPath(host, w.root, w.binDir, { dryRun: false });
  assert.deepEqual(
    r.edits.map((e) => [path.relative(w.tmp, e.file), e.action]),
    [
      ["root/env", "created"],
      ["root/env.fish", "created"],
      ["home/.profile", "created"],
    ],
  );
  assert.equal(await bytesOrNull(path.join(w.home, ".zshenv")), null);
  assert.equal(await bytesOrNull(path.join(w.home, ".config")), null);
});

test("a symlinked startup file is written through, keeps its mode, and stays a link", async () => {
  const w = await makeWorld();
  const dotfiles = path.join(w.tmp, "dotfiles");
  await fs.mkdir(dotfiles);
  const real = path.join(dotfiles, "bashrc");
  const realBytes = Buffer.from("# managed by my dotfiles\r\nalias ll='ls -l'");
  await fs.writeFile(real, realBytes, { mode: 0o600 });
  await fs.chmod(real, 0o600);
  const bashrc = path.join(w.home, ".bashrc");
  await fs.symlink("../dotfiles/bashrc", bashrc);
  const host = fakeHost(w.home, { PATH: "/nonexistent", SHELL: "/bin/bash" });

  const first = await addPosixPath(host, w.root, w.binDir, { dryRun: false });
  assert.equal(actionOf(first, bashrc), "updated");
  assert.ok((await fs.lstat(bashrc)).isSymbolicLink());
  assert.equal((await fs.stat(real)).mode & 0o777, 0o600);
  assert.ok((await fs.readFile(real, "utf8")).includes(BLOCK_START));
  assertResolves("bash -i", { HOME: w.home, PATH: CLEAN_PATH, SHELL: SHELL_TOOLS.bash }, w);

  await removePosixPath(host, w.root, { dryRun: false, createdFiles: createdOf(first) });
  assert.ok((await fs.lstat(bashrc)).isSymbolicLink());
  assert.deepEqual(await fs.readFile(real), realBytes);
  assert.equal((await fs.stat(real)).mode & 0o777, 0o600);
});

test("dry runs report the edits and write nothing", async () => {
  const w = await makeWorld();
  await fs.writeFile(path.join(w.home, ".bashrc"), "x\n");
  const host = fakeHost(w.home, { PATH: CLEAN_PATH, SHELL: "/bin/bash" });
  const before = await snapshot(w.home, w.root);
  const dry = await addPosixPath(host, w.root, w.binDir, { dryRun: true });
  assert.equal(dry.changed, true);
  assert.equal(actionOf(dry, path.join(w.home, ".profile")), "created");
  assert.equal(actionOf(dry, path.join(w.home, ".bashrc")), "updated");
  assert.deepEqual(await snapshot(w.home, w.root), before);

  const real = await addPosixPath(host, w.root, w.binDir, { dryRun: false });
  assert.deepEqual(real.edits, dry.edits);
  const installed = await snapshot(w.home, w.root);
  const dryRemove = await removePosixPath(host, w.root, { dryRun: true, createdFiles: createdOf(real) });
  assert.equal(actionOf(dryRemove, path.join(w.home, ".profile")), "deleted");
  assert.equal(actionOf(dryRemove, path.join(w.home, ".bashrc")), "removed-block");
  assert.deepEqual(await snapshot(w.home, w.root), installed);
});

test("a user's own lines around the block survive uninstall, and a created file with them is kept", async () => {
  const w = await makeWorld();
  const host = fakeHost(w.home, { PATH: "/nonexistent", SHELL: "/bin/sh" });
  const first = await addPosixPath(host, w.root, w.binDir, { dryRun: false });
  const profile = path.join(w.home, ".profile");
  assert.equal(actionOf(first, profile), "created");
  const withBlock = await fs.readFile(profile, "utf8");
  await fs.writeFile(profile, `export MINE=1\n${withBlock}export AFTER=1\n`);
  const r = await removePosixPath(host, w.root, { dryRun: false, createdFiles: createdOf(first) });
  assert.equal(actionOf(r, profile), "removed-block");
  assert.equal(await fs.readFile(profile, "utf8"), "export MINE=1\nexport AFTER=1\n");
  assert.ok(!withBlock.includes(BLOCK_END + BLOCK_END));
});

test("--no-modify-path instructions name the bin dir and each shell's file, and their line works", async () => {
  const w = await makeWorld("with space");
  const host = fakeHost(w.home, { PATH: CLEAN_PATH, SHELL: "/bin/bash", ZDOTDIR: path.join(w.tmp, "z") });
  const text = posixPathInstructions(host, w.root, w.binDir);
  assert.ok(text.includes(w.binDir));
  for (const f of [".profile", ".bashrc", path.join(w.tmp, "z", ".zshenv"), "conf.d/tshup.fish"]) {
    assert.ok(text.includes(f), `instructions should mention ${f}:\n${text}`);
  }
  const line = text.split("\n").find((l) => l.trim().startsWith("export PATH="))!.trim();
  const r = spawnSync(SHELL_TOOLS.dash, ["-c", `${line}; command -v tsh`], {
    env: { PATH: CLEAN_PATH },
    encoding: "utf8",
  });
  assert.equal(r.stdout.trim(), w.tsh);
  const fishLine = text.split("\n").find((l) => l.trim().startsWith("set -gx PATH"))!.trim();
  const f = spawnSync(SHELL_TOOLS.fish, ["-c", `${fishLine}; command -v tsh`], {
    env: { HOME: w.home, PATH: CLEAN_PATH },
    encoding: "utf8",
  });
  assert.equal(f.stdout.trim(), w.tsh);
});

test("binDirFirstOnPath reads the host's PATH", () => {
  const host = (p: string) => fakeHost("/home/u", { PATH: p });
  assert.equal(binDirFirstOnPath(host("/r/bin:/usr/bin"), "/r/bin"), true);
  assert.equal(binDirFirstOnPath(host("/usr/bin:/r/bin"), "/r/bin"), false);
});

test("a root PATH cannot hold is refused with a usage error", async () => {
  const host = fakeHost("/home/u", { PATH: CLEAN_PATH });
  await assert.rejects(addPosixPath(host, "/a:b", "/a:b/bin", { dryRun: true }), { name: "TshupError", code: "usage" });
  await assert.rejects(addPosixPath(host, "relative", "relative/bin", { dryRun: true }), { code: "usage" });
});

test("a second directory (tshup's own copy's) comes right after the bin dir, once, in every shell; removal takes both away", async () => {
  const w = await makeWorld();
  const selfDir = path.join(w.home, ".local", "bin");
  // Already on PATH, as Debian's ~/.profile puts it: it is moved, not repeated.
  const host = fakeHost(w.home, { PATH: `${selfDir}:${CLEAN_PATH}`, SHELL: SHELL_TOOLS.bash });
  const env = { HOME: w.home, PATH: `${selfDir}:${CLEAN_PATH}`, SHELL: SHELL_TOOLS.bash, TERM: "dumb" };
  // bash -i reads ~/.bashrc, which tshup edits only when it exists.
  await fs.writeFile(path.join(w.home, ".bashrc"), "# mine\n");
  const before = await snapshot(w.home);
  await addPosixPath(host, w.root, w.binDir, { dryRun: false, also: [selfDir] });
  for (const how of ALL) {
    const got = probe(how, env);
    assert.deepEqual(got.path.slice(0, 2), [w.binDir, selfDir], `${how}\n${got.raw}`);
    assert.equal(got.path.filter((d) => d === selfDir).length, 1, `${how}: ${selfDir} more than once\n${got.raw}`);
  }
  const again = await addPosixPath(host, w.root, w.binDir, { dryRun: false, also: [selfDir] });
  assert.equal(again.changed, false);
  await removePosixPath(host, w.root, { dryRun: false, createdFiles: [] });
  assert.deepEqual(await snapshot(w.home), before, "the home is as it was");
});
