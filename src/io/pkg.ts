/**
 * macOS installer packages, read without an installer and without admin rights, on any OS: a .pkg
 * is a xar archive (a header, a zlib-compressed XML table of contents, then a heap of file data)
 * whose component packages each hold a `Payload`, a gzip-compressed cpio archive of what would be
 * installed. Only the wanted app bundles are written, whole, into the staging directory. The
 * package is read from its downloaded file once its SHA-256 has matched.
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import zlib from "node:zlib";
import { Transform, Writable, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Tool } from "../core/artifact.js";
import { classifyTarMember } from "../core/members.js";
import { verificationError, fsError, TshupError } from "../core/errors.js";
import type { Extracted } from "./extract.js";

const XAR_MAGIC = 0x78617221; // "xar!"
const MAX_TOC_BYTES = 16 * 1024 * 1024;

export interface XarEntry {
  /** Path inside the archive, "/"-separated. */
  path: string;
  type: "file" | "directory" | "symlink" | "other";
  offset: number;
  length: number;
  size: number;
  encoding: "none" | "zlib" | "other";
}

const bad = (archive: string, why: string) => verificationError(`${archive} is not a valid macOS package: ${why}`, "the download may be damaged or the mirror serves a wrong file; run tshup again");

/** The files a xar archive holds, and where its heap starts. */
export async function readXarToc(file: string, archive: string): Promise<{ entries: XarEntry[]; heap: number }> {
  const fh = await fsp.open(file, "r");
  try {
    const head = Buffer.alloc(28);
    await fh.read(head, 0, 28, 0);
    if (head.readUInt32BE(0) !== XAR_MAGIC) throw bad(archive, "no xar header");
    const headerSize = head.readUInt16BE(4);
    const tocCompressed = Number(head.readBigUInt64BE(8));
    const tocSize = Number(head.readBigUInt64BE(16));
    if (headerSize < 28 || tocCompressed <= 0 || tocCompressed > MAX_TOC_BYTES || tocSize > MAX_TOC_BYTES) throw bad(archive, "an implausible table of contents");
    const packed = Buffer.alloc(tocCompressed);
    await fh.read(packed, 0, tocCompressed, headerSize);
    let xml: string;
    try {
      xml = zlib.inflateSync(packed, { maxOutputLength: MAX_TOC_BYTES }).toString("utf8");
    } catch (err) {
      throw bad(archive, `its table of contents does not inflate (${(err as Error).message})`);
    }
    return { entries: parseToc(xml, archive), heap: headerSize + tocCompressed };
  } finally {
    await fh.close();
  }
}

/**
 * The <file> elements of a xar table of contents, nested into paths. A small reader for the one
 * shape xar writes (elements, text, attributes; no DTD, no CDATA): nothing here executes or
 * resolves anything.
 */
function parseToc(xml: string, archive: string): XarEntry[] {
  const out: XarEntry[] = [];
  const stack: { name?: string; type?: string; data: Partial<XarEntry>; inData: boolean; encoding?: string }[] = [];
  const tags = /<(\/?)([A-Za-z][\w.-]*)([^>]*?)(\/?)>|([^<]+)/g;
  let text = "";
  let m: RegExpExecArray | null;
  const names: string[] = [];
  while ((m = tags.exec(xml))) {
    if (m[5] !== undefined) {
      text += m[5];
      continue;
    }
    const [, closing, tag, attrs, selfClosing] = m;
    const top = stack[stack.length - 1];
    if (!closing) {
      text = "";
      if (tag === "file") {
        stack.push({ data: {}, inData: false });
        if (stack.length > 64) throw bad(archive, "directories nested too deep");
      } else if (tag === "data" && top) top.inData = true;
      else if (tag === "encoding" && top?.inData) top.encoding = /style="([^"]*)"/.exec(attrs ?? "")?.[1] ?? "";
      if (!selfClosing) names.push(tag!);
      continue;
    }
    names.pop();
    const value = decodeXml(text.trim());
    text = "";
    if (!top) continue;
    if (tag === "name" && !top.inData) top.name = value;
    else if (tag === "type" && !top.inData) top.type = value;
    else if (top.inData && (tag === "offset" || tag === "length" || tag === "size") && names[names.length - 1] === "data") {
      const n = Number(value);
      if (!Number.isSafeInteger(n) || n < 0) throw bad(archive, `a bad ${tag} for ${top.name ?? "a file"}`);
      top.data[tag] = n;
    } else if (tag === "data") top.inData = false;
    else if (tag === "file") {
      stack.pop();
      const parents = stack.map((s) => s.name ?? "");
      if (!top.name || /[/\\]/.test(top.name) || top.name === "." || top.name === "..") throw bad(archive, `a file named ${JSON.stringify(top.name ?? "")}`);
      const type = top.type === "file" || top.type === "directory" || top.type === "symlink" ? top.type : "other";
      out.push({
        path: [...parents, top.name].join("/"),
        type,
        offset: top.data.offset ?? 0,
        length: top.data.length ?? 0,
        size: top.data.size ?? 0,
        encoding: top.encoding === undefined || top.encoding === "application/octet-stream" ? "none" : top.encoding === "application/x-gzip" ? "zlib" : "other",
      });
    }
  }
  return out;
}

function decodeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (all, e: string) => {
    if (e === "lt") return "<";
    if (e === "gt") return ">";
    if (e === "amp") return "&";
    if (e === "quot") return '"';
    if (e === "apos") return "'";
    const code = e.startsWith("#x") ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : all;
  });
}

/**
 * Extracts the wanted tools' app bundles (or plain binaries) from every component Payload of a
 * verified .pkg. Unsafe names and links inside a wanted bundle fail the whole extraction.
 */
export async function extractPkg(file: string, stagingDir: string, tools: readonly Tool[], archive: string, maxMemberBytes: number): Promise<Extracted> {
  const { entries, heap } = await readXarToc(file, archive);
  const payloads = entries.filter((e) => e.type === "file" && (e.path === "Payload" || e.path.endsWith("/Payload")));
  if (payloads.length === 0) throw bad(archive, "it holds no Payload");
  const extracted: Extracted = { tools: {}, modes: new Map() };
  const taken = new Set<string>();
  const { size } = await fsp.stat(file);
  for (const p of payloads) {
    if (p.encoding === "other") throw bad(archive, `${p.path} uses an encoding tshup cannot read`);
    if (heap + p.offset + p.length > size) throw bad(archive, `${p.path} lies beyond the end of the file`);
    if (p.length === 0) continue;
    const raw: Readable = fs.createReadStream(file, { start: heap + p.offset, end: heap + p.offset + p.length - 1 });
    const stages: NodeJS.ReadWriteStream[] = [];
    if (p.encoding === "zlib") stages.push(zlib.createInflate());
    // The payload itself: gzip-compressed cpio, as pkgbuild writes it.
    const sniff = new PayloadSniffer(archive, p.path);
    const cpio = new CpioExtractor(stagingDir, tools, archive, extracted, taken, maxMemberBytes);
    try {
      await pipeline(raw, ...(stages as [NodeJS.ReadWriteStream]), sniff, zlib.createGunzip({ chunkSize: 512 * 1024 }), cpio);
    } catch (err) {
      throw err instanceof TshupError ? err : bad(archive, `${p.path}: ${(err as Error).message}`);
    }
  }
  return extracted;
}

/** Passes the Payload on, refusing one that is not gzip (pbzx, Apple's own xz framing) with a message that says so. */
class PayloadSniffer extends Transform {
  private checked = false;
  constructor(
    private readonly archive: string,
    private readonly name: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    if (!this.checked) {
      this.checked = true;
      if (chunk.subarray(0, 4).toString("latin1") === "pbzx") {
        return cb(bad(this.archive, `${this.name} is pbzx-compressed, which tshup does not read; on a Mac, pkgutil --expand-full ${this.archive} shows its contents`));
      }
      if (chunk[0] !== 0x1f || chunk[1] !== 0x8b) return cb(bad(this.archive, `${this.name} is not gzip-compressed`));
    }
    cb(null, chunk);
  }
}

interface CpioHeader {
  name: string;
  mode: number;
  size: number;
  /** Bytes of padding after the name and after the data (newc aligns to 4). */
  namePad: number;
  dataPad: number;
}

/** odc ("070707", octal) and newc ("070701"/"070702", hex) cpio, streamed with flat memory. */
class CpioExtractor extends Writable {
  private buf: Buffer = Buffer.alloc(0);
  private current: { header: CpioHeader; left: number; out: fs.WriteStream | null } | null = null;
  private pad = 0;
  private done = false;

  constructor(
    private readonly staging: string,
    private readonly tools: readonly Tool[],
    private readonly archive: string,
    private readonly extracted: Extracted,
    private readonly taken: Set<string>,
    private readonly maxMemberBytes: number,
  ) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.drainBuffer().then(() => cb(), (err: Error) => cb(err));
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.done) return cb(bad(this.archive, "its payload ends before the cpio trailer"));
    cb();
  }

  private async drainBuffer(): Promise<void> {
    for (;;) {
      if (this.done) {
        this.buf = Buffer.alloc(0);
        return;
      }
      if (this.pad > 0) {
        const n = Math.min(this.pad, this.buf.length);
        this.buf = this.buf.subarray(n);
        this.pad -= n;
        if (this.pad > 0) return;
      }
      if (this.current) {
        const n = Math.min(this.current.left, this.buf.length);
        if (n > 0 && this.current.out) {
          const part = this.buf.subarray(0, n);
          if (!this.current.out.write(part)) await new Promise<void>((r) => this.current!.out!.once("drain", () => r()));
        }
        this.buf = this.buf.subarray(n);
        this.current.left -= n;
        if (this.current.left > 0) return;
        await this.finishMember();
        continue;
      }
      const header = this.parseHeader();
      if (!header) return;
      if (header.name === "TRAILER!!!") {
        this.done = true;
        continue;
      }
      await this.startMember(header);
    }
  }

  private parseHeader(): CpioHeader | null {
    if (this.buf.length < 6) return null;
    const magic = this.buf.subarray(0, 6).toString("latin1");
    let h: CpioHeader;
    let headerLen: number;
    if (magic === "070707") {
      if (this.buf.length < 76) return null;
      const oct = (a: number, b: number) => parseNumber(this.buf.subarray(a, b).toString("latin1"), 8, this.archive);
      const nameSize = oct(59, 65);
      headerLen = 76;
      if (this.buf.length < headerLen + nameSize) return null;
      h = { name: this.buf.subarray(76, 76 + nameSize - 1).toString("utf8"), mode: oct(18, 24), size: oct(65, 76), namePad: 0, dataPad: 0 };
      this.buf = this.buf.subarray(76 + nameSize);
    } else if (magic === "070701" || magic === "070702") {
      if (this.buf.length < 110) return null;
      const hex = (i: number) => parseNumber(this.buf.subarray(6 + i * 8, 14 + i * 8).toString("latin1"), 16, this.archive);
      const nameSize = hex(11);
      const size = hex(6);
      const nameEnd = 110 + nameSize;
      const namePad = (4 - (nameEnd % 4)) % 4;
      if (this.buf.length < nameEnd + namePad) return null;
      h = { name: this.buf.subarray(110, nameEnd - 1).toString("utf8"), mode: hex(1), size, namePad, dataPad: (4 - (size % 4)) % 4 };
      headerLen = nameEnd + namePad;
      this.buf = this.buf.subarray(headerLen);
    } else {
      throw bad(this.archive, "its payload is not a cpio archive");
    }
    return h;
  }

  private async startMember(h: CpioHeader): Promise<void> {
    const type = h.mode & 0o170000;
    // Component payloads are relative to their install location: tsh.app for /Applications (tsh 17+
    // and tsh-<v>.pkg), or usr/local/bin/<tool> in the older all-in-one teleport-<v>.pkg.
    const name = h.name.replace(/^\.\//, "").replace(/^Applications\//, "").replace(/^usr\/local\/bin\/(tsh|tctl)$/, "$1");
    // Payload paths are relative to the install location; a prefix makes them look like a tarball's
    // members under its top folder, so one rule decides for both.
    const decision = name === "." || name === "" ? { kind: "skip" as const } : classifyTarMember(`payload/${name}`, this.tools);
    const unsafe = (why: string) => verificationError(`${this.archive} is unsafe: member "${h.name}" ${why}`, "refusing to install it; report it to whoever runs this mirror or CDN");
    if (decision.kind === "unsafe") throw unsafe(`is ${decision.why}`);
    let out: fs.WriteStream | null = null;
    if (decision.kind === "wanted") {
      if (type === 0o120000) throw unsafe("is a link, not a file");
      const key = decision.dest;
      if (this.taken.has(key)) throw unsafe("appears twice");
      this.taken.add(key);
      const dest = path.join(this.staging, ...decision.dest.split("/"));
      if (type === 0o040000) {
        await fsp.mkdir(dest, { recursive: true, mode: 0o700 });
      } else if (type === 0o100000) {
        if (h.size > this.maxMemberBytes) throw unsafe(`expands to more than ${this.maxMemberBytes / 1024 ** 3} GiB, which no Teleport release has`);
        await fsp.mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
        out = fs.createWriteStream(dest, { flags: "wx", mode: 0o600 });
        out.on("error", () => {});
        this.extracted.modes.set(decision.dest, h.mode & 0o755);
        if (decision.tool) this.extracted.tools[decision.tool] = decision.dest;
      } else {
        throw unsafe("is neither a file nor a directory");
      }
    }
    this.current = { header: h, left: h.size, out };
    if (h.size === 0) await this.finishMember();
  }

  private async finishMember(): Promise<void> {
    const cur = this.current!;
    this.current = null;
    this.pad = cur.header.dataPad;
    if (cur.out) {
      const out = cur.out;
      await new Promise<void>((resolve, reject) => {
        out.once("error", (err) => reject(fsError(err, "write", String(out.path))));
        out.end(() => resolve());
      });
    }
  }
}

function parseNumber(text: string, radix: 8 | 16, archive: string): number {
  if (!(radix === 8 ? /^[0-7]+$/ : /^[0-9a-fA-F]+$/).test(text)) throw bad(archive, "a damaged cpio header");
  const n = parseInt(text, radix);
  if (!Number.isSafeInteger(n)) throw bad(archive, "a damaged cpio header");
  return n;
}
