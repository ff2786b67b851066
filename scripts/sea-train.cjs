// node --random-seed=1 sea-train.cjs SOURCE CACHE_OUT [tshup arguments...]
// Runs the wrapped bundle as the single executable's entry does, and at exit writes the V8 code
// cache of everything it compiled. Run it with the target's own Node and no other flags: the
// cache is only accepted under the flags it was made with.
const fs = require("node:fs");
const { compileBundle } = require("./sea-main.cjs");

const [sourceFile, cacheOut] = process.argv.splice(2, 2);
process.argv.splice(1, 1, process.execPath);
const script = compileBundle(fs.readFileSync(sourceFile, "latin1"));
process.on("exit", () => fs.writeFileSync(cacheOut, script.createCachedData()));
script.runInThisContext()(exports, require, module, __filename, __dirname);
