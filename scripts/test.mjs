// `npm test`: builds what the tests run (dist/tshup.cjs, and the single executables unless
// TSHUP_TEST_SKIP_DIST=1 for a quick local loop), then runs every test/**/*.test.ts with
// node's test runner, whose summary closes the output.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function findTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return findTests(p);
    return name.endsWith(".test.ts") ? [p] : [];
  });
}

const filters = process.argv.slice(2);
run(npm, ["run", "--silent", "build"]);
if (process.env.TSHUP_TEST_SKIP_DIST !== "1") run(npm, ["run", "--silent", "dist"]);
// The real Teleport the tests run against: built once, then reused from the cache.
run(npm, ["run", "--silent", "teleport:build"]);
const files = findTests(path.join(root, "test"))
  // Matched against the path inside the repo: the checkout's own directory name must not match.
  .filter((f) => filters.length === 0 || filters.some((x) => path.relative(root, f).includes(x)))
  .sort();
// A hung test fails after ten minutes instead of eating the whole CI budget.
run(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", "--test-timeout=600000", "--test-reporter=spec", ...files]);
