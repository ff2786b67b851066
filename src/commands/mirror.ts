import fsp from "node:fs/promises";
import path from "node:path";
import type { Context } from "../context.js";
import { artifactCandidates, DEFAULT_MIRROR_PLATFORMS, MIRROR_PLATFORMS } from "../core/artifact.js";
import type { Edition } from "../core/ping.js";
import { addStep, dryRunExit } from "../core/report.js";
import { fsError, TshupError, usageError } from "../core/errors.js";
import { COMMANDS } from "../commandline.js";
import { downloadVerified, fetchSidecar } from "../io/download.js";
import { acquireRunLock } from "../io/lock.js";
import { atomicWriteFile, hashFile, mkdirp, readFileIfExists, renameWithRetry } from "../io/fsx.js";
import { cdnBase, hashSource, voucherText } from "./fetch.js";

/** Names a site might try that Teleport publishes nothing under. */
const NOT_PUBLISHED: Readonly<Record<string, string>> = {
  "linux-arm-fips": "Teleport publishes no FIPS build for linux-arm: FIPS builds exist for linux-amd64 and linux-arm64 only",
  "linux-386-fips": "Teleport publishes no FIPS build for linux-386: FIPS builds exist for linux-amd64 and linux-arm64 only",
};

const USAGE_HINT = `usage: tshup ${COMMANDS.mirror.usage}; tshup mirror --help describes it`;

export interface MirrorEntry {
  name: string;
  sha256: string | null;
  status: "done" | "skipped" | "failed";
}

/** The artifact names for the versions, platforms and edition asked for, in a stable order, once each. */
export function mirrorArtifacts(versions: readonly string[], platforms: readonly string[], edition: "auto" | "community" | "ent"): string[] {
  const editions: Edition[] = edition === "ent" ? ["community", "ent"] : ["community"];
  const names: string[] = [];
  for (const version of versions) {
    for (const key of platforms) {
      const p = MIRROR_PLATFORMS[key]!;
      for (const ed of p.fips ? (["ent"] as Edition[]) : editions) {
        const candidates = artifactCandidates({ version, platform: p.platform, arch: p.arch, edition: ed, fips: p.fips });
        // The one named by the platform (darwin-universal, linux-amd64-fips, ...).
        const name = (candidates.find((c) => c.name.includes(`-${key}-bin.`)) ?? candidates[0]!).name;
        if (!names.includes(name)) names.push(name);
      }
    }
  }
  return names;
}

function parseRequest(ctx: Context): { dir: string; names: string[] } {
  const { opts } = ctx;
  if (opts.versions.length === 0) throw usageError("mirror needs --version V[,V...]: which tsh versions to fetch", USAGE_HINT);
  const platforms = opts.platforms ?? DEFAULT_MIRROR_PLATFORMS;
  if (platforms.length === 0) throw usageError("--platforms is empty", `valid platforms: ${Object.keys(MIRROR_PLATFORMS).join(", ")}`);
  for (const p of platforms) {
    if (Object.hasOwn(NOT_PUBLISHED, p)) throw usageError(`--platforms ${p}: ${NOT_PUBLISHED[p]}`, `valid platforms: ${Object.keys(MIRROR_PLATFORMS).join(", ")}`);
    if (!Object.hasOwn(MIRROR_PLATFORMS, p)) {
      throw usageError(`--platforms: unknown platform "${p}"`, `valid platforms: ${Object.keys(MIRROR_PLATFORMS).join(", ")}`);
    }
  }
  const fips = platforms.filter((p) => MIRROR_PLATFORMS[p]!.fips);
  if (fips.length > 0 && opts.edition === "community") {
    throw usageError(`--edition community contradicts --platforms ${fips.join(",")}: FIPS builds are enterprise builds`, "drop --edition community, or the -fips platforms");
  }
  const dir = path.resolve(opts.positionals[0]!);
  return { dir, names: mirrorArtifacts(opts.versions, platforms, opts.edition) };
}

export async function runMirror(ctx: Context): Promise<number> {
  const { opts, report, host, feedback } = ctx;
  const { dir, names } = parseRequest(ctx);
  const base = cdnBase(ctx);
  const entries: MirrorEntry[] = [];
  report.mirror = { dir, artifacts: entries };
  const say = (line: string) => {
    if (!opts.json && !opts.quiet) host.stdout.write(`${line}\n`);
  };

  if (!opts.dryRun) await mkdirp(dir);
  const lockPath = path.join(dir, ".tshup-mirror.lock");
  const lock = opts.dryRun ? null : await acquireRunLock(lockPath, host, dir, feedback.info);
  const failures: TshupError[] = [];
  let wouldChange = false;
  try {
    for (const name of names) {
      const url = `${base}/${name}`;
      try {
        const outcome = await mirrorOne(ctx, dir, url, name);
        entries.push({ name, sha256: outcome.sha256, status: outcome.status });
        addStep(report, "download", outcome.status, `${name}: ${outcome.detail}`);
        if (outcome.wouldChange) wouldChange = true;
        say(`${outcome.word.padEnd(8)} ${name}  ${outcome.detail}`);
      } catch (err) {
        if (!(err instanceof TshupError)) throw err;
        failures.push(err);
        entries.push({ name, sha256: null, status: "failed" });
        addStep(report, "download", "failed", `${name}: ${err.message}`);
        say(`${"failed".padEnd(8)} ${name}  ${err.message}`);
        // An unreachable CDN, a full disk or the like would fail every other artifact the same way.
        if (!concernsOneArtifact(err)) break;
      }
    }
  } finally {
    await lock?.release();
  }

  const fetched = entries.filter((e) => e.status === "done").length;
  const kept = entries.filter((e) => e.status === "skipped").length;
  if (failures.length > 0) {
    // Everything that did verify stays in place; the first failure decides the exit code.
    const first = failures[0]!;
    const notTried = names.length - entries.length;
    const more =
      (failures.length > 1 ? ` (and ${failures.length - 1} more of ${names.length} artifacts failed)` : "") +
      (notTried > 0 ? ` (stopped there: ${notTried} more artifact${notTried === 1 ? "" : "s"} not tried)` : "");
    throw new TshupError(first.code, `${first.message}${more}`, first.hint, { cause: first });
  }
  if (opts.dryRun) return dryRunExit(report, wouldChange);
  feedback.info(`${dir}: ${names.length} artifact${names.length === 1 ? "" : "s"} verified (${fetched} fetched, ${kept} already there). Install from it with: tshup --cdn-url ${dir}`);
  return 0;
}

/** Failures that say nothing about the other artifacts: one not published, one that did not verify. */
function concernsOneArtifact(err: TshupError): boolean {
  return err.code === "verification" || err.notFound;
}

interface Outcome {
  status: "done" | "skipped";
  word: string;
  detail: string;
  sha256: string;
  wouldChange: boolean;
}

async function mirrorOne(ctx: Context, dir: string, url: string, name: string): Promise<Outcome> {
  const { opts, host, feedback } = ctx;
  // The CDN's sidecar bytes are kept verbatim in the mirror.
  const vouchedBy = hashSource(ctx, url, undefined);
  const { sha256, bytes: sidecar } = await fetchSidecar(ctx.http, url);
  // The .sig travels with the artifact, checked against the digest before anything is written.
  const { checkSignature } = await import("../io/signatures.js");
  const signature = await checkSignature(ctx, url, name, sha256);
  if (signature.bytes && !opts.dryRun) await keepSignature(path.join(dir, `${name}.sig`), signature.bytes);
  const finalPath = path.join(dir, name);
  const sidecarPath = `${finalPath}.sha256`;
  const localSidecar = await readFileIfExists(sidecarPath);
  const sidecarCurrent = localSidecar !== null && localSidecar.equals(sidecar);
  const have = await hashFile(finalPath);

  if (have === sha256) {
    if (sidecarCurrent) return { status: "skipped", word: "verified", detail: `already in the mirror (sha256 ${sha256})`, sha256, wouldChange: false };
    if (opts.dryRun) return { status: "skipped", word: "pending", detail: `would write ${name}.sha256`, sha256, wouldChange: true };
    await writeSidecar(sidecarPath, sidecar);
    return { status: "done", word: "sidecar", detail: `wrote ${name}.sha256 next to the verified file (sha256 ${sha256})`, sha256, wouldChange: true };
  }
  const why = have === null ? "" : ` (the copy in the mirror has sha256 ${have}: replaced)`;
  if (opts.dryRun) {
    return { status: "skipped", word: "pending", detail: `would fetch ${url}${have === null ? "" : " (the copy in the mirror does not match its checksum)"}`, sha256, wouldChange: true };
  }

  const partialPath = `${finalPath}.partial`;
  const bar = feedback.progress(`Downloading ${name}`);
  try {
    await downloadVerified(ctx.http, {
      url,
      name,
      sha256,
      vouchedBy: voucherText(vouchedBy, url, signature),
      log: feedback.verbose,
      partialPath,
      newExtractor: null,
      now: host.now,
      onProgress: (p) => bar.update(p.received, p.total),
    });
  } finally {
    bar.done();
  }
  // An old sidecar must not sit beside the new file even for a moment when the two disagree.
  if (!sidecarCurrent && localSidecar !== null) await removeFile(sidecarPath);
  try {
    await renameWithRetry(partialPath, finalPath);
  } catch (err) {
    throw fsError(err, "move the verified download into place at", finalPath);
  }
  await removeFile(`${partialPath}.json`);
  if (!sidecarCurrent) await writeSidecar(sidecarPath, sidecar);
  return { status: "done", word: "fetched", detail: `${url} (sha256 ${sha256})${why}`, sha256, wouldChange: true };
}

/** Writes the artifact's .sig into the mirror, unless it already holds those bytes. */
async function keepSignature(file: string, bytes: Buffer): Promise<void> {
  const current = await readFileIfExists(file);
  if (current?.equals(bytes)) return;
  await atomicWriteFile(file, bytes, { mode: 0o644 });
}

async function writeSidecar(file: string, data: Buffer): Promise<void> {
  await atomicWriteFile(file, data, { mode: 0o644 });
}

async function removeFile(file: string): Promise<void> {
  try {
    await fsp.rm(file, { force: true });
  } catch (err) {
    throw fsError(err, "remove", file);
  }
}

