import { BLOCK_END, BLOCK_START, FLAG_CREATED, FLAG_NEWLINE } from "../../src/core/rcblock.js";
import type { RegValue } from "../../src/core/winpath.js";

/** The bodies of the tshup blocks in a file (without tshup's own flag lines), read independently of the code under test. */
export function readBlocks(text: string): string[] {
  const bodies: string[] = [];
  let body: string[] | null = null;
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (t === BLOCK_START) body = [];
    else if (t === BLOCK_END && body) {
      bodies.push(body.join("\n"));
      body = null;
    } else if (t !== FLAG_CREATED && t !== FLAG_NEWLINE) body?.push(line.replace(/\r$/, ""));
  }
  return bodies;
}

/** The Include lines inside tshup's blocks of an ssh config. */
export function readIncludeBlocks(text: string): string[] {
  return readBlocks(text.replace(/^(\ufeff|\xef\xbb\xbf)/, "")).flatMap((b) => b.split("\n").map((l) => l.trim()).filter((l) => /^include[ \t=]/i.test(l)));
}

/**
 * A value from `reg query` output, to cross-check what tshup wrote with Windows' own tool
 * (exact for ASCII only, which is why tshup itself reads through `reg export`).
 */
export function parseRegQuery(stdout: string, name: string): RegValue | null {
  for (const raw of stdout.split(/\r?\n/)) {
    const m = /^ {4}(.*?) {4}(REG_[A-Z_]+)(?: {4}(.*))?$/.exec(raw.replace(/\r$/, ""));
    if (m && m[1]!.toUpperCase() === name.toUpperCase()) return { type: m[2]!, value: m[3] ?? "" };
  }
  return null;
}
