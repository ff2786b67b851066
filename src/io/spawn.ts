import { execFile, spawn } from "node:child_process";
import type { Host } from "../host.js";
import { parseTshVersionOutput } from "../core/version.js";
import { verificationError } from "../core/errors.js";
import { clusterNameProblem } from "../core/sshconfig.js";
import { parseSelfVersion, type SelfVersion } from "../core/self.js";
import { printable } from "../core/format.js";

/** A first start can be slow (a cold disk, a virus scanner reading 100 MB), but not this slow. */
const TSH_VERSION_WAIT_MS = 120_000;

/**
 * Runs a freshly installed tsh once, as tsh's own updater does, and checks it is the version we
 * meant: a binary that cannot start here (wrong arch, missing libraries) is caught before it is
 * made the active one. TELEPORT_TOOLS_VERSION=off stops it re-launching a managed copy of itself.
 */
export async function checkTshVersion(host: Host, binary: string, expected: string, artifact: string): Promise<void> {
  const env = { ...host.env, TELEPORT_TOOLS_VERSION: "off" } as NodeJS.ProcessEnv;
  const hint = "the previous tsh stays active; check that the artifact matches this machine (platform, architecture, edition)";
  const doesNotRun = (why: string) => verificationError(`the tsh from ${artifact} does not run here: ${why.trim().split("\n")[0]}`, hint);
  let run: BoundedRun;
  try {
    run = await runBounded(host, binary, ["version"], { waitMs: TSH_VERSION_WAIT_MS, maxBytes: 64 * 1024, env });
  } catch (err) {
    throw doesNotRun((err as Error).message);
  }
  if (run.outcome === "timeout") throw doesNotRun(`tsh version gave no answer within ${TSH_VERSION_WAIT_MS / 1000} s; it was stopped, with every process it started`);
  if (run.outcome === "too-much") throw doesNotRun("tsh version printed more than 64 KiB; it was stopped");
  if (run.code !== 0) throw doesNotRun(run.stderr.trim() || (run.signal ? `killed by ${run.signal}` : `exit code ${run.code}`));
  const output = `${run.stdout}\n${run.stderr}`;
  const got = parseTshVersionOutput(output);
  if (got !== expected) {
    throw verificationError(
      `the tsh from ${artifact} reports ${got ? `version ${got}` : `"${output.trim().split("\n")[0]}"`}, expected ${expected}`,
      "the artifact does not hold the version its name says; the previous tsh stays active. Report it to whoever runs the CDN or mirror",
    );
  }
}

/**
 * The leaf clusters a logged-in user reaches through a root cluster, as tsh itself lists them
 * (`tsh clusters --format=json`). Nothing when the user is not logged in or tsh cannot say: the
 * next run, after `tsh login`, adds them.
 */
export async function listLeafClusters(host: Host, tsh: string, proxy: string, teleportHome: string): Promise<string[]> {
  const env = { ...host.env, TELEPORT_HOME: teleportHome, TELEPORT_TOOLS_VERSION: "off" } as NodeJS.ProcessEnv;
  const stdout = await new Promise<string | null>((resolve) => {
    execFile(tsh, ["clusters", `--proxy=${proxy}`, "--format=json"], { env, timeout: 20_000, windowsHide: true, maxBuffer: 4 * 1024 * 1024 }, (err, out) => resolve(err ? null : out));
  });
  if (stdout === null) return [];
  return parseLeafClusters(stdout);
}

/** `tsh clusters --format=json`: [{"cluster_name": "leaf", "cluster_type": "leaf", ...}, ...]. */
export function parseLeafClusters(json: string): string[] {
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(list)) return [];
  const names = list
    .filter((c): c is { cluster_name: string; cluster_type?: string } => typeof c === "object" && c !== null && typeof (c as { cluster_name?: unknown }).cluster_name === "string")
    .filter((c) => c.cluster_type === "leaf")
    .map((c) => c.cluster_name)
    .filter((n) => n.length <= 253 && clusterNameProblem(n) === null);
  return [...new Set(names)].sort();
}

/**
 * Runs a tshup executable with `--version` alone (nothing else: whichever build it is, that does
 * only print) and reads its version line. `hint` says what to do when it does not run or is not
 * tshup, which depends on where the file came from. An answer must come within `waitMs`.
 */
export async function readSelfVersion(host: Host, file: string, hint: string, waitMs: number): Promise<SelfVersion> {
  let run: BoundedRun;
  try {
    run = await runBounded(host, file, ["--version"], { waitMs, maxBytes: 64 * 1024 });
  } catch (err) {
    throw verificationError(`${file} does not run here: ${printable((err as Error).message, 200)}`, hint);
  }
  const seconds = Math.round(waitMs / 1000);
  if (run.outcome === "timeout") {
    throw verificationError(
      `${file} gave no answer to --version within ${seconds} s; it was stopped, with every process it started`,
      `${hint}. If this machine is only slow or busy, run again with a longer --timeout (the check waits twice that; now ${seconds} s)`,
    );
  }
  if (run.outcome === "too-much") throw verificationError(`${file} printed more than 64 KiB for --version; it was stopped`, hint);
  if (run.code !== 0) {
    const why = printable(run.stderr, 200) || (run.signal ? `killed by ${run.signal}` : `exit code ${run.code}`);
    throw verificationError(`${file} does not run here: ${why}`, hint);
  }
  const v = parseSelfVersion(run.stdout);
  if (!v) throw verificationError(`${file} printed ${JSON.stringify(printable(run.stdout, 80))} for --version, not tshup's "tshup <version> (<commit>)"`, hint);
  return v;
}

export type BoundedRun =
  | { outcome: "exited"; code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }
  | { outcome: "timeout" }
  | { outcome: "too-much" };

/**
 * Runs a program that must finish soon. Past `waitMs`, or past `maxBytes` of output, it is killed
 * together with whatever it started: on POSIX it leads a process group of its own, which goes with
 * SIGKILL; on Windows taskkill /T takes the tree. Killing only the direct child would leave a
 * grandchild holding the output pipes, and the run would wait on them.
 */
export function runBounded(host: Host, file: string, args: string[], opts: { waitMs: number; maxBytes: number; env?: NodeJS.ProcessEnv }): Promise<BoundedRun> {
  const windows = host.platform === "win32";
  return new Promise<BoundedRun>((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env ?? (host.env as NodeJS.ProcessEnv), stdio: ["ignore", "pipe", "pipe"], detached: !windows, windowsHide: true });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const finish = (result: BoundedRun | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const stop = (why: "timeout" | "too-much") => {
      killTree(child.pid, windows);
      // A process that escaped the group may still hold the pipes: they are not waited for.
      child.stdout.destroy();
      child.stderr.destroy();
      finish({ outcome: why });
    };
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > opts.maxBytes) return stop("too-much");
      into.push(chunk);
    };
    child.stdout.on("data", collect(out));
    child.stderr.on("data", collect(err));
    const timer = setTimeout(() => stop("timeout"), opts.waitMs);
    child.on("error", finish);
    child.on("close", (code, signal) => {
      finish({ outcome: "exited", code, signal, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
}

function killTree(pid: number | undefined, windows: boolean): void {
  if (pid === undefined) return;
  if (windows) {
    execFile("taskkill", ["/PID", String(pid), "/T", "/F"], { windowsHide: true }, () => {});
    return;
  }
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // The group is gone already.
  }
}
