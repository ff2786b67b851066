import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** How a test runs tshup: the bundled script under this Node, or a single executable. */
export interface CliVariant {
  name: string;
  command: string[];
}

/**
 * The built CLI under test. The end-to-end suites run against `dist/tshup.cjs` and, once
 * `npm run dist` has made it, the linux-x64 single executable too (TSHUP_TEST_BINARIES=0 limits a
 * quick local loop to the script).
 */
export function cliVariants(): CliVariant[] {
  const script = path.join(ROOT, "dist", "tshup.cjs");
  if (!fs.existsSync(script)) throw new Error(`${script} is missing: run npm run build (npm test does it)`);
  const variants: CliVariant[] = [{ name: "tshup.cjs", command: [process.execPath, script] }];
  const binary = path.join(ROOT, "dist", "bin", "tshup-linux-x64");
  if (process.env.TSHUP_TEST_BINARIES !== "0" && process.platform === "linux" && process.arch === "x64") {
    if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: run npm run dist (npm test does it), or set TSHUP_TEST_BINARIES=0`);
    variants.push({ name: "tshup-linux-x64", command: [binary] });
  }
  return variants;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The --json document, when stdout held one. */
  json: any;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  /** Called with the child once it started (kill -9 tests). */
  onSpawn?: (child: import("node:child_process").ChildProcess) => void;
}

export function runCli(variant: CliVariant, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...pre] = variant.command;
    const env = Object.fromEntries(Object.entries(opts.env ?? {}).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const child = spawn(cmd!, [...pre, ...args], { env, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    opts.onSpawn?.(child);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      let json: any = undefined;
      try {
        json = JSON.parse(stdout);
      } catch {
        // not a JSON run
      }
      resolve({ code, signal, stdout, stderr, json });
    });
  });
}

/** A throw-away home with the environment a user's shell would give tshup. */
export async function makeHome(prefix = "tshup-home-"): Promise<{ home: string; env: Record<string, string>; cleanup: () => Promise<void> }> {
  const home = await fsp.mkdtemp(path.join(os.tmpdir(), prefix));
  const env: Record<string, string> = {
    HOME: home,
    PATH: "/usr/local/bin:/usr/bin:/bin",
    SHELL: "/bin/bash",
    LANG: "C.UTF-8",
  };
  return { home, env, cleanup: () => fsp.rm(home, { recursive: true, force: true }) };
}

/** A file's bytes as a string key; a large one (a test's sparse giant) by its size and hash. */
async function contentKey(p: string): Promise<string> {
  const { size } = await fsp.stat(p);
  if (size <= 8 * 1024 * 1024) return (await fsp.readFile(p)).toString("base64");
  const hash = createHash("sha256");
  for await (const chunk of fs.createReadStream(p)) hash.update(chunk as Buffer);
  return `${size} bytes, sha256 ${hash.digest("hex")}`;
}

/** Every file under a directory with its bytes, to prove a failed run changed nothing. */
/**
 * What any run may change without changing anything of the user's or any installed tsh: tshup's
 * work areas, its lock, and the record of how the last run ended.
 */
export function isRunScratch(p: string): boolean {
  return /[/\\](downloads|\.trash|\.staging)([/\\]|$)/.test(p) || p.endsWith(".lock") || /[/\\]last-run\.json$/.test(p);
}

export async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isSymbolicLink()) out.set(p, `-> ${await fsp.readlink(p)}`);
      else if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.set(p, await contentKey(p));
      // A FIFO or socket planted by a test is recorded, never read (reading would block).
      else out.set(p, e.isFIFO() ? "(fifo)" : "(special file)");
    }
  };
  await walk(dir);
  return out;
}
