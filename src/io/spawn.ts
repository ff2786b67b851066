import { execFile } from "node:child_process";
import type { Host } from "../host.js";
import { parseTshVersionOutput } from "../core/version.js";
import { verificationError } from "../core/errors.js";

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
