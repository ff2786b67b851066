/**
 * A real Teleport cluster on loopback for the tests: the `teleport`, `tctl` and `tsh` built from
 * Teleport's Go module by `npm run teleport:build` (test/teleport/), one process running the auth,
 * proxy and SSH node services with its own data directory. The proxy's web certificate comes from
 * the tests' CA, and its public address is `localhost:<port>` while the tests type
 * `127.0.0.1:<port>`, as a user who types an alias or an IP would.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { issueServerCert, makeTestCA } from "./ca.js";
import { freePort } from "./standin.js";

/** The release test/teleport/go.mod pins; `tsh version` of the built binaries reports it. */
export const TELEPORT_VERSION = "13.3.8";
export const TELEPORT_BIN = path.join(process.env.TSHUP_TELEPORT_CACHE ?? path.join(os.homedir(), ".cache", "tshup", "teleport"), TELEPORT_VERSION, "bin");
export const CLUSTER_NAME = "tshup-test";
export const NODE_NAME = "tshup-node";

export function teleportBinary(name: "teleport" | "tctl" | "tsh"): string {
  const p = path.join(TELEPORT_BIN, name);
  if (!fs.existsSync(p)) throw new Error(`${p} is missing: run npm run teleport:build (npm test runs it; the first build takes about 10 minutes)`);
  return p;
}

export interface RealCluster {
  /** What the tests type: `127.0.0.1:PORT`. */
  typedAddr: string;
  /** What the proxy advertises: `localhost:PORT`. */
  publicAddr: string;
  webPort: number;
  sshProxyPort: number;
  dir: string;
  /** The CA that signed the proxy's web certificate (SSL_CERT_FILE for tsh, --ca-file for tshup). */
  caFile: string;
  tctl(args: string[]): string;
  /** Creates a local user with a password and the given logins (second factor is off on this cluster). */
  addUser(name: string, password: string, logins: string[]): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

export async function startRealCluster(): Promise<RealCluster> {
  const teleport = teleportBinary("teleport");
  const tctlBin = teleportBinary("tctl");
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-teleport-"));
  const ca = await makeTestCA(path.join(dir, "ca"));
  const cert = issueServerCert(ca, ["localhost"], ["127.0.0.1"]);
  await fsp.writeFile(path.join(dir, "web.crt"), cert.certPem + ca.certPem);
  await fsp.writeFile(path.join(dir, "web.key"), cert.keyPem, { mode: 0o600 });
  const [webPort, authPort, sshProxyPort] = [await freePort(), await freePort(), await freePort()];
  // Teleport's node port: tsh config's ProxyCommand asks the proxy for host:3022, and the proxy
  // finds a node by its name and that port.
  const nodePort = 3022;
  if (!(await portIsFree(nodePort))) throw new Error("127.0.0.1:3022 is taken; the real-cluster tests run a Teleport node there");
  const config = path.join(dir, "teleport.yaml");
  await fsp.writeFile(
    config,
    [
      "version: v3",
      "teleport:",
      `  nodename: ${NODE_NAME}`,
      `  data_dir: ${path.join(dir, "data")}`,
      "  log: {output: stderr, severity: INFO}",
      "auth_service:",
      "  enabled: true",
      `  cluster_name: ${CLUSTER_NAME}`,
      `  listen_addr: 127.0.0.1:${authPort}`,
      "  proxy_listener_mode: multiplex",
      "  authentication: {type: local, second_factor: \"off\"}",
      "ssh_service:",
      "  enabled: true",
      `  listen_addr: 127.0.0.1:${nodePort}`,
      "proxy_service:",
      "  enabled: true",
      `  web_listen_addr: 127.0.0.1:${webPort}`,
      `  public_addr: localhost:${webPort}`,
      `  listen_addr: 127.0.0.1:${sshProxyPort}`,
      `  ssh_public_addr: localhost:${sshProxyPort}`,
      "  https_keypairs:",
      `    - {key_file: ${path.join(dir, "web.key")}, cert_file: ${path.join(dir, "web.crt")}}`,
      "app_service: {enabled: false}",
      "db_service: {enabled: false}",
      "",
    ].join("\n"),
  );
  const logFile = path.join(dir, "teleport.log");
  const out = fs.openSync(logFile, "a");
  const child: ChildProcess = spawn(teleport, ["start", `--config=${config}`], { stdio: ["ignore", out, out], env: { ...process.env, SSL_CERT_FILE: ca.caFile } });
  fs.closeSync(out);
  let exited = false;
  child.on("exit", () => (exited = true));
  const log = () => fs.readFileSync(logFile, "utf8");

  const cluster: RealCluster = {
    typedAddr: `127.0.0.1:${webPort}`,
    publicAddr: `localhost:${webPort}`,
    webPort,
    sshProxyPort,
    dir,
    caFile: ca.caFile,
    tctl(args) {
      const r = spawnSync(tctlBin, [`--config=${config}`, ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, SSL_CERT_FILE: ca.caFile } });
      if (r.status !== 0) throw new Error(`tctl ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
      return r.stdout;
    },
    async addUser(name, password, logins) {
      const invite = cluster.tctl(["users", "add", name, "--roles=access,editor", `--logins=${logins.join(",")}`]);
      const token = /invite\/([0-9a-f]+)/.exec(invite)?.[1];
      if (!token) throw new Error(`no invite token in tctl's answer: ${invite}`);
      // What the web UI's invite page sends (lib/web/apiserver.go); its CSRF check wants the same
      // random value as header and cookie (lib/httplib/csrf).
      const csrf = randomBytes(32).toString("hex");
      const body = JSON.stringify({ token, password: Buffer.from(password).toString("base64") });
      await new Promise<void>((resolve, reject) => {
        const req = https.request(
          { host: "127.0.0.1", port: webPort, path: "/v1/webapi/users/password/token", method: "PUT", ca: ca.certPem, servername: "localhost", headers: { "content-type": "application/json", "x-csrf-token": csrf, cookie: `__Host-grv_csrf=${csrf}` } },
          (res) => {
            let text = "";
            res.on("data", (d) => (text += d));
            res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`setting ${name}'s password: HTTP ${res.statusCode} ${text}`))));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    },
    log,
    async stop() {
      if (!exited) {
        child.kill("SIGTERM");
        for (let i = 0; i < 50 && !exited; i++) await sleep(100);
        if (!exited) child.kill("SIGKILL");
      }
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };

  // Ready when the proxy answers and the node has registered with the auth service.
  const deadline = Date.now() + 90_000;
  let lastTry = "";
  for (;;) {
    if (exited) throw new Error(`teleport start exited early:\n${log().slice(-3000)}`);
    if (Date.now() > deadline) {
      const tail = log().slice(-3000);
      await cluster.stop();
      throw new Error(`teleport did not come up in 90 s (${lastTry}):\n${tail}`);
    }
    try {
      const nodes = cluster.tctl(["nodes", "ls", "--format=json"]);
      if (nodes.includes(NODE_NAME)) break;
      lastTry = `tctl nodes ls: ${nodes.slice(0, 300)}`;
    } catch (err) {
      lastTry = String(err).slice(0, 500);
    }
    await sleep(500);
  }
  return cluster;
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

/**
 * Runs tsh with a terminal (tsh reads passwords only from one), typing `input` at it: `script`
 * from util-linux gives it a pty.
 */
export function tshWithTerminal(tsh: string, args: string[], input: string, env: Record<string, string>): { status: number | null; output: string } {
  const quoted = [tsh, ...args].map((a) => `'${a.replace(/'/g, `'"'"'`)}'`).join(" ");
  const r = spawnSync("script", ["-qec", quoted, "/dev/null"], { input, encoding: "utf8", env, timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
