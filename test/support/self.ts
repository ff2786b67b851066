// What the tests of tshup's own executable share: the linux-x64 single executable they run, and a
// throw-away home with the places self install uses.
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { makeHome, ROOT, type CliVariant } from "./cli.js";

export const BINARY = path.join(ROOT, "dist", "bin", "tshup-linux-x64");
/** The bundled script: a tshup by its marker, so a test may plant it where a copy is expected. */
export const ROOT_SCRIPT = path.join(ROOT, "dist", "tshup.cjs");
export const SCRIPT: CliVariant = { name: "tshup.cjs", command: [process.execPath, path.join(ROOT, "dist", "tshup.cjs")] };
export const EXE: CliVariant = { name: "tshup-linux-x64", command: [BINARY] };

/** Why the binary tests do not run here, or false; a missing binary when they should is a failure. */
export function binarySkip(): string | false {
  if (process.env.TSHUP_TEST_BINARIES === "0") return "TSHUP_TEST_BINARIES=0: these run dist/bin/tshup-linux-x64";
  if (process.platform !== "linux" || process.arch !== "x64") return "the linux-x64 executable runs only on linux-x64";
  if (!fs.existsSync(BINARY)) throw new Error(`${BINARY} is missing: run npm run dist -- --targets linux-x64 (npm test does it), or set TSHUP_TEST_BINARIES=0`);
  return false;
}

export async function selfHome() {
  const h = await makeHome("tshup-self-");
  const exe = path.join(h.home, ".local", "bin", "tshup");
  const root = path.join(h.home, ".local", "share", "tshup");
  return { ...h, exe, root };
}


/**
 * Builds another linux-x64 executable into `outDir`, as a site would publish it: from this tree,
 * with `commit` as its build (what `--version` shows) so it differs from dist/bin's. Run
 * asynchronously: a stand-in serving from this process must not be blocked meanwhile.
 */
export async function buildExecutable(outDir: string, commit: string, extra: string[] = []): Promise<string> {
  const code = await new Promise<number | null>((resolve) =>
    spawn(process.execPath, [path.join(ROOT, "scripts", "dist.mjs"), "--targets", "linux-x64", "--out-dir", outDir, ...extra], {
      cwd: ROOT,
      env: { ...process.env, TSHUP_COMMIT: commit },
      stdio: ["ignore", "ignore", "inherit"],
    }).on("close", resolve),
  );
  if (code !== 0) throw new Error(`scripts/dist.mjs --targets linux-x64 --out-dir ${outDir} failed (exit ${code})`);
  return path.join(outDir, "tshup-linux-x64");
}
