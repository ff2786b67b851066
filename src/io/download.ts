import crypto from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import { once } from "node:events";
import { header, type Http } from "./http.js";
import type { StreamingExtractor } from "./extract.js";
import { networkError, notFoundError, verificationError, fsError, TshupError } from "../core/errors.js";
import { isRetryableError } from "../core/retry.js";
import { parseSidecar } from "../core/artifact.js";
import { byteBudgetCollector } from "./memory.js";
import { readRegularFile } from "./fsx.js";

export interface Progress {
  received: number;
  total: number | null;
}

export interface DownloadJob {
  url: string;
  name: string;
  sha256: string;
  /** What vouches for `sha256`, for --verbose. */
  vouchedBy: string;
  log?: (line: string) => void;
  /** Bytes land here while they stream; kept on failure so the next run resumes with Range. */
  partialPath: string;
  /** A fresh extractor for a (re)start from byte 0; null to only download (zip). */
  newExtractor: (() => Promise<StreamingExtractor>) | null;
  onProgress?: (p: Progress) => void;
  now: () => number;
  /** More than this is not what was asked for: refused, and the partial file dropped. */
  maxBytes?: number;
  /** What to do after a cut connection, for a caller that drops the partial file instead of resuming. */
  cutHint?: string;
}

class RestartFromZero extends Error {}

const DISK_ERRORS = new Set(["ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EIO"]);
/**
 * The .partial file takes this much before the download waits for the disk. Node's 16 KiB would make
 * every network chunk wait for its own write; more lets writes go out gathered (writev) while the
 * next chunks are hashed and inflated.
 */
export const PARTIAL_WRITE_BUFFER = 512 * 1024;

/**
 * Fetches an artifact's `.sha256` sidecar and returns its hex digest and its bytes as served; the
 * sidecar is mandatory. When it is missing, the artifact is asked for too: both missing means the
 * version is not published there (exit 4, naming the artifact's URL), only the sidecar missing means
 * the artifact cannot be verified (exit 5).
 */
export async function fetchSidecar(http: Http, artifactUrl: string): Promise<{ sha256: string; bytes: Buffer }> {
  const url = `${artifactUrl}.sha256`;
  const res = await http.get(url, { maxBytes: 64 * 1024 });
  if (res.status === 404) {
    const probe = await http.open(artifactUrl, { offset: 0 });
    probe.stream.destroy();
    if (probe.status === 404) {
      throw notFoundError(artifactUrl, "check the version, the edition and --cdn-url; not every version is built for every platform");
    }
    throw verificationError(`no checksum published at ${url}`, "tshup installs nothing it cannot verify; pin the sha256 in a manifest or use a mirror that serves .sha256 files");
  }
  if (res.status !== 200) throw networkError(`${url} answered HTTP ${res.status}`, "try again later, or check --cdn-url");
  const sha256 = parseSidecar(res.body.toString("utf8"));
  if (!sha256) throw verificationError(`${url} is not a SHA-256 checksum file`, "check --cdn-url: the mirror must serve the CDN's .sha256 files as they are");
  return { sha256, bytes: res.body };
}

/**
 * Streams an artifact into its .partial file, hashing and (for tarballs) extracting as the bytes
 * arrive; resumes with Range after a dropped connection or a killed run. The caller only makes
 * anything runnable after this returns, that is after the whole archive's hash matched.
 */
export async function downloadVerified(http: Http, job: DownloadJob): Promise<{ extractor: StreamingExtractor | null }> {
  for (let fresh = 0; ; fresh++) {
    try {
      return await attemptDownload(http, job);
    } catch (err) {
      // A server that ignored our Range, or a partial file that turned out to be bad: start over once.
      if ((err instanceof RestartFromZero || (err instanceof TshupError && err.code === "verification" && (err as { fromPartial?: boolean }).fromPartial)) && fresh === 0) {
        await removePartial(job.partialPath);
        continue;
      }
      throw err;
    }
  }
}

async function attemptDownload(http: Http, job: DownloadJob): Promise<{ extractor: StreamingExtractor | null }> {
  const hash = crypto.createHash("sha256");
  const extractor = job.newExtractor ? await job.newExtractor() : null;
  let extractorError: unknown = null;
  extractor?.done.catch((err) => (extractorError = err));

  const relieve = byteBudgetCollector(512 * 1024);
  // Hashes and extracts a chunk; waits only when the extractor asks for a pause.
  const feed = async (chunk: Buffer) => {
    hash.update(chunk);
    relieve(chunk.length);
    if (!extractor) return;
    if (extractorError) throw extractorError;
    if (!extractor.input.write(chunk)) {
      await Promise.race([once(extractor.input, "drain"), extractor.done]);
    }
  };

  await discardForeignPartial(job);
  let resumed = 0;
  try {
    resumed = (await fsp.stat(job.partialPath)).size;
  } catch {
    // nothing to resume
  }
  let partial: fs.WriteStream;
  try {
    await fsp.writeFile(`${job.partialPath}.json`, JSON.stringify({ url: job.url, sha256: job.sha256 }));
    partial = fs.createWriteStream(job.partialPath, { flags: "a", highWaterMark: PARTIAL_WRITE_BUFFER });
    await once(partial, "open");
  } catch (err) {
    throw fsError(err, "open", job.partialPath);
  }
  let partialError: unknown = null;
  partial.on("error", (err) => (partialError = fsError(err, "write", job.partialPath)));
  // Writes a chunk to the .partial file without waiting for the disk unless its buffer is full.
  const keep = async (chunk: Buffer) => {
    if (partialError) throw partialError;
    if (!partial.write(chunk)) await once(partial, "drain");
  };

  /**
   * Bytes that broke the extraction or the hash are no use to a resume. When some were kept from an
   * earlier run, the caller starts over from zero once; otherwise the partial file goes now, so that
   * the next run does not replay them and fail the same way.
   */
  const badBytes = async (err: unknown): Promise<unknown> => {
    if (!(err instanceof TshupError) || err.code !== "verification") return err;
    if (resumed > 0) Object.assign(err, { fromPartial: true });
    else await removePartial(job.partialPath);
    return err;
  };

  let offset = 0;
  try {
    try {
      if (resumed > 0) {
        for await (const chunk of fs.createReadStream(job.partialPath, { end: resumed - 1 })) {
          await feed(chunk as Buffer);
          offset += (chunk as Buffer).length;
        }
      }
      let total: number | null = null;
      // Each attempt goes on from the bytes already kept; the one retry loop decides whether to try again.
      await http.retrying(job.url, async () => {
        const res = await http.open(job.url, { offset });
        if (res.status === 416 && offset > 0) {
          res.stream.destroy();
          return; // we already hold every byte; the hash decides
        }
        if (res.status === 404) {
          res.stream.destroy();
          throw notFoundError(job.url, "check the version, the edition and --cdn-url; a mirror must hold this artifact");
        }
        if (res.status !== 200 && res.status !== 206) {
          res.stream.destroy();
          throw Object.assign(networkError(`downloading ${job.url} failed: HTTP ${res.status}`, "try again later, or use a mirror with --cdn-url"), {
            retryStatus: res.status,
            retryAfter: header(res.headers, "retry-after"),
          });
        }
        if (offset > 0 && (res.status === 200 || !contentRangeStartsAt(header(res.headers, "content-range"), offset))) {
          res.stream.destroy();
          throw new RestartFromZero();
        }
        total = res.length === null ? null : offset + res.length;
        // What is not kept cannot be resumed: the partial file goes with the refusal.
        const tooLarge = async (bytes: number) => {
          res.stream.destroy();
          await removePartial(job.partialPath);
          return verificationError(`${job.url} is more than ${job.maxBytes} bytes (${bytes} at least), more than ${job.name} can be`, "refusing it; tell whoever runs that server");
        };
        if (job.maxBytes !== undefined && total !== null && total > job.maxBytes) throw await tooLarge(total);
        job.onProgress?.({ received: offset, total });
        // A server that keeps the connection alive with a trickle is as stuck as a silent one: less
        // than 1 KiB over a whole idle-timeout window counts as stalled (curl's --speed-limit).
        let windowStart = job.now();
        let windowBytes = 0;
        try {
          for await (const chunk of res.stream) {
            const buf = chunk as Buffer;
            if (job.maxBytes !== undefined && offset + buf.length > job.maxBytes) throw await tooLarge(offset + buf.length);
            windowBytes += buf.length;
            if (job.now() - windowStart >= http.idleTimeoutMs) {
              if (windowBytes < 1024) {
                throw Object.assign(new Error(`less than 1 KiB in ${Math.round(http.idleTimeoutMs / 1000)} s`), { retryCode: "ETIMEDOUT" });
              }
              windowStart = job.now();
              windowBytes = 0;
            }
            const kept = keep(buf);
            await feed(buf);
            await kept;
            offset += buf.length;
            job.onProgress?.({ received: offset, total });
          }
          if (total !== null && offset < total) {
            throw Object.assign(new Error(`connection closed after ${offset} of ${total} bytes`), { retryCode: "ETRUNCATED" });
          }
        } catch (err) {
          res.stream.destroy();
          if (extractorError) throw extractorError;
          // The disk, not the network: a full disk is not retried and not called a cut connection.
          if (partialError) throw partialError;
          if (DISK_ERRORS.has(String((err as { code?: string }).code))) throw fsError(err, "write", job.partialPath);
          if (err instanceof TshupError && err.code !== "network") throw err;
          const code = (err as { retryCode?: string; code?: string }).retryCode ?? (err as { code?: string }).code;
          const wrapped = networkError(`downloading ${job.url} was cut off after ${offset} bytes: ${(err as Error).message}`, job.cutHint ?? "run tshup again; it resumes where it stopped");
          // Node words some cuts without a code: they are cuts all the same.
          const cut = /premature|aborted|socket|closed/i.test(String((err as Error).message));
          throw Object.assign(wrapped, { retryCode: isRetryableError(code) ? code : cut ? "ERR_STREAM_PREMATURE_CLOSE" : undefined });
        }
      });
    } finally {
      // A write error (a full disk) has already closed the stream: waiting for "close" again would
      // wait for ever.
      if (!partial.closed) {
        const closed = once(partial, "close").catch(() => {});
        partial.end();
        await closed;
      }
    }
  } catch (err) {
    throw await badBytes(err);
  }
  if (partialError) throw partialError;

  if (extractor) {
    extractor.input.end();
    try {
      await extractor.done;
    } catch (err) {
      throw await badBytes(err);
    }
  }
  const actual = hash.digest("hex");
  job.log?.(`sha256 of ${job.name}: expected ${job.sha256} (from ${job.vouchedBy}), actual ${actual}: ${actual === job.sha256 ? "match" : "MISMATCH"}`);
  if (actual !== job.sha256) {
    throw await badBytes(
      verificationError(
        `checksum mismatch for ${job.name}: expected ${job.sha256}, got ${actual}`,
        "the download was damaged or the server's file differs from its checksum; nothing was installed. Run tshup again; if it persists, report it to whoever runs the CDN or mirror",
      ),
    );
  }
  return { extractor };
}

function contentRangeStartsAt(value: string | undefined, offset: number): boolean {
  const m = value ? /^bytes (\d+)-/.exec(value) : null;
  return m !== null && Number(m[1]) === offset;
}

export async function removePartial(partialPath: string): Promise<void> {
  await fsp.rm(partialPath, { force: true });
  await fsp.rm(`${partialPath}.json`, { force: true });
}

/** A partial file only resumes the same artifact with the same checksum; anything else starts over. */
async function discardForeignPartial(job: DownloadJob): Promise<void> {
  let meta: { url?: string; sha256?: string } = {};
  try {
    meta = JSON.parse((await readRegularFile(`${job.partialPath}.json`, 64 * 1024))?.toString("utf8") ?? "{}");
  } catch {
    // No record of what it was: it cannot be trusted to continue.
  }
  if (meta.url !== job.url || meta.sha256 !== job.sha256) await removePartial(job.partialPath);
}
