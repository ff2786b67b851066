// node --liftoff-only powershell-grammar.mjs FILE...: prints, as JSON, each file's places that
// PowerShell's grammar (tree-sitter-powershell) cannot parse; [] for a file that parses.
// Run apart from the tests: V8 optimising the grammar's WebAssembly in the background would
// otherwise hold a core for seconds after the parse is done.
import fs from "node:fs";
import { createRequire } from "node:module";
import { Language, Parser } from "web-tree-sitter";

const require = createRequire(import.meta.url);
await Parser.init();
const parser = new Parser();
parser.setLanguage(await Language.load(require.resolve("tree-sitter-powershell/tree-sitter-powershell.wasm")));
const result = {};
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, "utf8");
  const problems = [];
  const walk = (n) => {
    if (n.type === "ERROR" || n.isMissing) problems.push(`${n.isMissing ? "missing" : "unparsable"} at line ${n.startPosition.row + 1}: ${text.slice(n.startIndex, n.startIndex + 60)}`);
    for (const c of n.children) if (c) walk(c);
  };
  walk(parser.parse(text).rootNode);
  result[file] = problems;
}
process.stdout.write(JSON.stringify(result));
