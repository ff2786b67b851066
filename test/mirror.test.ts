import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { freePort, startStandin, type ArtifactInfo, type Standin, type StandinProxy } from "./support/standin.js";
import { sha256Hex, sha256Sidecar } from "./support/archives.js";
import { cliVariants, makeHome, runCli } from "./support/cli.js";

const VERSION = "17.5.1";
const FOUR = ["linux-amd64", "linux-arm64", "darwin-universal", "windows-amd64"];
const spec = (os: "linux" | "darwin" | "windows", arch: "amd64" | "arm64" | "universal", edition: "community" | "ent" = "community", version = VERSION) => ({
  version,
  os,
  arch,
  edition,
});

const isArtifactGet = (path: string) => !path.endsWith(".sha256") && !path.endsWith(".sig");

for (const variant of cliVariants()) {
  describe(`mirror end to end (${variant.name})`, () => {
    let standin: Standin;
    let proxy: StandinProxy;
    let arts: ArtifactInfo[];
    let home: Awaited<ReturnType<typeof makeHome>>;
    let dir: string;
    let env: Record<string, string>;

    const mirror = (args: string[], extra: Record<string, string> = {}) => runCli(variant, ["mirror", ...args], { env: { ...env, ...extra } });
    const cdnGets = () => standin.requests.filter((r) => r.server === "cdn" && r.method === "GET");

    before(async () => {
      standin = await startStandin();
      proxy = await standin.addProxy({ cluster: "example", serverVersion: VERSION });
      arts = [
        await standin.addArtifact(spec("linux", "amd64")),
        await standin.addArtifact(spec("linux", "arm64")),
        await standin.addArtifact(spec("darwin", "universal")),
        await standin.addArtifact(spec("windows", "amd64")),
      ];
      home = await makeHome("tshup-mirror-");
      dir = path.join(home.home, "mirror");
      env = { ...home.env, ...standin.env };
    });
    after(async () => {
      await standin.close();
      await home.cleanup();
    });

    test("fills a mirror for four platforms, each file verified, with its sidecar", async () => {
      standin.clearRequests();
      const r = await mirror([dir, "--version", VERSION, "--platforms", FOUR.join(","), "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.ok, true);
      assert.equal(r.json.changed, true);
      assert.equal(r.json.mirror.dir, dir);
      assert.deepEqual(
        r.json.mirror.artifacts,
        arts.map((a) => ({ name: a.name, sha256: a.sha256, status: "done" })),
      );
      assert.deepEqual(r.json.steps.map((s: any) => s.status), ["done", "done", "done", "done"]);
      for (const a of arts) {
        const data = await fsp.readFile(path.join(dir, a.name));
        assert.equal(sha256Hex(data), a.sha256, `${a.name} has the CDN's bytes`);
        assert.equal(await fsp.readFile(path.join(dir, `${a.name}.sha256`), "utf8"), sha256Sidecar(a.name, data), `${a.name}.sha256 is the CDN's sidecar, verbatim`);
      }
      assert.deepEqual(fs.readdirSync(dir).sort(), arts.flatMap((a) => [a.name, `${a.name}.sha256`]).sort(), "nothing else is left in the mirror (no .partial, no lock)");
      assert.equal(standin.requests.filter((q) => q.server === "proxy").length, 0, "mirroring asks no Teleport proxy");
    });

    test("a second run re-hashes, downloads nothing and reports no change", async () => {
      standin.clearRequests();
      const r = await mirror([dir, "--version", VERSION, "--platforms", FOUR.join(","), "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.changed, false);
      assert.deepEqual(r.json.mirror.artifacts.map((a: any) => a.status), ["skipped", "skipped", "skipped", "skipped"]);
      assert.deepEqual(r.json.steps.filter((s: any) => s.status === "done"), []);
      assert.deepEqual(cdnGets().filter((q) => isArtifactGet(q.path)), [], "no artifact is downloaded again");
    });

    test("human output: one line per artifact on stdout", async () => {
      const r = await mirror([dir, "--version", VERSION, "--platforms", FOUR.join(",")]);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trimEnd().split("\n");
      assert.equal(lines.length, 4, r.stdout);
      arts.forEach((a, i) => assert.match(lines[i]!, new RegExp(`^verified +${a.name.replace(/\./g, "\\.")} `)));
      assert.match(r.stderr, /tshup --cdn-url /);
    });

    test("a corrupted file in the mirror is detected and replaced; a bad sidecar is rewritten", async () => {
      const bad = arts[1]!;
      const file = path.join(dir, bad.name);
      const bytes = await fsp.readFile(file);
      bytes[bytes.length >> 1] ^= 0xff;
      await fsp.writeFile(file, bytes);
      await fsp.writeFile(path.join(dir, `${arts[2]!.name}.sha256`), "not a checksum\n");
      standin.clearRequests();
      const r = await mirror([dir, "--version", VERSION, "--platforms", FOUR.join(","), "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.json.changed, true);
      assert.deepEqual(r.json.mirror.artifacts.map((a: any) => a.status), ["skipped", "done", "done", "skipped"]);
      assert.deepEqual(cdnGets().filter((q) => isArtifactGet(q.path)).map((q) => q.path), [`/${bad.name}`], "only the corrupted file is fetched again");
      assert.equal(sha256Hex(await fsp.readFile(file)), bad.sha256);
      const darwin = await fsp.readFile(path.join(dir, arts[2]!.name));
      assert.equal(await fsp.readFile(path.join(dir, `${arts[2]!.name}.sha256`), "utf8"), sha256Sidecar(arts[2]!.name, darwin));
    });

    test("--dry-run says what would be fetched (exit 3) and changes nothing", async () => {
      const other = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-mirror-dry-"));
      try {
        const plan = await mirror([other, "--version", VERSION, "--platforms", "linux-amd64", "--dry-run", "--json"]);
        assert.equal(plan.code, 3, plan.stderr);
        assert.equal(plan.json.would_change, true);
        assert.deepEqual(fs.readdirSync(other), []);
        const noop = await mirror([dir, "--version", VERSION, "--platforms", "linux-amd64", "--dry-run", "--json"]);
        assert.equal(noop.code, 0, noop.stderr);
      } finally {
        await fsp.rm(other, { recursive: true, force: true });
      }
    });

    test("an interrupted download stays a .partial and the next run resumes it with Range", async () => {
      const big = await standin.addArtifact({ ...spec("linux", "amd64", "community", "17.5.2"), padding: 64 * 1024, gzipLevel: 0 });
      const other = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-mirror-resume-"));
      try {
        // Five cuts: the first attempt and all four retries, each adding 1000 bytes.
        standin.setFault(big.name, { kind: "truncate", bytes: 1000, times: 5 });
        const cut = await mirror([other, "--version", "17.5.2", "--platforms", "linux-amd64", "--json"]);
        assert.equal(cut.code, 4, cut.stderr);
        assert.match(cut.json.error.message, /cut off/);
        assert.ok(!fs.existsSync(path.join(other, big.name)), "nothing unverified gets the final name");
        assert.ok(!fs.existsSync(path.join(other, `${big.name}.sha256`)));
        assert.equal(fs.statSync(path.join(other, `${big.name}.partial`)).size, 5000);

        standin.clearFaults();
        standin.clearRequests();
        const resumed = await mirror([other, "--version", "17.5.2", "--platforms", "linux-amd64", "--json"]);
        assert.equal(resumed.code, 0, resumed.stderr);
        const gets = cdnGets().filter((q) => isArtifactGet(q.path));
        assert.equal(gets.length, 1);
        assert.equal(gets[0]!.headers.range, "bytes=5000-");
        assert.equal(sha256Hex(await fsp.readFile(path.join(other, big.name))), big.sha256);
        assert.deepEqual(fs.readdirSync(other).sort(), [big.name, `${big.name}.sha256`]);
      } finally {
        standin.clearFaults();
        await fsp.rm(other, { recursive: true, force: true });
      }
    });

    test("a download that does not match the CDN's checksum never takes the final name (exit 5)", async () => {
      const other = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-mirror-hash-"));
      try {
        standin.setFault(`${arts[0]!.name}.sha256`, { kind: "wrong-hash" });
        const r = await mirror([other, "--version", VERSION, "--platforms", "linux-amd64", "--json"]);
        assert.equal(r.code, 5, r.stderr);
        assert.match(r.json.error.message, /checksum mismatch/);
        assert.deepEqual(r.json.mirror.artifacts, [{ name: arts[0]!.name, sha256: null, status: "failed" }]);
        assert.deepEqual(fs.readdirSync(other).filter((n) => !n.startsWith(".tshup-mirror.lock")), []);
      } finally {
        standin.clearFaults();
        await fsp.rm(other, { recursive: true, force: true });
      }
    });

    test("--edition ent adds the enterprise builds (Windows has one build for both)", async () => {
      const ent = await standin.addArtifact(spec("linux", "amd64", "ent"));
      const other = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-mirror-ent-"));
      try {
        const r = await mirror([other, "--version", VERSION, "--platforms", "linux-amd64,windows-amd64", "--edition", "ent", "--json"]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(r.json.mirror.artifacts.map((a: any) => a.name), [arts[0]!.name, ent.name, arts[3]!.name]);
      } finally {
        await fsp.rm(other, { recursive: true, force: true });
      }
    });

    test("usage errors (exit 2) and a version the CDN does not have (exit 4)", async () => {
      const badPlatform = await mirror([dir, "--version", VERSION, "--platforms", "linux-amd64,solaris-sparc", "--json"]);
      assert.equal(badPlatform.code, 2);
      assert.match(badPlatform.json.error.message, /unknown platform "solaris-sparc"/);
      assert.match(badPlatform.json.error.hint, /linux-amd64, linux-arm64, linux-arm, linux-386, darwin-universal, darwin-amd64, darwin-arm64, windows-amd64, linux-amd64-fips, linux-arm64-fips$/);
      for (const unpublished of ["linux-arm-fips", "linux-386-fips"]) {
        const r = await mirror([dir, "--version", VERSION, "--platforms", unpublished, "--json"]);
        assert.equal(r.code, 2);
        assert.match(r.json.error.message, /Teleport publishes no FIPS build for linux-(arm|386): FIPS builds exist for linux-amd64 and linux-arm64 only/);
      }

      const noDir = await mirror(["--version", VERSION, "--json"]);
      assert.equal(noDir.code, 2);
      assert.match(noDir.json.error.message, /mirror needs a directory/);

      const noVersion = await mirror([dir, "--json"]);
      assert.equal(noVersion.code, 2);
      assert.match(noVersion.json.error.message, /--version/);

      const fipsCommunity = await mirror([dir, "--version", VERSION, "--platforms", "linux-amd64-fips", "--edition", "community", "--json"]);
      assert.equal(fipsCommunity.code, 2);

      const missing = await mirror([dir, "--version", "9.9.9", "--platforms", "linux-amd64", "--json"]);
      assert.equal(missing.code, 4, missing.stderr);
      assert.ok(
        missing.json.error.message.includes(`${standin.cdnUrl}/teleport-v9.9.9-linux-amd64-bin.tar.gz`),
        missing.json.error.message,
      );
      assert.ok(!fs.existsSync(path.join(dir, "teleport-v9.9.9-linux-amd64-bin.tar.gz.partial")));
    });

    test("an unreachable CDN stops the run at the first artifact (exit 4) and leaves the mirror as it was", async () => {
      const before = fs.readdirSync(dir).sort();
      const gone = `http://127.0.0.1:${await freePort()}`;
      const r = await mirror([dir, "--version", VERSION, "--platforms", FOUR.join(","), "--cdn-url", gone, "--allow-http-mirror", "--json"]);
      assert.equal(r.code, 4, r.stderr);
      assert.ok(r.json.error.message.includes(gone), r.json.error.message);
      assert.match(r.json.error.message, /3 more artifacts not tried/);
      assert.deepEqual(r.json.mirror.artifacts, [{ name: arts[0]!.name, sha256: null, status: "failed" }]);
      assert.deepEqual(fs.readdirSync(dir).sort(), before);
    });

    test("tshup installs from the mirror with the CDN gone: plain directory and file:// forms", async (t) => {
      for (const a of standin.artifactNames()) standin.removeArtifact(a);
      t.after(async () => {
        for (const s of [spec("linux", "amd64"), spec("linux", "arm64"), spec("darwin", "universal"), spec("windows", "amd64")]) await standin.addArtifact(s);
      });
      for (const cdn of [dir, pathToFileURL(dir).href]) {
        const h = await makeHome();
        try {
          standin.clearRequests();
          const r = await runCli(variant, ["--proxy", proxy.addr, "--cdn-url", cdn, "--json"], { env: { ...h.env, NODE_EXTRA_CA_CERTS: standin.caFile } });
          assert.equal(r.code, 0, `${cdn}: ${r.stderr}`);
          assert.equal(r.json.version, VERSION);
          assert.ok(r.json.steps.some((s: any) => s.step === "download" && s.status === "done" && s.detail.includes(arts[0]!.name)));
          assert.equal(standin.requests.filter((q) => q.server === "cdn").length, 0, "the CDN is not asked");
          const tsh = path.join(h.home, ".local", "share", "tshup", "bin", "tsh");
          assert.match(execFileSync(tsh, ["version"], { encoding: "utf8" }), /^Teleport v17\.5\.1 git:/);
        } finally {
          await h.cleanup();
        }
      }
    });
  });
}
