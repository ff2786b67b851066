/**
 * Release signatures: what tshup checks beyond the .sha256 sidecar, so that whoever controls a
 * mirror (or the CDN) cannot replace an archive and its sidecar together.
 */
import type { Context } from "../context.js";
import { verificationError, networkError } from "../core/errors.js";
import { parseSigFile, parseSigningKey, verifyDigest, type SigningKey } from "../core/signature.js";

/**
 * Keys built into tshup. Teleport's own key is injected into teleport-update at Teleport's build
 * time (TELEPORT_UPDATE_ARTIFACT_SIGNATURE_PUBLIC_KEY_B64, gravitational/teleport#68053) and is not
 * in its source, nor anywhere tshup could confirm it from: none is built in until it can be
 * confirmed, and a site adds the keys it trusts with the manifest's `signing_keys`.
 */
export const BUILT_IN_SIGNING_KEYS: readonly string[] = [];

export function trustedKeys(ctx: Context): SigningKey[] {
  return [...BUILT_IN_SIGNING_KEYS, ...(ctx.site?.signing_keys ?? [])].map(parseSigningKey);
}

/** Teleport signs its Linux tarballs; macOS packages and Windows zips carry no .sig. */
export function teleportSigns(artifact: string): boolean {
  return /-linux-[a-z0-9]+(-fips)?-bin\.tar\.gz$/.test(artifact);
}

export interface SignatureOutcome {
  /** What the report says of it. */
  status: "verified" | "missing" | "no trusted key" | "not signed by Teleport";
  /** The key that vouched, for `vouched_by`. */
  key?: string;
  /** The .sig's bytes, for a mirror to keep. */
  bytes?: Buffer;
}

/**
 * Checks `<artifactUrl>.sig` against the SHA-256 the sidecar (or a pin) names, before the download:
 * the download must then match that digest, so nothing is hashed twice. A bad signature is exit 5;
 * a missing one is a warning, or exit 5 when the manifest's policy requires signatures.
 */
export async function checkSignature(ctx: Context, artifactUrl: string, artifact: string, sha256: string): Promise<SignatureOutcome> {
  const keys = trustedKeys(ctx);
  const required = ctx.site?.policy?.signatures === "required";
  // A site with its own keys may sign anything it serves; Teleport signs only Linux tarballs.
  if (!teleportSigns(artifact) && !ctx.site?.signing_keys?.length) {
    return { status: "not signed by Teleport" };
  }
  const url = `${artifactUrl}.sig`;
  const res = await ctx.http.get(url, { maxBytes: 16 * 1024 });
  if (res.status === 404) {
    if (required) {
      throw verificationError(`no signature at ${url}, and the site manifest requires one (policy.signatures: required)`, "use a mirror that copies Teleport's .sig files (tshup mirror does), or re-sign with a key in signing_keys");
    }
    ctx.feedback.warn(`no signature at ${url}; trusting the checksum alone`);
    return { status: "missing" };
  }
  if (res.status !== 200) {
    if (required) throw networkError(`could not fetch ${url}: HTTP ${res.status}`, "try again later; the site manifest requires a signature");
    ctx.feedback.warn(`could not fetch ${url} (HTTP ${res.status}); trusting the checksum alone`);
    return { status: "missing" };
  }
  const sig = parseSigFile(res.body);
  if (!sig) throw verificationError(`${url} is not an ECDSA signature (expected base64 DER, as cosign writes)`, "the mirror serves a damaged or forged .sig; nothing was installed. Report it to whoever runs the CDN or mirror");
  if (keys.length === 0) {
    if (required) throw verificationError(`${url} cannot be checked: tshup trusts no signing key`, "add the key that signs these artifacts to the site manifest's signing_keys");
    ctx.feedback.verbose(`${url} is there, but tshup has no key to check it (add signing_keys to the site manifest)`);
    return { status: "no trusted key", bytes: res.body };
  }
  const digest = Buffer.from(sha256, "hex");
  const key = keys.find((k) => verifyDigest(k, digest, sig));
  if (!key) {
    throw verificationError(
      `bad signature for ${artifact}: ${url} was not made by any trusted key (${keys.map((k) => k.fingerprint).join(", ")}) over sha256 ${sha256}`,
      "the archive and its checksum may both have been replaced; nothing was installed. Report it to whoever runs the CDN or mirror",
    );
  }
  ctx.feedback.verbose(`${url}: signature by key ${key.fingerprint} verified over sha256 ${sha256}`);
  return { status: "verified", key: key.fingerprint, bytes: res.body };
}
