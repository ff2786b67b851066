// `npm run bench [-- PART...]`: performance figures, each next to its baseline from the same run and
// its target. Parts: install, noop, proxies, mirror, startup; all by default.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchRow } from "./bench/common.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PARTS: Record<string, () => Promise<BenchRow[]>> = {
  install: async () => (await import("./bench/install.js")).benchInstall(),
  noop: async () => (await import("./bench/noop.js")).benchNoop(),
  proxies: async () => (await import("./bench/proxies.js")).benchProxies(),
  mirror: async () => (await import("./bench/mirror.js")).benchMirror(),
  startup: async () => {
    if (!fs.existsSync(path.join(root, "dist", "bin", "tshup-linux-x64"))) {
      return [{ name: "single executables", value: "not built", target: "run npm run dist first", ok: false }];
    }
    return (await (await import("./bench/startup.js")).benchStartup()).rows;
  },
};
const asked = process.argv.slice(2);
for (const p of asked) {
  if (!Object.hasOwn(PARTS, p)) {
    process.stderr.write(`bench: unknown part "${p}"; parts: ${Object.keys(PARTS).join(", ")}\n`);
    process.exit(2);
  }
}
const rows: BenchRow[] = [];
for (const p of asked.length ? asked : Object.keys(PARTS)) rows.push(...(await PARTS[p]!()));

const w = Math.max(...rows.map((r) => r.name.length));
const v = Math.max(...rows.map((r) => r.value.length));
process.stdout.write(`\n${"figure".padEnd(w)}  ${"value".padEnd(v)}  target\n`);
for (const r of rows) {
  process.stdout.write(`${r.name.padEnd(w)}  ${r.value.padEnd(v)}  ${r.target}${r.target ? (r.ok ? "  ok" : "  MISSED") : ""}\n`);
}
process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
