/**
 * The marked block tshup keeps in shell startup files, edited as text so that every byte outside it
 * survives: line endings (CRLF files get a CRLF block), a missing final newline, tabs, other tools'
 * blocks. Callers that must be byte-exact decode files as latin1 (one char per byte) and encode the
 * result the same way; nothing here assumes UTF-8.
 *
 * Removal undoes insertion without outside state: when tshup had to add a line break before the
 * block (the file did not end with one) or created the file, a comment line inside the block says
 * so, and removal takes the line break (or the whole file) away again.
 */

export const BLOCK_START = "# >>> tshup >>>";
export const BLOCK_END = "# <<< tshup <<<";

/** Inside the block: tshup created the file, so once only the block is left the file goes. */
export const FLAG_CREATED = "# tshup created this file; it is removed with this block when nothing else is left";
/** Inside the block: the file had no final line break and tshup added one before the block. */
export const FLAG_NEWLINE = "# tshup added the line break before this block; it is removed with this block";

export interface Line {
  start: number;
  /** Offset just past the line's "\n", or the end of the text for a last line without one. */
  end: number;
  /** The line without its "\n" (a CR before it stays here). */
  content: string;
}

export interface Block {
  start: number;
  end: number;
  eol: "\n" | "\r\n";
  created: boolean;
  newlineAdded: boolean;
  /** Lines between the markers, flag lines excluded, without line endings. */
  body: string[];
}

interface Flags {
  created: boolean;
  newlineAdded: boolean;
}

export function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let start = 0;
  while (start < text.length) {
    const nl = text.indexOf("\n", start);
    const end = nl === -1 ? text.length : nl + 1;
    lines.push({ start, end, content: text.slice(start, nl === -1 ? text.length : nl) });
    start = end;
  }
  return lines;
}

/** Marker lines are matched on their words, not their whitespace: indentation, trailing spaces and a CR are fine. */
export const normalized = (content: string) => content.replace(/^[ \t]+/, "").replace(/[ \t\r]+$/, "");

/** Every complete marked block in a text, with where it sits and what its flag lines say. */
export function findBlocks(text: string): Block[] {
  const lines = splitLines(text);
  const blocks: Block[] = [];
  let open = -1;
  for (let i = 0; i < lines.length; i++) {
    const n = normalized(lines[i]!.content);
    if (n === BLOCK_START) {
      // A start marker with no end before the next start is left alone as ordinary text: guessing
      // where an unterminated block stops could delete the user's lines.
      open = i;
    } else if (n === BLOCK_END && open !== -1) {
      const first = lines[open]!;
      const inner = lines.slice(open + 1, i).map((l) => normalized(l.content));
      blocks.push({
        start: first.start,
        end: lines[i]!.end,
        eol: first.content.endsWith("\r") && first.end > first.start + first.content.length ? "\r\n" : "\n",
        created: inner.includes(FLAG_CREATED),
        newlineAdded: inner.includes(FLAG_NEWLINE),
        body: lines
          .slice(open + 1, i)
          .map((l) => l.content.replace(/\r$/, ""))
          .filter((c) => {
            const t = normalized(c);
            return t !== FLAG_CREATED && t !== FLAG_NEWLINE;
          }),
      });
      open = -1;
    }
  }
  return blocks;
}

function renderBlock(body: string, eol: string, flags: Flags): string {
  const bodyLines = body.replace(/\r?\n$/, "").split(/\r?\n/);
  const lines = [BLOCK_START];
  if (flags.created) lines.push(FLAG_CREATED);
  if (flags.newlineAdded) lines.push(FLAG_NEWLINE);
  lines.push(...bodyLines, BLOCK_END);
  return lines.join(eol) + eol;
}

/** The line ending of the file's last terminated line, which the block continues. */
function lastEol(text: string): "\n" | "\r\n" | null {
  const nl = text.lastIndexOf("\n");
  if (nl === -1) return null;
  return nl > 0 && text[nl - 1] === "\r" ? "\r\n" : "\n";
}

/**
 * Puts one tshup block holding `body` into a file's text (`null`: the file does not exist).
 * No block yet: appended at the end, where it runs last and so puts tshup's bin dir first.
 * One or more blocks: the last one is rewritten in place (keeping its line endings and flags), the
 * others dropped. Returns the same string, unchanged, when the block is already exactly right.
 */
export function upsertBlock(original: string | null, body: string): { text: string; changed: boolean } {
  if (original === null) {
    return { text: renderBlock(body, "\n", { created: true, newlineAdded: false }), changed: true };
  }
  const blocks = findBlocks(original);
  if (blocks.length === 0) {
    if (original === "") return { text: renderBlock(body, "\n", { created: false, newlineAdded: false }), changed: true };
    const eol = lastEol(original) ?? "\n";
    if (original.endsWith("\n")) {
      return { text: original + renderBlock(body, eol, { created: false, newlineAdded: false }), changed: true };
    }
    return { text: original + eol + renderBlock(body, eol, { created: false, newlineAdded: true }), changed: true };
  }
  const keep = blocks[blocks.length - 1]!;
  let text = original.slice(0, keep.start) + renderBlock(body, keep.eol, keep) + original.slice(keep.end);
  for (let i = blocks.length - 2; i >= 0; i--) {
    const b = blocks[i]!;
    text = text.slice(0, b.start) + text.slice(b.end);
  }
  return text === original ? { text: original, changed: false } : { text, changed: true };
}

/**
 * Takes every tshup block out of a file's text, with the line break tshup added before it.
 * `text` is null when tshup created the file and nothing but its block was left: the file should go.
 */
export function removeBlock(text: string): { text: string | null; changed: boolean } {
  const blocks = findBlocks(text);
  if (blocks.length === 0) return { text, changed: false };
  let out = text;
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i]!;
    let before = out.slice(0, b.start);
    const after = out.slice(b.end);
    // Only a block that still ends the file sits right after the line break tshup added; with the
    // user's lines after it, taking that break away would join two of their lines.
    if (b.newlineAdded && after === "") {
      if (b.eol === "\r\n" && before.endsWith("\r\n")) before = before.slice(0, -2);
      else if (before.endsWith("\n")) before = before.slice(0, -1);
    }
    out = before + after;
  }
  const created = blocks.some((b) => b.created);
  return { text: out === "" && created ? null : out, changed: true };
}

