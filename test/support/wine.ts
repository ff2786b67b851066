// Running Windows programs for the tests: one throw-away wine prefix per test file, the Windows
// stand-in tsh compiled with mingw, and tshup's own Windows executable. Node under wine cannot
// write to Unix pipes, so every Windows program's output goes to files that are read afterwards.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { decodeRegFile, parseRegExport } from "../../src/core/winpath.js";
import { ROOT } from "./cli.js";
import { requireTool } from "./tools.js";

export interface WineResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface WineRunOptions {
  /** Added to the prefix's environment (Unix variables reach the Windows program as they are). */
  env?: Record<string, string>;
  /** A Unix directory to start in. */
  cwd?: string;
  timeoutMs?: number;
}

export interface WinePrefix {
  prefix: string;
  /** Environment every wine call runs with. */
  env: Record<string, string>;
  /** `C:\users\<name>`: the Windows profile directory wine made. */
  profile: string;
  /** Unix path of a `C:\...` path inside the prefix. */
  unixPath(windowsPath: string): string;
  /** Runs `wine ARGS...` to completion, output through files. */
  run(args: string[], opts?: WineRunOptions): Promise<WineResult>;
  /** Starts `wine ARGS...` and returns at once; `done` settles when it exits. */
  start(args: string[], opts?: WineRunOptions): { child: ChildProcess; done: Promise<WineResult> };
  close(): Promise<void>;
}

/** `Z:\tmp\x\y` for `/tmp/x/y`: how a Windows program under wine names a Unix file. */
export function zPath(unixPath: string): string {
  return `Z:${path.resolve(unixPath).replace(/\//g, "\\")}`;
}

let counter = 0;

/**
 * A fresh prefix in a temp dir, booted once (`wineboot -i`, 10-60 s the first time). Mono and
 * Gecko are turned off: nothing here needs them and their installers would ask.
 */
export async function createWinePrefix(): Promise<WinePrefix> {
  const wine = requireTool("wine", "wine wine64");
  requireTool("wineboot", "wine wine64");
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-wine-"));
  const prefix = path.join(dir, "prefix");
  const outDir = path.join(dir, "out");
  await fsp.mkdir(outDir);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? dir,
    LANG: "C.UTF-8",
    WINEPREFIX: prefix,
    WINEDEBUG: "-all",
    WINEDLLOVERRIDES: "mscoree,mshtml=",
    // Wine reports Windows 7, which Node 22 refuses to start on without this.
    NODE_SKIP_PLATFORM_CHECK: "1",
  };
  if (process.env.DISPLAY === undefined) env.DISPLAY = "";

  const start = (args: string[], opts: WineRunOptions = {}) => {
    const n = ++counter;
    const out = path.join(outDir, `${n}.out`);
    const err = path.join(outDir, `${n}.err`);
    const child = spawn("sh", ["-c", 'out="$1"; err="$2"; shift 2; exec "$@" >"$out" 2>"$err" </dev/null', "sh", out, err, wine, ...args], {
      env: { ...env, ...opts.env },
      cwd: opts.cwd,
      stdio: "ignore",
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 180_000);
    const done = new Promise<WineResult>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", async (code) => {
        clearTimeout(timer);
        const read = (f: string) => fsp.readFile(f, "utf8").catch(() => "");
        resolve({ code, stdout: await read(out), stderr: await read(err) });
      });
    });
    return { child, done };
  };

  // Asynchronous, so that whatever else the test prepares meanwhile (compiling, serving) goes on.
  // Its output goes to a file: the wineserver it starts would hold a pipe open long after.
  const bootLog = path.join(outDir, "wineboot.err");
  const bootCode = await new Promise<number | null>((resolve, reject) => {
    const fd = fs.openSync(bootLog, "w");
    const child = spawn("wineboot", ["-i"], { env, stdio: ["ignore", "ignore", fd], timeout: 300_000 });
    fs.closeSync(fd);
    child.on("error", reject);
    child.on("exit", (code) => resolve(code));
  });
  if (bootCode !== 0) throw new Error(`wineboot -i failed (${bootCode}): ${await fsp.readFile(bootLog, "utf8").catch(() => "")}`);
  // wineboot returns before the registry is flushed; a no-op program makes sure the prefix is ready.
  const ready = await start(["cmd", "/c", "exit 0"]).done;
  if (ready.code !== 0) throw new Error(`wine cmd /c exit 0 failed: ${ready.stderr}`);
  const user = fs.readdirSync(path.join(prefix, "drive_c", "users")).find((u) => u !== "Public");
  if (!user) throw new Error(`no user profile in ${prefix}/drive_c/users`);

  return {
    prefix,
    env,
    profile: `C:\\users\\${user}`,
    unixPath: (w) => path.join(prefix, "drive_c", ...w.replace(/^[A-Za-z]:\\/, "").split("\\")),
    run: (args, opts) => start(args, opts).done,
    start,
    async close() {
      spawnSync("wineserver", ["-k"], { env });
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The Windows stand-in tsh (test/fixtures/windows/tsh-standin.c) built for `version`: it prints
 * Teleport's `tsh version` line and can be kept running with TSH_STANDIN_SLEEP.
 */
export async function compileStandinTsh(version: string, outDir: string): Promise<Buffer> {
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`bad version ${version}`);
  const gcc = requireTool("x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64");
  const out = path.join(outDir, `tsh-${version}.exe`);
  const r = spawnSync(gcc, ["-O2", "-s", `-DTSH_VERSION="${version}"`, "-o", out, path.join(ROOT, "test", "fixtures", "windows", "tsh-standin.c")], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`compiling the Windows stand-in tsh failed: ${r.stderr}`);
  return fsp.readFile(out);
}

/**
 * How the Windows tests run tshup, as Windows paths: dist/bin/tshup-win-x64.exe (made by
 * `npm run dist`). With TSHUP_TEST_BINARIES=0 (the quick local loop without a dist build) it is
 * the Windows Node that dist caches running dist/tshup.cjs: the same code without the SEA wrapper.
 * TSHUP_TEST_WINDOWS_CLI, space-separated Unix paths, names any other command.
 */
export function tshupWindowsCommand(): { name: string; argv: string[] } {
  const override = process.env.TSHUP_TEST_WINDOWS_CLI;
  if (override) return { name: override, argv: override.split(" ").filter(Boolean).map(zPath) };
  if (process.env.TSHUP_TEST_BINARIES === "0") {
    const script = path.join(ROOT, "dist", "tshup.cjs");
    if (!fs.existsSync(script)) throw new Error(`${script} is missing: run npm run build`);
    const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "dist.mjs"), "--print-node", "win-x64"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`node scripts/dist.mjs --print-node win-x64 failed: ${r.stderr}`);
    return { name: "node.exe tshup.cjs", argv: [zPath(r.stdout.trim()), zPath(script)] };
  }
  const exe = path.join(ROOT, "dist", "bin", "tshup-win-x64.exe");
  if (!fs.existsSync(exe)) throw new Error(`${exe} is missing: run npm run dist (npm test does it), or set TSHUP_TEST_BINARIES=0`);
  return { name: "tshup-win-x64.exe", argv: [zPath(exe)] };
}

/** Reads a value of HKCU\Environment exactly, through `reg export` (UTF-16: nothing lost). */
export async function readUserEnv(w: WinePrefix, name: string): Promise<{ type: string; value: string } | null> {
  const file = path.join(path.dirname(w.prefix), "out", `export-${++counter}.reg`);
  const r = await w.run(["reg", "export", "HKCU\\Environment", zPath(file), "/y"]);
  if (r.code !== 0) throw new Error(`wine reg export failed (${r.code}): ${r.stderr}`);
  return parseRegExport(decodeRegFile(await fsp.readFile(file)), name);
}
