// `npm run demo`: the whole job on this machine with no Teleport cluster. Starts the project's
// stand-in proxy and CDN on loopback and runs the built tshup into a throw-away home, with the
// terminal attached so you see exactly what a user sees (spinner and progress bar on a TTY).
import { spawn } from "node:child_process";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startStandin } from "../test/support/standin.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const cli = path.join(root, "dist", "tshup.cjs");

const standin = await startStandin();
const home = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-demo-"));
try {
  const proxy = await standin.addProxy({ cluster: "demo.example.com", serverVersion: "17.5.1", tlsRouting: true });
  // Big enough for the progress bar to be seen, served at a pace a real download might have.
  const art = await standin.addArtifact({ version: "17.5.1", os: "linux", arch: process.arch === "arm64" ? "arm64" : "amd64", edition: "community", padding: 48 * 1024 * 1024, gzipLevel: 1 });
  standin.setFault(art.name, { kind: "slow", bytesPerSecond: 40 * 1024 * 1024 });

  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, SHELL: "/bin/bash", ...standin.env };
  delete env.TSHUP_HOME;
  delete env.XDG_DATA_HOME;
  // The stand-in lives in this process, so children run asynchronously to keep it answering.
  const exec = (cmd: string, args: string[], childEnv: NodeJS.ProcessEnv) =>
    new Promise<number | null>((resolve) => spawn(cmd, args, { stdio: "inherit", env: childEnv }).on("close", resolve));
  const run = async (title: string, args: string[]) => {
    process.stdout.write(`\n\x1b[1m$ tshup ${args.join(" ")}\x1b[0m   # ${title}\n`);
    process.stdout.write(`(exit ${await exec(process.execPath, [cli, ...args], env)})\n`);
  };
  process.stdout.write(`Stand-in Teleport proxy at ${proxy.addr} (cluster demo.example.com, Teleport 17.5.1)\n`);
  process.stdout.write(`Stand-in CDN at ${standin.cdnUrl}; throw-away HOME ${home}\n`);
  await run("first run: asks the proxy, downloads, verifies, installs, puts tsh on PATH, seeds ssh config", ["--proxy", proxy.addr, "--user", "alice", "--yes"]);
  await run("second run: nothing to do", ["--proxy", proxy.addr, "--user", "alice", "--yes"]);
  await run("what is installed", ["list"]);
  await run("status for scripts (exit 0: up to date, 3: something to do)", ["status", "--proxy", proxy.addr]);
  process.stdout.write("\nA new login shell now finds tsh:\n");
  await exec("bash", ["-l", "-c", "command -v tsh && tsh version"], { ...env, PATH: "/usr/local/bin:/usr/bin:/bin" });
} finally {
  await standin.close();
  await fsp.rm(home, { recursive: true, force: true });
}
