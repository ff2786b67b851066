/**
 * A real OpenSSH round trip through a seeded config: two unprivileged-style sshd on loopback, one as
 * the jump host (standing in for the Teleport proxy's SSH port) and one as a target host, both
 * trusting a user CA. The user's key and certificate sit where tsh keeps them; the only thing that
 * tells ssh to use them, and to jump, is what seedSshConfig wrote.
 */
import { after, before, test } from "node:test";
import { testHost } from "./support/host.js";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { Host } from "../src/host.js";
import { seedSshConfig, sshPaths } from "../src/io/sshconfig.js";
import { requireTool } from "./support/tools.js";

const PROXY_HOST = "127.0.0.1";
const CLUSTER = "roundtrip";
const TELEPORT_USER = "jane@example.org";

let tmp = "";
let home = "";
let teleportHome = "";
let principal = "";
let jumpPort = 0;
let targetPort = 0;
const daemons: { name: string; child: ChildProcess; log: () => string }[] = [];

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function sshdBinary(): string {
  // sshd re-executes itself and so must be started by its absolute path; /usr/sbin is often not on
  // an ordinary user's PATH.
  if (fs.existsSync("/usr/sbin/sshd")) return "/usr/sbin/sshd";
  return requireTool("sshd", "openssh-server");
}

/**
 * sshd run as root insists on its privilege separation directory (/run/sshd on Debian), which
 * systemd creates at boot and a container may lack. `sshd -t` names it; create it, as the
 * openssh-server service itself would.
 */
function preflight(sshd: string, config: string): void {
  const r = spawnSync(sshd, ["-t", "-f", config], { encoding: "utf8" });
  if (r.status === 0) return;
  const missing = /Missing privilege separation directory: (\S+)/.exec(r.stderr);
  if (missing && process.getuid?.() === 0) {
    fs.mkdirSync(missing[1]!, { recursive: true, mode: 0o755 });
    const again = spawnSync(sshd, ["-t", "-f", config], { encoding: "utf8" });
    if (again.status === 0) return;
    throw new Error(`sshd -t -f ${config}: ${again.stderr}`);
  }
  throw new Error(`sshd -t -f ${config}: ${r.stderr}`);
}

async function startSshd(name: string, port: number, caPub: string): Promise<string> {
  const sshd = sshdBinary();
  const dir = path.join(tmp, name);
  await fsp.mkdir(dir, { recursive: true });
  const hostKey = path.join(dir, "host_ed25519");
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${name}-host`, "-f", hostKey]);
  const config = path.join(dir, "sshd_config");
  await fsp.writeFile(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `TrustedUserCAKeys ${caPub}`,
      // With no principals file, a certificate must name the login itself.
      "AuthorizedPrincipalsFile none",
      "AuthorizedKeysFile none",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      // The tests run as root here; certificates are public-key logins, which this allows.
      "PermitRootLogin prohibit-password",
      "AllowTcpForwarding yes",
      "LogLevel VERBOSE",
      "",
    ].join("\n"),
  );
  preflight(sshd, config);
  const child = spawn(sshd, ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.setEncoding("utf8");
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: string) => {
      log += chunk;
      if (log.includes("Server listening on 127.0.0.1 port")) resolve();
    };
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`sshd ${name} exited (${code}) before listening: ${log}`)));
    child.once("error", reject);
  });
  daemons.push({ name, child, log: () => log });
  return (await fsp.readFile(`${hostKey}.pub`, "utf8")).trim().split(/\s+/).slice(0, 2).join(" ");
}

function fakeHost(): Host {
  return testHost(home);
}

/** Runs ssh without blocking the event loop, which must keep draining the sshd logs meanwhile. */
function ssh(configFile: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string | undefined> = { ...process.env, HOME: home };
  // Keys from a running agent must not be what gets the test in.
  delete env.SSH_AUTH_SOCK;
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", ["-F", configFile, "-o", "BatchMode=yes", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/** Waits until an sshd has logged what the test looks for (its log arrives through a pipe). */
async function logged(name: string, pattern: RegExp): Promise<void> {
  const d = daemons.find((x) => x.name === name)!;
  for (let i = 0; i < 200 && !pattern.test(d.log()); i++) await new Promise((r) => setTimeout(r, 50));
  assert.match(d.log(), pattern, `sshd ${name}`);
}

before(async () => {
  requireTool("ssh", "openssh-client");
  requireTool("ssh-keygen", "openssh-client");
  sshdBinary();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-ssh-rt-"));
  home = path.join(tmp, "home");
  // A space in TELEPORT_HOME: the seeded paths must be quoted to work.
  teleportHome = path.join(tmp, "tsh home");
  principal = os.userInfo().username;

  const ca = path.join(tmp, "user_ca");
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "tshup-test-user-ca", "-f", ca]);
  jumpPort = await freePort();
  targetPort = await freePort();
  const jumpHostKey = await startSshd("jump", jumpPort, `${ca}.pub`);
  const targetHostKey = await startSshd("target", targetPort, `${ca}.pub`);

  // The user's key and certificate, laid out as tsh keeps them.
  const keyDir = path.join(teleportHome, "keys", PROXY_HOST);
  await fsp.mkdir(path.join(keyDir, `${TELEPORT_USER}-ssh`), { recursive: true, mode: 0o700 });
  const key = path.join(keyDir, TELEPORT_USER);
  run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", TELEPORT_USER, "-f", key]);
  run("ssh-keygen", ["-q", "-s", ca, "-I", TELEPORT_USER, "-n", principal, "-V", "-5m:+1h", `${key}.pub`]);
  await fsp.rename(`${key}-cert.pub`, path.join(keyDir, `${TELEPORT_USER}-ssh`, `${CLUSTER}-cert.pub`));

  // The user's own config before tshup: an alias for the target, and known hosts kept in the temp
  // dir. Jump connections do not take -o options from the command line, hence the config.
  const knownHosts = path.join(tmp, "known_hosts");
  await fsp.writeFile(knownHosts, `[127.0.0.1]:${jumpPort} ${jumpHostKey}\n[127.0.0.1]:${targetPort} ${targetHostKey}\n`);
  await fsp.mkdir(path.join(home, ".ssh"), { recursive: true, mode: 0o700 });
  await fsp.writeFile(
    path.join(home, ".ssh", "config"),
    [
      "# my own settings",
      "Host target-1",
      "    HostName 127.0.0.1",
      `    Port ${targetPort}`,
      "",
      "Host *",
      `    UserKnownHostsFile ${knownHosts}`,
      "    GlobalKnownHostsFile /dev/null",
      "    StrictHostKeyChecking yes",
      "    BatchMode yes",
      "    IdentitiesOnly yes",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
});

after(async () => {
  for (const d of daemons) {
    if (d.child.exitCode === null && d.child.signalCode === null) {
      const exited = new Promise((resolve) => d.child.once("exit", resolve));
      d.child.kill("SIGTERM");
      await exited;
    }
  }
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

test("without tshup's config the target refuses us (the test needs the seeded settings)", async () => {
  const r = await ssh(path.join(home, ".ssh", "config"), ["target-1", "true"]);
  assert.notEqual(r.status, 0, r.stderr);
});

test("ssh through the seeded proxyjump config reaches the target via the jump host with the certificate", async () => {
  const result = await seedSshConfig(
    fakeHost(),
    [
      {
        proxyHost: PROXY_HOST,
        proxyPort: 443,
        cluster: CLUSTER,
        teleportUser: TELEPORT_USER,
        login: principal,
        style: "proxyjump",
        hosts: ["target-*"],
        jump: `127.0.0.1:${jumpPort}`,
        // The seed site's options, to show they do not get in the way.
        options: {
          HostKeyAlgorithms: "+ssh-rsa*,rsa-sha2-512",
          PubkeyAcceptedKeyTypes: "+ssh-rsa*",
          ServerAliveInterval: 60,
          TCPKeepAlive: "yes",
        },
        tshPath: path.join(tmp, "bin", "tsh"),
        teleportHome,
        homeDir: home,
        windows: false,
      },
    ],
    { dryRun: false, force: false },
  );
  assert.equal(result.changed, true);
  assert.deepEqual(result.warnings, []);

  const config = sshPaths(fakeHost()).config;
  const r = await ssh(config, ["target-1", "echo", "tshup-roundtrip-ok"]);
  assert.equal(r.status, 0, `ssh failed: ${r.stderr}`);
  assert.equal(r.stdout.trim(), "tshup-roundtrip-ok");

  const t = await ssh(config, ["target-1", "true"]);
  assert.equal(t.status, 0, t.stderr);

  // Both hops logged in with the certificate the CA signed for the principal.
  const certLogin = new RegExp(`Accepted publickey for ${principal} from 127\\.0\\.0\\.1 port \\d+ ssh2: ED25519-CERT .*ID ${TELEPORT_USER.replace(/\./g, "\\.")}`);
  await logged("jump", certLogin);
  await logged("target", certLogin);
});
