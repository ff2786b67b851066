import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import YAML from "yaml";
import { linux, startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { cliVariants, makeHome, runCli, ROOT, snapshot } from "./support/cli.js";
import { requireTool } from "./support/tools.js";

const variant = cliVariants()[0]!;

/** The seed site's manifest, pointed at the stand-in proxy instead of the real one. */
async function seedManifest(dir: string, proxy: StandinProxy, extra: Record<string, unknown> = {}): Promise<string> {
  const m = YAML.parse(await fsp.readFile(path.join(ROOT, "manifests", "seed-site.yaml"), "utf8"));
  m.clusters[0].proxy = proxy.addr;
  m.clusters[0].ssh.jump = "127.0.0.1:3023";
  Object.assign(m, extra);
  const file = path.join(dir, "site.yaml");
  await fsp.writeFile(file, YAML.stringify(m));
  return file;
}

function sshG(home: string, host: string): Map<string, string[]> {
  const ssh = requireTool("ssh", "openssh-client");
  const out = execFileSync(ssh, ["-G", "-F", path.join(home, ".ssh", "config"), host], { encoding: "utf8", env: { HOME: home, PATH: "/usr/bin:/bin" } });
  const m = new Map<string, string[]>();
  for (const line of out.split("\n")) {
    const [k, ...v] = line.split(" ");
    if (k) m.set(k, [...(m.get(k) ?? []), v.join(" ")]);
  }
  return m;
}

describe("site manifests, ssh config and uninstall, end to end", () => {
  let standin: Standin;
  let proxy: StandinProxy;
  before(async () => {
    standin = await startStandin();
    proxy = await standin.addProxy({ cluster: "seed", serverVersion: "17.5.1", tlsRouting: false, sshPublicAddr: "127.0.0.1:3023" });
    await standin.addArtifact(linux("17.5.1"));
    await standin.addArtifact(linux("17.4.2"));
  });
  after(async () => standin.close());

  test("the seed site's manifest yields its ssh configuration; hosts outside its patterns are untouched", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const manifest = await seedManifest(h.home, proxy);
    const r = await runCli(variant, ["--manifest", manifest, "--user", "alice@example.org", "--login", "alice", "--json"], { env: { ...h.env, ...standin.env } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.json.steps.some((s: any) => s.step === "config" && s.status === "done"));
    const keys = path.join(h.home, ".tsh", "keys", "127.0.0.1");
    for (const host of ["a1-node", "ab1-x", "hpc-login", "hpc2020-gpu", "ecs-01"]) {
      const g = sshG(h.home, host);
      assert.deepEqual(g.get("user"), ["alice"], host);
      assert.deepEqual(g.get("proxyjump"), ["[127.0.0.1]:3023"], host);
      assert.ok(g.get("identityfile")!.includes(path.join(keys, "alice@example.org")), host);
      assert.ok(g.get("certificatefile")!.includes(path.join(keys, "alice@example.org-ssh", "seed-cert.pub")), host);
      assert.deepEqual(g.get("serveraliveinterval"), ["60"]);
      assert.deepEqual(g.get("tcpkeepalive"), ["yes"]);
    }
    const other = sshG(h.home, "github.com");
    assert.equal(other.get("proxyjump"), undefined);
    assert.notDeepEqual(other.get("user"), ["alice"]);
    const profile = await fsp.readFile(path.join(h.home, ".tsh", "127.0.0.1.yaml"), "utf8");
    assert.match(profile, /web_proxy_addr: "?127\.0\.0\.1:\d+"?/);
    assert.match(profile, /user: "?alice@example\.org"?/);
    assert.equal((await fsp.readFile(path.join(h.home, ".tsh", "current-profile"), "utf8")).trim(), "127.0.0.1");

    const again = await runCli(variant, ["--manifest", manifest, "--user", "alice@example.org", "--login", "alice", "--json"], { env: { ...h.env, ...standin.env } });
    assert.equal(again.json.changed, false, JSON.stringify(again.json.steps));
  });

  test("profile, key paths and Host patterns follow the proxy's public address, not the one typed", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const aliased = await standin.addProxy({ cluster: "pub", serverVersion: "17.5.1", tlsRouting: true });
    t.after(() => aliased.close());
    aliased.update({ publicAddr: `localhost:${aliased.port}` });
    const r = await runCli(variant, ["--proxy", aliased.addr, "--user", "alice", "--json"], { env: { ...h.env, ...standin.env } });
    assert.equal(r.code, 0, r.stderr);
    const tsh = path.join(h.home, ".tsh");
    assert.deepEqual(fs.readdirSync(tsh).sort(), ["current-profile", "localhost.yaml"], "one profile, named as tsh names it after login");
    assert.equal(fs.readFileSync(path.join(tsh, "current-profile"), "utf8").trim(), "localhost");
    assert.match(fs.readFileSync(path.join(tsh, "localhost.yaml"), "utf8"), new RegExp(`web_proxy_addr: "?localhost:${aliased.port}"?`));
    const g = sshG(h.home, "node1.pub");
    assert.ok(g.get("identityfile")!.includes(path.join(tsh, "keys", "localhost", "alice")), String(g.get("identityfile")));
    assert.ok(g.get("certificatefile")!.includes(path.join(tsh, "keys", "localhost", "alice-ssh", "pub-cert.pub")));
    assert.match(g.get("proxycommand")![0]!, new RegExp(`--proxy=localhost:${aliased.port} `));
    assert.ok(sshG(h.home, "localhost").get("identityfile")!.includes(path.join(tsh, "keys", "localhost", "alice")), "the proxy's own Host line is the public host");
  });

  test("leaf clusters: once logged in, the next run adds the pair of blocks tsh config writes for each leaf tsh lists", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const env = { ...h.env, ...standin.env };
    const first = await runCli(variant, ["--proxy", proxy.addr, "--user", "alice", "--json"], { env });
    assert.equal(first.code, 0, first.stderr);
    const conf = () => fs.readFileSync(path.join(h.home, ".ssh", "tshup", "seed.conf"), "utf8");
    assert.doesNotMatch(conf(), /leaf/, "not logged in: tshup cannot know the leaves yet");
    const certDir = path.join(h.home, ".tsh", "keys", "127.0.0.1", "alice-ssh");
    await fsp.mkdir(certDir, { recursive: true });
    await fsp.writeFile(path.join(certDir, "seed-cert.pub"), "ssh-ed25519-cert-v01@openssh.com AAAA\n");
    const listed = JSON.stringify([
      { cluster_name: "seed", cluster_type: "root", status: "online", selected: true },
      { cluster_name: "leaf-a", cluster_type: "leaf", status: "online" },
      { cluster_name: "bad name;x", cluster_type: "leaf", status: "online" },
    ]);
    const again = await runCli(variant, ["--proxy", proxy.addr, "--user", "alice", "--json"], { env: { ...env, TSH_STANDIN_CLUSTERS: listed } });
    assert.equal(again.code, 0, again.stderr);
    assert.match(conf(), /# The leaf cluster leaf-a, reached through seed with its certificate\./);
    assert.doesNotMatch(conf(), /bad name/, "a name that is not a cluster name is dropped");
    const g = sshG(h.home, "node1.leaf-a");
    assert.match(g.get("proxycommand")![0]!, /proxy ssh --cluster=leaf-a --proxy=127\.0\.0\.1:\d+ /);
    assert.ok(g.get("certificatefile")!.includes(path.join(certDir, "seed-cert.pub")), "the root's certificate opens the leaf");
    assert.deepEqual(g.get("port"), ["3022"]);
    assert.match(sshG(h.home, "node1.seed").get("proxycommand")![0]!, /--cluster=seed /, "the root's own hosts are unchanged");
  });

  test("without a manifest the tsh-proxy style covers *.<cluster> through tsh proxy ssh", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const r = await runCli(variant, ["--proxy", proxy.addr, "--user", "bob", "--json"], { env: { ...h.env, ...standin.env } });
    assert.equal(r.code, 0, r.stderr);
    const g = sshG(h.home, "node1.seed");
    const tsh = path.join(h.home, ".local", "share", "tshup", "bin", "tsh");
    assert.ok(g.get("proxycommand")![0]!.includes(tsh), g.get("proxycommand")![0]);
    assert.match(g.get("proxycommand")![0]!, /proxy ssh --cluster=seed --proxy=127\.0\.0\.1:\d+/);
    assert.deepEqual(g.get("port"), ["3022"]);
  });

  test("a site manifest's rules: ask without a terminal installs tsh and leaves ssh config until a user is known; a pinned sha256 replaces the sidecar", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const env = { ...h.env, ...standin.env };
    const manifest = await seedManifest(h.home, proxy);
    const fresh = await runCli(variant, ["status", "--manifest", manifest, "--json"], { env });
    assert.equal(fresh.code, 3, "status finds the proxy in the manifest on a machine with nothing installed");
    assert.equal(fresh.json.action, "install");
    // A fleet's unattended run on a machine nobody has logged in to: tsh is installed, ssh waits.
    const unattended = await runCli(variant, ["--manifest", manifest, "--yes", "--json"], { env });
    assert.equal(unattended.code, 0, unattended.stderr);
    assert.match(unattended.stderr, /no Teleport user known for .*pass --user NAME \(or log in with tsh first\)/);
    assert.match(unattended.stderr, /no SSH login given and this run cannot ask/);
    assert.ok(!fs.existsSync(path.join(h.home, ".ssh", "tshup")), "no ssh config without a user");
    // The person logs in (tsh records the user in its profile): the next timer run seeds ssh.
    const profile = path.join(h.home, ".tsh", "127.0.0.1.yaml");
    await fsp.writeFile(profile, (await fsp.readFile(profile, "utf8")) + "user: alice\n");
    const later = await runCli(variant, ["--manifest", manifest, "--yes", "--json"], { env });
    assert.equal(later.code, 0, later.stderr);
    assert.ok(fs.readdirSync(path.join(h.home, ".ssh", "tshup")).some((f) => f.endsWith(".conf")), "ssh config seeded once the user is known");
    await fsp.rm(path.join(h.home, ".local", "share", "tshup"), { recursive: true, force: true });

    const name = "teleport-v17.5.1-linux-amd64-bin.tar.gz";
    const wrong = await seedManifest(h.home, proxy, { policy: { sha256: { [name]: "0".repeat(64) } } });
    const bad = await runCli(variant, ["--manifest", wrong, "--no-config", "--json"], { env });
    assert.equal(bad.code, 5);
    assert.match(bad.json.error.message, /checksum mismatch/);

    standin.setFault(`${name}.sha256`, { kind: "no-sidecar" });
    try {
      const sha = (await standin.addArtifact(linux("17.5.1"))).sha256;
      standin.setFault(`${name}.sha256`, { kind: "no-sidecar" });
      const pinned = await seedManifest(h.home, proxy, { policy: { version: "17.4.2", sha256: {} } });
      const pin2 = YAML.parse(await fsp.readFile(pinned, "utf8"));
      pin2.policy = { sha256: { [name]: sha.toUpperCase() } };
      await fsp.writeFile(pinned, YAML.stringify(pin2));
      const ok = await runCli(variant, ["--manifest", pinned, "--no-config", "--json"], { env });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.json.version, "17.5.1");
    } finally {
      standin.clearFaults();
    }
    const pinnedVersion = await seedManifest(h.home, proxy, { policy: { version: "17.4.2" } });
    const v = await runCli(variant, ["--manifest", pinnedVersion, "--no-config", "--json"], { env });
    assert.equal(v.json.version, "17.4.2", v.stderr);
    const flagWins = await runCli(variant, ["--manifest", pinnedVersion, "--version", "17.5.1", "--no-config", "--json"], { env });
    assert.equal(flagWins.json.version, "17.5.1", "a flag overrides the manifest");

    await fsp.writeFile(path.join(h.home, "bad.yaml"), "clusters:\n  - proxy: x.example.org\n    ssh: {style: jump}\n");
    const invalid = await runCli(variant, ["--manifest", path.join(h.home, "bad.yaml"), "--json"], { env });
    assert.equal(invalid.code, 2);
    assert.match(invalid.json.error.message, /clusters\[0\]\.ssh\.style/);
  });

  test("policy.match compatible keeps an installed tsh every cluster accepts; --jitter waits first", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const env = { ...h.env, ...standin.env };
    const pinned = await runCli(variant, ["--proxy", proxy.addr, "--version", "17.4.2", "--no-config", "--json"], { env });
    assert.equal(pinned.json.version, "17.4.2", pinned.stderr);
    const manifest = await seedManifest(h.home, proxy, { ask: [], policy: { match: "compatible" } });
    const kept = await runCli(variant, ["--manifest", manifest, "--no-config", "--json"], { env });
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal(kept.json.version, "17.4.2");
    assert.equal(kept.json.changed, false);
    const status = await runCli(variant, ["status", "--manifest", manifest, "--json"], { env });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(status.json.action, "none");
    const exact = await runCli(variant, ["status", "--proxy", proxy.addr, "--json"], { env });
    assert.equal(exact.code, 3, "without the policy the cluster's target is wanted");
    const jitter = await runCli(variant, ["--manifest", manifest, "--no-config", "--jitter", "1", "--verbose", "--json"], { env });
    assert.equal(jitter.code, 0, jitter.stderr);
    assert.match(jitter.stderr, /waiting \d\.\d s \(--jitter 1\)/);
  });

  test("uninstall after a full install with config restores every rc and ssh file byte for byte", async (t) => {
    const h = await makeHome();
    t.after(h.cleanup);
    const env = { ...h.env, ...standin.env, SHELL: "/bin/zsh" };
    // The user's own files, with the awkward bytes real files have.
    await fsp.writeFile(path.join(h.home, ".bashrc"), "# bashrc\r\nexport EDITOR=vi\r\n");
    await fsp.writeFile(path.join(h.home, ".profile"), "# profile without a final newline\nPATH=$HOME/bin:$PATH");
    await fsp.mkdir(path.join(h.home, ".ssh"), { mode: 0o700 });
    await fsp.writeFile(path.join(h.home, ".ssh", "config"), "# mine\nHost github.com\n\tUser git\nMatch host *.corp\n  ForwardAgent no", { mode: 0o600 });
    await fsp.mkdir(path.join(h.home, ".tsh"), { mode: 0o700 });
    await fsp.writeFile(path.join(h.home, ".tsh", "keep-me"), "tsh's own file\n");
    const before = await snapshot(h.home);

    const manifest = await seedManifest(h.home, proxy);
    const r = await runCli(variant, ["--manifest", manifest, "--user", "alice", "--login", "alice", "--json"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.notDeepEqual(await snapshot(h.home), before);

    const plan = await runCli(variant, ["uninstall", "--dry-run", "--json"], { env });
    assert.equal(plan.code, 3, plan.stderr);
    const unasked = await runCli(variant, ["uninstall", "--json"], { env });
    assert.equal(unasked.code, 2, "removing is never done unasked: no terminal and no --yes");
    assert.match(unasked.json.error.message, /uninstall would remove \d+ things and this run cannot ask you first/);
    assert.match(unasked.json.error.hint, /pass --yes/);
    const u = await runCli(variant, ["uninstall", "--json", "--yes"], { env });
    assert.equal(u.code, 0, u.stderr);
    assert.equal(u.json.version, null);
    const after = await snapshot(h.home);
    for (const [file, bytes] of before) {
      if (file === manifest) continue;
      assert.equal(after.get(file), bytes, `${file} is back to its earlier bytes`);
    }
    const leftovers = [...after.keys()].filter((f) => !before.has(f) && f !== manifest && !f.endsWith(".tshup-backup") && !f.includes(`${path.sep}.tsh${path.sep}`));
    assert.deepEqual(leftovers, [], "nothing tshup added is left");
    assert.ok(fs.existsSync(path.join(h.home, ".tsh", "keep-me")), "~/.tsh is kept");
    assert.ok(!fs.existsSync(path.join(h.home, ".local", "share", "tshup")));
    const again = await runCli(variant, ["uninstall", "--dry-run", "--json"], { env });
    assert.equal(again.code, 0, "nothing left to remove");
  });
});
