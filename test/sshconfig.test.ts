import { test } from "node:test";
import { readIncludeBlocks } from "./support/blocks.js";
import { testHost } from "./support/host.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import type { Host } from "../src/host.js";
import { TshupError } from "../src/core/errors.js";
import { parseManifest } from "../src/core/manifest.js";
import { parseProxyAddress } from "../src/core/proxyaddr.js";
import {
  BLOCK_END,
  BLOCK_START,
  FLAG_CREATED,
  clusterConfigFileName,
  includeLineFor,
  managedFileState,
  removeIncludeBlock,
  renderClusterConfig,
  upsertIncludeBlock,
  type ClusterSshConfig, type SshOptionValue, ALLOWED_SSH_OPTIONS, parseHostCAs, renderKnownHosts, sshOptionProblem } from "../src/core/sshconfig.js";
import { removeSshConfig, seedSshConfig, sshPaths } from "../src/io/sshconfig.js";
import { seedTshProfile, renderTshProfile } from "../src/io/tshprofile.js";
import { requireTool } from "./support/tools.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CORPUS_DIR = path.join(ROOT, "test", "fixtures", "ssh-configs");
/** Each corpus file as bytes and as a latin1 string (one char per byte, as io/sshconfig reads it). */
const corpus = fs
  .readdirSync(CORPUS_DIR)
  .filter((n) => n.endsWith(".conf"))
  .sort()
  .map((name) => {
    const bytes = fs.readFileSync(path.join(CORPUS_DIR, name));
    return { name, bytes, text: bytes.toString("latin1") };
  });
const BOM = "\u00ef\u00bb\u00bf";

const INCLUDE = 'Include "/home/jane/.ssh/tshup/*.conf"';
const COMMENT = "# Teleport hosts: ssh settings kept by tshup (tshup uninstall removes this block)";
const block = (eol = "\n", include = INCLUDE, created = false) =>
  [BLOCK_START, ...(created ? [FLAG_CREATED] : []), COMMENT, include, BLOCK_END].join(eol) + eol;

/** The part of a rendered file after its header (the header carries a hash and a date-free text). */
const body = (text: string) => text.slice(text.indexOf("\n\n") + 2);

function fakeHost(home: string, platform: Host["platform"] = "linux"): Host {
  return testHost(home, { platform, arch: "x64", now: () => Date.UTC(2025, 0, 2, 3, 4, 5) });
}

async function tempDir(prefix: string): Promise<string> {
  return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

// ------------------------------------------------------------------------------------------------
// Rendering

const POSIX: Omit<ClusterSshConfig, "style" | "hosts" | "options"> = {
  proxyHost: "teleport.example.org",
  proxyPort: 443,
  cluster: "example",
  teleportUser: "jane.doe@example.org",
  login: "jdoe",
  tshPath: "/home/jane/.local/share/tshup/bin/tsh",
  teleportHome: "/home/jane/.tsh",
  homeDir: "/home/jane",
  windows: false,
};

test("renderClusterConfig, tsh-proxy style: what tsh config prints, with absolute quoted paths", () => {
  const text = renderClusterConfig({ ...POSIX, style: "tsh-proxy", hosts: [], options: {} });
  assert.equal(
    body(text),
    [
      "# Common settings for the cluster's hosts and its proxy.",
      "Host *.example teleport.example.org",
      '    UserKnownHostsFile "/home/jane/.tsh/known_hosts"',
      '    IdentityFile "/home/jane/.tsh/keys/teleport.example.org/jane.doe@example.org"',
      '    CertificateFile "/home/jane/.tsh/keys/teleport.example.org/jane.doe@example.org-ssh/example-cert.pub"',
      "    User jdoe",
      "",
      "# The hosts are reached through the proxy by tsh, over the proxy's web port.",
      "Host *.example !teleport.example.org",
      "    Port 3022",
      "    ProxyCommand /usr/bin/env TELEPORT_TOOLS_VERSION=off '/home/jane/.local/share/tshup/bin/tsh' proxy ssh --cluster=example --proxy=teleport.example.org:443 %r@%h:%p",
      "",
    ].join("\n"),
  );
  assert.match(text, /^# ssh settings for the Teleport cluster example \(proxy teleport\.example\.org:443\), written by tshup\.\n/);
  assert.match(text, /tshup --force puts its own back/);
  const v6 = renderClusterConfig({ ...POSIX, proxyHost: "::1", style: "tsh-proxy", hosts: [], options: {} });
  assert.match(v6, / --proxy=\[::1\]:443 %r@%h:%p/, "an IPv6 proxy is bracketed where tsh reads host:port");
});

test("renderClusterConfig, proxyjump style: the seed document's block, generated", () => {
  const text = renderClusterConfig({
    ...POSIX,
    proxyHost: "jump.example.org",
    cluster: "seed",
    style: "proxyjump",
    hosts: ["a?-*", "hpc-*"],
    jump: "jump.example.org:3023",
    options: { ServerAliveInterval: 60, TCPKeepAlive: true, ForwardAgent: false, SendEnv: ["LANG", "LC_*"] },
  });
  assert.equal(
    body(text),
    [
      "# Common settings for the jump host (the proxy's SSH port) and the hosts behind it.",
      "Host jump.example.org a?-* hpc-*",
      "    User jdoe",
      '    IdentityFile "/home/jane/.tsh/keys/jump.example.org/jane.doe@example.org"',
      '    CertificateFile "/home/jane/.tsh/keys/jump.example.org/jane.doe@example.org-ssh/seed-cert.pub"',
      "    ServerAliveInterval 60",
      "    TCPKeepAlive yes",
      "    ForwardAgent no",
      "    SendEnv LANG LC_*",
      "",
      "# The hosts are reached by jumping through the proxy.",
      "Host a?-* hpc-* !jump.example.org",
      "    ProxyJump jump.example.org:3023",
      "",
    ].join("\n"),
  );
});

test("renderClusterConfig, proxyjump without a jump uses the proxy's SSH address, else port 3023", () => {
  const base = { ...POSIX, style: "proxyjump" as const, hosts: ["node-*"], options: {} };
  assert.match(renderClusterConfig({ ...base, sshProxyAddr: "ssh.example.org:3023" }), /\n {4}ProxyJump ssh\.example\.org:3023\n/);
  assert.match(renderClusterConfig(base), /\nHost teleport\.example\.org node-\*\n[\s\S]*\n {4}ProxyJump teleport\.example\.org:3023\n/);
  assert.match(renderClusterConfig({ ...base, jump: "ops@[::1]:2222" }), /\nHost ::1 node-\*\n[\s\S]*Host node-\* !::1\n {4}ProxyJump ops@\[::1\]:2222\n/);
});

test("renderClusterConfig on Windows: native paths quoted, spaces kept, UNC homes get forward slashes", () => {
  const win = {
    ...POSIX,
    windows: true,
    homeDir: "C:\\Users\\Jane Doe",
    teleportHome: "C:\\Users\\Jane Doe\\.tsh",
    tshPath: "C:\\Users\\Jane Doe\\AppData\\Local\\tshup\\bin\\tsh.exe",
    style: "tsh-proxy" as const,
    hosts: [],
    options: {},
  };
  const text = renderClusterConfig(win);
  assert.match(text, /\n {4}IdentityFile "C:\\Users\\Jane Doe\\\.tsh\\keys\\teleport\.example\.org\\jane\.doe@example\.org"\n/);
  assert.match(text, /\n {4}CertificateFile "C:\\Users\\Jane Doe\\\.tsh\\keys\\teleport\.example\.org\\jane\.doe@example\.org-ssh\\example-cert\.pub"\n/);
  assert.match(text, /\n {4}ProxyCommand "C:\\Users\\Jane Doe\\AppData\\Local\\tshup\\bin\\tsh\.exe" proxy ssh --cluster=example/, "a path with a space can only be quoted");
  // Older Windows OpenSSH fails on a quoted program (CreateProcessW error 87): a plain path goes bare.
  const plain = renderClusterConfig({ ...win, tshPath: "C:\\Users\\jane\\AppData\\Local\\tshup\\bin\\tsh.exe" });
  assert.match(plain, /\n {4}ProxyCommand C:\\Users\\jane\\AppData\\Local\\tshup\\bin\\tsh\.exe proxy ssh --cluster=example --proxy=teleport\.example\.org:443 %r@%h:%p\n/);
  // OpenSSH's parser would turn the leading \\ of a UNC path into one backslash.
  const unc = renderClusterConfig({ ...win, teleportHome: "\\\\fs01\\home\\jane\\.tsh" });
  assert.match(unc, /\n {4}IdentityFile "\/\/fs01\/home\/jane\/\.tsh\/keys\/teleport\.example\.org\/jane\.doe@example\.org"\n/);
});

test("renderClusterConfig doubles % in paths (ssh expands %-tokens there) and shell-quotes the tsh path", () => {
  const text = renderClusterConfig({ ...POSIX, teleportHome: "/home/50%off/.tsh", tshPath: "/opt/it's/tsh", style: "tsh-proxy", hosts: [], options: {} });
  assert.match(text, /IdentityFile "\/home\/50%%off\/\.tsh\/keys\//);
  assert.match(text, /ProxyCommand \/usr\/bin\/env TELEPORT_TOOLS_VERSION=off '\/opt\/it'"'"'s\/tsh' proxy ssh/);
});

test("renderClusterConfig refuses values that would break or inject ssh config lines", () => {
  const base = { ...POSIX, style: "proxyjump" as const, hosts: ["node-*"], options: {} };
  const bad: [string, Partial<ClusterSshConfig>, RegExp][] = [
    ["newline in an option", { options: { ServerAliveInterval: "60\nHost *" } }, /ssh option ServerAliveInterval .* must not contain spaces/],
    ["Host as an option", { options: { Host: "x" } }, /would start a new section/],
    ["User as an option", { options: { user: "root" } }, /login/],
    ["login with a space", { login: "j doe" }, /ssh login "j doe" must be a user name/],
    ["login with a command substitution", { login: "x$(id)" }, /ssh login "x\$\(id\)" must be a user name/],
    ["a command-running option", { options: { KnownHostsCommand: "/bin/true" } }, /KnownHostsCommand is not one of the options tshup writes/],
    ["a shell character in an option value", { options: { SendEnv: "A;B" } }, /must not contain ";"/],
    ["cluster with a space", { cluster: "my cluster" }, /cluster name/],
    ["pattern with a comma", { hosts: ["a,b"] }, /host pattern "a,b"/],
    ["only negated patterns", { hosts: ["!a"] }, /at least one pattern without !/],
    ["no patterns for proxyjump", { hosts: [] }, /needs host patterns/],
    ["bad jump", { jump: "jump host" }, /jump host "jump host"/],
    ["user with a quote", { teleportUser: 'ja"ne' }, /Teleport user/],
    ["relative TELEPORT_HOME", { teleportHome: ".tsh" }, /absolute/],
  ];
  for (const [name, change, message] of bad) {
    assert.throws(
      () => renderClusterConfig({ ...base, ...change } as ClusterSshConfig),
      (err: unknown) => err instanceof TshupError && err.code === "usage" && message.test(err.message),
      name,
    );
  }
});

test("manifest ssh option values: what tshup accepts real ssh accepts, and what it refuses would break ssh for every host", () => {
  const ssh = requireTool("ssh", "openssh-client");
  const accepted: [string, SshOptionValue][] = [
    ["AddKeysToAgent", "confirm"], ["AddressFamily", "inet"], ["BatchMode", true], ["CASignatureAlgorithms", "ssh-ed25519,rsa-sha2-512"],
    ["CheckHostIP", false], ["Ciphers", "+aes128-ctr"], ["Compression", "yes"], ["ConnectTimeout", "1m30s"], ["ConnectionAttempts", 3],
    ["EscapeChar", "~"], ["EscapeChar", "none"], ["ExitOnForwardFailure", true], ["ForwardAgent", false], ["GSSAPIAuthentication", "no"],
    ["HashKnownHosts", true], ["HostKeyAlgorithms", "-ssh-rsa"], ["IPQoS", ["af21", "cs1"]], ["IdentitiesOnly", true],
    ["KexAlgorithms", "curve25519-sha256,curve25519-sha256@libssh.org"], ["LogLevel", "VERBOSE"], ["LogLevel", "error"],
    ["MACs", "hmac-sha2-256-etm@openssh.com"], ["NumberOfPasswordPrompts", 0], ["Port", 65535],
    ["PreferredAuthentications", "publickey,keyboard-interactive"], ["PubkeyAcceptedAlgorithms", "+ssh-rsa"],
    ["PubkeyAcceptedKeyTypes", "ssh-ed25519"], ["PubkeyAuthentication", "host-bound"], ["RekeyLimit", ["1G", "1h"]],
    ["RequestTTY", "auto"], ["SendEnv", ["LANG", "LC_*"]], ["ServerAliveCountMax", 5], ["ServerAliveInterval", 60],
    ["ServerAliveInterval", "5m"], ["SetEnv", ["TERM=xterm", "A=b"]], ["StrictHostKeyChecking", "accept-new"], ["TCPKeepAlive", true],
    ["UpdateHostKeys", "ask"], ["VisualHostKey", false],
  ];
  const refused: [string, SshOptionValue, RegExp][] = [
    ["Compression", "maybe", /must be one of yes, no/],
    ["ServerAliveInterval", 1e300, /whole number from 0 to 2147483647/],
    ["ServerAliveInterval", -1, /whole number/],
    ["ConnectTimeout", 2.5, /whole number/],
    ["LogLevel", "LOUD", /must be one of QUIET/],
    ["LogLevel", true, /must be one of QUIET/],
    ["Port", 0, /from 1 to 65535/],
    ["Port", 70000, /from 1 to 65535/],
    ["AddressFamily", "ipx", /must be one of any, inet, inet6/],
    ["StrictHostKeyChecking", "sometimes", /must be one of yes/],
    ["IPQoS", "fast", /af11-af43/],
    ["EscapeChar", "ab", /one character/],
    ["SetEnv", "NOEQUALS", /NAME=VALUE/],
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tshup-sshopt-"));
  try {
    const sshAccepts = (name: string, value: SshOptionValue) => {
      const text = typeof value === "boolean" ? (value ? "yes" : "no") : Array.isArray(value) ? value.join(" ") : String(value);
      const file = path.join(dir, "config");
      fs.writeFileSync(file, `Host *\n    ${name} ${text}\n`);
      return spawnSync(ssh, ["-F", file, "-G", "example.org"], { encoding: "utf8", env: { HOME: dir, PATH: "/usr/bin:/bin" } }).status === 0;
    };
    for (const [name, value] of accepted) {
      assert.equal(sshOptionProblem(name, value, "proxyjump"), null, `${name} ${JSON.stringify(value)}`);
      assert.ok(sshAccepts(name, value), `real ssh takes ${name} ${JSON.stringify(value)}`);
    }
    for (const [name, value, message] of refused) {
      assert.match(sshOptionProblem(name, value, "proxyjump") ?? "accepted", message, `${name} ${JSON.stringify(value)}`);
      assert.ok(!sshAccepts(name, value), `real ssh refuses ${name} ${JSON.stringify(value)} too`);
    }
    assert.deepEqual([...new Set(accepted.map(([n]) => n))].sort(), [...ALLOWED_SSH_OPTIONS].sort(), "every allowed option has a value real ssh takes");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("managedFileState tells tshup's file from an edited one and from a stranger's", () => {
  const text = renderClusterConfig({ ...POSIX, style: "tsh-proxy", hosts: [], options: {} });
  assert.equal(managedFileState(text), "tshup");
  assert.equal(managedFileState(text.replace("Port 3022", "Port 2022")), "edited");
  assert.equal(managedFileState(text + "    ForwardAgent yes\n"), "edited");
  assert.equal(managedFileState("Host x\n  User y\n"), "foreign");
});

test("clusterConfigFileName keeps plain names and makes the rest safe and distinct", () => {
  assert.equal(clusterConfigFileName("example"), "example.conf");
  assert.equal(clusterConfigFileName("teleport.example.org"), "teleport.example.org.conf");
  const slash = clusterConfigFileName("a/b");
  const under = clusterConfigFileName("a_b");
  assert.match(slash, /^a_b-[0-9a-f]{8}\.conf$/);
  assert.equal(under, "a_b.conf");
  assert.match(clusterConfigFileName("CON"), /^_CON-[0-9a-f]{8}\.conf$/);
  assert.match(clusterConfigFileName(".."), /^cluster-[0-9a-f]{8}\.conf$/);
});

test("includeLineFor: absolute on POSIX, relative to .ssh on Windows and for homes glob would misread", () => {
  assert.equal(includeLineFor("/home/jane", false), 'Include "/home/jane/.ssh/tshup/*.conf"');
  assert.equal(includeLineFor("/home/Jane Doe", false), 'Include "/home/Jane Doe/.ssh/tshup/*.conf"');
  assert.equal(includeLineFor("C:\\Users\\Jane Doe", true), "Include tshup/*.conf");
  assert.equal(includeLineFor("/home/[x]", false), "Include tshup/*.conf");
});

// ------------------------------------------------------------------------------------------------
// The include block, over the corpus

test("upsertIncludeBlock puts the block first in every corpus file, in the file's line endings; reruns are byte-identical", () => {
  assert.ok(corpus.length >= 12, "the corpus is there");
  for (const c of corpus) {
    const bom = c.text.startsWith(BOM) ? BOM : "";
    const rest = c.text.slice(bom.length);
    const eol = /^[^\n]*\r\n/.test(rest) ? "\r\n" : "\n";
    const once = upsertIncludeBlock(c.text, INCLUDE);
    assert.equal(once.changed, true, c.name);
    assert.equal(once.text, bom + block(eol) + rest, c.name);
    const twice = upsertIncludeBlock(once.text, INCLUDE);
    assert.equal(twice.changed, false, c.name);
    assert.equal(twice.text, once.text, c.name);
    assert.deepEqual(readIncludeBlocks(once.text), [INCLUDE], c.name);
  }
});

test("removeIncludeBlock gives back every corpus file byte for byte, also after the include line changed", () => {
  for (const c of corpus) {
    const once = upsertIncludeBlock(c.text, INCLUDE).text;
    assert.deepEqual(removeIncludeBlock(once), { text: c.text, changed: true }, c.name);
    const moved = upsertIncludeBlock(once, 'Include "/srv/home/jane/.ssh/tshup/*.conf"');
    assert.equal(moved.changed, true, c.name);
    assert.deepEqual(removeIncludeBlock(moved.text), { text: c.text, changed: true }, c.name);
    assert.deepEqual(removeIncludeBlock(c.text), { text: c.text, changed: false }, c.name);
  }
});

test("a config tshup creates is deleted again when only its block is left; an empty one stays empty", () => {
  const created = upsertIncludeBlock(null, INCLUDE);
  assert.deepEqual(created, { text: block("\n", INCLUDE, true), changed: true });
  assert.deepEqual(removeIncludeBlock(created.text), { text: null, changed: true });
  // The user added their own lines since: the file stays, with just those.
  const grown = created.text + "Host mine\n    User me\n";
  assert.deepEqual(upsertIncludeBlock(grown, INCLUDE), { text: grown, changed: false });
  assert.deepEqual(removeIncludeBlock(grown), { text: "Host mine\n    User me\n", changed: true });
  const empty = upsertIncludeBlock("", INCLUDE);
  assert.equal(empty.text, block());
  assert.deepEqual(removeIncludeBlock(empty.text), { text: "", changed: true });
});

test("a block below a Host or Match line (where Include is conditional) is moved to the top", () => {
  const user = "Host a\n    User b\n";
  for (const lower of [user + block(), "Match all\n" + block() + "    User x\n", "  host=z\n" + block()]) {
    const pristine = removeIncludeBlock(lower).text!;
    const r = upsertIncludeBlock(lower, INCLUDE);
    assert.equal(r.changed, true);
    assert.equal(r.text, block() + pristine);
  }
  // Below leading comments and global options but above every section is fine where it is.
  const fine = "# mine\nServerAliveInterval 5\n" + block() + user;
  assert.deepEqual(upsertIncludeBlock(fine, INCLUDE), { text: fine, changed: false });
});

test("duplicate blocks collapse into one; an unterminated marker is the user's text", () => {
  const two = block() + "Host a\n" + block("\n", 'Include "/old/*.conf"');
  const r = upsertIncludeBlock(two, INCLUDE);
  assert.equal(r.text, block() + "Host a\n");
  const orphan = `${BLOCK_START}\nHost a\n`;
  const o = upsertIncludeBlock(orphan, INCLUDE);
  assert.equal(o.text, block() + orphan);
  assert.deepEqual(removeIncludeBlock(o.text), { text: orphan, changed: true });
});

// ------------------------------------------------------------------------------------------------
// The effects: seedSshConfig / removeSshConfig on a temp home

const SEED = parseManifest(fs.readFileSync(path.join(ROOT, "manifests", "seed-site.yaml"), "utf8"), "seed-site.yaml");
const SEED_CLUSTER = SEED.clusters![0]!;
const LOGIN = "jdoe";
const TELEPORT_USER = "jane.doe@example.org";
const CLUSTER = "seed-cluster";

function seedConfigFor(home: string, teleportHome = path.join(home, ".tsh")): ClusterSshConfig {
  const proxy = parseProxyAddress(SEED_CLUSTER.proxy);
  return {
    proxyHost: proxy.host,
    proxyPort: proxy.port,
    cluster: CLUSTER,
    teleportUser: TELEPORT_USER,
    login: LOGIN,
    style: SEED_CLUSTER.ssh!.style,
    hosts: SEED_CLUSTER.ssh!.hosts ?? [],
    jump: SEED_CLUSTER.ssh!.jump,
    options: SEED_CLUSTER.ssh!.options ?? {},
    tshPath: path.join(home, ".local", "share", "tshup", "bin", "tsh"),
    teleportHome,
    homeDir: home,
    windows: false,
  };
}

test("seedSshConfig writes 0700/0600 files and the block; reruns change nothing; removal restores the exact bytes", async () => {
  for (const c of corpus) {
    const home = await tempDir("tshup-ssh-");
    try {
      const host = fakeHost(home);
      const paths = sshPaths(host);
      await fsp.mkdir(paths.sshDir, { mode: 0o700 });
      await fsp.writeFile(paths.config, c.bytes, { mode: 0o644 });

      const first = await seedSshConfig(host, [seedConfigFor(home)], { dryRun: false, force: false });
      const clusterFile = path.join(paths.tshupDir, `${CLUSTER}.conf`);
      assert.equal(first.changed, true, c.name);
      assert.deepEqual(first.edits, [
        { file: clusterFile, action: "created" },
        { file: paths.config, action: "updated" },
      ], c.name);
      assert.equal((await fsp.stat(paths.tshupDir)).mode & 0o777, 0o700, c.name);
      assert.equal((await fsp.stat(clusterFile)).mode & 0o777, 0o600, c.name);
      assert.equal((await fsp.stat(paths.config)).mode & 0o777, 0o644, `${c.name}: the config keeps its mode`);
      if (c.bytes.length > 0) {
        assert.equal(first.backup, paths.backup, c.name);
        assert.deepEqual(await fsp.readFile(paths.backup), c.bytes, c.name);
      } else {
        assert.equal(first.backup, undefined, c.name);
      }
      if (c.name.includes("bom")) assert.match(first.warnings.join("\n"), /byte order mark/, c.name);
      const seeded = await fsp.readFile(paths.config);

      const again = await seedSshConfig(host, [seedConfigFor(home)], { dryRun: false, force: false });
      assert.equal(again.changed, false, c.name);
      assert.ok(again.edits.every((e) => e.action === "unchanged"), c.name);
      assert.equal(again.backup, undefined, c.name);
      assert.deepEqual(await fsp.readFile(paths.config), seeded, c.name);

      const removed = await removeSshConfig(host, { dryRun: false });
      assert.equal(removed.changed, true, c.name);
      assert.deepEqual(await fsp.readFile(paths.config), c.bytes, `${c.name}: removal gives back the exact bytes`);
      assert.equal(fs.existsSync(paths.tshupDir), false, c.name);
    } finally {
      await fsp.rm(home, { recursive: true, force: true });
    }
  }
});

test("seedSshConfig creates ~/.ssh and the config when absent; removal deletes what it created", async () => {
  const home = await tempDir("tshup-ssh-");
  try {
    const host = fakeHost(home);
    const paths = sshPaths(host);
    assert.deepEqual(await seedSshConfig(host, [], { dryRun: false, force: false }), { changed: false, edits: [], warnings: [] });
    const dry = await seedSshConfig(host, [seedConfigFor(home)], { dryRun: true, force: false });
    assert.equal(dry.changed, true);
    assert.equal(fs.existsSync(paths.sshDir), false, "a dry run writes nothing");
    const r = await seedSshConfig(host, [seedConfigFor(home)], { dryRun: false, force: false });
    assert.deepEqual(r.edits.map((e) => e.action), ["created", "created"]);
    assert.equal(r.backup, undefined);
    assert.equal((await fsp.stat(paths.sshDir)).mode & 0o777, 0o700);
    assert.equal((await fsp.stat(paths.config)).mode & 0o777, 0o600);
    const removed = await removeSshConfig(host, { dryRun: false });
    assert.deepEqual(removed.edits.map((e) => e.action).sort(), ["removed", "removed"]);
    assert.equal(fs.existsSync(paths.config), false);
    assert.equal(fs.existsSync(paths.tshupDir), false);
    assert.equal(fs.existsSync(paths.sshDir), true, "~/.ssh itself stays");
  } finally {
    await fsp.rm(home, { recursive: true, force: true });
  }
});

test("a cluster file edited by hand is kept with a warning, replaced with --force; a symlinked config is written through", async () => {
  const home = await tempDir("tshup-ssh-");
  try {
    const host = fakeHost(home);
    const paths = sshPaths(host);
    await fsp.mkdir(path.join(home, "dotfiles"), { recursive: true });
    await fsp.mkdir(paths.sshDir, { mode: 0o700 });
    const real = path.join(home, "dotfiles", "ssh_config");
    await fsp.writeFile(real, "Host mine\n    User me\n");
    await fsp.symlink(real, paths.config);

    await seedSshConfig(host, [seedConfigFor(home)], { dryRun: false, force: false });
    assert.equal((await fsp.lstat(paths.config)).isSymbolicLink(), true, "the link stays a link");
    assert.match(await fsp.readFile(real, "utf8"), /^# >>> tshup >>>\n[\s\S]*Host mine\n/);

    const clusterFile = path.join(paths.tshupDir, `${CLUSTER}.conf`);
    const mine = (await fsp.readFile(clusterFile, "utf8")).replace("ServerAliveInterval 60", "ServerAliveInterval 15");
    await fsp.writeFile(clusterFile, mine);
    const changedSite = { ...seedConfigFor(home), options: { ...seedConfigFor(home).options, ServerAliveCountMax: 5 } };
    const kept = await seedSshConfig(host, [changedSite], { dryRun: false, force: false });
    assert.deepEqual(kept.edits[0], { file: clusterFile, action: "kept-user-edit" });
    assert.match(kept.warnings.join("\n"), /changed by hand.*--force/);
    assert.equal(await fsp.readFile(clusterFile, "utf8"), mine);

    const forced = await seedSshConfig(host, [changedSite], { dryRun: false, force: true });
    assert.deepEqual(forced.edits[0], { file: clusterFile, action: "updated" });
    assert.equal(managedFileState(await fsp.readFile(clusterFile, "utf8")), "tshup");
    assert.match(await fsp.readFile(clusterFile, "utf8"), /ServerAliveCountMax 5/);

    // A site change reaches an unedited file without --force.
    const plain = await seedSshConfig(host, [seedConfigFor(home)], { dryRun: false, force: false });
    assert.deepEqual(plain.edits[0], { file: clusterFile, action: "updated" });

    await fsp.writeFile(path.join(paths.tshupDir, "notes.txt"), "mine\n");
    const removed = await removeSshConfig(host, { dryRun: false });
    assert.match(removed.warnings.join("\n"), /kept .*notes\.txt/);
    assert.equal(await fsp.readFile(real, "utf8"), "Host mine\n    User me\n");
    assert.equal(fs.existsSync(clusterFile), false);
  } finally {
    await fsp.rm(home, { recursive: true, force: true });
  }
});

test("the backup is taken once, before the first change; uninstall removes it once the config has its bytes back", async () => {
  const home = await tempDir("tshup-ssh-");
  try {
    const host = fakeHost(home);
    const paths = sshPaths(host);
    await fsp.mkdir(paths.sshDir, { mode: 0o700 });
    await fsp.writeFile(paths.config, "Host one\n");
    const r1 = await seedSshConfig(host, [seedConfigFor(home)], { dryRun: false, force: false });
    assert.equal(r1.backup, paths.backup);
    const again = await seedSshConfig(host, [seedConfigFor(home)], { dryRun: false, force: true });
    assert.equal(again.backup, undefined, "no second backup while the block is in place");
    assert.equal(await fsp.readFile(paths.backup, "utf8"), "Host one\n");
    await removeSshConfig(host, { dryRun: false });
    assert.equal(await fsp.readFile(paths.config, "utf8"), "Host one\n");
    assert.equal(fs.existsSync(paths.backup), false, "the backup goes with the block");
    await fsp.writeFile(paths.backup, "Host older\n");
    await fsp.writeFile(paths.config, "Host two\n");
    const r2 = await seedSshConfig(host, [seedConfigFor(home)], { dryRun: false, force: false });
    assert.equal(r2.backup, `${paths.backup}-20250102T030405Z`, "a backup with other bytes is never overwritten");
    assert.equal(await fsp.readFile(paths.backup, "utf8"), "Host older\n");
    assert.equal(await fsp.readFile(r2.backup!, "utf8"), "Host two\n");
  } finally {
    await fsp.rm(home, { recursive: true, force: true });
  }
});

test("seedTshProfile writes the profile (strings safe for tsh's YAML 1.1 reader) and current-profile, only when absent", async () => {
  const home = await tempDir("tshup-tsh-");
  try {
    const host = fakeHost(home);
    const teleportHome = path.join(home, ".tsh");
    const seed = {
      teleportHome,
      proxyHost: "teleport.example.org",
      webProxyAddr: "teleport.example.org:443",
      sshProxyAddr: "teleport.example.org:443",
      user: "yes",
      cluster: "example",
      tlsRoutingEnabled: true,
    };
    assert.equal(
      renderTshProfile(seed),
      'web_proxy_addr: "teleport.example.org:443"\nssh_proxy_addr: "teleport.example.org:443"\nuser: "yes"\ncluster: "example"\ntls_routing_enabled: true\nprivate_key_policy: none\n',
    );
    // Go's yaml.v2 reads YAML 1.1, where a bare yes would be a boolean and not load into Username.
    assert.deepEqual(parseYaml(renderTshProfile(seed), { version: "1.1" }), {
      web_proxy_addr: "teleport.example.org:443",
      ssh_proxy_addr: "teleport.example.org:443",
      user: "yes",
      cluster: "example",
      tls_routing_enabled: true,
      private_key_policy: "none",
    });
    const dry = await seedTshProfile(host, seed, { dryRun: true });
    assert.equal(dry.changed, true);
    assert.equal(fs.existsSync(teleportHome), false);
    const r = await seedTshProfile(host, seed, { dryRun: false });
    assert.deepEqual(r.edits.map((e) => [path.basename(e.file), e.action]), [
      ["teleport.example.org.yaml", "created"],
      ["current-profile", "created"],
    ]);
    assert.equal((await fsp.stat(teleportHome)).mode & 0o777, 0o700);
    assert.equal((await fsp.stat(path.join(teleportHome, "teleport.example.org.yaml"))).mode & 0o777, 0o600);
    assert.equal(await fsp.readFile(path.join(teleportHome, "current-profile"), "utf8"), "teleport.example.org\n");

    await fsp.writeFile(path.join(teleportHome, "current-profile"), "other.example.org\n");
    const again = await seedTshProfile(host, { ...seed, user: "someone-else" }, { dryRun: false });
    assert.equal(again.changed, false);
    assert.equal(await fsp.readFile(path.join(teleportHome, "current-profile"), "utf8"), "other.example.org\n");
    assert.match(await fsp.readFile(path.join(teleportHome, "teleport.example.org.yaml"), "utf8"), /user: "yes"/);
  } finally {
    await fsp.rm(home, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------------------------------------------
// What ssh itself makes of it: `ssh -G`

/** `ssh -G` as key -> values (repeated keys such as identityfile keep their order). */
function sshG(configFile: string, hostName: string, home: string): { ok: boolean; map: Map<string, string[]>; raw: string; err: string } {
  const r = spawnSync("ssh", ["-G", "-F", configFile, hostName], {
    env: { ...process.env, HOME: home },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const map = new Map<string, string[]>();
  for (const line of r.stdout.split("\n")) {
    const i = line.indexOf(" ");
    if (i <= 0) continue;
    const k = line.slice(0, i);
    map.set(k, [...(map.get(k) ?? []), line.slice(i + 1)]);
  }
  return { ok: r.status === 0, map, raw: r.stdout, err: r.stderr };
}

const SEED_HOSTS = ["ab-1", "a1-login", "abc-7", "a12-gpu", "hpc-login1", "hpc2020-node17", "ecs-web"];
/** Names matching none of the seed patterns (some match the corpus's own sections). */
const OTHER_HOSTS = ["github.com", "zz-1", "a-1", "b1-x", "bastion", "db-main", "web1", "alpha", "lab", "x.corp.example.com", "nas"];

/**
 * The seed document's hand-written block (TELEPORT.md section 7, item 1) with the seed site's
 * patterns, options and jump port. `~` is written as the absolute home so that `ssh -G` prints the
 * same text for both (ssh expands `~` from the password database, not from $HOME).
 */
function handWrittenSeedBlock(home: string): string {
  const o = SEED_CLUSTER.ssh!.options!;
  const patterns = SEED_CLUSTER.ssh!.hosts!.join(" ");
  const keys = `${home}/.tsh/keys/jump.example.org`;
  return [
    `Host jump.example.org ${patterns}`,
    `  User ${LOGIN}`,
    `  IdentityFile ${keys}/${TELEPORT_USER}`,
    `  CertificateFile ${keys}/${TELEPORT_USER}-ssh/${CLUSTER}-cert.pub`,
    `  HostKeyAlgorithms ${o.HostKeyAlgorithms}`,
    `  PubkeyAcceptedKeyTypes ${o.PubkeyAcceptedKeyTypes}`,
    `  ServerAliveInterval ${o.ServerAliveInterval}`,
    `  TCPKeepAlive ${o.TCPKeepAlive}`,
    `Host ${patterns}`,
    `  ProxyJump jump.example.org:3023`,
    // Pasted above a config's global options, the block's last section would capture them; `Host *`
    // keeps them global, as they stay with tshup's Include (an included file's sections end with it).
    "Host *",
    "",
  ].join("\n");
}

test("ssh -G: the seed site's hosts get tshup's settings in every corpus config, identical to the seed document's block; other hosts are untouched", async () => {
  requireTool("ssh", "openssh-client");
  for (const c of corpus) {
    const home = await tempDir("tshup-sshG-");
    try {
      const host = fakeHost(home);
      const paths = sshPaths(host);
      await fsp.mkdir(paths.sshDir, { mode: 0o700 });
      await fsp.writeFile(paths.config, c.bytes, { mode: 0o600 });
      const pristine = path.join(home, "pristine.conf");
      await fsp.writeFile(pristine, c.bytes);
      const bom = c.text.startsWith(BOM) ? 3 : 0;
      const hand = path.join(home, "hand.conf");
      await fsp.writeFile(hand, Buffer.concat([c.bytes.subarray(0, bom), Buffer.from(handWrittenSeedBlock(home)), c.bytes.subarray(bom)]));
      await seedSshConfig(host, [seedConfigFor(home)], { dryRun: false, force: false });

      if (bom) {
        // OpenSSH refuses a config that starts with a byte order mark, before tshup and after.
        const before = sshG(pristine, "ab-1", home);
        const after = sshG(paths.config, "ab-1", home);
        assert.equal(before.ok, false, c.name);
        assert.equal(after.ok, false, c.name);
        assert.match(after.err, /Bad configuration option/, c.name);
        continue;
      }

      const keys = path.join(home, ".tsh", "keys", "jump.example.org");
      for (const name of SEED_HOSTS) {
        const g = sshG(paths.config, name, home);
        assert.equal(g.ok, true, `${c.name} ${name}: ${g.err}`);
        const one = (k: string) => g.map.get(k)?.[0];
        assert.equal(one("user"), LOGIN, `${c.name} ${name}`);
        assert.equal(one("identityfile"), path.join(keys, TELEPORT_USER), `${c.name} ${name}`);
        assert.equal(one("certificatefile"), path.join(keys, `${TELEPORT_USER}-ssh`, `${CLUSTER}-cert.pub`), `${c.name} ${name}`);
        assert.equal(one("proxyjump"), "jump.example.org:3023", `${c.name} ${name}`);
        assert.equal(one("proxycommand"), undefined, `${c.name} ${name}`);
        assert.equal(one("serveraliveinterval"), "60", `${c.name} ${name}`);
        assert.equal(one("tcpkeepalive"), "yes", `${c.name} ${name}`);
        assert.match(one("hostkeyalgorithms") ?? "", /(^|,)ssh-rsa(,|$)/, `${c.name} ${name}`);
        assert.match(one("hostkeyalgorithms") ?? "", /(^|,)rsa-sha2-512(,|$)/, `${c.name} ${name}`);
        assert.match(one("pubkeyacceptedalgorithms") ?? "", /(^|,)ssh-rsa(,|$)/, `${c.name} ${name}`);
        assert.equal(g.raw, sshG(hand, name, home).raw, `${c.name} ${name}: same as the seed document's block`);
      }
      // The jump host itself: the key and login, no jump (ssh would loop).
      const jump = sshG(paths.config, "jump.example.org", home);
      assert.equal(jump.map.get("proxyjump"), undefined, c.name);
      assert.equal(jump.map.get("user")?.[0], LOGIN, c.name);
      assert.equal(jump.raw, sshG(hand, "jump.example.org", home).raw, c.name);
      for (const name of OTHER_HOSTS) {
        const g = sshG(paths.config, name, home);
        assert.equal(g.ok, true, `${c.name} ${name}: ${g.err}`);
        assert.equal(g.raw, sshG(pristine, name, home).raw, `${c.name} ${name}: resolves exactly as without tshup`);
        assert.equal(g.map.get("proxyjump")?.[0] === "jump.example.org:3023", false, `${c.name} ${name}`);
      }
    } finally {
      await fsp.rm(home, { recursive: true, force: true });
    }
  }
});

test("ssh -G: the tsh-proxy style sends *.<cluster> through tsh proxy ssh and leaves the proxy and other hosts alone", async () => {
  requireTool("ssh", "openssh-client");
  const home = await tempDir("tshup-sshG-");
  try {
    const host = fakeHost(home);
    const paths = sshPaths(host);
    const teleportHome = path.join(home, "tsh home");
    const tshPath = path.join(home, "tshup", "bin", "tsh");
    await seedSshConfig(
      host,
      [{ ...POSIX, homeDir: home, teleportHome, tshPath, cluster: "example.teleport", style: "tsh-proxy", hosts: [], options: { ServerAliveInterval: 30 } }],
      { dryRun: false, force: false },
    );
    const keys = path.join(teleportHome, "keys", "teleport.example.org");
    const node = sshG(paths.config, "node1.example.teleport", home);
    assert.equal(node.ok, true, node.err);
    assert.equal(node.map.get("proxycommand")?.[0], `/usr/bin/env TELEPORT_TOOLS_VERSION=off '${tshPath}' proxy ssh --cluster=example.teleport --proxy=teleport.example.org:443 %r@%h:%p`);
    assert.equal(node.map.get("port")?.[0], "3022");
    assert.equal(node.map.get("user")?.[0], "jdoe");
    assert.equal(node.map.get("identityfile")?.[0], path.join(keys, "jane.doe@example.org"), "a path with a space survives quoting");
    assert.equal(node.map.get("certificatefile")?.[0], path.join(keys, "jane.doe@example.org-ssh", "example.teleport-cert.pub"));
    assert.equal(node.map.get("userknownhostsfile")?.[0], path.join(teleportHome, "known_hosts"));
    assert.equal(node.map.get("serveraliveinterval")?.[0], "30");
    const proxy = sshG(paths.config, "teleport.example.org", home);
    assert.equal(proxy.map.get("proxycommand"), undefined);
    assert.equal(proxy.map.get("identityfile")?.[0], path.join(keys, "jane.doe@example.org"));
    const other = sshG(paths.config, "github.com", home);
    assert.equal(other.map.get("proxycommand"), undefined);
    assert.notEqual(other.map.get("port")?.[0], "3022");
    assert.equal(other.map.get("user")?.[0] === "jdoe", false);
  } finally {
    await fsp.rm(home, { recursive: true, force: true });
  }
});

test("host CA keys from the proxy's export: only well-formed @cert-authority lines reach tshup's known_hosts file", async () => {
  const key = `AAAAB3NzaC1yc2EAAAADAQABAAABAQ${"x".repeat(40)}`;
  const answer = [
    `@cert-authority tshup-test,*.tshup-test ssh-rsa ${key} type=host`,
    "@cert-authority * ssh-rsa AAAA$(touch /tmp/pwned)",
    "ProxyCommand sh -c evil",
    `@cert-authority x ssh-ed25519 ${key}\r`,
    `@cert-authority x ssh-ed25519 ${key} extra words`,
  ].join("\n");
  assert.deepEqual(parseHostCAs(answer), [`ssh-rsa ${key}`, `ssh-ed25519 ${key}`]);
  const c = { ...POSIX, style: "proxyjump" as const, hosts: ["node-*", "!node-x"], jump: "jump.example.org:3023", options: {}, hostCAs: parseHostCAs(answer) };
  const text = renderKnownHosts(c);
  assert.match(text, new RegExp(`\\n@cert-authority jump\\.example\\.org,node-\\* ssh-rsa ${key}\\n`));
  assert.equal(managedFileState(text), "tshup");
  assert.match(renderClusterConfig(c), /\n {4}GlobalKnownHostsFile "\/home\/jane\/\.ssh\/tshup\/example\.known_hosts" "\/etc\/ssh\/ssh_known_hosts" "\/etc\/ssh\/ssh_known_hosts2"\n/);
  assert.doesNotMatch(renderClusterConfig({ ...c, hostCAs: [] }), /KnownHostsFile/, "without a CA the user's own known hosts settings apply unchanged");
  assert.throws(() => renderKnownHosts({ ...c, hostCAs: ["ssh-rsa AAAA\nHost *"] }), /host CA key/);
});
