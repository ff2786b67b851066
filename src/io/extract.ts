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
}

export interface StreamingExtractor {
  /** Write the archive's bytes here as they arrive. */
  input: Writable;
  done: Promise<Extracted>;
}

const LINK_TYPES = new Set(["SymbolicLink", "Link"]);
const FILE_TYPES = new Set(["File", "OldFile", "ContiguousFile"]);

/**
 * Extracts only the wanted members of a .tar.gz while it streams in, never holding more than a few
 * chunks in memory. Anything unsafe anywhere in the archive fails the whole extraction.
 */
export function streamingTarGzExtractor(stagingDir: string, tools: readonly Tool[], archiveName: string): StreamingExtractor {
  const gunzip = zlib.createGunzip();
  const parser = new Parser({ strict: true });
  const extracted: Extracted = { tools: {}, modes: new Map() };
  const writes: Promise<void>[] = [];
  let failure: Error | null = null;
  const fail = (err: Error) => {
    if (!failure) failure = err;
    gunzip.unpipe(parser as unknown as Writable);
    gunzip.destroy();
  };

  parser.on("entry", (entry: ReadEntry) => {
    if (failure) return entry.resume();
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
    if (entry.type === "Directory") {
      writes.push(fsp.mkdir(dest, { recursive: true, mode: 0o700 }).then(() => {}));
      return entry.resume();
    }
    if (!FILE_TYPES.has(entry.type)) {
      fail(verificationError(`${archiveName} is unsafe: "${entry.path}" is a ${entry.type}, not a file`, "refusing to install it"));
      return entry.resume();
    }
    extracted.modes.set(decision.dest, (entry.mode ?? 0o644) & 0o755);
    if (decision.tool) extracted.tools[decision.tool] = decision.dest;
    fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
    const out = fs.createWriteStream(dest, { flags: "wx", mode: 0o600 });
    writes.push(
      new Promise<void>((resolve, reject) => {
        out.on("finish", resolve);
        out.on("error", (err) => reject(fsError(err, "write", dest)));
        entry.pipe(out);
      }),
    );
  });

  const done = new Promise<Extracted>((resolve, reject) => {
    const corrupt = (why: string) =>
      verificationError(`${archiveName} is not a valid .tar.gz: ${why}`, "the download may be damaged or the mirror serves a wrong file; run tshup again");
    gunzip.on("error", (err) => fail(corrupt(err.message)));
    parser.on("error", (err: Error) => fail(corrupt(err.message)));
    parser.on("warn", (code: string, message: string | Error) => {
      // Strict mode turns real damage into errors; warnings left are informational.
      if (code === "TAR_BAD_ARCHIVE" || code === "TAR_ABORT") fail(corrupt(String(message)));
    });
    const settle = () => {
      Promise.all(writes).then(
        () => (failure ? reject(failure) : resolve(extracted)),
        (err) => reject(failure ?? err),
      );
    };
    parser.on("end", settle);
    gunzip.on("close", () => {
      if (failure) settle();
    });
  });
  gunzip.pipe(parser as unknown as Writable);
  done.catch(() => {});
  return { input: gunzip, done };
}

/** Zip archives need their central directory, so they are extracted from the verified file. */
export async function extractZip(file: string, stagingDir: string, tools: readonly Tool[], archiveName: string): Promise<Extracted> {
  const extracted: Extracted = { tools: {}, modes: new Map() };
  const unsafe = (why: string) => verificationError(`${archiveName} is unsafe: ${why}`, "refusing to install it; report it to whoever runs this mirror or CDN");
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(file, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true }, (err, z) =>
      err || !z ? reject(verificationError(`${archiveName} is not a valid zip: ${err?.message}`, "run tshup again; if it persists, the mirror serves a wrong file")) : resolve(z),
    ),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on("error", (err: Error) =>
        reject(/relative path|absolute path/.test(err.message) ? unsafe(err.message) : verificationError(`${archiveName} is not a valid zip: ${err.message}`, "run tshup again")),
      );
      zip.on("end", () => resolve());
      zip.on("entry", (entry: yauzl.Entry) => {
        const decision = classifyZipMember(entry.fileName, tools);
        if (decision.kind === "unsafe") return reject(unsafe(`member "${entry.fileName}" is ${decision.why}`));
        if (decision.kind === "skip" || decision.tool === null) return zip.readEntry();
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
