/**
 * tshup against a real Teleport cluster and the real tsh, both built from Teleport's Go module
 * (test/teleport/go.mod pins the release; `npm run teleport:build` builds it once into a cache).
 * The cluster runs on loopback with its proxy advertising `localhost:PORT` while tshup is given
 * `127.0.0.1:PORT`; the real tsh is packed into a release-shaped archive on the stand-in CDN.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import https from "node:https";
import path from "node:path";
import { startStandin, type Standin } from "./support/standin.js";
import { makeHome, runCli, ROOT, type CliVariant } from "./support/cli.js";
import { tarGz } from "./support/archives.js";
import { requireTool } from "./support/tools.js";
import { CLUSTER_NAME, NODE_NAME, TELEPORT_VERSION, startRealCluster, teleportBinary, tshWithTerminal, type RealCluster } from "./support/teleport.js";
import { parsePing } from "../src/core/ping.js";
import { parseLeafClusters } from "../src/io/spawn.js";

const CLI: CliVariant = { name: "tshup.cjs", command: [process.execPath, path.join(ROOT, "dist", "tshup.cjs")] };
const PASSWORD = "correct-horse-battery-9";
const ARTIFACT = `teleport-v${TELEPORT_VERSION}-linux-amd64-bin.tar.gz`;

function getJson(cluster: RealCluster, endpoint: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: "127.0.0.1", port: cluster.webPort, path: endpoint, ca: fs.readFileSync(cluster.caFile), servername: "localhost" }, (res) => {
        let text = "";
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve(JSON.parse(text)));
      })
      .on("error", reject);
  });
}

describe(`a real Teleport cluster (v${TELEPORT_VERSION}, built from its Go module)`, { concurrency: 1 }, () => {
  let cluster: RealCluster;
  let standin: Standin;
  let home: Awaited<ReturnType<typeof makeHome>>;
  let env: Record<string, string>;
  let root: string;
  const ssh = () => requireTool("ssh", "openssh-client");
  requireTool("script", "bsdutils");

  before(async () => {
    cluster = await startRealCluster();
    await cluster.addUser("alice", PASSWORD, ["root"]);
    standin = await startStandin();
    const tsh = teleportBinary("tsh");
    // The layout of Teleport's own linux tarball: one top folder, tsh among the other programs.
    const archive = tarGz(
      [
        { path: "teleport/", type: "dir" },
        { path: "teleport/tsh", type: "file", data: await fsp.readFile(tsh), mode: 0o755 },
        { path: "teleport/VERSION", type: "file", data: `${TELEPORT_VERSION}\n` },
        { path: "teleport/README.md", type: "file", data: "Teleport\n" },
      ],
      { level: 1 },
    );
    standin.setArtifact(ARTIFACT, archive);
    home = await makeHome("tshup-real-");
    root = path.join(home.home, ".local", "share", "tshup");
    // The stand-in CDN and the real proxy's web certificate come from the same test CA.
    env = { ...home.env, ...standin.env, SSL_CERT_FILE: cluster.caFile };
  });
  after(async () => {
    await cluster?.stop();
    await standin?.close();
    await home?.cleanup();
  });

  test("the real /webapi/find and /webapi/ping carry the built version and the public address", async () => {
    for (const endpoint of ["/webapi/find", "/webapi/ping"]) {
      const info = parsePing(await getJson(cluster, endpoint), cluster.typedAddr, endpoint);
      assert.equal(info.serverVersion, TELEPORT_VERSION, endpoint);
      assert.equal(info.cluster, CLUSTER_NAME, endpoint);
      assert.equal(info.webPublicAddr, cluster.publicAddr, endpoint);
      assert.equal(info.notes.length, 0, `${endpoint}: nothing tolerated`);
    }
  });

  test("tshup installs the real tsh for the real proxy; tsh version checks out; status is 0", async () => {
    const r = await runCli(CLI, ["--proxy", cluster.typedAddr, "--user", "alice", "--login", "root", "--json"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.version, TELEPORT_VERSION);
    assert.equal(r.json.clusters[0].server_version, TELEPORT_VERSION);
    assert.equal(r.json.clusters[0].cluster, CLUSTER_NAME);
    assert.equal(r.json.clusters[0].compatible, true);
    const v = execFileSync(path.join(root, "bin", "tsh"), ["version"], { encoding: "utf8" });
    assert.match(v, new RegExp(`^Teleport v${TELEPORT_VERSION.replace(/\./g, "\\.")} git:v${TELEPORT_VERSION.replace(/\./g, "\\.")}-0-g`));
    const status = await runCli(CLI, ["status", "--proxy", cluster.typedAddr, "--json"], { env });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(status.json.action, "none");
  });

  test("the seeded profile is the one tsh uses: tsh login with no --proxy, one profile, keys under the public host", async () => {
    const tsh = path.join(root, "bin", "tsh");
    assert.equal(fs.readFileSync(path.join(home.home, ".tsh", "current-profile"), "utf8").trim(), "localhost");
    const login = tshWithTerminal(tsh, ["login"], `${PASSWORD}\n`, env);
    assert.equal(login.status, 0, login.output);
    const status = execFileSync(tsh, ["status"], { encoding: "utf8", env });
    assert.match(status, new RegExp(`Profile URL:\\s+https://${cluster.publicAddr}`));
    assert.match(status, /Logged in as:\s+alice/);
    assert.match(status, new RegExp(`Cluster:\\s+${CLUSTER_NAME}`));
    const profiles = fs.readdirSync(path.join(home.home, ".tsh")).filter((n) => n.endsWith(".yaml"));
    assert.deepEqual(profiles, ["localhost.yaml"], "tsh logged in to the profile tshup seeded; no second one appeared");
    assert.ok(fs.existsSync(path.join(home.home, ".tsh", "keys", "localhost", "alice-ssh", `${CLUSTER_NAME}-cert.pub`)), "the certificate is where tshup's ssh config points");
  });

  test("the real tsh lists its clusters in the shape tshup reads; a root without leaves adds no leaf blocks", async () => {
    const raw = execFileSync(path.join(root, "bin", "tsh"), ["clusters", `--proxy=${cluster.publicAddr}`, "--format=json"], { encoding: "utf8", env });
    const list = JSON.parse(raw);
    assert.ok(list.some((c: any) => c.cluster_name === CLUSTER_NAME && c.cluster_type === "root"), raw);
    assert.deepEqual(parseLeafClusters(raw), []);
    const again = await runCli(CLI, ["--proxy", cluster.typedAddr, "--user", "alice", "--login", "root", "--json"], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(fs.readFileSync(path.join(home.home, ".ssh", "tshup", `${CLUSTER_NAME}.conf`), "utf8"), /leaf cluster/);
  });

  test("real OpenSSH reaches the node through the seeded tsh-proxy config", async () => {
    const r = spawnSync(ssh(), ["-F", path.join(home.home, ".ssh", "config"), "-o", "BatchMode=yes", `${NODE_NAME}.${CLUSTER_NAME}`, "echo", "ok"], { encoding: "utf8", env, timeout: 60_000 });
    assert.equal(r.stdout.trim(), "ok", `${r.stderr}\n${cluster.log().slice(-2000)}`);
    const g = execFileSync(ssh(), ["-F", path.join(home.home, ".ssh", "config"), "-G", `${NODE_NAME}.${CLUSTER_NAME}`], { encoding: "utf8", env });
    const proxyCommand = /^proxycommand (.*)$/m.exec(g)?.[1] ?? "";
    assert.ok(proxyCommand.includes(path.join(root, "bin", "tsh")), "the ProxyCommand runs tshup's tsh");
    assert.match(proxyCommand, /TELEPORT_TOOLS_VERSION=off/);
  });

  test("real OpenSSH reaches the node through the seeded proxyjump config (the proxy's SSH port, tsh's certificate)", async () => {
    const site = path.join(home.home, "site.yaml");
    await fsp.writeFile(site, `clusters:\n  - proxy: ${cluster.typedAddr}\n    ssh:\n      style: proxyjump\n      hosts: ["${NODE_NAME}"]\n      options: {Port: 3022}\n`);
    const r = await runCli(CLI, ["--manifest", site, "--user", "alice", "--login", "root", "--json"], { env });
    assert.equal(r.code, 0, r.stderr);
    const s = spawnSync(ssh(), ["-F", path.join(home.home, ".ssh", "config"), "-o", "BatchMode=yes", NODE_NAME, "echo", "ok"], { encoding: "utf8", env, timeout: 60_000 });
    assert.equal(s.stdout.trim(), "ok", `${s.stderr}\n${cluster.log().slice(-2000)}`);
    const g = execFileSync(ssh(), ["-F", path.join(home.home, ".ssh", "config"), "-G", NODE_NAME], { encoding: "utf8", env });
    assert.match(g, new RegExp(`^proxyjump localhost:${cluster.sshProxyPort}$`, "m"), "the jump is the SSH address the proxy advertises");
  });

  test("the tsh that runs is the one tshup reports: on PATH and in ssh's ProxyCommand", async () => {
    const shellPath = `${path.join(root, "bin")}:/usr/local/bin:/usr/bin:/bin`;
    const onPath = execFileSync("sh", ["-c", "tsh version"], { encoding: "utf8", env: { ...env, PATH: shellPath } });
    assert.match(onPath, new RegExp(`^Teleport v${TELEPORT_VERSION.replace(/\./g, "\\.")} `));
    const status = await runCli(CLI, ["status", "--proxy", cluster.typedAddr, "--json"], { env });
    assert.equal(status.json.version, TELEPORT_VERSION);
    assert.equal(status.json.managed_override, undefined, "nothing makes tsh run another version");
  });

  test("doctor on the real setup is healthy", async () => {
    const shellPath = `${path.join(root, "bin")}:/usr/local/bin:/usr/bin:/bin`;
    const r = await runCli(CLI, ["doctor", "--proxy", cluster.typedAddr, "--json"], { env: { ...env, PATH: shellPath } });
    assert.equal(r.code, 0, `${r.stderr}\n${JSON.stringify(r.json?.findings, null, 1)}`);
    const checks = new Map(r.json.findings.map((f: any) => [f.check, f.status]));
    for (const c of ["installed", "path", "proxy", "version", "certificate", "managed-updates"]) assert.equal(checks.get(c), "ok", c);
  });
  test("uninstall removes tshup's ssh files (the host CA file included) and keeps tsh's profile and keys", async () => {
    const tshupSsh = path.join(home.home, ".ssh", "tshup");
    assert.ok(fs.existsSync(path.join(tshupSsh, `${CLUSTER_NAME}.known_hosts`)), "the proxyjump style wrote the cluster's host CA");
    const r = await runCli(CLI, ["uninstall", "--yes", "--json"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!fs.existsSync(tshupSsh));
    assert.ok(fs.existsSync(path.join(home.home, ".tsh", "localhost.yaml")));
    assert.ok(fs.existsSync(path.join(home.home, ".tsh", "keys", "localhost", "alice")));
  });
});
