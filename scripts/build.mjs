// Bundles the CLI into dist/tshup.cjs: one CommonJS file that Node's single executable
// applications can run (they load a CommonJS entry and may require only built-ins).
import { build } from "esbuild";
import { isBuiltin } from "node:module";
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
    plugins: [oneViewPerBuiltin],
    logLevel: "warning",
  });
  return outfile;
}

/**
 * Built-ins that a run with nothing to do never calls, loaded when first used: node:fs/promises
 * brings eight internal modules with it (readline among them), about 1 ms of every run.
 */
const LOADED_ON_FIRST_USE = new Set(["fs/promises"]);

/**
 * esbuild gives each file that imports a built-in module (`import fs from "node:fs"`) its own ES-module
 * view of it: a fresh object with a getter defined for every export. Over a hundred such imports
 * made every run define thousands of getters (2 ms of a no-op run). Routing every import of a
 * built-in through one module that re-exports it makes one view per built-in, shared by all.
 */
const oneViewPerBuiltin = {
  name: "one-view-per-builtin",
  setup(b) {
    b.onResolve({ filter: /^[a-z:_/]+$/ }, (args) => {
      if (args.kind !== "import-statement" || args.namespace === "builtin-view" || !isBuiltin(args.path)) return undefined;
      return { path: args.path.replace(/^node:/, ""), namespace: "builtin-view" };
    });
    b.onLoad({ filter: /.*/, namespace: "builtin-view" }, (args) => ({
      contents: LOADED_ON_FIRST_USE.has(args.path)
        ? // Only a default import is offered (a named one fails the build), so nothing loads it early.
          `let loaded;\nexport default new Proxy({}, { get: (_, key) => (loaded ??= require("node:${args.path}"))[key] });\n`
        : `export * from "node:${args.path}";\nexport default require("node:${args.path}");\n`,
      loader: "js",
    }));
    b.onResolve({ filter: /^node:/, namespace: "builtin-view" }, (args) => ({ path: args.path, external: true }));
  },
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await bundle();
  console.log(`built ${path.relative(process.cwd(), out)}`);
}
