// `npm run bench`: performance figures, each next to its baseline from the same run and its target.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { benchInstall, type BenchRow } from "./bench/install.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const rows: BenchRow[] = [];
rows.push(...(await benchInstall()));
rows.push(...(await (await import("./bench/proxies.js")).benchProxies()));
if (fs.existsSync(path.join(root, "dist", "bin", "tshup-linux-x64"))) {
  const { benchStartup } = await import("./bench/startup.js");
  rows.push(...(await benchStartup()).rows);
} else {
  rows.push({ name: "single executables", value: "not built", target: "run npm run dist first", ok: false });
}

const w = Math.max(...rows.map((r) => r.name.length));
const v = Math.max(...rows.map((r) => r.value.length));
process.stdout.write(`\n${"figure".padEnd(w)}  ${"value".padEnd(v)}  target\n`);
for (const r of rows) {
  process.stdout.write(`${r.name.padEnd(w)}  ${r.value.padEnd(v)}  ${r.target}${r.target ? (r.ok ? "  ok" : "  MISSED") : ""}\n`);
}
process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
