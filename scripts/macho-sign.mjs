// Ad-hoc code signing for thin 64-bit Mach-O executables, done here so that macOS builds can be
// made on Linux: injecting the SEA blob invalidates Node's Apple signature, and Apple Silicon
// refuses to run code without a valid one. The output is what `codesign --force --sign -` writes:
// a SuperBlob holding one SHA-256 CodeDirectory, an empty requirement set and an empty CMS
// wrapper, appended at the end of __LINKEDIT and named by LC_CODE_SIGNATURE.
//
//   node scripts/macho-sign.mjs [--identifier ID] FILE   sign FILE in place
//   node scripts/macho-sign.mjs --verify FILE            check the signature FILE carries
//   node scripts/macho-sign.mjs --remove FILE            drop the signature (before injecting)
//
// All code-signing structures are big-endian; the Mach-O header and load commands are
// little-endian (both x86_64 and arm64).
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, renameSync, statSync, chmodSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const MH_MAGIC_64 = 0xfeedfacf;
const MH_CIGAM_64 = 0xcffaedfe;
const MH_MAGIC = 0xfeedface;
const FAT_MAGIC = 0xcafebabe;
const FAT_MAGIC_64 = 0xcafebabf;
const MH_EXECUTE = 2;
const CPU_TYPE_X86_64 = 0x01000007;
const CPU_TYPE_ARM64 = 0x0100000c;

const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const HEADER_SIZE_64 = 32;
const SEGMENT_64_SIZE = 72;
const SECTION_64_SIZE = 80;
const LINKEDIT_DATA_SIZE = 16;

const CSMAGIC_REQUIREMENTS = 0xfade0c01;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_BLOBWRAPPER = 0xfade0b01;
const CSMAGIC_EMBEDDED_ENTITLEMENTS = 0xfade7171;
const CSMAGIC_EMBEDDED_DER_ENTITLEMENTS = 0xfade7172;

const CSSLOT_CODEDIRECTORY = 0;
const CSSLOT_INFOSLOT = 1;
const CSSLOT_REQUIREMENTS = 2;
const CSSLOT_RESOURCEDIR = 3;
const CSSLOT_APPLICATION = 4;
const CSSLOT_ALTERNATE_CODEDIRECTORIES = 0x1000;
const CSSLOT_ALTERNATE_CODEDIRECTORY_LIMIT = 0x1005;
const CSSLOT_SIGNATURESLOT = 0x10000;

const CS_ADHOC = 0x2;
const CS_EXECSEG_MAIN_BINARY = 0x1;
const CS_SUPPORTSSCATTER = 0x20100;
const CS_SUPPORTSTEAMID = 0x20200;
const CS_SUPPORTSCODELIMIT64 = 0x20300;
const CS_SUPPORTSEXECSEG = 0x20400;

// hashType -> [node digest name, hash size in the CodeDirectory]
const HASH_TYPES = new Map([
  [1, ["sha1", 20]],
  [2, ["sha256", 32]],
  [3, ["sha256", 20]], // SHA-256 truncated to 20 bytes
  [4, ["sha384", 48]],
]);

const PAGE_SHIFT = 12;
const PAGE_SIZE = 1 << PAGE_SHIFT;
// Fixed part of a version 0x20400 CodeDirectory, up to and including execSegFlags.
const CD_HEADER_SIZE = 88;
// The blobs codesign writes for ad-hoc signing, besides the CodeDirectory.
const EMPTY_REQUIREMENTS = Buffer.from([0xfa, 0xde, 0x0c, 0x01, 0, 0, 0, 12, 0, 0, 0, 0]);
const EMPTY_CMS_WRAPPER = Buffer.from([0xfa, 0xde, 0x0b, 0x01, 0, 0, 0, 8]);

export class MachOError extends Error {}

const alignUp = (n, a) => Math.ceil(n / a) * a;
const hex = (n) => `0x${n.toString(16)}`;

function cString(buf, start, end) {
  const nul = buf.indexOf(0, start);
  return buf.toString("latin1", start, nul === -1 || nul > end ? end : nul);
}

/**
 * Reads the parts of a thin 64-bit little-endian Mach-O that signing touches. Throws MachOError
 * naming what is not supported (fat, 32-bit, big-endian) instead of guessing.
 */
export function parseMachO(buf) {
  if (buf.length < HEADER_SIZE_64) throw new MachOError(`too short for a Mach-O header (${buf.length} bytes)`);
  const be = buf.readUInt32BE(0);
  if (be === FAT_MAGIC || be === FAT_MAGIC_64) {
    throw new MachOError("universal (fat) Mach-O is not supported: sign each thin slice, then join them");
  }
  const magic = buf.readUInt32LE(0);
  if (magic === MH_MAGIC || be === MH_MAGIC) throw new MachOError("32-bit Mach-O is not supported");
  if (magic === MH_CIGAM_64) throw new MachOError("big-endian Mach-O is not supported");
  if (magic !== MH_MAGIC_64) throw new MachOError(`not a Mach-O file (magic ${hex(magic)})`);

  const cputype = buf.readInt32LE(4);
  const filetype = buf.readUInt32LE(12);
  const ncmds = buf.readUInt32LE(16);
  const sizeofcmds = buf.readUInt32LE(20);
  const cmdsEnd = HEADER_SIZE_64 + sizeofcmds;
  if (cmdsEnd > buf.length) throw new MachOError("load commands run past the end of the file");

  const commands = [];
  const segments = [];
  let codeSignature = null;
  let off = HEADER_SIZE_64;
  for (let i = 0; i < ncmds; i++) {
    if (off + 8 > cmdsEnd) throw new MachOError(`load command ${i} starts past sizeofcmds`);
    const cmd = buf.readUInt32LE(off);
    const cmdsize = buf.readUInt32LE(off + 4);
    if (cmdsize < 8 || off + cmdsize > cmdsEnd) throw new MachOError(`load command ${i} has a bad size ${cmdsize}`);
    commands.push({ cmd, cmdsize, offset: off });
    if (cmd === LC_SEGMENT_64) {
      const nsects = buf.readUInt32LE(off + 64);
      const sections = [];
      for (let s = 0; s < nsects; s++) {
        const so = off + SEGMENT_64_SIZE + s * SECTION_64_SIZE;
        sections.push({
          sectname: cString(buf, so, so + 16),
          size: Number(buf.readBigUInt64LE(so + 40)),
          offset: buf.readUInt32LE(so + 48),
          flags: buf.readUInt32LE(so + 64),
        });
      }
      segments.push({
        name: cString(buf, off + 8, off + 24),
        cmdOffset: off,
        vmaddr: buf.readBigUInt64LE(off + 24),
        vmsize: Number(buf.readBigUInt64LE(off + 32)),
        fileoff: Number(buf.readBigUInt64LE(off + 40)),
        filesize: Number(buf.readBigUInt64LE(off + 48)),
        sections,
      });
    } else if (cmd === LC_CODE_SIGNATURE) {
      if (codeSignature) throw new MachOError("more than one LC_CODE_SIGNATURE");
      if (cmdsize !== LINKEDIT_DATA_SIZE) throw new MachOError(`LC_CODE_SIGNATURE has size ${cmdsize}, expected 16`);
      codeSignature = { cmdOffset: off, dataoff: buf.readUInt32LE(off + 8), datasize: buf.readUInt32LE(off + 12) };
    }
    off += cmdsize;
  }
  const text = segments.find((s) => s.name === "__TEXT");
  const linkedit = segments.find((s) => s.name === "__LINKEDIT");
  if (!text) throw new MachOError("no __TEXT segment");
  if (!linkedit) throw new MachOError("no __LINKEDIT segment");
  const lastByFile = segments.filter((s) => s.filesize > 0).reduce((a, b) => (b.fileoff > a.fileoff ? b : a));
  if (lastByFile !== linkedit) {
    throw new MachOError(`__LINKEDIT is not the last segment in the file (${lastByFile.name} follows it)`);
  }
  // The first byte of section data bounds how far the load commands may grow.
  let firstData = buf.length;
  for (const seg of segments) {
    for (const sect of seg.sections) {
      const zerofill = (sect.flags & 0xff) === 0x1 || (sect.flags & 0xff) === 0xc || (sect.flags & 0xff) === 0x12;
      if (!zerofill && sect.size > 0 && sect.offset > 0) firstData = Math.min(firstData, sect.offset);
    }
    if (seg.fileoff > 0 && seg.filesize > 0) firstData = Math.min(firstData, seg.fileoff);
  }
  return { cputype, filetype, ncmds, sizeofcmds, cmdsEnd, commands, segments, text, linkedit, codeSignature, firstData };
}

function vmPageSize(cputype) {
  // __LINKEDIT's vmsize is kept a whole number of the platform's VM pages.
  return cputype === CPU_TYPE_ARM64 ? 0x4000 : 0x1000;
}

function setLinkeditSize(buf, macho, filesize) {
  const le = macho.linkedit;
  buf.writeBigUInt64LE(BigInt(filesize), le.cmdOffset + 48);
  buf.writeBigUInt64LE(BigInt(alignUp(filesize, vmPageSize(macho.cputype))), le.cmdOffset + 32);
}

/**
 * Returns a copy of `input` without its code signature: the LC_CODE_SIGNATURE load command is
 * removed (later commands move up, the freed bytes become zero), the file is cut where the
 * signature began and __LINKEDIT shrinks to match. A file with no signature comes back unchanged.
 */
export function removeSignature(input) {
  const macho = parseMachO(input);
  const cs = macho.codeSignature;
  if (!cs) return Buffer.from(input);
  const le = macho.linkedit;
  if (cs.dataoff < le.fileoff || cs.dataoff + cs.datasize > le.fileoff + le.filesize) {
    throw new MachOError("the code signature lies outside __LINKEDIT; refusing to cut the file");
  }
  if (cs.dataoff + cs.datasize < input.length) {
    throw new MachOError(`${input.length - cs.dataoff - cs.datasize} bytes follow the code signature; refusing to cut them`);
  }
  const out = Buffer.from(input.subarray(0, cs.dataoff));
  const after = cs.cmdOffset + LINKEDIT_DATA_SIZE;
  out.copy(out, cs.cmdOffset, after, macho.cmdsEnd);
  out.fill(0, macho.cmdsEnd - LINKEDIT_DATA_SIZE, macho.cmdsEnd);
  out.writeUInt32LE(macho.ncmds - 1, 16);
  out.writeUInt32LE(macho.sizeofcmds - LINKEDIT_DATA_SIZE, 20);
  // Segment commands that followed the removed one moved up by 16 bytes.
  const shifted = { ...macho, linkedit: { ...le, cmdOffset: le.cmdOffset > cs.cmdOffset ? le.cmdOffset - LINKEDIT_DATA_SIZE : le.cmdOffset } };
  setLinkeditSize(out, shifted, cs.dataoff - le.fileoff);
  return out;
}

function codeDirectory({ identifier, codeLimit, pageHashes, requirementsHash, text, mainBinary }) {
  const ident = Buffer.from(`${identifier}\0`, "utf8");
  const nSpecialSlots = CSSLOT_REQUIREMENTS;
  const hashOffset = CD_HEADER_SIZE + ident.length + nSpecialSlots * 32;
  const length = hashOffset + pageHashes.length * 32;
  const cd = Buffer.alloc(length);
  cd.writeUInt32BE(CSMAGIC_CODEDIRECTORY, 0);
  cd.writeUInt32BE(length, 4);
  cd.writeUInt32BE(CS_SUPPORTSEXECSEG, 8);
  cd.writeUInt32BE(CS_ADHOC, 12);
  cd.writeUInt32BE(hashOffset, 16);
  cd.writeUInt32BE(CD_HEADER_SIZE, 20);
  cd.writeUInt32BE(nSpecialSlots, 24);
  cd.writeUInt32BE(pageHashes.length, 28);
  cd.writeUInt32BE(codeLimit, 32);
  cd.writeUInt8(32, 36); // hashSize
  cd.writeUInt8(2, 37); // hashType: SHA-256
  cd.writeUInt8(0, 38); // platform
  cd.writeUInt8(PAGE_SHIFT, 39);
  // spare2, scatterOffset, teamOffset, spare3 and codeLimit64 stay zero.
  cd.writeBigUInt64BE(BigInt(text.fileoff), 64);
  cd.writeBigUInt64BE(BigInt(text.filesize), 72);
  cd.writeBigUInt64BE(BigInt(mainBinary ? CS_EXECSEG_MAIN_BINARY : 0), 80);
  ident.copy(cd, CD_HEADER_SIZE);
  // Special slot -n sits n hashes before hashOffset; the info slot (-1) stays zero.
  requirementsHash.copy(cd, hashOffset - CSSLOT_REQUIREMENTS * 32);
  pageHashes.forEach((h, i) => h.copy(cd, hashOffset + i * 32));
  return cd;
}

function superBlob(blobs) {
  const headerSize = 12 + 8 * blobs.length;
  const length = headerSize + blobs.reduce((n, b) => n + b.data.length, 0);
  const out = Buffer.alloc(length);
  out.writeUInt32BE(CSMAGIC_EMBEDDED_SIGNATURE, 0);
  out.writeUInt32BE(length, 4);
  out.writeUInt32BE(blobs.length, 8);
  let at = headerSize;
  blobs.forEach((b, i) => {
    out.writeUInt32BE(b.slot, 12 + 8 * i);
    out.writeUInt32BE(at, 16 + 8 * i);
    b.data.copy(out, at);
    at += b.data.length;
  });
  return out;
}

/**
 * Returns an ad-hoc signed copy of `input`, replacing any signature it had. Deterministic: the same
 * input and identifier always give the same bytes, and signing a signed output again changes nothing.
 */
export function signAdhoc(input, { identifier }) {
  if (!identifier) throw new MachOError("an identifier is required");
  const unsigned = removeSignature(input);
  let macho = parseMachO(unsigned);
  if (macho.linkedit.fileoff + macho.linkedit.filesize !== unsigned.length) {
    throw new MachOError(
      `__LINKEDIT ends at ${macho.linkedit.fileoff + macho.linkedit.filesize} but the file is ${unsigned.length} bytes; the signature must close the file`,
    );
  }
  if (macho.cmdsEnd + LINKEDIT_DATA_SIZE > macho.firstData) {
    throw new MachOError("no room after the load commands for LC_CODE_SIGNATURE");
  }
  if (unsigned.subarray(macho.cmdsEnd, macho.cmdsEnd + LINKEDIT_DATA_SIZE).some((b) => b !== 0)) {
    throw new MachOError("the bytes after the load commands are not free padding");
  }

  // codesign starts the signature on a 16-byte boundary.
  const codeLimit = alignUp(unsigned.length, 16);
  const nPages = Math.ceil(codeLimit / PAGE_SIZE);
  const cdLength = CD_HEADER_SIZE + Buffer.byteLength(identifier, "utf8") + 1 + CSSLOT_REQUIREMENTS * 32 + nPages * 32;
  const sigLength = 12 + 8 * 3 + cdLength + EMPTY_REQUIREMENTS.length + EMPTY_CMS_WRAPPER.length;
  const datasize = alignUp(sigLength, 16);
  if (codeLimit + datasize > 0xffffffff) throw new MachOError("file too large for a 32-bit code limit");

  const out = Buffer.alloc(codeLimit + datasize);
  unsigned.copy(out);
  // Header first: page 0 is hashed with the final load commands in it.
  const lc = macho.cmdsEnd;
  out.writeUInt32LE(LC_CODE_SIGNATURE, lc);
  out.writeUInt32LE(LINKEDIT_DATA_SIZE, lc + 4);
  out.writeUInt32LE(codeLimit, lc + 8);
  out.writeUInt32LE(datasize, lc + 12);
  out.writeUInt32LE(macho.ncmds + 1, 16);
  out.writeUInt32LE(macho.sizeofcmds + LINKEDIT_DATA_SIZE, 20);
  setLinkeditSize(out, macho, codeLimit + datasize - macho.linkedit.fileoff);
  macho = parseMachO(out);

  const pageHashes = [];
  for (let p = 0; p < codeLimit; p += PAGE_SIZE) {
    pageHashes.push(createHash("sha256").update(out.subarray(p, Math.min(p + PAGE_SIZE, codeLimit))).digest());
  }
  const cd = codeDirectory({
    identifier,
    codeLimit,
    pageHashes,
    requirementsHash: createHash("sha256").update(EMPTY_REQUIREMENTS).digest(),
    text: macho.text,
    mainBinary: macho.filetype === MH_EXECUTE,
  });
  const sig = superBlob([
    { slot: CSSLOT_CODEDIRECTORY, data: cd },
    { slot: CSSLOT_REQUIREMENTS, data: EMPTY_REQUIREMENTS },
    { slot: CSSLOT_SIGNATURESLOT, data: EMPTY_CMS_WRAPPER },
  ]);
  if (sig.length !== sigLength) throw new MachOError(`internal: signature is ${sig.length} bytes, expected ${sigLength}`);
  sig.copy(out, codeLimit);
  return out;
}

function slotName(slot) {
  const names = {
    [CSSLOT_CODEDIRECTORY]: "CodeDirectory",
    [CSSLOT_INFOSLOT]: "Info.plist",
    [CSSLOT_REQUIREMENTS]: "requirements",
    [CSSLOT_RESOURCEDIR]: "resources",
    [CSSLOT_APPLICATION]: "application",
    5: "entitlements",
    7: "DER entitlements",
    [CSSLOT_SIGNATURESLOT]: "CMS signature",
  };
  return names[slot] ?? `slot ${hex(slot)}`;
}

function verifyCodeDirectory(buf, macho, cdBuf, cdSlot, blobsBySlot, limitExpected) {
  const where = `CodeDirectory ${slotName(cdSlot) === "CodeDirectory" ? "" : `(${hex(cdSlot)}) `}`;
  const version = cdBuf.readUInt32BE(8);
  const flags = cdBuf.readUInt32BE(12);
  const hashOffset = cdBuf.readUInt32BE(16);
  const identOffset = cdBuf.readUInt32BE(20);
  const nSpecialSlots = cdBuf.readUInt32BE(24);
  const nCodeSlots = cdBuf.readUInt32BE(28);
  let codeLimit = cdBuf.readUInt32BE(32);
  const hashSize = cdBuf.readUInt8(36);
  const hashType = cdBuf.readUInt8(37);
  const pageShift = cdBuf.readUInt8(39);
  const hashInfo = HASH_TYPES.get(hashType);
  if (!hashInfo) throw new MachOError(`${where}has unknown hash type ${hashType}`);
  const [algo, size] = hashInfo;
  if (size !== hashSize) throw new MachOError(`${where}hash size ${hashSize} does not fit hash type ${hashType}`);
  if (version >= CS_SUPPORTSCODELIMIT64 && cdBuf.length >= 64) {
    const limit64 = cdBuf.readBigUInt64BE(56);
    if (limit64 !== 0n) codeLimit = Number(limit64);
  }
  if (codeLimit !== limitExpected) {
    throw new MachOError(`${where}codeLimit ${codeLimit} is not where the signature starts (${limitExpected})`);
  }
  if (identOffset >= cdBuf.length) throw new MachOError(`${where}identifier offset is past its end`);
  const identifier = cString(cdBuf, identOffset, cdBuf.length);
  if (version >= CS_SUPPORTSSCATTER && cdBuf.readUInt32BE(44) !== 0) {
    throw new MachOError(`${where}uses scatter vectors, which this checker does not read`);
  }
  if (hashOffset < nSpecialSlots * hashSize || hashOffset + nCodeSlots * hashSize > cdBuf.length) {
    throw new MachOError(`${where}hash slots run outside the CodeDirectory`);
  }
  const pageSize = pageShift === 0 ? codeLimit : 2 ** pageShift;
  const expectPages = pageShift === 0 ? 1 : Math.ceil(codeLimit / pageSize);
  if (nCodeSlots !== expectPages) {
    throw new MachOError(`${where}has ${nCodeSlots} page hashes, ${expectPages} expected for ${codeLimit} bytes`);
  }
  const digest = (data) => createHash(algo).update(data).digest().subarray(0, hashSize);
  for (let i = 0; i < nCodeSlots; i++) {
    const start = i * pageSize;
    const want = cdBuf.subarray(hashOffset + i * hashSize, hashOffset + (i + 1) * hashSize);
    const got = digest(buf.subarray(start, Math.min(start + pageSize, codeLimit)));
    if (!got.equals(want)) {
      throw new MachOError(`${where}page ${i} (file bytes ${start}..${Math.min(start + pageSize, codeLimit)}) hash mismatch`);
    }
  }
  let specialChecked = 0;
  for (let slot = 1; slot <= nSpecialSlots; slot++) {
    const want = cdBuf.subarray(hashOffset - slot * hashSize, hashOffset - (slot - 1) * hashSize);
    const blob = blobsBySlot.get(slot);
    if (blob) {
      if (!digest(blob).equals(want)) throw new MachOError(`${where}special slot -${slot} (${slotName(slot)}) hash mismatch`);
      specialChecked++;
    } else if (slot === CSSLOT_INFOSLOT || slot === CSSLOT_RESOURCEDIR) {
      // These name files outside the binary (an app bundle's Info.plist and resources);
      // a bare executable cannot be checked against them.
    } else if (want.some((b) => b !== 0)) {
      throw new MachOError(`${where}special slot -${slot} (${slotName(slot)}) has a hash but its blob is missing`);
    }
  }
  if (version >= CS_SUPPORTSEXECSEG && cdBuf.length >= CD_HEADER_SIZE) {
    const base = Number(cdBuf.readBigUInt64BE(64));
    const limit = Number(cdBuf.readBigUInt64BE(72));
    const segFlags = cdBuf.readBigUInt64BE(80);
    if (base !== macho.text.fileoff || limit !== macho.text.filesize) {
      throw new MachOError(
        `${where}executable segment ${base}+${limit} is not __TEXT (${macho.text.fileoff}+${macho.text.filesize})`,
      );
    }
    if (macho.filetype === MH_EXECUTE && (segFlags & BigInt(CS_EXECSEG_MAIN_BINARY)) === 0n) {
      throw new MachOError(`${where}lacks the main-binary flag for an executable`);
    }
  }
  if (version >= CS_SUPPORTSTEAMID && cdBuf.readUInt32BE(52) >= cdBuf.length) {
    throw new MachOError(`${where}team identifier offset is past its end`);
  }
  return { identifier, algo: hashSize === 20 && algo === "sha256" ? "sha256/20" : algo, pages: nCodeSlots, flags, specialChecked };
}

/**
 * Re-reads a signed Mach-O and checks what a Linux machine can: the load command and __LINKEDIT
 * coverage, the SuperBlob's layout, every page hash and every special slot whose blob is present
 * in each CodeDirectory. A CMS signature's cryptography is not checked. Throws MachOError naming
 * the first mismatch; returns a one-line summary.
 */
export function verifySignature(buf) {
  const macho = parseMachO(buf);
  const cs = macho.codeSignature;
  if (!cs) throw new MachOError("no LC_CODE_SIGNATURE load command: the file is unsigned");
  const le = macho.linkedit;
  if (cs.dataoff + cs.datasize > buf.length) {
    throw new MachOError(`LC_CODE_SIGNATURE covers ${cs.dataoff}..${cs.dataoff + cs.datasize}, past the end of the file (${buf.length})`);
  }
  if (cs.dataoff % 16 !== 0) throw new MachOError(`the signature starts at ${cs.dataoff}, not on a 16-byte boundary`);
  if (cs.dataoff < le.fileoff || cs.dataoff + cs.datasize > le.fileoff + le.filesize) {
    throw new MachOError(
      `__LINKEDIT (${le.fileoff}..${le.fileoff + le.filesize}) does not cover the signature (${cs.dataoff}..${cs.dataoff + cs.datasize})`,
    );
  }
  if (le.vmsize < le.filesize) throw new MachOError(`__LINKEDIT vmsize ${le.vmsize} is smaller than its filesize ${le.filesize}`);
  if (le.fileoff + le.filesize !== buf.length) {
    throw new MachOError(`${buf.length - le.fileoff - le.filesize} bytes of the file lie outside every segment`);
  }

  const sig = buf.subarray(cs.dataoff, cs.dataoff + cs.datasize);
  if (sig.length < 12 || sig.readUInt32BE(0) !== CSMAGIC_EMBEDDED_SIGNATURE) {
    throw new MachOError(`no embedded-signature SuperBlob (magic ${sig.length >= 4 ? hex(sig.readUInt32BE(0)) : "missing"}) at ${cs.dataoff}`);
  }
  const sbLength = sig.readUInt32BE(4);
  const count = sig.readUInt32BE(8);
  if (sbLength > sig.length) throw new MachOError(`SuperBlob length ${sbLength} exceeds LC_CODE_SIGNATURE datasize ${sig.length}`);
  if (12 + 8 * count > sbLength) throw new MachOError(`SuperBlob index of ${count} entries overruns its length`);
  const blobsBySlot = new Map();
  const codeDirectories = [];
  for (let i = 0; i < count; i++) {
    const slot = sig.readUInt32BE(12 + 8 * i);
    const offset = sig.readUInt32BE(16 + 8 * i);
    if (offset + 8 > sbLength) throw new MachOError(`${slotName(slot)} blob offset ${offset} is outside the SuperBlob`);
    const magic = sig.readUInt32BE(offset);
    const length = sig.readUInt32BE(offset + 4);
    if (length < 8 || offset + length > sbLength) throw new MachOError(`${slotName(slot)} blob length ${length} runs outside the SuperBlob`);
    if (blobsBySlot.has(slot)) throw new MachOError(`${slotName(slot)} appears twice in the SuperBlob`);
    const blob = sig.subarray(offset, offset + length);
    blobsBySlot.set(slot, blob);
    const expectMagic = {
      [CSSLOT_REQUIREMENTS]: CSMAGIC_REQUIREMENTS,
      5: CSMAGIC_EMBEDDED_ENTITLEMENTS,
      7: CSMAGIC_EMBEDDED_DER_ENTITLEMENTS,
      [CSSLOT_SIGNATURESLOT]: CSMAGIC_BLOBWRAPPER,
    }[slot];
    const isCd = slot === CSSLOT_CODEDIRECTORY || (slot >= CSSLOT_ALTERNATE_CODEDIRECTORIES && slot < CSSLOT_ALTERNATE_CODEDIRECTORY_LIMIT);
    if (isCd) {
      if (magic !== CSMAGIC_CODEDIRECTORY) throw new MachOError(`${slotName(slot)} blob has magic ${hex(magic)}, expected ${hex(CSMAGIC_CODEDIRECTORY)}`);
      if (length < 44) throw new MachOError(`${slotName(slot)} blob is too short (${length} bytes)`);
      codeDirectories.push({ slot, blob });
    } else if (expectMagic !== undefined && magic !== expectMagic) {
      throw new MachOError(`${slotName(slot)} blob has magic ${hex(magic)}, expected ${hex(expectMagic)}`);
    }
  }
  if (!blobsBySlot.has(CSSLOT_CODEDIRECTORY)) throw new MachOError("the SuperBlob holds no CodeDirectory");
  const results = codeDirectories.map(({ slot, blob }) => verifyCodeDirectory(buf, macho, blob, slot, blobsBySlot, cs.dataoff));
  const primary = results[0];
  const cms = blobsBySlot.get(CSSLOT_SIGNATURESLOT);
  const kind = primary.flags & CS_ADHOC ? "ad-hoc" : cms && cms.length > 8 ? "CMS-signed (CMS not checked)" : "unsigned CMS";
  const cds = results.map((r) => r.algo).join("+");
  const special = results.reduce((n, r) => n + r.specialChecked, 0);
  return `OK ${kind}, identifier ${primary.identifier}, ${primary.pages} pages of ${cs.dataoff} bytes, CodeDirectory ${cds}, ${special} special slot(s) checked`;
}

function cpuName(cputype) {
  return cputype === CPU_TYPE_ARM64 ? "arm64" : cputype === CPU_TYPE_X86_64 ? "x86_64" : hex(cputype);
}

/** Reads, transforms and atomically replaces a file, keeping its mode. */
function rewrite(file, transform) {
  const input = readFileSync(file);
  const out = transform(input);
  if (out.equals(input)) return false;
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, out);
  chmodSync(tmp, statSync(file).mode & 0o7777);
  renameSync(tmp, file);
  return true;
}

export function signFile(file, { identifier } = {}) {
  const id = identifier ?? path.basename(file).replace(/\.[^.]*$/, "");
  rewrite(file, (input) => signAdhoc(input, { identifier: id }));
}

export function removeSignatureFile(file) {
  rewrite(file, removeSignature);
}

export function verifyFile(file) {
  const buf = readFileSync(file);
  const line = verifySignature(buf);
  return `${line.replace(/^OK /, `OK ${cpuName(parseMachO(buf).cputype)} `)}`;
}

function main(argv) {
  const usage = "usage: macho-sign.mjs [--identifier ID] FILE | --verify FILE | --remove FILE";
  let mode = "sign";
  let identifier;
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--verify") mode = "verify";
    else if (a === "--remove") mode = "remove";
    else if (a === "--identifier") identifier = argv[++i];
    else if (a === "-h" || a === "--help") {
      console.log(usage);
      return 0;
    } else if (a.startsWith("-")) {
      console.error(`macho-sign: unknown option ${a}\n${usage}`);
      return 2;
    } else files.push(a);
  }
  if (files.length !== 1 || (mode !== "sign" && identifier !== undefined)) {
    console.error(usage);
    return 2;
  }
  const file = files[0];
  try {
    if (mode === "verify") console.log(`${file}: ${verifyFile(file)}`);
    else if (mode === "remove") removeSignatureFile(file);
    else {
      signFile(file, { identifier });
      console.log(`${file}: signed (${verifyFile(file)})`);
    }
    return 0;
  } catch (err) {
    const what = err instanceof MachOError ? err.message : String(err?.message ?? err);
    console.error(`macho-sign: ${file}: ${what}`);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
