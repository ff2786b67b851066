import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";
import { Writable } from "node:stream";
import { Parser, type ReadEntry } from "tar";
import yauzl from "yauzl";
import type { Tool } from "../core/artifact.js";
import { classifyTarMember, classifyZipMember, type MemberDecision } from "../core/members.js";
import { verificationError, fsError, TshupError } from "../core/errors.js";

/** What an archive gave: where each tool's binary is and the modes to apply once verified. */
export interface Extracted {
  tools: Partial<Record<Tool, string>>;
  /** Relative path -> mode from the archive; files stay 0600 until the hash matched. */
  modes: Map<string, number>;
  /**
   * Set when inflating stopped once every wanted member was out: the member it stopped after, and
   * how many of the archive's bytes had gone to inflate by then. The rest was only hashed.
   */
  inflateStopped?: { after: string; compressedBytes: number };
}

export interface StreamingExtractor {
  /** Write the archive's bytes here as they arrive. */
  input: Writable;
  done: Promise<Extracted>;
}

const LINK_TYPES = new Set(["SymbolicLink", "Link"]);

/**
 * No real member comes near this (tsh is about 100 MB, a whole tsh.app about 200 MB): a member that
 * expands past it is a decompression bomb, refused before it fills the disk.
 */
export const MAX_MEMBER_BYTES = 1024 * 1024 * 1024;
/** inflate hands back this much per call: Node's 16 KiB default costs a thread-pool round trip each. */
const INFLATE_CHUNK = 512 * 1024;
/**
 * Each chunk written to inflate is one thread-pool job too: the network's 16 KiB pieces are gathered
 * to this size first, so a 150 MB archive costs a few hundred round trips, not ten thousand.
 */
const INFLATE_INPUT = 512 * 1024;
/**
 * A member's file takes this much before the archive waits for the disk: enough to keep inflating
 * while a write is on its way, little enough to keep the peak memory flat (measured by npm run bench).
 */
const MEMBER_WRITE_BUFFER = 512 * 1024;
/** tar pads an archive to whole records after its end (10 KiB by GNU tar's default); this is far more. */
const MAX_AFTER_END = 1024 * 1024;

/**
 * A Writable that hands `target` its input in pieces of at least `size` bytes (the last one less).
 * After `stop()` it takes what it is given and drops it, and ends without ending `target`.
 */
function gathering(target: Writable, size: number): { input: Writable; stop: () => void; handedOn: () => number } {
  let parts: Buffer[] = [];
  let have = 0;
  let handedOn = 0;
  let stopped = false;
  let waitingForDrain: (() => void) | null = null;
  const flush = (cb: (err?: Error | null) => void) => {
    const piece = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
    parts = [];
    have = 0;
    handedOn += piece.length;
    if (target.write(piece)) return cb();
    const drained = () => {
      waitingForDrain = null;
      cb();
    };
    waitingForDrain = () => {
      target.off("drain", drained);
      drained();
    };
    target.once("drain", drained);
  };
  const input = new Writable({
    highWaterMark: size,
    write(chunk: Buffer, _encoding, cb) {
      if (stopped) return cb();
      parts.push(chunk);
      have += chunk.length;
      if (have >= size) flush(cb);
      else cb();
    },
    final(cb) {
      if (stopped) return cb();
      const end = () => {
        target.end();
        cb();
      };
      if (have > 0) flush(end);
      else end();
    },
  });
  const stop = () => {
    stopped = true;
    parts = [];
    have = 0;
    // A write waiting for a drain that will never come would hold every later chunk in memory.
    waitingForDrain?.();
  };
  return { input, stop, handedOn: () => handedOn };
}

const unsafeHint = "refusing to install it; report it to whoever runs this mirror or CDN";
const tooLarge = (archiveName: string, member: string) =>
  verificationError(`${archiveName} is unsafe: member "${member}" expands to more than ${MAX_MEMBER_BYTES / 1024 ** 3} GiB, which no Teleport release has`, unsafeHint);
const FILE_TYPES = new Set(["File", "OldFile", "ContiguousFile"]);

/**
 * Extracts only the wanted members of a .tar.gz while it streams in, never holding more than a few
 * chunks in memory. Anything unsafe up to the last wanted member fails the whole extraction.
 *
 * Once every tool's binary is out as a plain `<top>/<tool>` file, nothing further is inflated: the
 * download still hashes every byte, and nothing becomes runnable before that hash matched, but what
 * follows is never unpacked, so nothing in it is written or judged. An app bundle (macOS 17+) is read
 * to the end: its members need not sit together, so no member says the bundle is whole.
 */
export function streamingTarGzExtractor(stagingDir: string, tools: readonly Tool[], archiveName: string): StreamingExtractor {
  const gunzip = zlib.createGunzip({ chunkSize: INFLATE_CHUNK });
  const gathered = gathering(gunzip, INFLATE_INPUT);
  const parser = new Parser({ strict: true });
  const extracted: Extracted = { tools: {}, modes: new Map() };
  const writes: Promise<void>[] = [];
  // Every destination taken so far: a second member for the same place (or a file under a
  // directory of that name) is refused, never written over.
  const taken = new Set<string>();
  let failure: Error | null = null;
  let stopped = false;
  const outs = new Set<fs.WriteStream>();
  let settle = () => {};
  const fail = (err: Error) => {
    if (stopped) return;
    if (!failure) failure = err;
    gunzip.unpipe(parser as unknown as Writable);
    gunzip.destroy();
    // Members cut off mid-way will never end: close their files so the staging dir can go.
    for (const out of outs) out.destroy();
  };

  const everyToolOut = () => tools.every((tool) => extracted.tools[tool] === tool);
  const stopInflating = (after: string) => {
    stopped = true;
    extracted.inflateStopped = { after, compressedBytes: gathered.handedOn() };
    gunzip.unpipe(parser as unknown as Writable);
    gunzip.destroy();
    gathered.stop();
    settle();
  };

  parser.on("entry", (entry: ReadEntry) => {
    if (failure || stopped) return entry.resume();
    const decision: MemberDecision = classifyTarMember(entry.path, tools);
    if (decision.kind === "unsafe") {
      fail(verificationError(`${archiveName} is unsafe: member "${entry.path}" is ${decision.why}`, "refusing to install it; report it to whoever runs this mirror or CDN"));
      return entry.resume();
    }
    if (decision.kind === "skip") return entry.resume();
    if (LINK_TYPES.has(entry.type)) {
      fail(verificationError(`${archiveName} is unsafe: "${entry.path}" is a link, not a file`, "refusing to install it; report it to whoever runs this mirror or CDN"));
      return entry.resume();
    }
    const dest = path.join(stagingDir, ...decision.dest.split("/"));
    const key = decision.dest.replace(/\/+$/, "");
    if (taken.has(key) || [...taken].some((t) => key.startsWith(`${t}/`) && extracted.modes.has(t))) {
      fail(verificationError(`${archiveName} is unsafe: "${entry.path}" appears twice (or a file and a directory share its name)`, unsafeHint));
      return entry.resume();
    }
    taken.add(key);
    if (entry.type === "Directory") {
      writes.push(fsp.mkdir(dest, { recursive: true, mode: 0o700 }).then(() => {}));
      return entry.resume();
    }
    if (!FILE_TYPES.has(entry.type)) {
      fail(verificationError(`${archiveName} is unsafe: "${entry.path}" is a ${entry.type}, not a file`, "refusing to install it"));
      return entry.resume();
    }
    if ((entry.size ?? 0) > MAX_MEMBER_BYTES) {
      fail(tooLarge(archiveName, entry.path));
      return entry.resume();
    }
    extracted.modes.set(decision.dest, (entry.mode ?? 0o644) & 0o755);
    if (decision.tool) extracted.tools[decision.tool] = decision.dest;
    const write = new Promise<void>((resolve, reject) => {
      try {
        fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
      } catch (err) {
        return reject(fsError(err, "create the directory", path.dirname(dest)));
      }
      const out = fs.createWriteStream(dest, { flags: "wx", mode: 0o600, highWaterMark: MEMBER_WRITE_BUFFER });
      outs.add(out);
      let written = 0;
      entry.on("data", (chunk: Buffer) => {
        written += chunk.length;
        if (written > MAX_MEMBER_BYTES) fail(tooLarge(archiveName, entry.path));
      });
      entry.on("end", () => {
        if (!failure && !stopped && decision.tool && everyToolOut()) stopInflating(entry.path);
      });
      // "close" comes after "finish", and after a destroy() too, so a failed run never waits forever.
      out.on("close", () => {
        outs.delete(out);
        resolve();
      });
      out.on("error", (err) => {
        entry.resume();
        reject(fsError(err, "write", dest));
      });
      entry.pipe(out);
    });
    // A failed write fails the extraction at once (a full disk stops the download too).
    write.catch((err) => fail(err as Error));
    writes.push(write);
  });

  const corrupt = (why: string) =>
    verificationError(`${archiveName} is not a valid .tar.gz: ${why}`, "the download may be damaged or the mirror serves a wrong file; run tshup again");
  parser.on("eof", () => {
    if (stopped) return;
    // node-tar keeps whatever follows the end of the archive, copying it all again for every chunk:
    // a gzip of zeros would take minutes and its whole size in memory. The rest is still inflated,
    // so that gzip's own check covers it, and counted.
    gunzip.unpipe(parser as unknown as Writable);
    let after = 0;
    gunzip.on("data", (chunk: Buffer) => {
      after += chunk.length;
      if (after > MAX_AFTER_END) fail(corrupt(`more than ${MAX_AFTER_END / (1024 * 1024)} MiB follow the end of the tar archive, where tar pads to a record at most`));
    });
    gunzip.on("end", () => parser.end());
    // Unpiping paused it; a "data" listener alone would not start it again.
    gunzip.resume();
  });
  const done = new Promise<Extracted>((resolve, reject) => {
    gunzip.on("error", (err) => fail(corrupt(err.message)));
    parser.on("error", (err: Error) => fail(corrupt(err.message)));
    parser.on("warn", (code: string, message: string | Error) => {
      // Strict mode turns real damage into errors; warnings left are informational.
      if (code === "TAR_BAD_ARCHIVE" || code === "TAR_ABORT") fail(corrupt(String(message)));
    });
    settle = () => {
      void Promise.allSettled(writes).then((results) => {
        const rejected = results.find((r) => r.status === "rejected") as PromiseRejectedResult | undefined;
        if (failure || rejected) reject(failure ?? rejected!.reason);
        else resolve(extracted);
      });
    };
    parser.on("end", settle);
    gunzip.on("close", () => {
      if (failure) settle();
    });
  });
  gunzip.pipe(parser as unknown as Writable);
  done.catch(() => {});
  return { input: gathered.input, done };
}

/** Zip archives need their central directory, so they are extracted from the verified file. */
export async function extractZip(file: string, stagingDir: string, tools: readonly Tool[], archiveName: string): Promise<Extracted> {
  const extracted: Extracted = { tools: {}, modes: new Map() };
  const unsafe = (why: string) => verificationError(`${archiveName} is unsafe: ${why}`, "refusing to install it; report it to whoever runs this mirror or CDN");
  const taken = new Set<string>();
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    // Names are decoded and judged here (classifyZipMember), so an unsafe one is told apart by type,
    // not by the wording of yauzl's own check.
    yauzl.open(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true }, (err, z) =>
      err || !z ? reject(verificationError(`${archiveName} is not a valid zip: ${err?.message}`, "run tshup again; if it persists, the mirror serves a wrong file")) : resolve(z),
    ),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on("error", (err: Error) => reject(verificationError(`${archiveName} is not a valid zip: ${err.message}`, "run tshup again")));
      zip.on("end", () => resolve());
      zip.on("entry", (entry: yauzl.Entry) => {
        entry.fileName = zipEntryName(entry);
        const decision = classifyZipMember(entry.fileName, tools);
        if (decision.kind === "unsafe") return reject(unsafe(`member "${entry.fileName}" is ${decision.why}`));
        if (decision.kind === "skip" || decision.tool === null) return zip.readEntry();
        if (/[/\\]$/.test(entry.fileName)) return reject(unsafe(`"${entry.fileName}" is a directory where ${decision.dest} should be a file`));
        if (taken.has(decision.dest.toLowerCase())) return reject(unsafe(`"${entry.fileName}" appears twice (names differ only in case, or repeat)`));
        taken.add(decision.dest.toLowerCase());
        if (entry.uncompressedSize > MAX_MEMBER_BYTES) return reject(tooLarge(archiveName, entry.fileName));
        const isLink = ((entry.externalFileAttributes >>> 16) & 0o170000) === 0o120000;
        if (isLink) return reject(unsafe(`"${entry.fileName}" is a link, not a file`));
        const dest = path.join(stagingDir, decision.dest);
        extracted.tools[decision.tool] = decision.dest;
        extracted.modes.set(decision.dest, 0o755);
        zip.openReadStream(entry, (err, rs) => {
          if (err || !rs) return reject(verificationError(`${archiveName}: cannot read ${entry.fileName}: ${err?.message}`, "run tshup again"));
          const out = fs.createWriteStream(dest, { flags: "wx", mode: 0o600 });
          out.on("error", (e) => reject(fsError(e, "write", dest)));
          rs.on("error", (e) => reject(verificationError(`${archiveName}: ${entry.fileName} is damaged: ${e.message}`, "run tshup again")));
          out.on("finish", () => zip.readEntry());
          rs.pipe(out);
        });
      });
      zip.readEntry();
    });
  } catch (err) {
    throw err instanceof TshupError ? err : verificationError(`${archiveName}: ${(err as Error).message}`, "run tshup again");
  } finally {
    zip.close();
  }
  return extracted;
}

/** A zip member's name: UTF-8 when the entry says so (bit 11), else bytes as they are (ASCII for any release). */
function zipEntryName(entry: yauzl.Entry): string {
  const raw = entry.fileName as unknown as Buffer;
  return (entry.generalPurposeBitFlag & 0x800) !== 0 ? raw.toString("utf8") : raw.toString("latin1");
}
