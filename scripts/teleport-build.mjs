// `npm run teleport:build`: builds the real tsh, tctl and teleport that the tests run against, from
// the Teleport release test/teleport/go.mod pins, once, into a cache outside the repository
// (TSHUP_TELEPORT_CACHE, default ~/.cache/tshup/teleport/<version>/bin). A cache whose binaries
// report the right version is reused.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const script = fs.readFileSync(path.join(root, "test", "teleport", "build.sh"), "utf8");
const version = /^VERSION=(\S+)/m.exec(script)?.[1];
if (!version) throw new Error("test/teleport/build.sh names no VERSION");
const cache = process.env.TSHUP_TELEPORT_CACHE ?? path.join(os.homedir(), ".cache", "tshup", "teleport");
const bin = path.join(cache, version, "bin");

function reports(tool) {
  const file = path.join(bin, tool);
  if (!fs.existsSync(file)) return false;
  const r = spawnSync(file, ["version"], { encoding: "utf8", env: { ...process.env, TELEPORT_TOOLS_VERSION: "off" } });
  return r.status === 0 && r.stdout.includes(`Teleport v${version} `);
}

const missing = ["tsh", "tctl", "teleport"].filter((t) => !reports(t));
if (missing.length === 0) {
  console.log(`teleport:build: Teleport v${version} is cached in ${bin}`);
  process.exit(0);
}
if (spawnSync("go", ["version"]).status !== 0) {
  console.error("teleport:build: the go command is missing; install Go 1.26 (the tests build the real Teleport with it)");
  process.exit(1);
}
console.log(`teleport:build: building ${missing.join(", ")} of Teleport v${version} into ${bin}`);
console.log("teleport:build: the first build downloads about 1.9 GB of Go modules and takes about 9 minutes on two cores");
const started = Date.now();
const r = spawnSync("bash", [path.join(root, "test", "teleport", "build.sh"), ...missing], {
  stdio: "inherit",
  env: { ...process.env, TSHUP_TELEPORT_OUT: path.join(cache, version) },
});
if (r.status !== 0) process.exit(r.status ?? 1);
const bad = ["tsh", "tctl", "teleport"].filter((t) => !reports(t));
if (bad.length > 0) {
  console.error(`teleport:build: ${bad.join(", ")} built but do not report v${version}`);
  process.exit(1);
}
console.log(`teleport:build: done in ${Math.round((Date.now() - started) / 1000)} s`);
