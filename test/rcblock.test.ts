import { test } from "node:test";
import { readBlocks } from "./support/blocks.js";
import assert from "node:assert/strict";
import {
  BLOCK_END,
  BLOCK_START,
  FLAG_CREATED,
  FLAG_NEWLINE,
  removeBlock,
  upsertBlock,
} from "../src/core/rcblock.js";

const BODY = '. "/home/u/.local/share/tshup/env"';
const MOVED = '. "/opt/tshup/env"';

const block = (body: string, eol = "\n", flags: string[] = []) =>
  [BLOCK_START, ...flags, body, BLOCK_END].join(eol) + eol;

/** Files without a tshup block: upsert then remove must give back the very same bytes. */
const plainCases: { name: string; input: string | null; expected: string }[] = [
  { name: "absent file", input: null, expected: block(BODY, "\n", [FLAG_CREATED]) },
  { name: "empty file", input: "", expected: block(BODY) },
  { name: "LF", input: "export A=1\n", expected: "export A=1\n" + block(BODY) },
  { name: "CRLF", input: "export A=1\r\nalias b=c\r\n", expected: "export A=1\r\nalias b=c\r\n" + block(BODY, "\r\n") },
  { name: "no final newline", input: "export A=1", expected: "export A=1\n" + block(BODY, "\n", [FLAG_NEWLINE]) },
  {
    name: "CRLF without final newline",
    input: "export A=1\r\nexport B=2",
    expected: "export A=1\r\nexport B=2\r\n" + block(BODY, "\r\n", [FLAG_NEWLINE]),
  },
  { name: "mixed endings, LF last", input: "a\r\nb\nc\r\nd\n", expected: "a\r\nb\nc\r\nd\n" + block(BODY) },
  { name: "mixed endings, CRLF last", input: "a\nb\r\n", expected: "a\nb\r\n" + block(BODY, "\r\n") },
  { name: "lone CR at the end", input: "a\r", expected: "a\r\n" + block(BODY, "\n", [FLAG_NEWLINE]) },
  { name: "tabs and trailing blanks", input: "if x; then\n\techo  y \t\nfi\n\n\n", expected: "if x; then\n\techo  y \t\nfi\n\n\n" + block(BODY) },
  { name: "only newlines", input: "\n\n", expected: "\n\n" + block(BODY) },
  { name: "non-ASCII bytes (latin1 view)", input: "# caf\u00c3\u00a9 \u00ff\u00fe\n", expected: "# caf\u00c3\u00a9 \u00ff\u00fe\n" + block(BODY) },
  {
    name: "orphan start marker is ordinary text",
    input: `${BLOCK_START}\nexport X=1\n`,
    expected: `${BLOCK_START}\nexport X=1\n` + block(BODY),
  },
  { name: "orphan end marker, no final newline", input: `x\n${BLOCK_END}`, expected: `x\n${BLOCK_END}\n` + block(BODY, "\n", [FLAG_NEWLINE]) },
  { name: "another tool's block", input: "# >>> conda >>>\nx\n# <<< conda <<<\n", expected: "# >>> conda >>>\nx\n# <<< conda <<<\n" + block(BODY) },
];

test("upsertBlock on files without a block appends one at the end, in the file's line endings", () => {
  for (const c of plainCases) {
    const r = upsertBlock(c.input, BODY);
    assert.equal(r.changed, true, c.name);
    assert.equal(r.text, c.expected, c.name);
    assert.deepEqual(readBlocks(r.text), [BODY], c.name);
  }
});

test("removeBlock(upsertBlock(x)) gives back x byte for byte", () => {
  for (const c of plainCases) {
    const once = upsertBlock(c.input, BODY).text;
    assert.deepEqual(removeBlock(once), { text: c.input, changed: true }, c.name);
    // A moved root in between changes nothing about that.
    const moved = upsertBlock(once, MOVED);
    assert.equal(moved.changed, true, c.name);
    assert.equal(removeBlock(moved.text).text, c.input, c.name);
  }
});

test("upsertBlock is idempotent: the same block leaves the same string", () => {
  for (const c of plainCases) {
    const once = upsertBlock(c.input, BODY).text;
    const twice = upsertBlock(once, BODY);
    assert.equal(twice.changed, false, c.name);
    assert.equal(twice.text, once, c.name);
  }
});

/** Files that already hold blocks. */
const blockCases: { name: string; input: string; expected: string; removed: string | null }[] = [
  {
    name: "identical block in the middle stays where it is",
    input: "a\n" + block(BODY) + "b\n",
    expected: "a\n" + block(BODY) + "b\n",
    removed: "a\nb\n",
  },
  {
    name: "different root: replaced in place, bytes around kept",
    input: "a\r\n" + block(MOVED, "\r\n") + "\tb  \r\nc",
    expected: "a\r\n" + block(BODY, "\r\n") + "\tb  \r\nc",
    removed: "a\r\n\tb  \r\nc",
  },
  {
    name: "duplicate blocks collapse into the last",
    input: block(MOVED) + "x\n" + block(MOVED) + "y\n" + block(BODY),
    expected: "x\ny\n" + block(BODY),
    removed: "x\ny\n",
  },
  {
    name: "marker lines with trailing spaces, CR and indentation",
    input: "a\n  " + BLOCK_START + "  \r\n" + MOVED + "\n" + BLOCK_END + " \t\r\nb\n",
    expected: "a\n" + block(BODY, "\r\n") + "b\n",
    removed: "a\nb\n",
  },
  {
    name: "body whitespace differs: still found and removed",
    input: "a\n" + BLOCK_START + "\n   " + BODY + "   \n\n" + BLOCK_END + "\n",
    expected: "a\n" + block(BODY),
    removed: "a\n",
  },
  {
    name: "flags of the kept block survive a root move",
    input: "a\n" + block(MOVED, "\n", [FLAG_NEWLINE]),
    expected: "a\n" + block(BODY, "\n", [FLAG_NEWLINE]),
    removed: "a",
  },
  {
    name: "created flag: only the block left means the file goes",
    input: block(MOVED, "\n", [FLAG_CREATED]),
    expected: block(BODY, "\n", [FLAG_CREATED]),
    removed: null,
  },
  {
    name: "created flag but the user added lines: the file stays",
    input: "mine\n" + block(BODY, "\n", [FLAG_CREATED]),
    expected: "mine\n" + block(BODY, "\n", [FLAG_CREATED]),
    removed: "mine\n",
  },
  {
    name: "added-newline flag with the user's lines after the block keeps the break",
    input: "a\n" + block(BODY, "\n", [FLAG_NEWLINE]) + "b\n",
    expected: "a\n" + block(BODY, "\n", [FLAG_NEWLINE]) + "b\n",
    removed: "a\nb\n",
  },
  {
    name: "end marker without final newline",
    input: "a\n" + BLOCK_START + "\n" + MOVED + "\n" + BLOCK_END,
    expected: "a\n" + block(BODY),
    removed: "a\n",
  },
];

test("upsertBlock and removeBlock on files that already hold blocks", () => {
  for (const c of blockCases) {
    const up = upsertBlock(c.input, BODY);
    assert.equal(up.text, c.expected, c.name);
    assert.equal(up.changed, c.expected !== c.input, c.name);
    assert.deepEqual(removeBlock(c.input), { text: c.removed, changed: true }, c.name);
    // With blocks already there, the round trip gives what removal alone gives.
    assert.equal(removeBlock(up.text).text, c.removed, c.name);
    assert.deepEqual(readBlocks(up.text), [BODY], c.name);
  }
});

test("removeBlock leaves files without a block alone", () => {
  for (const text of ["", "a\n", "a\r\nb", `${BLOCK_START}\nno end\n`, `${BLOCK_END}\n${BLOCK_START}\n`]) {
    const r = removeBlock(text);
    assert.equal(r.changed, false);
    assert.equal(r.text, text);
  }
});

test("a multi-line body follows the file's line endings", () => {
  const r = upsertBlock("x\r\n", "line one\nline two\n");
  assert.equal(r.text, "x\r\n" + [BLOCK_START, "line one", "line two", BLOCK_END].join("\r\n") + "\r\n");
  assert.equal(removeBlock(r.text).text, "x\r\n");
});
