// Bundles the CLI into dist/tshup.cjs: one CommonJS file that Node's single executable
// applications can run (they load a CommonJS entry and may require only built-ins).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { readFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));

function gitCommit() {
  // Reproducible builds need the commit from the source tree, not the build time.
  try {
    const sha = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root, stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return "unknown";
  }
}

export async function bundle({ outfile = path.join(root, "dist", "tshup.cjs"), embeddedManifest = null } = {}) {
  mkdirSync(path.dirname(outfile), { recursive: true });
  await build({
    entryPoints: [path.join(root, "src", "main.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: process.env.TSHUP_NO_MINIFY !== "1",
    keepNames: false,
    legalComments: "none",
    banner: { js: "#!/usr/bin/env node" },
    define: {
      TSHUP_VERSION: JSON.stringify(pkg.version),
      TSHUP_COMMIT: JSON.stringify(process.env.TSHUP_COMMIT ?? gitCommit()),
      TSHUP_EMBEDDED_MANIFEST: JSON.stringify(embeddedManifest),
      "import.meta.url": "__tshup_import_meta_url",
    },
    inject: [path.join(root, "scripts", "import-meta-url.js")],
    logLevel: "warning",
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await bundle();
  console.log(`built ${path.relative(process.cwd(), out)}`);
}
