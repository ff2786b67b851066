// The single executables from `npm run dist` (npm test runs it first): checksums, each one
// starting on its own platform or the nearest this machine has (qemu for arm64, wine for Windows),
// and a rebuild giving the same bytes.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { requireTool } from "./support/tools.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "dist", "bin");
const NAMES = ["tshup-darwin-arm64", "tshup-darwin-x64", "tshup-linux-arm64", "tshup-linux-x64", "tshup-win-x64.exe"];
const PKG_VERSION: string = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
const ARM64_SYSROOT = "/usr/aarch64-linux-gnu";

function requireDist(): void {
  for (const name of [...NAMES, "SHA256SUMS"]) {
    if (!fs.existsSync(path.join(BIN, name))) {
      throw new Error(`dist/bin/${name} is missing: run npm run dist first (npm test does it unless TSHUP_TEST_SKIP_DIST=1)`);
    }
  }
}

/** The commit the build bakes in, as scripts/build.mjs computes it (without the dirty mark). */
function expectedCommit(): string {
  if (process.env.TSHUP_COMMIT) return process.env.TSHUP_COMMIT;
  try {
    return execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

function assertVersionLine(out: string, what: string): void {
  const m = /^tshup (\S+) \(([^)]*)\)$/.exec(out.trim());
  assert.ok(m, `${what} --version printed ${JSON.stringify(out)}, expected "tshup <version> (<commit>)"`);
  assert.equal(m[1], PKG_VERSION, `${what} reports version ${m[1]}, package.json says ${PKG_VERSION}`);
  assert.equal(m[2].replace(/-dirty$/, ""), expectedCommit(), `${what} was built from commit ${m[2]}; rerun npm run dist`);
}

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} did not finish within ${opts.timeoutMs / 1000} s`));
    }, opts.timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let tmp: string;
before(async () => {
  requireDist();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-dist-test-"));
});
after(async () => {
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

test("SHA256SUMS lists exactly the five executables, sorted, with their real hashes", async () => {
  const lines = (await fsp.readFile(path.join(BIN, "SHA256SUMS"), "utf8")).split("\n").filter(Boolean);
  const entries = lines.map((line) => {
    const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    assert.ok(m, `SHA256SUMS line is not "<sha256>  <name>": ${JSON.stringify(line)}`);
    return { hash: m[1], name: m[2] };
  });
  assert.deepEqual(
    entries.map((e) => e.name),
    NAMES,
  );
  for (const { hash, name } of entries) {
    const file = path.join(BIN, name);
    const actual = createHash("sha256").update(await fsp.readFile(file)).digest("hex");
    assert.equal(actual, hash, `${name} does not match its SHA256SUMS line`);
    assert.equal((await fsp.stat(file)).mode & 0o777, 0o755, `${name} should have mode 0755`);
  }
});

test("tshup-linux-x64 --version names the package version and commit", async () => {
  const r = await run(path.join(BIN, "tshup-linux-x64"), ["--version"], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, `tshup-linux-x64 --version exited ${r.code}: ${r.stderr}`);
  assert.equal(r.stderr, "", "a single executable should print no warnings");
  assertVersionLine(r.stdout, "tshup-linux-x64");
});

test("tshup-linux-x64 runs with the code cache its training run made, and a cache V8 refuses costs only time", async () => {
  const env = { ...process.env, TSHUP_DEBUG_CODE_CACHE: "1" };
  const r = await run(path.join(BIN, "tshup-linux-x64"), ["--version"], { env, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `tshup-linux-x64 --version exited ${r.code}: ${r.stderr}`);
  assert.equal(r.stderr, "code cache accepted\n", "V8 rejected the embedded code cache: was it made by another Node or with other flags?");
  assertVersionLine(r.stdout, "tshup-linux-x64");

  // The same entry with a cache from elsewhere (here: bytes that are none) compiles the bundle instead.
  const { compileBundle } = createRequire(import.meta.url)(path.join(ROOT, "scripts", "sea-main.cjs")) as {
    compileBundle: (source: string, cache?: Buffer) => { cachedDataRejected?: boolean; runInThisContext(): () => number };
  };
  const script = compileBundle("(function () { return 42; })", Buffer.from("not a V8 code cache"));
  assert.equal(script.cachedDataRejected, true);
  assert.equal(script.runInThisContext()(), 42);
});

test("tshup-linux-x64 ignores NODE_OPTIONS meant for the user's own Node", async () => {
  // A V8 flag would make V8 reject the embedded code cache (and Node warn); a --require hook
  // would run foreign code, here a missing file that would stop the start.
  const env = { ...process.env, NODE_OPTIONS: "--max-old-space-size=1000 --require /nonexistent/hook.js" };
  const r = await run(path.join(BIN, "tshup-linux-x64"), ["--version"], { env, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `tshup-linux-x64 --version with NODE_OPTIONS set exited ${r.code}: ${r.stderr}`);
  assert.equal(r.stderr, "", "NODE_OPTIONS reached the single executable");
  assertVersionLine(r.stdout, "tshup-linux-x64");
});

test("tshup-linux-arm64 --version runs under qemu", async () => {
  const qemu = requireTool("qemu-aarch64-static", "qemu-user-static");
  if (!fs.existsSync(path.join(ARM64_SYSROOT, "lib", "ld-linux-aarch64.so.1"))) {
    throw new Error(
      `${ARM64_SYSROOT} has no arm64 C library; install it with: apt-get install -y libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross`,
    );
  }
  const env = { ...process.env, TSHUP_DEBUG_CODE_CACHE: "1" };
  const r = await run(qemu, ["-L", ARM64_SYSROOT, path.join(BIN, "tshup-linux-arm64"), "--version"], { env, timeoutMs: 180_000 });
  assert.equal(r.code, 0, `tshup-linux-arm64 --version under qemu exited ${r.code}: ${r.stderr}`);
  assert.equal(r.stderr, "code cache accepted\n", "tshup-linux-arm64's code cache was rejected or it printed warnings (was the cache made by another platform?)");
  assertVersionLine(r.stdout, "tshup-linux-arm64");
});

test("tshup-win-x64.exe --version runs under wine", { timeout: 600_000 }, async () => {
  const wine = requireTool("wine", "wine");
  const prefix = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-wine-"));
  const env = {
    ...process.env,
    WINEPREFIX: prefix,
    WINEDEBUG: "-all",
    // No Mono or Gecko install prompts in a fresh prefix, and no window.
    WINEDLLOVERRIDES: "mscoree,mshtml=",
    DISPLAY: "",
    // Wine reports Windows 7, which Node 22 refuses without this.
    NODE_SKIP_PLATFORM_CHECK: "1",
  };
  const out = path.join(prefix, "out.txt");
  const err = path.join(prefix, "err.txt");
  try {
    // Node under wine cannot write to Unix pipes: its output goes to files.
    const r = await run(
      "sh",
      ["-c", 'exec "$0" "$1" --version >"$2" 2>"$3"', wine, path.join(BIN, "tshup-win-x64.exe"), out, err],
      { env, timeoutMs: 480_000 },
    );
    const stdout = await fsp.readFile(out, "utf8").catch(() => "");
    const stderr = await fsp.readFile(err, "utf8").catch(() => "");
    assert.equal(r.code, 0, `wine tshup-win-x64.exe --version exited ${r.code}: ${stderr}${r.stderr}`);
    assertVersionLine(stdout.replace(/\r\n/g, "\n"), "tshup-win-x64.exe");
  } finally {
    await run("wineserver", ["-k"], { env, timeoutMs: 60_000 }).catch(() => undefined);
    await fsp.rm(prefix, { recursive: true, force: true });
  }
});

test("building linux-x64 again from the same tree gives identical bytes", { timeout: 900_000 }, async () => {
  const out = path.join(tmp, "rebuild");
  const r = await run(process.execPath, [path.join(ROOT, "scripts", "dist.mjs"), "--targets", "linux-x64", "--out-dir", out], {
    timeoutMs: 840_000,
  });
  assert.equal(r.code, 0, `dist.mjs --targets linux-x64 failed: ${r.stderr}${r.stdout.slice(-2000)}`);
  const again = await fsp.readFile(path.join(out, "tshup-linux-x64"));
  const first = await fsp.readFile(path.join(BIN, "tshup-linux-x64"));
  assert.ok(
    again.equals(first),
    "the rebuilt tshup-linux-x64 differs from dist/bin/tshup-linux-x64 (if sources changed since npm run dist, rerun it)",
  );
  const sums = await fsp.readFile(path.join(out, "SHA256SUMS"), "utf8");
  assert.equal(sums, `${createHash("sha256").update(again).digest("hex")}  tshup-linux-x64\n`);
});
