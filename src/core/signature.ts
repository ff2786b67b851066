/**
 * Teleport's release signatures (gravitational/teleport#68053, backported to v17 and v18): a
 * detached `<artifact>.sig` beside each Linux tarball holds, in base64, a DER-encoded ECDSA P-256
 * signature over the tarball's SHA-256 digest, made with a key kept in AWS KMS (cosign's
 * `sign-blob --key` format). The digest is the one the `.sha256` sidecar or a pin already names and
 * the download is checked against, so verifying needs no second pass over the archive: the
 * signature is checked against that digest before the download, and the download must then match
 * it.
 *
 * Node's crypto only verifies ECDSA over data it hashes itself, so the verification over a digest
 * is done here, with the curve's own arithmetic on public values.
 */
import { createHash, createPublicKey } from "node:crypto";

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const A = P - 3n;
const G = { x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n, y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n };

/** A P-256 public key tshup trusts, with a short fingerprint for reports. */
export interface SigningKey {
  x: bigint;
  y: bigint;
  /** sha256 of the key's DER (SubjectPublicKeyInfo), hex, first 16 characters. */
  fingerprint: string;
}

/** Reads a PEM public key; only ECDSA P-256 is accepted, as Teleport signs with it. */
export function parseSigningKey(pem: string): SigningKey {
  const key = createPublicKey(pem);
  const jwk = key.export({ format: "jwk" }) as { kty?: string; crv?: string; x?: string; y?: string };
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.x || !jwk.y) throw new Error("not an ECDSA P-256 public key");
  const der = key.export({ format: "der", type: "spki" });
  return {
    x: BigInt(`0x${Buffer.from(jwk.x, "base64url").toString("hex")}`),
    y: BigInt(`0x${Buffer.from(jwk.y, "base64url").toString("hex")}`),
    fingerprint: createHash("sha256").update(der).digest("hex").slice(0, 16),
  };
}

/** A `.sig` file's DER signature (cosign writes it in base64, with or without a newline), or null. */
export function parseSigFile(bytes: Buffer): { r: bigint; s: bigint } | null {
  const text = bytes.toString("latin1").trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length > 200) return null;
  return parseDerSignature(Buffer.from(text, "base64"));
}

function parseDerSignature(der: Buffer): { r: bigint; s: bigint } | null {
  // SEQUENCE { INTEGER r, INTEGER s }, short-form lengths (a P-256 signature is at most 72 bytes).
  if (der.length < 8 || der[0] !== 0x30 || der[1] !== der.length - 2) return null;
  let i = 2;
  const int = (): bigint | null => {
    if (der[i] !== 0x02) return null;
    const len = der[i + 1]!;
    if (len === 0 || len > 33 || i + 2 + len > der.length) return null;
    const bytes = der.subarray(i + 2, i + 2 + len);
    // DER: no negative numbers, no needless leading zero.
    if (bytes[0]! & 0x80 || (len > 1 && bytes[0] === 0 && !(bytes[1]! & 0x80))) return null;
    i += 2 + len;
    return BigInt(`0x${bytes.toString("hex")}`);
  };
  const r = int();
  const s = int();
  if (r === null || s === null || i !== der.length) return null;
  return { r, s };
}

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;

function inverse(a: bigint, m: bigint): bigint {
  // m is prime: a^(m-2) mod m.
  let result = 1n;
  let base = mod(a, m);
  let e = m - 2n;
  while (e > 0n) {
    if (e & 1n) result = (result * base) % m;
    base = (base * base) % m;
    e >>= 1n;
  }
  return result;
}

/** Jacobian coordinates (X, Y, Z) for x = X/Z^2, y = Y/Z^3; Z = 0 is the point at infinity. */
type Jacobian = [bigint, bigint, bigint];
const INFINITY: Jacobian = [1n, 1n, 0n];

function double([x, y, z]: Jacobian): Jacobian {
  if (z === 0n || y === 0n) return INFINITY;
  const yy = (y * y) % P;
  const s = (4n * x * yy) % P;
  const zz = (z * z) % P;
  const m = mod(3n * x * x + A * zz * zz, P);
  const x3 = mod(m * m - 2n * s, P);
  const y3 = mod(m * (s - x3) - 8n * yy * yy, P);
  const z3 = (2n * y * z) % P;
  return [x3, y3, z3];
}

function add(p: Jacobian, q: Jacobian): Jacobian {
  if (p[2] === 0n) return q;
  if (q[2] === 0n) return p;
  const z1z1 = (p[2] * p[2]) % P;
  const z2z2 = (q[2] * q[2]) % P;
  const u1 = (p[0] * z2z2) % P;
  const u2 = (q[0] * z1z1) % P;
  const s1 = (p[1] * q[2] * z2z2) % P;
  const s2 = (q[1] * p[2] * z1z1) % P;
  if (u1 === u2) return s1 === s2 ? double(p) : INFINITY;
  const h = mod(u2 - u1, P);
  const r = mod(s2 - s1, P);
  const hh = (h * h) % P;
  const hhh = (h * hh) % P;
  const v = (u1 * hh) % P;
  const x3 = mod(r * r - hhh - 2n * v, P);
  const y3 = mod(r * (v - x3) - s1 * hhh, P);
  const z3 = (p[2] * q[2] * h) % P;
  return [x3, y3, z3];
}

/** u1·G + u2·Q in one pass over the bits (Shamir's trick). */
function twoScalars(u1: bigint, u2: bigint, q: { x: bigint; y: bigint }): Jacobian {
  const g: Jacobian = [G.x, G.y, 1n];
  const qj: Jacobian = [q.x, q.y, 1n];
  const gq = add(g, qj);
  let acc = INFINITY;
  for (let bit = 255n; bit >= 0n; bit--) {
    acc = double(acc);
    const b1 = (u1 >> bit) & 1n;
    const b2 = (u2 >> bit) & 1n;
    if (b1 && b2) acc = add(acc, gq);
    else if (b1) acc = add(acc, g);
    else if (b2) acc = add(acc, qj);
  }
  return acc;
}

/** Whether `signature` is a valid ECDSA P-256 signature by `key` over the SHA-256 `digest`. */
export function verifyDigest(key: SigningKey, digest: Buffer, signature: { r: bigint; s: bigint }): boolean {
  const { r, s } = signature;
  if (digest.length !== 32 || r < 1n || r >= N || s < 1n || s >= N) return false;
  const e = BigInt(`0x${digest.toString("hex")}`);
  const w = inverse(s, N);
  const point = twoScalars(mod(e * w, N), mod(r * w, N), key);
  if (point[2] === 0n) return false;
  const zInv = inverse(point[2], P);
  const x = (point[0] * zInv * zInv) % P;
  return mod(x, N) === r;
}
