// The one-line installers `npm run dist` writes beside the executables. install.sh runs for real
// under dash and bash against the loopback stand-in over TLS: the download is checked against
// SHA256SUMS before anything runs, with curl or wget and sha256sum or shasum, and a foreign OS or
// processor (a fake uname) is refused. install.ps1 cannot run here (no PowerShell in Debian): its
// text is checked instead.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { startStandin, type Standin } from "./support/standin.js";
import { makeHome, ROOT, runCli } from "./support/cli.js";
import { binarySkip, buildExecutable } from "./support/self.js";
import { requireTool } from "./support/tools.js";

const { renderBootstrap } = (await import(pathToFileURL(path.join(ROOT, "scripts", "bootstrap.mjs")).href)) as {
  renderBootstrap: (name: "install.sh" | "install.ps1", baseUrl: string | null) => string;
};

const SHELLS = { dash: requireTool("dash", "dash"), bash: requireTool("bash", "bash") };
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
/** Stands in for the executable where only the script is under test: it records how it was run. */
const RECORDER = Buffer.from('#!/bin/sh\nprintf \'%s\\n\' "$@" > "$HOME/it-ran"\n');

let standin: Standin;
let tmp: string;
let script: string;
before(async () => {
  standin = await startStandin();
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-bootstrap-"));
  script = path.join(tmp, "install.sh");
  await fsp.writeFile(script, renderBootstrap("install.sh", null));
});
after(async () => {
  await standin?.close();
  if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

function publish(name: string, data: Buffer, hash = sha256(data)): void {
  standin.setArtifact(name, data, null);
  standin.setArtifact("SHA256SUMS", Buffer.from(`${"3".repeat(64)}  tshup-darwin-arm64\n${hash}  ${name}\n`), null);
}

/** A PATH directory holding only `tools` (links to the real ones), to take curl or sha256sum away. */
async function onlyTools(tools: Record<string, string>): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(tmp, "path-"));
  for (const [name, pkg] of Object.entries(tools)) await fsp.symlink(requireTool(name, pkg), path.join(dir, name));
  return dir;
}

/** A `uname` that reports another machine, first on PATH. */
async function fakeUname(s: string, m: string): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(tmp, "uname-"));
  await fsp.writeFile(path.join(dir, "uname"), `#!/bin/sh\ncase "$1" in -s) echo ${s} ;; -m) echo ${m} ;; *) exit 1 ;; esac\n`, { mode: 0o755 });
  return dir;
}

async function runScript(shell: keyof typeof SHELLS, file: string, args: string[], env: Record<string, string>) {
  return runCli({ name: shell, command: [SHELLS[shell], file] }, args, { env });
}

test("shellcheck passes install.sh, as built and with a base URL built in", () => {
  const shellcheck = requireTool("shellcheck", "shellcheck");
  const baked = path.join(tmp, "baked.sh");
  fs.writeFileSync(baked, renderBootstrap("install.sh", "https://intranet.example.org/it's/tshup"));
  for (const f of [script, baked]) {
    const r = spawnSync(shellcheck, ["--shell=sh", "--severity=style", f], { encoding: "utf8" });
    assert.equal(r.status, 0, `shellcheck ${path.basename(f)}:\n${r.stdout}${r.stderr}`);
  }
  // The script up to its first function, sourced: what the shell makes of the built-in line.
  const head = path.join(tmp, "baked-head.sh");
  fs.writeFileSync(head, fs.readFileSync(baked, "utf8").split("\nfail()")[0]!);
  const out = execFileSync(SHELLS.dash, ["-c", '. "$0"; printf %s "$baked_base_url"', head], { encoding: "utf8" });
  assert.equal(out, "https://intranet.example.org/it's/tshup", "a quote in the URL stays inside the string");
});

for (const shell of Object.keys(SHELLS) as (keyof typeof SHELLS)[]) {
  describe(`install.sh under ${shell}`, () => {
    async function home(extra: Record<string, string> = {}) {
      const h = await makeHome("tshup-bootstrap-home-");
      const env: Record<string, string> = { ...h.env, TSHUP_CA_FILE: standin.caFile, TSHUP_BASE_URL: standin.cdnUrl, ...extra };
      return { ...h, env };
    }

    test("a download that matches SHA256SUMS runs as `self install`, with the flags given; curl or wget, sha256sum or shasum", async (t) => {
      publish("tshup-linux-x64", RECORDER);
      const basics = { uname: "coreutils", mktemp: "coreutils", rm: "coreutils", chmod: "coreutils", awk: "mawk" };
      for (const [what, tools] of [
        ["curl and sha256sum", null],
        ["wget and shasum", { ...basics, wget: "wget", shasum: "perl" }],
        ["wget and sha256sum", { ...basics, wget: "wget", sha256sum: "coreutils" }],
      ] as const) {
        const h = await home(tools ? { PATH: await onlyTools(tools) } : {});
        t.after(h.cleanup);
        const r = await runScript(shell, script, ["--no-modify-path"], h.env);
        assert.equal(r.code, 0, `${what}: ${r.stderr}`);
        assert.equal(await fsp.readFile(path.join(h.home, "it-ran"), "utf8"), "self\ninstall\n--no-modify-path\n", what);
        assert.match(r.stderr, /^Downloading tshup-linux-x64 from https:\/\/127\.0\.0\.1:\d+\n$/, what);
      }
    });

    test("a download that does not match SHA256SUMS is refused before it runs", async (t) => {
      const h = await home();
      t.after(h.cleanup);
      publish("tshup-linux-x64", RECORDER, sha256(Buffer.from("another file")));
      const r = await runScript(shell, script, [], h.env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /tshup install: checksum mismatch for tshup-linux-x64: expected [0-9a-f]{64}, got [0-9a-f]{64}; nothing was installed\n  hint: /);
      assert.equal(fs.existsSync(path.join(h.home, "it-ran")), false, "it never ran");
      assert.deepEqual(await fsp.readdir(h.home), [], "nothing was left in the home");
    });

    test("SHA256SUMS: CRLF lines are read; a file listed twice with two hashes is refused; wget follows no redirect to http", async (t) => {
      const crlf = await home();
      t.after(crlf.cleanup);
      standin.setArtifact("tshup-linux-x64", RECORDER, null);
      standin.setArtifact("SHA256SUMS", Buffer.from(`${sha256(RECORDER)}  tshup-linux-x64\r\n`), null);
      const ok = await runScript(shell, script, [], crlf.env);
      assert.equal(ok.code, 0, ok.stderr);

      const twice = await home();
      t.after(twice.cleanup);
      standin.setArtifact("SHA256SUMS", Buffer.from(`${sha256(RECORDER)}  tshup-linux-x64\n${"9".repeat(64)}  tshup-linux-x64\n`), null);
      const refused = await runScript(shell, script, [], twice.env);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /lists tshup-linux-x64 twice with different hashes; nothing was installed/);
      assert.equal(fs.existsSync(path.join(twice.home, "it-ran")), false);

      // The site's https address redirects to plain http: curl refuses (--proto), wget follows none.
      publish("tshup-linux-x64", RECORDER);
      standin.setFault("SHA256SUMS", { kind: "redirect", to: `${standin.cdnHttpUrl}/SHA256SUMS` });
      t.after(() => standin.clearFaults());
      const basics = { uname: "coreutils", mktemp: "coreutils", rm: "coreutils", chmod: "coreutils", awk: "mawk", sha256sum: "coreutils" };
      for (const tools of [null, { ...basics, wget: "wget" }]) {
        const h = await home(tools ? { PATH: await onlyTools(tools) } : {});
        t.after(h.cleanup);
        const r = await runScript(shell, script, [], h.env);
        assert.equal(r.code, 1, `${tools ? "wget" : "curl"}: ${r.stderr}`);
        assert.match(r.stderr, /could not download .*SHA256SUMS/);
        assert.equal(fs.existsSync(path.join(h.home, "it-ran")), false);
      }
    });

    test("a TMPDIR where programs may not run (noexec) is refused with a hint, and nothing is left", async (t) => {
      if (process.getuid?.() !== 0) throw new Error("this test mounts a noexec tmpfs and needs root (CI runs as root)");
      publish("tshup-linux-x64", RECORDER);
      const h = await home();
      const noexec = path.join(h.home, "noexec");
      await fsp.mkdir(noexec);
      t.after(async () => {
        spawnSync("umount", ["-l", noexec]);
        await h.cleanup();
      });
      const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64m,noexec", "tmpfs", noexec], { encoding: "utf8" });
      if (m.status !== 0) throw new Error(`mount -t tmpfs -o noexec failed (${m.stderr.trim()}); this test needs it`);
      const r = await runScript(shell, script, [], { ...h.env, TMPDIR: noexec });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^tshup install: could not run \S+\/tshup-linux-x64: the file system of \S+ may not allow running programs \(mounted noexec\); nothing was installed\n  hint: point TMPDIR at a directory where programs may run/m);
      assert.equal(fs.existsSync(path.join(h.home, "it-ran")), false, "it never ran");
      assert.deepEqual(await fsp.readdir(noexec), [], "the download went with its temporary directory");
    });

    test("an unknown processor or operating system is refused before anything is downloaded", async (t) => {
      const h = await home();
      t.after(h.cleanup);
      for (const [s, m, message] of [
        ["Linux", "riscv64", /^tshup install: no tshup is built for the processor riscv64\n  hint: tshup is built for x86_64 \(amd64\) and arm64 \(aarch64\)\n$/],
        ["Linux", "i686", /no tshup is built for the processor i686/],
        ["FreeBSD", "amd64", /^tshup install: no tshup is built for the operating system FreeBSD\n/],
      ] as const) {
        standin.clearRequests();
        const r = await runScript(shell, script, [], { ...h.env, PATH: `${await fakeUname(s, m)}:${h.env.PATH}` });
        assert.equal(r.code, 1, `${s} ${m}`);
        assert.match(r.stderr, message);
        assert.deepEqual(standin.requests, [], `${s} ${m}: nothing was asked for`);
      }
    });

    test("the base URL: the first argument wins over TSHUP_BASE_URL; none, or plain http, is refused", async (t) => {
      const h = await home({ TSHUP_BASE_URL: "https://127.0.0.1:1/nowhere" });
      t.after(h.cleanup);
      publish("tshup-linux-x64", RECORDER);
      const ok = await runScript(shell, script, [standin.cdnUrl, "--force"], h.env);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(await fsp.readFile(path.join(h.home, "it-ran"), "utf8"), "self\ninstall\n--force\n");
      const { TSHUP_BASE_URL: _unused, ...none } = h.env;
      const missing = await runScript(shell, script, [], none);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /^tshup install: no address to download tshup from\n  hint: pass it: curl/);
      const plain = await runScript(shell, script, [standin.cdnHttpUrl], h.env);
      assert.equal(plain.code, 1);
      assert.match(plain.stderr, /^tshup install: refusing http:\/\/127\.0\.0\.1:\d+: only https:\/\/ addresses\n/);
    });
  });
}

describe("the installers npm run dist writes, with a site's base URL built in", { skip: binarySkip() }, () => {
  let site: string;
  before(async () => {
    const manifest = path.join(tmp, "site.yaml");
    await fsp.writeFile(manifest, `name: Example site\nself_update:\n  base_url: ${standin.cdnUrl}/\n`);
    site = path.join(tmp, "site");
    await buildExecutable(site, "bootstrap-build", ["--manifest", manifest]);
  });

  test("install.sh with no arguments installs ~/.local/bin/tshup, which new login shells find", async (t) => {
    const built = await fsp.readFile(path.join(site, "tshup-linux-x64"));
    standin.setArtifact("tshup-linux-x64", built, null);
    standin.setArtifact("SHA256SUMS", await fsp.readFile(path.join(site, "SHA256SUMS")), null);
    assert.match(await fsp.readFile(path.join(site, "install.sh"), "utf8"), new RegExp(`^baked_base_url='${standin.cdnUrl}'$`, "m"));
    for (const shell of Object.keys(SHELLS) as (keyof typeof SHELLS)[]) {
      const h = await makeHome("tshup-bootstrap-home-");
      t.after(h.cleanup);
      const r = await runScript(shell, path.join(site, "install.sh"), [], { ...h.env, TSHUP_CA_FILE: standin.caFile });
      assert.equal(r.code, 0, `${shell}: ${r.stderr}`);
      const exe = path.join(h.home, ".local", "bin", "tshup");
      assert.ok((await fsp.readFile(exe)).equals(built), `${shell}: the published build is at ${exe}`);
      const found = execFileSync(SHELLS[shell], ["-lc", "command -v tshup; tshup --version"], { env: h.env, encoding: "utf8" }).split("\n");
      assert.equal(found[0], exe);
      assert.match(found[1]!, /^tshup \S+ \(bootstrap-build\)$/);
      // The same built-in manifest tells self update where to look: the site has nothing newer.
      const update = await runCli({ name: "copy", command: [exe] }, ["self", "update", "--json"], { env: { ...h.env, NODE_EXTRA_CA_CERTS: standin.caFile } });
      assert.equal(update.code, 0, update.stderr);
      assert.equal(update.json.changed, false);
      assert.equal(update.json.self.url, `${standin.cdnUrl}/tshup-linux-x64`);
    }
  });

  test("install.ps1 (not run: no PowerShell here) downloads the Windows build and checks it with Get-FileHash before self install", async () => {
    const ps1 = await fsp.readFile(path.join(site, "install.ps1"), "utf8");
    assert.match(ps1, new RegExp(`^    \\$bakedBaseUrl = '${standin.cdnUrl}'$`, "m"));
    assert.equal(renderBootstrap("install.ps1", null).includes("$bakedBaseUrl = ''"), true);
    assert.match(ps1, /\$file = 'tshup-win-x64\.exe'/);
    assert.match(ps1, /Invoke-WebRequest -UseBasicParsing -Uri "\$base\/SHA256SUMS" -OutFile \$sums/);
    assert.match(ps1, /Invoke-WebRequest -UseBasicParsing -Uri "\$base\/\$file" -OutFile \$exe/);
    assert.match(ps1, /\(Get-FileHash -LiteralPath \$exe -Algorithm SHA256\)\.Hash/);
    // The check comes before the run, and the run is self install.
    assert.ok(ps1.indexOf("if ($actual -ne $expected)") < ps1.indexOf("& $exe self install"));
    assert.doesNotMatch(ps1, /^\s*exit\b/m, "under iex, exit would close the user's PowerShell");
    // Its SHA256SUMS pattern reads the lines npm run dist writes (.NET and JavaScript agree on it).
    const pattern = /'\^\(\[0-9A-Fa-f\]\{64\}\) \[ \*\]\(\\S\+\)\$'/;
    assert.match(ps1, pattern);
    const line = (await fsp.readFile(path.join(site, "SHA256SUMS"), "utf8")).split("\n")[0]!;
    assert.match(line, /^([0-9A-Fa-f]{64}) [ *](\S+)$/);
  });
});
