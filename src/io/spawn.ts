import { execFile } from "node:child_process";
import type { Host } from "../host.js";
import { parseTshVersionOutput } from "../core/version.js";
import { verificationError } from "../core/errors.js";
import { clusterNameProblem } from "../core/sshconfig.js";
import { parseSelfVersion, type SelfVersion } from "../core/self.js";
import { printable } from "../core/format.js";

/**
 * Runs a freshly installed tsh once, as tsh's own updater does, and checks it is the version we
 * meant: a binary that cannot start here (wrong arch, missing libraries) is caught before it is
 * made the active one. TELEPORT_TOOLS_VERSION=off stops it re-launching a managed copy of itself.
 */
export async function checkTshVersion(host: Host, binary: string, expected: string, artifact: string): Promise<void> {
  const env = { ...host.env, TELEPORT_TOOLS_VERSION: "off" } as NodeJS.ProcessEnv;
  const output = await new Promise<string>((resolve, reject) => {
    execFile(binary, ["version"], { env, timeout: 120_000, windowsHide: true }, (err, stdout, stderr) => {
      if (err) {
        reject(
          verificationError(
            `the tsh from ${artifact} does not run here: ${(stderr || err.message).trim().split("\n")[0]}`,
            "the previous tsh stays active; check that the artifact matches this machine (platform, architecture, edition)",
          ),
        );
      } else resolve(`${stdout}\n${stderr}`);
    });
  });
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
 * tshup, which depends on where the file came from.
 */
export async function readSelfVersion(host: Host, file: string, hint: string): Promise<SelfVersion> {
  const output = await new Promise<string>((resolve, reject) => {
    execFile(file, ["--version"], { env: host.env as NodeJS.ProcessEnv, timeout: 60_000, windowsHide: true, maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(verificationError(`${file} does not run here: ${printable(stderr || err.message, 200)}`, hint));
      else resolve(stdout);
    });
  });
  const v = parseSelfVersion(output);
  if (!v) throw verificationError(`${file} printed ${JSON.stringify(printable(output, 80))} for --version, not tshup's "tshup <version> (<commit>)"`, hint);
  return v;
}
