// `npm run dist`: the single executables, one per platform, each a pinned Node runtime from the
// npm registry with the bundled CLI injected as a single executable application (SEA).
//
//   node scripts/dist.mjs [--manifest FILE] [--targets linux-x64,win-x64] [--out-dir DIR]
//   node scripts/dist.mjs --print-node TARGET      path of the cached, unmodified Node for TARGET
//
// Nothing is downloaded except the pinned Node packages from the npm registry (through npm, so
// its registry, proxy and CA settings apply); their extracted binaries are cached outside the repo
// in $TSHUP_NODE_CACHE (default ~/.cache/tshup/node), keyed by tarball integrity.
//
// Start-up: the Linux executables carry V8 code caches. Node's own, for their entry
// (scripts/sea-main.cjs), holds what V8 compiles before a script runs; the bundle rides beside it
// as an asset with a cache taken at the end of a training run with nothing to do
// (scripts/sea-training.ts), so that such a run compiles almost none of tshup's functions. A code
// cache is only accepted by the platform that made it, so each Linux target gets its own blob and
// training, by its own pinned Node (linux-arm64 under qemu); macOS and Windows cannot run here and
// get a blob with the bundle as its entry and no cache. V8 seeds its hash tables at random, which
// would make every cache different, so blobs are made, and training runs, with a fixed
// --random-seed (a flag V8 leaves out of the cache's flag check). Every blob sets
// execArgvExtension "none": a user's NODE_OPTIONS neither reaches tshup (a --require hook or
// --inspect meant for their own Node) nor changes V8's flags, which would make V8 reject the cache
// and Node print a warning on every run.
//
// Beside them go SHA256SUMS and the one-line installers install.sh and install.ps1
// (scripts/bootstrap.mjs), with the manifest's self_update.base_url built in when it has one.
//
// Output is reproducible: the same commit built twice on one machine gives identical bytes.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, readFileSync, statSync } from "node:fs";
import fs from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createGzip } from "node:zlib";
import { pipeline } from "node:stream/promises";
import { Writable } from "node:stream";
import { bundle } from "./build.mjs";
import { removeSignature, signAdhoc, verifySignature } from "./macho-sign.mjs";
import { BOOTSTRAP_NAMES, renderBootstrap } from "./bootstrap.mjs";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const pins = JSON.parse(readFileSync(path.join(root, "scripts", "node-targets.json"), "utf8"));
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));

export const SEA_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
const SEA_RESOURCE = "NODE_SEA_BLOB";
const MACHO_SEGMENT = "NODE_SEA";
const ALL_TARGETS = Object.keys(pins.targets);
// The blob maker for the targets that cannot run here, whose blobs carry no code cache.
const BLOB_MAKER = "linux-x64";
const QEMU_ARM64_SYSROOT = "/usr/aarch64-linux-gnu";

class DistError extends Error {}

// Progress goes to stderr when stdout carries an answer (--print-node).
let logTo = process.stdout;
function log(msg) {
  logTo.write(`dist: ${msg}\n`);
}

function run(cmd, args, { cwd, env, timeout = 600_000 } = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env, timeout, maxBuffer: 64 * 1024 * 1024, encoding: "utf8" }, (err, stdout, stderr) => {
      if (err) {
        const detail = `${stderr}${stdout}`.trim().split("\n").slice(-8).join("\n");
        reject(new DistError(`${path.basename(cmd)} ${args.join(" ")} failed (${err.code ?? err.signal}):\n${detail}`));
      } else resolve({ stdout, stderr });
    });
  });
}

async function which(program) {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, program);
    try {
      await fs.access(p, fs.constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return null;
}

async function requireTool(program, aptPackage, why) {
  const found = await which(program);
  if (!found) throw new DistError(`${program} is not installed (needed to ${why}); install it with: apt-get install -y ${aptPackage}`);
  return found;
}

function parseArgs(argv) {
  const opts = { manifest: null, targets: ALL_TARGETS, outDir: path.join(root, "dist", "bin"), printNode: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new DistError(`${a} needs a value`);
      return v;
    };
    if (a === "--manifest") opts.manifest = path.resolve(value());
    else if (a === "--targets") opts.targets = value().split(",").filter(Boolean);
    else if (a === "--out-dir") opts.outDir = path.resolve(value());
    else if (a === "--print-node") opts.printNode = value();
    else throw new DistError(`unknown argument ${a}; usage: dist.mjs [--manifest FILE] [--targets ${ALL_TARGETS.join(",")}] [--out-dir DIR]`);
  }
  for (const t of [...opts.targets, ...(opts.printNode ? [opts.printNode] : [])]) {
    if (!pins.targets[t]) throw new DistError(`unknown target ${t}; known: ${ALL_TARGETS.join(", ")}`);
  }
  return opts;
}

export function nodeCacheDir() {
  return path.resolve(process.env.TSHUP_NODE_CACHE || path.join(os.homedir(), ".cache", "tshup", "node"));
}

function integrityHex(integrity) {
  const m = /^sha512-([A-Za-z0-9+/=]+)$/.exec(integrity);
  if (!m) throw new DistError(`scripts/node-targets.json: integrity ${integrity} is not a sha512 SRI value`);
  return Buffer.from(m[1], "base64").toString("hex");
}

async function hashFile(file, algo) {
  const h = createHash(algo);
  await pipeline(createReadStream(file), h);
  return h.digest();
}

function npmCommand() {
  // Under `npm run`, npm names its own entry point; otherwise the npm on PATH is used.
  const cli = process.env.npm_execpath;
  if (cli && /\.c?js$/.test(cli) && existsSync(cli)) return [process.execPath, [cli]];
  return [process.platform === "win32" ? "npm.cmd" : "npm", []];
}

/**
 * Returns the path of the unmodified Node binary for `target`, downloading its npm package only
 * when the cache has no intact copy. The tarball's sha512 must equal the pinned integrity.
 */
export async function fetchNode(target) {
  const pin = pins.targets[target];
  const key = `${pin.package}-${pin.version}-${integrityHex(pin.integrity).slice(0, 32)}`;
  const dir = path.join(nodeCacheDir(), key);
  const binary = path.join(dir, path.basename(pin.binary));
  const metaFile = path.join(dir, "cache.json");
  const intact = async () => {
    try {
      const meta = JSON.parse(await fs.readFile(metaFile, "utf8"));
      return meta.integrity === pin.integrity && (await hashFile(binary, "sha256")).toString("hex") === meta.sha256;
    } catch {
      return false;
    }
  };
  if (await intact()) return binary;
  if (existsSync(dir)) log(`cached ${key} is damaged; fetching it again`);

  await fs.mkdir(nodeCacheDir(), { recursive: true });
  const tmp = await fs.mkdtemp(path.join(nodeCacheDir(), `.tmp-${target}-`));
  try {
    log(`fetching ${pin.package}@${pin.version} from the npm registry`);
    const [npm, npmArgs] = npmCommand();
    const { stdout } = await run(npm, [...npmArgs, "pack", `${pin.package}@${pin.version}`, "--json", "--pack-destination", tmp], { cwd: root });
    let filename;
    try {
      filename = JSON.parse(stdout.slice(stdout.indexOf("[")))[0].filename;
    } catch {
      throw new DistError(`npm pack ${pin.package}@${pin.version} printed no package description:\n${stdout.slice(0, 500)}`);
    }
    const tarball = path.join(tmp, path.basename(filename));
    const got = `sha512-${(await hashFile(tarball, "sha512")).toString("base64")}`;
    if (got !== pin.integrity) {
      throw new DistError(
        `${pin.package}@${pin.version}: tarball sha512 is ${got}, but scripts/node-targets.json pins ${pin.integrity}; refusing to build on it`,
      );
    }
    const { x } = await import("tar");
    await x({ file: tarball, cwd: tmp, filter: (p) => p === pin.binary });
    const extracted = path.join(tmp, pin.binary);
    if (!existsSync(extracted)) throw new DistError(`${pin.package}@${pin.version} has no ${pin.binary}`);
    await fs.rename(extracted, path.join(tmp, path.basename(pin.binary)));
    await fs.chmod(path.join(tmp, path.basename(pin.binary)), 0o755);
    await fs.rm(tarball);
    await fs.rm(path.join(tmp, "package"), { recursive: true, force: true });
    const sha256 = (await hashFile(path.join(tmp, path.basename(pin.binary)), "sha256")).toString("hex");
    await fs.writeFile(path.join(tmp, "cache.json"), `${JSON.stringify({ package: pin.package, version: pin.version, integrity: pin.integrity, sha256 }, null, 2)}\n`);
    // Another build may fill the same entry at the same time: the first complete one stays, and
    // an entry is only ever moved aside whole, never changed in place.
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.rename(tmp, dir);
        return binary;
      } catch (err) {
        if (err?.code !== "ENOTEMPTY" && err?.code !== "EEXIST") throw err;
        if (await intact()) return binary;
        if (attempt > 0) throw new DistError(`cannot replace the damaged Node cache entry ${dir}; delete it and retry`);
        const aside = `${dir}.damaged-${process.pid}`;
        await fs.rename(dir, aside).catch(() => undefined);
        await fs.rm(aside, { recursive: true, force: true });
      }
    }
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

async function checkNodeRuns(cmd, args, what) {
  const { stdout } = await run(cmd, [...args, "--version"], { timeout: 120_000 }).catch((err) => {
    throw new DistError(`${what} does not run after stripping: ${err.message}`);
  });
  if (stdout.trim() !== `v${pins.nodeVersion}`) throw new DistError(`${what} printed ${JSON.stringify(stdout.trim())}, expected v${pins.nodeVersion}`);
}

/**
 * Copies the cached Node for `target` into `work`, prepared for injection: Linux binaries lose
 * their symbols (stripping must happen before injection: stripping a SEA afterwards breaks it),
 * Windows loses its Authenticode signature and macOS its code signature, since injection would
 * leave either one broken.
 */
async function preparedNode(target, cached, work, tools) {
  const pin = pins.targets[target];
  const out = path.join(work, `${target}-${path.basename(pin.binary)}`);
  if (target === "linux-x64" || target === "linux-arm64") {
    const stripTool = target === "linux-x64" ? tools.strip : tools.aarch64Strip;
    await run(stripTool, ["-o", out, cached]);
    const [before, after] = [(await fs.stat(cached)).size, (await fs.stat(out)).size];
    if (after >= before) {
      await fs.copyFile(cached, out);
    } else if (target === "linux-x64") {
      await checkNodeRuns(out, [], `stripped node for ${target}`);
    } else {
      await checkNodeRuns(tools.qemu, ["-L", QEMU_ARM64_SYSROOT, out], `stripped node for ${target}`);
    }
  } else if (target === "win-x64") {
    await run(tools.osslsigncode, ["remove-signature", "-in", cached, "-out", out]);
  } else {
    await fs.writeFile(out, removeSignature(await fs.readFile(cached)));
  }
  await fs.chmod(out, 0o755);
  return out;
}

/**
 * Makes a SEA blob in its own directory of `work` from the bundle there. `node` (with `prefix`
 * arguments, for qemu) must be the exact Node version the blob is injected into. With `codeCache`
 * (`arch` names the target's CPU as Teleport does; `site`, that the bundle has a manifest built
 * in), the entry is scripts/sea-main.cjs and the bundle an asset beside a code cache from a
 * training run; otherwise the bundle is the entry.
 */
async function makeBlob(work, name, { node, prefix = [], codeCache, arch, site }) {
  const dir = path.join(work, `blob-${name}`);
  await fs.mkdir(dir);
  const bundled = await fs.readFile(path.join(work, "tshup.cjs"));
  // Relative paths: the blob records the main script's name, which must not depend on where
  // the build ran.
  const config = {
    main: "tshup.cjs",
    output: "sea-prep.blob",
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: codeCache,
    execArgv: [],
    execArgvExtension: "none",
  };
  if (codeCache) {
    await fs.writeFile(path.join(dir, "tshup.js"), wrappedBundle(bundled));
    await fs.copyFile(path.join(root, "scripts", "sea-main.cjs"), path.join(dir, "sea-main.cjs"));
    const started = Date.now();
    await run(process.execPath, ["--import", "tsx", path.join(root, "scripts", "sea-training.ts"), arch, site ? "site" : "plain", path.join(dir, "tshup.js"), path.join(dir, "tshup.cache"), node, ...prefix], { cwd: root });
    log(`${name}: code cache from a training run, ${statSync(path.join(dir, "tshup.cache")).size} bytes, in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    Object.assign(config, { main: "sea-main.cjs", assets: { "tshup.js": "tshup.js", "tshup.cache": "tshup.cache" } });
  } else {
    await fs.writeFile(path.join(dir, "tshup.cjs"), bundled);
  }
  await fs.writeFile(path.join(dir, "sea-config.json"), `${JSON.stringify(config, null, 2)}\n`);
  const [cmd, args] = prefix.length ? [prefix[0], [...prefix.slice(1), node]] : [node, []];
  await run(cmd, [...args, "--random-seed=1", "--experimental-sea-config", "sea-config.json"], { cwd: dir });
  return path.join(dir, "sea-prep.blob");
}

/**
 * The bundle as the function scripts/sea-main.cjs calls, the way Node wraps a CommonJS module. It
 * is read back as latin1, the cheapest decoding, so it must be ASCII (esbuild escapes the rest).
 */
function wrappedBundle(bundled) {
  const text = bundled.toString("utf8").replace(/^#!.*\n/, "");
  if (!/^[\x00-\x7f]*$/.test(text)) throw new DistError("the bundle has a non-ASCII byte; sea-main.cjs reads it as latin1");
  if (/\bimport\(/.test(text)) {
    throw new DistError("the bundle has an import() esbuild left alone (of a built-in?); load built-ins with builtin() from src/host.ts, which sea-main.cjs can run");
  }
  return `(function (exports, require, module, __filename, __dirname) {${text}\n})`;
}

function postjectCli() {
  try {
    return createRequire(import.meta.url).resolve("postject/dist/cli.js");
  } catch {
    throw new DistError("postject is not installed in node_modules; run npm ci");
  }
}

async function inject(file, blob, target) {
  const args = [postjectCli(), file, SEA_RESOURCE, blob, "--sentinel-fuse", SEA_FUSE];
  if (target.startsWith("darwin-")) args.push("--macho-segment-name", MACHO_SEGMENT);
  // postject's output (including LIEF's warnings about note sections) is shown only on failure.
  await run(process.execPath, args);
  const data = await fs.readFile(file);
  if (data.indexOf(`${SEA_FUSE}:1`) === -1) throw new DistError(`${target}: injection left the SEA fuse unset in ${file}`);
  return data;
}

async function smokeTest(target, file, tools) {
  const want = `tshup ${pkg.version} (`;
  let cmd = null;
  let args = [];
  if (target === "linux-x64") cmd = file;
  else if (target === "linux-arm64") [cmd, args] = [tools.qemu, ["-L", QEMU_ARM64_SYSROOT, file]];
  if (target.startsWith("darwin-")) return verifySignature(await fs.readFile(file));
  if (!cmd) return "not run here";
  const { stdout, stderr } = await run(cmd, [...args, "--version"], { timeout: 120_000 });
  if (!stdout.startsWith(want)) throw new DistError(`${target}: --version printed ${JSON.stringify(stdout.trim())}, expected ${want}...`);
  // "Code cache data rejected." would land here, among others.
  if (stderr.trim()) throw new DistError(`${target}: --version wrote to stderr: ${stderr.trim()}`);
  return stdout.trim();
}

async function buildTarget(target, cached, blob, work, outDir, tools) {
  const pin = pins.targets[target];
  const plain = await preparedNode(target, cached, work, tools);
  let data = await inject(plain, blob, target);
  if (target.startsWith("darwin-")) {
    // codesign's default identifier for a bare executable is its file name.
    data = signAdhoc(data, { identifier: pin.output.replace(/\.[^.]*$/, "") });
    await fs.writeFile(plain, data);
  }
  const check = await smokeTest(target, plain, tools);
  const dest = path.join(outDir, pin.output);
  const tmp = `${dest}.tmp-${process.pid}`;
  await fs.copyFile(plain, tmp);
  await fs.chmod(tmp, 0o755);
  await fs.rename(tmp, dest);
  await fs.rm(plain, { force: true });
  log(`${pin.output}: ${check}`);
  return { name: pin.output, file: dest, sha256: createHash("sha256").update(data).digest("hex"), size: data.length };
}

/**
 * The manifest as tshup will read it, checked by tshup's own validator (so a build never embeds one
 * its executables would refuse with exit 2), for the base URL the installers get.
 */
async function checkedManifest(text, file) {
  const { tsImport } = await import("tsx/esm/api");
  const { parseManifest } = await tsImport("../src/core/manifest.ts", import.meta.url);
  try {
    return parseManifest(text, file);
  } catch (err) {
    throw new DistError(`--manifest: ${err.message}${err.hint ? `\n  hint: ${err.hint}` : ""}`);
  }
}

async function gzipSize(file) {
  let n = 0;
  const counter = new Writable({
    write(chunk, _enc, cb) {
      n += chunk.length;
      cb();
    },
  });
  await pipeline(createReadStream(file), createGzip(), counter);
  return n;
}

async function pool(items, width, fn) {
  const results = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return results;
}

const mib = (n) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

async function main(argv) {
  const opts = parseArgs(argv);
  if (opts.printNode) {
    logTo = process.stderr;
    process.stdout.write(`${await fetchNode(opts.printNode)}\n`);
    return;
  }
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new DistError(`npm run dist runs on linux-x64 only (the SEA blob is made by the pinned linux-x64 Node); this is ${process.platform}-${process.arch}`);
  }
  // esbuild names bundled modules relative to the working directory; fix it for reproducibility.
  process.chdir(root);
  const targets = opts.targets;
  const tools = {
    strip: targets.includes("linux-x64") ? await requireTool("strip", "binutils", "strip the linux-x64 Node") : null,
    aarch64Strip: targets.includes("linux-arm64")
      ? await requireTool("aarch64-linux-gnu-strip", "binutils-aarch64-linux-gnu", "strip the linux-arm64 Node")
      : null,
    osslsigncode: targets.includes("win-x64")
      ? await requireTool("osslsigncode", "osslsigncode", "remove the Authenticode signature from node.exe")
      : null,
    qemu: targets.includes("linux-arm64")
      ? await requireTool("qemu-aarch64-static", "qemu-user-static", "make the linux-arm64 code cache with the arm64 Node")
      : null,
  };
  if (tools.qemu && !existsSync(path.join(QEMU_ARM64_SYSROOT, "lib", "ld-linux-aarch64.so.1"))) {
    throw new DistError(
      `${QEMU_ARM64_SYSROOT} has no arm64 C library (needed to run the arm64 Node under qemu); install it with: apt-get install -y libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross`,
    );
  }

  const started = Date.now();
  const cached = {};
  for (const t of new Set([BLOB_MAKER, ...targets])) cached[t] = await fetchNode(t);

  const work = await fs.mkdtemp(path.join(os.tmpdir(), "tshup-dist-"));
  try {
    const embeddedManifest = opts.manifest ? await fs.readFile(opts.manifest, "utf8") : null;
    const baseUrl = embeddedManifest === null ? null : ((await checkedManifest(embeddedManifest, opts.manifest)).self_update?.base_url ?? null);
    await bundle({ outfile: path.join(work, "tshup.cjs"), embeddedManifest });
    const blobs = {};
    if (targets.includes("linux-x64")) {
      blobs["linux-x64"] = await makeBlob(work, "linux-x64", { node: cached["linux-x64"], codeCache: true, arch: "amd64", site: embeddedManifest !== null });
    }
    if (targets.includes("linux-arm64")) {
      const prefix = [tools.qemu, "-L", QEMU_ARM64_SYSROOT];
      blobs["linux-arm64"] = await makeBlob(work, "linux-arm64", { node: cached["linux-arm64"], prefix, codeCache: true, arch: "arm64", site: embeddedManifest !== null });
    }
    if (targets.some((t) => !blobs[t])) {
      const portable = await makeBlob(work, "portable", { node: cached[BLOB_MAKER], codeCache: false });
      for (const t of targets) blobs[t] ??= portable;
    }
    const blobSizes = [...new Set(Object.values(blobs))].map((b) => `${path.basename(path.dirname(b)).slice(5)} ${statSync(b).size}`);
    log(`SEA blobs (bytes): ${blobSizes.join(", ")}${opts.manifest ? `; manifest ${opts.manifest} embedded` : ""}`);

    await fs.mkdir(opts.outDir, { recursive: true });
    // Two at a time: each step is one process, and the build machines have two cores.
    const built = await pool(targets, 2, (t) => buildTarget(t, cached[t], blobs[t], work, opts.outDir, tools));

    built.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const sums = built.map((b) => `${b.sha256}  ${b.name}\n`).join("");
    await fs.writeFile(path.join(opts.outDir, "SHA256SUMS"), sums);
    for (const name of BOOTSTRAP_NAMES) await fs.writeFile(path.join(opts.outDir, name), renderBootstrap(name, baseUrl), { mode: 0o644 });

    const gz = await Promise.all(built.map((b) => gzipSize(b.file)));
    const w = Math.max(...built.map((b) => b.name.length));
    process.stdout.write(`\n${"file".padEnd(w)}  ${"raw".padStart(10)}  ${"gzipped".padStart(10)}\n`);
    built.forEach((b, i) => {
      process.stdout.write(`${b.name.padEnd(w)}  ${mib(b.size).padStart(10)}  ${mib(gz[i]).padStart(10)}\n`);
    });
    process.stdout.write(`\n${sums}`);
    log(`${BOOTSTRAP_NAMES.join(" and ")}: ${baseUrl ? `download from ${baseUrl}` : "take the address from TSHUP_BASE_URL (install.sh: or its first argument)"}`);
    log(`wrote ${built.length} executables and SHA256SUMS to ${path.relative(process.cwd(), opts.outDir) || "."} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`dist: ${err instanceof DistError ? err.message : (err?.stack ?? err)}\n`);
    process.exitCode = 1;
  });
}
