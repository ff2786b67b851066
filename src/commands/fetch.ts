import path from "node:path";
import fs from "node:fs";
import fsp from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Context } from "../context.js";
import { envGet, uniqueTag } from "../host.js";
import { addStep } from "../core/report.js";
import { TshupError, usageError, fsError, networkError, systemError, verificationError } from "../core/errors.js";
import { onAbort } from "../io/abort.js";
import { commitVersion, newStagingDir, type VersionRecord } from "../io/store.js";
import type { Extracted } from "../io/extract.js";
import { ensureWorkDir, removeIfEmpty } from "../io/fsx.js";
import type { Target } from "./facts.js";

export const DEFAULT_CDN = "https://cdn.teleport.dev";

/** --cdn-url, TELEPORT_CDN_BASE_URL, or the public CDN; a plain directory is a file:// mirror. */
export function cdnBase(ctx: Context): string {
  const raw = ctx.opts.cdnUrl ?? envGet(ctx.host, "TELEPORT_CDN_BASE_URL") ?? ctx.site?.cdn ?? DEFAULT_CDN;
  if (/^(https?|file):\/\//i.test(raw)) {
    const bad = (why: string) => usageError(`--cdn-url ${raw}: ${why}`, "e.g. --cdn-url https://mirror.example.org/teleport, or a local directory");
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw bad("not a valid URL");
    }
    if (u.protocol === "file:") {
      try {
        fileURLToPath(u);
      } catch (err) {
        throw bad((err as Error).message);
      }
    }
    return raw.replace(/\/+$/, "");
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) throw usageError(`--cdn-url ${raw}: only https://, http://, file:// or a directory`, "e.g. --cdn-url https://mirror.example.org/teleport");
  return pathToFileURL(path.resolve(raw)).href.replace(/\/+$/, "");
}

/**
 * What vouches for an artifact: a hash pinned in a trusted manifest, or its sidecar, which must
 * come over verified https or from a local mirror. A plain-http sidecar could be forged by anyone
 * on the path, so it needs --allow-http-mirror, and the report says so.
 */
export function hashSource(ctx: Context, artifactUrl: string, pinned: string | undefined): "pinned" | "sidecar" | "sidecar over plain http" {
  if (pinned) return "pinned";
  if (!/^http:/i.test(artifactUrl)) return "sidecar";
  if (!ctx.opts.allowHttpMirror) {
    throw verificationError(
      `refusing ${artifactUrl}.sha256: it comes over plain http, where anyone on the network path could replace the archive and its checksum together`,
      "use an https mirror or a local directory, pin the hash in an https or local manifest (policy.sha256), or pass --allow-http-mirror if you trust the network",
    );
  }
  ctx.feedback.warn(`trusting ${artifactUrl}.sha256 over plain http (--allow-http-mirror): the network path decides what tsh runs`);
  ctx.report.insecure_http_mirror = true;
  return "sidecar over plain http";
}

/** What vouches for an artifact's hash, as --verbose says it: the pin or the sidecar's URL, and the signature. */
export function voucherText(vouchedBy: ReturnType<typeof hashSource>, url: string, signature: { status: string; key?: string }): string {
  const hash = vouchedBy === "pinned" ? "the pin in the site manifest" : `the ${vouchedBy} ${url}.sha256`;
  return `${hash}; signature: ${signature.key ? `verified, key ${signature.key}` : signature.status}`;
}

/**
 * Downloads, verifies, runs once and moves into versions/<id>: nothing is runnable before the hash
 * matched. Whatever fails, the staged files go at once (a signal too), and a full disk also drops
 * the partial download, so the disk is left as it was found; the work directories go once empty.
 */
export async function installVersion(ctx: Context, target: Target, base: string): Promise<VersionRecord> {
  const staged: string[] = [];
  const dropStaged = () => {
    for (const dir of staged) fs.rmSync(dir, { recursive: true, force: true });
    removeIfEmpty(ctx.layout.stagingDir);
  };
  const forget = onAbort(dropStaged);
  try {
    // Candidates in order; one the CDN does not have (404) gives way to the next.
    const missing: string[] = [];
    for (const [i, c] of target.candidates.entries()) {
      try {
        return await fetchAndStage(ctx, { ...target, artifact: c.name, kind: c.kind }, base, (dir) => staged.push(dir));
      } catch (err) {
        const notFound = err instanceof TshupError && err.notFound;
        if (!notFound || i === target.candidates.length - 1) {
          if (missing.length > 0 && notFound) {
            throw networkError(`no artifact for tsh ${target.version} on ${base}: tried ${[...missing, c.name].join(", ")} (HTTP 404 each)`, "check the version, the edition and --cdn-url; a mirror must hold one of these");
          }
          throw err;
        }
        missing.push(c.name);
        ctx.feedback.verbose(`${base}/${c.name} is not there (HTTP 404); trying ${target.candidates[i + 1]!.name}`);
      }
    }
    throw new Error("no artifact candidates");
  } catch (err) {
    dropStaged();
    if ((err as { cause?: { code?: string } }).cause?.code === "ENOSPC" || (err as { code?: string }).code === "ENOSPC") {
      const { removePartial } = await import("../io/download.js");
      await removePartial(path.join(ctx.layout.downloadsDir, `${target.artifact}.partial`)).catch(() => {});
      const e = err as TshupError;
      throw systemError(`${e.message}`, `free some disk space where ${ctx.layout.root} is (a Teleport archive takes up to about 250 MB while it installs) and run tshup again`, err);
    }
    throw err;
  } finally {
    forget();
    // After a success the staged directory is versions/<id>: only the emptied work areas go.
    dropStaged();
    removeIfEmpty(ctx.layout.downloadsDir);
  }
}

async function fetchAndStage(ctx: Context, target: Target, base: string, onStaging: (dir: string) => void): Promise<VersionRecord> {
  const { layout, opts, report, feedback, host } = ctx;
  const url = `${base}/${target.artifact}`;
  // Loaded only when there is something to download, so a run with nothing to do starts faster.
  const { extractZip, streamingTarGzExtractor, MAX_MEMBER_BYTES } = await import("../io/extract.js");
  const { downloadVerified, fetchSidecar, removePartial } = await import("../io/download.js");
  // A site's pinned hash is checked instead of the CDN's sidecar (SPEC section 7).
  const pinned = ctx.site?.policy?.sha256?.[target.artifact];
  const vouchedBy = hashSource(ctx, url, pinned);
  const sha256 = pinned ?? (await fetchSidecar(ctx.http, url)).sha256;
  // The signature vouches for the digest the download must then match: checked first, no second pass.
  const { checkSignature } = await import("../io/signatures.js");
  const signature = await checkSignature(ctx, url, target.artifact, sha256);
  const artifacts = (report.artifacts ??= []) as { name: string; url: string; sha256: string; vouched_by: string[]; signature: string }[];
  artifacts.push({ name: target.artifact, url, sha256, vouched_by: [vouchedBy, ...(signature.key ? [`signature by key ${signature.key}`] : [])], signature: signature.status });
  await ensureWorkDir(layout.downloadsDir);
  const partialPath = path.join(layout.downloadsDir, `${target.artifact}.partial`);
  let staging = "";
  const bar = feedback.progress(`Downloading ${target.artifact}`);
  let extracted: Extracted;
  try {
    const { extractor } = await downloadVerified(ctx.http, {
      url,
      name: target.artifact,
      sha256,
      vouchedBy: voucherText(vouchedBy, url, signature),
      log: feedback.verbose,
      partialPath,
      now: host.now,
      onProgress: (p) => bar.update(p.received, p.total),
      newExtractor:
        target.kind === "tar.gz"
          ? async () => {
              staging = await newStagingDir(layout, target.id, uniqueTag(host));
              onStaging(staging);
              return streamingTarGzExtractor(staging, opts.tools, target.artifact);
            }
          : null,
    });
    bar.done();
    if (extractor) {
      extracted = await extractor.done;
      const stopped = extracted.inflateStopped;
      if (stopped) feedback.verbose(`inflating ${target.artifact} stopped after ${stopped.after}, ${stopped.compressedBytes} bytes in; the rest was only hashed`);
    } else {
      staging = await newStagingDir(layout, target.id, uniqueTag(host));
      onStaging(staging);
      if (target.kind === "pkg") {
        const { extractPkg } = await import("../io/pkg.js");
        extracted = await extractPkg(partialPath, staging, opts.tools, target.artifact, MAX_MEMBER_BYTES);
      } else {
        extracted = await extractZip(partialPath, staging, opts.tools, target.artifact);
      }
    }
  } catch (err) {
    bar.done();
    throw err;
  }
  addStep(report, "download", "done", `${url} (sha256 ${sha256})`);

  for (const tool of opts.tools) {
    if (!extracted.tools[tool]) {
      throw verificationError(`${target.artifact} holds no ${tool}`, "the archive is not a Teleport release; check --cdn-url and the version");
    }
  }
  // Only now, with the whole archive verified, do the files become executable.
  for (const [rel, mode] of extracted.modes) {
    const file = path.join(staging, ...rel.split("/"));
    try {
      await fsp.chmod(file, mode | 0o400);
    } catch (err) {
      throw fsError(err, "set the mode of", file);
    }
  }
  addStep(report, "verify", "done", `sha256 matched ${target.artifact}`);
  const { checkTshVersion } = await import("../io/spawn.js");
  await checkTshVersion(host, path.join(staging, ...extracted.tools.tsh!.split("/")), target.version, target.artifact);

  const record: VersionRecord = {
    id: target.id,
    version: target.version,
    edition: target.edition,
    fips: target.fips,
    tools: extracted.tools,
    artifact: target.artifact,
    sha256,
    installedAt: new Date(host.now()).toISOString(),
  };
  await commitVersion(layout, staging, record, host);
  await removePartial(partialPath);
  addStep(report, "install", "done", `tsh ${target.version} in ${path.join(layout.versionsDir, target.id)}`);
  return record;
}

