import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fsp from "node:fs/promises";
import path from "node:path";
import { startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { cliVariants, makeHome, runCli } from "./support/cli.js";
import { requireTool } from "./support/tools.js";
import { certificateValidity } from "../src/core/sshcert.js";

const variant = cliVariants()[0]!;
let standin: Standin;
let proxy: StandinProxy;
before(async () => {
  standin = await startStandin();
  proxy = await standin.addProxy({ cluster: "example", serverVersion: "17.5.1" });
  await standin.addArtifact({ version: "17.5.1", os: "linux", arch: "amd64", edition: "community" });
});
after(async () => standin.close());

/** A real OpenSSH user certificate, signed by a throw-away CA, valid for `validity` (ssh-keygen -V). */
function makeCertificate(dir: string, validity: string): string {
  const keygen = requireTool("ssh-keygen", "openssh-client");
  execFileSync(keygen, ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "ca")]);
  execFileSync(keygen, ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "alice")]);
  execFileSync(keygen, ["-q", "-s", path.join(dir, "ca"), "-I", "alice", "-n", "alice", "-V", validity, path.join(dir, "alice.pub")]);
  return path.join(dir, "alice-cert.pub");
}

async function healthyHome(validity = "-5m:+12h") {
  const h = await makeHome();
  const root = path.join(h.home, ".local", "share", "tshup");
  const env = { ...h.env, ...standin.env };
  const r = await runCli(variant, ["--proxy", proxy.addr, "--json"], { env });
  assert.equal(r.code, 0, r.stderr);
  const keys = path.join(h.home, ".tsh", "keys", "127.0.0.1", "alice-ssh");
  await fsp.mkdir(keys, { recursive: true });
  const cert = makeCertificate(path.join(h.home, ".tsh"), validity);
  await fsp.copyFile(cert, path.join(keys, "example-cert.pub"));
  await fsp.writeFile(path.join(h.home, ".tsh", "127.0.0.1.yaml"), `web_proxy_addr: ${proxy.addr}\nuser: alice\ncluster: example\n`);
  await fsp.mkdir(path.join(h.home, ".ssh"), { mode: 0o700 });
  await fsp.writeFile(path.join(h.home, ".ssh", "config"), "Host *\n  ServerAliveInterval 60\n", { mode: 0o600 });
  // A new shell's PATH: tshup's bin directory first, as its env script makes it.
  const shellEnv = { ...env, PATH: `${path.join(root, "bin")}:/usr/local/bin:/usr/bin:/bin` };
  return { ...h, root, env: shellEnv };
}

test("a healthy setup passes every check", async (t) => {
  const h = await healthyHome();
  t.after(h.cleanup);
  const r = await runCli(variant, ["doctor", "--proxy", proxy.addr, "--json"], { env: h.env });
  assert.equal(r.code, 0, `${r.stderr}\n${JSON.stringify(r.json?.findings, null, 1)}`);
  const checks = new Map(r.json.findings.map((f: any) => [f.check, f.status]));
  for (const c of ["installed", "path", "proxy", "version", "clock", "certificate", "ssh-config"]) assert.equal(checks.get(c), "ok", c);
  const human = await runCli(variant, ["doctor", "--proxy", proxy.addr], { env: h.env });
  assert.match(human.stdout, /no problems found/);
});

test("another tsh earlier on PATH is named, with its fix", async (t) => {
  const h = await healthyHome();
  t.after(h.cleanup);
  const other = path.join(h.home, "old-install", "bin");
  await fsp.mkdir(other, { recursive: true });
  await fsp.writeFile(path.join(other, "tsh"), "#!/bin/sh\necho old\n", { mode: 0o755 });
  const r = await runCli(variant, ["doctor", "--proxy", proxy.addr, "--json"], { env: { ...h.env, PATH: `${other}:${h.env.PATH}` } });
  assert.equal(r.code, 3);
  const f = r.json.findings.find((x: any) => x.check === "path" && x.status === "problem");
  assert.ok(f.detail.includes(path.join(other, "tsh")), f.detail);
  assert.match(f.fix, /delete .*tsh|move its directory/);
});

test("a clock ten minutes off and an expired certificate are problems", async (t) => {
  const h = await healthyHome("-2d:-1d");
  t.after(h.cleanup);
  standin.setClockSkew(600);
  try {
    const r = await runCli(variant, ["doctor", "--proxy", proxy.addr, "--json"], { env: h.env });
    assert.equal(r.code, 3);
    const clock = r.json.findings.find((x: any) => x.check === "clock");
    assert.equal(clock.status, "problem");
    assert.match(clock.detail, /10 minutes behind/);
    assert.match(clock.fix, /NTP/);
    const cert = r.json.findings.find((x: any) => x.check === "certificate");
    assert.equal(cert.status, "problem");
    assert.match(cert.detail, /expired/);
  } finally {
    standin.setClockSkew(0);
  }
});

test("certificate validity is read from the OpenSSH certificate itself", async (t) => {
  const h = await makeHome();
  t.after(h.cleanup);
  const cert = makeCertificate(h.home, "20300101:20300102");
  const v = certificateValidity(await fsp.readFile(cert, "utf8"));
  assert.ok(v);
  assert.equal(v.keyId, "alice");
  assert.equal(v.validAfter.getUTCFullYear(), 2030);
  assert.equal(v.validBefore.getTime() - v.validAfter.getTime(), 24 * 3600 * 1000);
  assert.equal(certificateValidity("ssh-ed25519 AAAA not a cert"), null);
});

test("a managed copy tsh would re-run instead (its own ~/.tsh/bin record, or TELEPORT_TOOLS_VERSION) is reported with its fix", async (t) => {
  const h = await healthyHome();
  t.after(h.cleanup);
  const tools = path.join(h.home, ".tsh", "bin");
  await fsp.mkdir(tools, { recursive: true });
  await fsp.writeFile(path.join(h.home, ".tsh", "current-profile"), "127.0.0.1\n");
  // As tsh 17+ writes it (lib/autoupdate/tools/config.go).
  await fsp.writeFile(
    path.join(tools, ".config.json"),
    JSON.stringify({ version: "v1", configs: { "127.0.0.1": { version: "17.4.0", disabled: false } }, tools: [{ version: "17.4.0", os: "linux", arch: "amd64", path: { tsh: "pkg/tsh" } }], max_tools: 3 }),
  );
  const doctor = await runCli(variant, ["doctor", "--proxy", proxy.addr, "--json"], { env: h.env });
  assert.equal(doctor.code, 3);
  const f = doctor.json.findings.find((x: any) => x.check === "managed-updates");
  assert.equal(f.status, "problem");
  assert.match(f.detail, /recorded 17\.4\.0 for the profile 127\.0\.0\.1 .* instead of tshup's 17\.5\.1/);
  assert.match(f.fix, /remove .*\.tsh\/bin/);
  const status = await runCli(variant, ["status", "--proxy", proxy.addr, "--json"], { env: h.env });
  assert.deepEqual(status.json.managed_override, { source: "config", version: "17.4.0", file: path.join(tools, ".config.json"), profile: "127.0.0.1" });
  assert.match(status.stderr, /re-runs that instead of tshup's 17\.5\.1/);

  const off = await runCli(variant, ["doctor", "--proxy", proxy.addr, "--json"], { env: { ...h.env, TELEPORT_TOOLS_VERSION: "off" } });
  assert.equal(off.json.findings.find((x: any) => x.check === "managed-updates").status, "ok", "TELEPORT_TOOLS_VERSION=off stops the re-run");
  await fsp.rm(tools, { recursive: true });
  const pinned = await runCli(variant, ["status", "--proxy", proxy.addr, "--json"], { env: { ...h.env, TELEPORT_TOOLS_VERSION: "17.3.0" } });
  assert.equal(pinned.json.managed_override.source, "TELEPORT_TOOLS_VERSION");
  const clean = await runCli(variant, ["doctor", "--proxy", proxy.addr, "--json"], { env: h.env });
  assert.equal(clean.json.findings.find((x: any) => x.check === "managed-updates").status, "ok");
});
