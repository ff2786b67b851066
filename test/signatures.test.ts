/**
 * Release signatures (.sig beside an artifact: base64 DER ECDSA P-256 over its SHA-256, as cosign
 * and Teleport's release pipeline write them), checked with keys of the tests' own making: the
 * attack they defend against is a mirror that replaces an archive and its sidecar together.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { cliVariants, makeHome, runCli } from "./support/cli.js";
import { sha256Sidecar, teleportArchive } from "./support/archives.js";
import { parseSigFile, parseSigningKey, verifyDigest } from "../src/core/signature.js";

const variant = cliVariants()[0]!;

function keyPair(): { privateKey: KeyObject; pem: string; fingerprint: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pem = publicKey.export({ format: "pem", type: "spki" }) as string;
  return { privateKey, pem, fingerprint: parseSigningKey(pem).fingerprint };
}

/** What `cosign sign-blob --key` writes: the base64 of a DER ECDSA signature over the blob's SHA-256. */
const sigFile = (data: Buffer, key: KeyObject) => Buffer.from(`${sign("sha256", data, key).toString("base64")}\n`);

test("ECDSA P-256 over a digest: every signature Node makes verifies; any other digest, key or damaged signature does not", () => {
  const other = keyPair();
  for (let i = 0; i < 40; i++) {
    const k = keyPair();
    const data = randomBytes(64 + i);
    const digest = createHash("sha256").update(data).digest();
    const sig = parseSigFile(sigFile(data, k.privateKey))!;
    assert.ok(sig, "cosign's base64 form parses");
    assert.equal(verifyDigest(parseSigningKey(k.pem), digest, sig), true, `round ${i}`);
    const flipped = Buffer.from(digest);
    flipped[i % 32]! ^= 1;
    assert.equal(verifyDigest(parseSigningKey(k.pem), flipped, sig), false, "another digest");
    assert.equal(verifyDigest(parseSigningKey(other.pem), digest, sig), false, "another key");
    assert.equal(verifyDigest(parseSigningKey(k.pem), digest, { r: sig.r, s: sig.s + 1n }), false, "a changed s");
  }
  for (const junk of ["", "not base64!", "AAAA", Buffer.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]).toString("base64").slice(0, 6), "MEUCIQ"]) {
    assert.equal(parseSigFile(Buffer.from(junk)), null, JSON.stringify(junk));
  }
  assert.throws(() => parseSigningKey(generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }) as string), /not an ECDSA P-256/);
});

describe("signatures end to end", () => {
  let standin: Standin;
  let proxy: StandinProxy;
  const site = keyPair();
  const VERSION = "17.5.1";
  const NAME = `teleport-v${VERSION}-linux-amd64-bin.tar.gz`;
  let genuine: Buffer;

  before(async () => {
    standin = await startStandin();
    proxy = await standin.addProxy({ cluster: "example", serverVersion: VERSION });
    genuine = (await teleportArchive({ version: VERSION, os: "linux", arch: "amd64", edition: "community" })).data;
  });
  after(async () => standin.close());

  async function world(policy: "required" | "optional", keys = [site.pem]) {
    const h = await makeHome("tshup-sig-");
    const manifest = path.join(h.home, "site.yaml");
    const keyYaml = keys.map((k) => `  - |\n${k.trim().split("\n").map((l) => `    ${l}`).join("\n")}\n`).join("");
    await fsp.writeFile(manifest, `policy:\n  signatures: ${policy}\nsigning_keys:\n${keyYaml}clusters:\n  - proxy: ${proxy.addr}\n`);
    const env = { ...h.env, ...standin.env };
    const run = (extra: string[] = []) => runCli(variant, ["--manifest", manifest, "--no-config", "--json", ...extra], { env });
    return { ...h, manifest, env, run, root: path.join(h.home, ".local", "share", "tshup") };
  }
  const serve = (archive: Buffer, sig: Buffer | null) => {
    standin.setArtifact(NAME, archive);
    if (sig) standin.setArtifact(`${NAME}.sig`, sig, null);
    else standin.removeArtifact(`${NAME}.sig`);
  };

  test("a genuine signed archive installs; the report says the signature vouched, by which key", async (t) => {
    const w = await world("required");
    t.after(w.cleanup);
    serve(genuine, sigFile(genuine, site.privateKey));
    const r = await w.run();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json.artifacts[0].vouched_by, ["sidecar", `signature by key ${site.fingerprint}`]);
    assert.equal(r.json.artifacts[0].signature, "verified");
  });

  test("a mirror that replaced the archive and recomputed its sidecar is caught: exit 5, the previous tsh stays", async (t) => {
    const w = await world("optional");
    t.after(w.cleanup);
    serve(genuine, sigFile(genuine, site.privateKey));
    assert.equal((await w.run()).code, 0);
    // The attack: same name, other bytes, a sidecar that matches them, the genuine .sig left as it was.
    proxy.update({ serverVersion: "17.5.2" });
    t.after(() => proxy.update({ serverVersion: VERSION }));
    const evilName = "teleport-v17.5.2-linux-amd64-bin.tar.gz";
    const evil = (await teleportArchive({ version: "17.5.2", os: "linux", arch: "amd64", edition: "community" })).data;
    standin.setArtifact(evilName, evil, sha256Sidecar(evilName, evil));
    standin.setArtifact(`${evilName}.sig`, sigFile(genuine, site.privateKey), null);
    t.after(() => {
      standin.removeArtifact(evilName);
      standin.removeArtifact(`${evilName}.sig`);
    });
    const r = await w.run();
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.json.error.message, new RegExp(`bad signature for ${evilName.replace(/\./g, "\\.")}: .* not made by any trusted key \\(${site.fingerprint}\\)`));
    assert.match(execFileSync(path.join(w.root, "bin", "tsh"), ["version"], { encoding: "utf8" }), /v17\.5\.1 /);
    assert.ok(!fs.existsSync(path.join(w.root, "versions", "17.5.2")));
    assert.ok(!standin.requests.some((q) => q.path === `/${evilName}` && q.server === "cdn"), "refused before the archive was downloaded");
  });

  test("a signature by another key, and a truncated or garbage .sig, are exit 5", async (t) => {
    const w = await world("optional");
    t.after(w.cleanup);
    const stranger = keyPair();
    for (const [sig, message] of [
      [sigFile(genuine, stranger.privateKey), /bad signature/],
      [sigFile(genuine, site.privateKey).subarray(0, 20), /is not an ECDSA signature/],
      [Buffer.from("<html>not found</html>"), /is not an ECDSA signature/],
    ] as const) {
      serve(genuine, sig);
      const r = await w.run();
      assert.equal(r.code, 5, r.stderr);
      assert.match(r.json.error.message, message);
      assert.equal(r.stdout.trim().split(/\n(?=\{)/).length, 1);
    }
  });

  test("a mirror without .sig: a warning under the optional policy, exit 5 when the policy requires signatures", async (t) => {
    serve(genuine, null);
    const optional = await world("optional");
    t.after(optional.cleanup);
    const ok = await optional.run();
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.json.artifacts[0].signature, "missing");
    assert.deepEqual(ok.json.artifacts[0].vouched_by, ["sidecar"]);
    assert.match(ok.stderr, /no signature at .*\.sig; trusting the checksum alone/);
    const required = await world("required");
    t.after(required.cleanup);
    const refused = await required.run();
    assert.equal(refused.code, 5);
    assert.match(refused.json.error.message, /no signature at .*\.sig, and the site manifest requires one/);
    assert.ok(!fs.existsSync(path.join(required.root, "versions")), "nothing installed");
  });

  test("tshup mirror copies and verifies the .sig; an install from that mirror verifies it again", async (t) => {
    const w = await world("required");
    t.after(w.cleanup);
    serve(genuine, sigFile(genuine, site.privateKey));
    const dir = path.join(w.home, "mirror");
    const m = await runCli(variant, ["mirror", dir, "--version", VERSION, "--platforms", "linux-amd64", "--manifest", w.manifest, "--json"], { env: w.env });
    assert.equal(m.code, 0, m.stderr);
    assert.ok(fs.existsSync(path.join(dir, `${NAME}.sig`)));
    const fromMirror = await w.run(["--cdn-url", dir]);
    assert.equal(fromMirror.code, 0, fromMirror.stderr);
    assert.equal(fromMirror.json.artifacts[0].signature, "verified");
    // A mirror whose .sig was swapped for another key's is refused while filling it, too.
    serve(genuine, sigFile(genuine, keyPair().privateKey));
    const bad = await runCli(variant, ["mirror", path.join(w.home, "mirror2"), "--version", VERSION, "--platforms", "linux-amd64", "--manifest", w.manifest, "--json"], { env: w.env });
    assert.equal(bad.code, 5, bad.stderr);
    assert.ok(!fs.existsSync(path.join(w.home, "mirror2", NAME)));
  });

  test("artifacts Teleport does not sign say so; the manifest's signing_keys are validated", async (t) => {
    const h = await makeHome("tshup-sig-bad-");
    t.after(h.cleanup);
    const manifest = path.join(h.home, "site.yaml");
    await fsp.writeFile(manifest, `signing_keys:\n  - |\n    -----BEGIN PUBLIC KEY-----\n    AAAA\n    -----END PUBLIC KEY-----\n`);
    const r = await runCli(variant, ["--manifest", manifest, "--proxy", proxy.addr, "--json"], { env: { ...h.env, ...standin.env } });
    assert.equal(r.code, 2);
    assert.match(r.json.error.message, /signing_keys\[0\] is not an ECDSA P-256 public key/);
    const { teleportSigns } = await import("../src/io/signatures.js");
    assert.equal(teleportSigns("teleport-v17.5.1-linux-amd64-bin.tar.gz"), true);
    assert.equal(teleportSigns("teleport-ent-v17.5.1-linux-arm64-fips-bin.tar.gz"), true);
    assert.equal(teleportSigns("teleport-tools-17.8.0.pkg"), false);
    assert.equal(teleportSigns("teleport-v17.5.1-windows-amd64-bin.zip"), false);
  });
});
