// scripts/macho-sign.mjs against the macOS executables `npm run dist` made and against Node's own
// Apple-signed binaries. The CodeDirectory reader below is written independently of the script's,
// so the two cross-check each other.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "dist", "bin");
const SIGNER = path.join(ROOT, "scripts", "macho-sign.mjs");
const DARWIN = ["tshup-darwin-x64", "tshup-darwin-arm64"];

function signer(...args: string[]) {
  const r = spawnSync(process.execPath, [SIGNER, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The unmodified Node the dist build started from, out of the Node cache (fetched if missing). */
function originalNode(target: string): string {
  const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "dist.mjs"), "--print-node", target], { encoding: "utf8" });
  assert.equal(r.status, 0, `dist.mjs --print-node ${target} failed: ${r.stderr}`);
  return r.stdout.trim();
}

interface CodeDirectory {
  dataoff: number;
  identifier: string;
  flags: number;
  codeLimit: number;
  pageHashes: Buffer[];
}

/** The primary CodeDirectory of a thin 64-bit Mach-O, read with nothing but offsets. */
function readCodeDirectory(buf: Buffer): CodeDirectory {
  assert.equal(buf.readUInt32LE(0), 0xfeedfacf, "not a 64-bit Mach-O");
  const ncmds = buf.readUInt32LE(16);
  let off = 32;
  let dataoff = -1;
  for (let i = 0; i < ncmds; i++) {
    if (buf.readUInt32LE(off) === 0x1d) dataoff = buf.readUInt32LE(off + 8);
    off += buf.readUInt32LE(off + 4);
  }
  assert.ok(dataoff > 0, "no LC_CODE_SIGNATURE");
  assert.equal(buf.readUInt32BE(dataoff), 0xfade0cc0, "no embedded-signature SuperBlob");
  const count = buf.readUInt32BE(dataoff + 8);
  let cd = -1;
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32BE(dataoff + 12 + 8 * i) === 0) cd = dataoff + buf.readUInt32BE(dataoff + 16 + 8 * i);
  }
  assert.equal(buf.readUInt32BE(cd), 0xfade0c02, "slot 0 is not a CodeDirectory");
  const hashOffset = buf.readUInt32BE(cd + 16);
  const identOffset = buf.readUInt32BE(cd + 20);
  const nCodeSlots = buf.readUInt32BE(cd + 28);
  const hashSize = buf.readUInt8(cd + 36);
  const identEnd = buf.indexOf(0, cd + identOffset);
  return {
    dataoff,
    identifier: buf.toString("utf8", cd + identOffset, identEnd),
    flags: buf.readUInt32BE(cd + 12),
    codeLimit: buf.readUInt32BE(cd + 32),
    pageHashes: Array.from({ length: nCodeSlots }, (_, i) => buf.subarray(cd + hashOffset + i * hashSize, cd + hashOffset + (i + 1) * hashSize)),
  };
}

let tmp: string;
before(async () => {
  for (const name of DARWIN) {
    if (!fs.existsSync(path.join(BIN, name))) {
      throw new Error(`dist/bin/${name} is missing: run npm run dist first (npm test does it unless TSHUP_TEST_SKIP_DIST=1)`);
    }
  }
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-macho-test-"));
});
after(async () => {
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

for (const name of DARWIN) {
  test(`${name} carries a valid ad-hoc signature that re-signing leaves unchanged`, async () => {
    const file = path.join(BIN, name);
    const v = signer("--verify", file);
    assert.equal(v.code, 0, `--verify ${name} failed: ${v.stderr}`);
    assert.match(v.stdout, /OK .*ad-hoc, identifier tshup-darwin-/);

    const original = await fsp.readFile(file);
    const cd = readCodeDirectory(original);
    assert.equal(cd.flags & 0x2, 0x2, "CodeDirectory lacks the ad-hoc flag");
    assert.equal(cd.identifier, name);
    assert.equal(cd.codeLimit, cd.dataoff);
    assert.equal(cd.pageHashes.length, Math.ceil(cd.codeLimit / 4096));
    const page = 1000;
    assert.deepEqual(cd.pageHashes[page], createHash("sha256").update(original.subarray(page * 4096, (page + 1) * 4096)).digest());

    // Same name, so the same default identifier: signing again must be a no-op, twice over.
    const copy = path.join(tmp, name);
    await fsp.copyFile(file, copy);
    for (let i = 0; i < 2; i++) {
      const s = signer(copy);
      assert.equal(s.code, 0, `signing ${name} again failed: ${s.stderr}`);
      assert.ok((await fsp.readFile(copy)).equals(original), `signing ${name} a ${i ? "second" : "first"} time changed its bytes`);
    }
  });
}

for (const target of ["darwin-x64", "darwin-arm64"]) {
  test(`Node's Apple-signed ${target} binary passes --verify, and re-signing it keeps Apple's page hashes`, async () => {
    const node = originalNode(target);
    const v = signer("--verify", node);
    assert.equal(v.code, 0, `--verify of the original Node for ${target} failed: ${v.stderr}`);
    assert.match(v.stdout, /OK .*CMS-signed.*special slot/);

    const apple = readCodeDirectory(await fsp.readFile(node));
    const copy = path.join(tmp, `node-${target}`);
    await fsp.copyFile(node, copy);
    const s = signer("--identifier", "node", copy);
    assert.equal(s.code, 0, `re-signing Node for ${target} failed: ${s.stderr}`);
    assert.equal(signer("--verify", copy).code, 0);
    const mine = readCodeDirectory(await fsp.readFile(copy));
    assert.equal(mine.codeLimit, apple.codeLimit, "re-signing moved the signature");
    // Page 0 holds the load commands, whose signature size changed; every other page is untouched.
    const differing = mine.pageHashes.flatMap((h, i) => (h.equals(apple.pageHashes[i]) ? [] : [i]));
    assert.deepEqual(differing, [0], "page hashes differ from Apple's beyond the header page");
  });
}

test("--verify names the page whose bytes changed", async () => {
  const file = path.join(tmp, "flipped");
  const buf = await fsp.readFile(path.join(BIN, "tshup-darwin-arm64"));
  const at = 5 * 4096 + 123;
  buf[at] ^= 0x01;
  await fsp.writeFile(file, buf);
  const v = signer("--verify", file);
  assert.notEqual(v.code, 0, "--verify accepted a binary with a flipped byte");
  assert.match(v.stderr, /page 5 .*hash mismatch/);
});

test("--verify notices a changed requirements blob and a truncated file", async () => {
  const buf = await fsp.readFile(path.join(BIN, "tshup-darwin-x64"));
  const { dataoff } = readCodeDirectory(buf);
  const count = buf.readUInt32BE(dataoff + 8);
  let req = -1;
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32BE(dataoff + 12 + 8 * i) === 2) req = dataoff + buf.readUInt32BE(dataoff + 16 + 8 * i);
  }
  assert.ok(req > 0, "no requirements blob");
  const changed = Buffer.from(buf);
  changed[req + 11] ^= 0x01;
  await fsp.writeFile(path.join(tmp, "req"), changed);
  const v1 = signer("--verify", path.join(tmp, "req"));
  assert.notEqual(v1.code, 0);
  assert.match(v1.stderr, /special slot -2 \(requirements\) hash mismatch/);

  await fsp.writeFile(path.join(tmp, "short"), buf.subarray(0, buf.length - 100));
  const v2 = signer("--verify", path.join(tmp, "short"));
  assert.notEqual(v2.code, 0);
  assert.match(v2.stderr, /past the end of the file/);
});

test("--remove leaves an unsigned file that --verify rejects and signing restores", async () => {
  const file = path.join(tmp, "tshup-darwin-arm64");
  const signed = await fsp.readFile(path.join(BIN, "tshup-darwin-arm64"));
  await fsp.writeFile(file, signed);
  assert.equal(signer("--remove", file).code, 0);
  const unsigned = await fsp.readFile(file);
  assert.ok(unsigned.length < signed.length);
  const v = signer("--verify", file);
  assert.notEqual(v.code, 0);
  assert.match(v.stderr, /unsigned/);
  assert.equal(signer(file).code, 0);
  assert.ok((await fsp.readFile(file)).equals(signed), "remove then sign did not give back the same bytes");
});

test("a universal (fat) binary is refused with a clear message", async () => {
  const fat = Buffer.alloc(4096);
  fat.writeUInt32BE(0xcafebabe, 0);
  fat.writeUInt32BE(2, 4);
  await fsp.writeFile(path.join(tmp, "fat"), fat);
  const v = signer(path.join(tmp, "fat"));
  assert.notEqual(v.code, 0);
  assert.match(v.stderr, /universal \(fat\) Mach-O is not supported/);
});
