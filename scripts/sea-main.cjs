// The entry of the Linux single executables. Node's own SEA code cache holds only the functions V8
// compiles before the script runs; a no-op run then spends about a third of what it adds to a bare
// HTTPS GET compiling tshup's functions on first call. So the bundle comes as an asset with a V8
// code cache taken at the end of a real no-op run (scripts/sea-training.ts), which V8 accepts only
// from the same V8 version, flags and source, and otherwise ignores.
const vm = require("node:vm");

/**
 * The bundle (wrapped as a CommonJS function by dist.mjs) as one script, with a cache when given.
 * It has no import() (dist.mjs checks): a script compiled here could only take one through Node's
 * experimental loader, which warns on every run that uses it.
 */
function compileBundle(source, cachedData) {
  return new vm.Script(source, { filename: "tshup.cjs", ...(cachedData ? { cachedData } : {}) });
}

const sea = require("node:sea");
if (sea.isSea()) {
  // Raw assets are views of the executable's own pages: nothing is copied but the source text.
  const source = Buffer.from(sea.getRawAsset("tshup.js")).toString("latin1");
  const script = compileBundle(source, Buffer.from(sea.getRawAsset("tshup.cache")));
  if (process.env.TSHUP_DEBUG_CODE_CACHE === "1") process.stderr.write(`code cache ${script.cachedDataRejected ? "rejected" : "accepted"}\n`);
  script.runInThisContext()(exports, require, module, __filename, __dirname);
} else {
  module.exports = { compileBundle };
}
