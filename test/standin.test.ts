// Proves the stand-in proxy/CDN and the archive builders the rest of the suite relies on.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import yauzl from "yauzl";
import {
  FIXED_MTIME,
  artifactName,
  pseudoRandomBytes,
  sha256Hex,
  sha256Sidecar,
  standinScript,
  tarGz,
  teleportArchive,
  tshMemberPath,
  unsafeArchive,
  versionJson,
  versionLine,
  zip,
  type ArchiveSpec,
} from "./support/archives.js";
import { buildPingBody, startStandin, type Standin } from "./support/standin.js";
import { requireTool } from "./support/tools.js";

const execFileP = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));

// ---------------------------------------------------------------------------------------------
// helpers

interface Member {
  path: string;
  type: string;
  mode: number;
  size: number;
  linkpath?: string;
  mtime?: Date;
  data: Buffer;
}

function listTar(archive: Buffer): Promise<Member[]> {
  return new Promise((resolve, reject) => {
    const members: Member[] = [];
    const parser = new Parser({
      strict: true,
      onReadEntry(entry: ReadEntry) {
        const chunks: Buffer[] = [];
        entry.on("data", (c: Buffer) => chunks.push(c));
        entry.on("end", () =>
          members.push({
            path: entry.path,
            type: entry.type,
            mode: entry.mode ?? -1,
            size: entry.size,
            linkpath: entry.linkpath,
            mtime: entry.mtime,
            data: Buffer.concat(chunks),
          }),
        );
      },
    });
    parser.on("error", reject);
    parser.on("end", () => resolve(members));
    parser.end(archive);
  });
}

interface ZipMember {
  name: string;
  mode: number;
  data: Buffer;
}

function listZip(archive: Buffer, decodeStrings = true): Promise<ZipMember[]> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(archive, { lazyEntries: true, decodeStrings }, (err, zipfile) => {
      if (err) return reject(err);
      const members: ZipMember[] = [];
      zipfile.on("error", reject);
      zipfile.on("end", () => resolve(members));
      zipfile.on("entry", (entry: yauzl.Entry) => {
        const name = Buffer.isBuffer(entry.fileName) ? (entry.fileName as Buffer).toString("utf8") : entry.fileName;
        zipfile.openReadStream(entry, (e, stream) => {
          if (e) return reject(e);
          const chunks: Buffer[] = [];
          stream.on("data", (c: Buffer) => chunks.push(c));
          stream.on("error", reject);
          stream.on("end", () => {
            members.push({ name, mode: (entry.externalFileAttributes >>> 16) & 0o7777, data: Buffer.concat(chunks) });
            zipfile.readEntry();
          });
        });
      });
      zipfile.readEntry();
    });
  });
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Set when the connection broke before the body was complete. */
  error?: Error;
}

function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; ca?: string; timeoutMs?: number; servername?: string } = {},
): Promise<Answer> {
  const u = new URL(url);
  const lib = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      { method: opts.method ?? "GET", headers: opts.headers, ca: opts.ca, agent: false, servername: opts.servername },
      (res) => {
        const chunks: Buffer[] = [];
        const done = (error?: Error) =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), error });
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => done(res.complete ? undefined : new Error("incomplete body")));
        res.on("error", (e) => done(e));
      },
    );
    if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error("client timeout")));
    req.on("error", reject);
    req.end();
  });
}

function names(members: { path: string }[]): string[] {
  return members.map((m) => m.path).sort();
}

const linux17: ArchiveSpec = { version: "17.5.1", os: "linux", arch: "amd64", edition: "community" };

// ---------------------------------------------------------------------------------------------

describe("archives", () => {
  test("artifact names follow the CDN's naming", () => {
    assert.equal(artifactName(linux17), "teleport-v17.5.1-linux-amd64-bin.tar.gz");
    assert.equal(
      artifactName({ version: "17.5.1", os: "linux", arch: "arm64", edition: "ent", fips: true }),
      "teleport-ent-v17.5.1-linux-arm64-fips-bin.tar.gz",
    );
    assert.equal(
      artifactName({ version: "16.4.6", os: "linux", arch: "arm", edition: "community", fips: true }),
      "teleport-ent-v16.4.6-linux-arm-fips-bin.tar.gz",
    );
    assert.equal(
      artifactName({ version: "15.4.2", os: "linux", arch: "386", edition: "ent" }),
      "teleport-ent-v15.4.2-linux-386-bin.tar.gz",
    );
    assert.equal(
      artifactName({ version: "18.0.0-rc.1", os: "darwin", arch: "universal", edition: "community" }),
      "teleport-v18.0.0-rc.1-darwin-universal-bin.tar.gz",
    );
    assert.equal(
      artifactName({ version: "17.5.1", os: "windows", arch: "amd64", edition: "ent" }),
      "teleport-v17.5.1-windows-amd64-bin.zip",
    );
    assert.throws(() => artifactName({ ...linux17, version: "v17.5.1" }), /strict semver/);
    assert.throws(() => artifactName({ ...linux17, os: "darwin", fips: true }), /FIPS/);
  });

  test("Linux tarball: top folder, members and modes", async () => {
    const a = await teleportArchive(linux17);
    const members = await listTar(a.data);
    assert.deepEqual(names(members), [
      "teleport/",
      "teleport/CHANGELOG.md",
      "teleport/README.md",
      "teleport/VERSION",
      "teleport/examples/",
      "teleport/examples/systemd/",
      "teleport/examples/systemd/teleport.service",
      "teleport/fdpass-teleport",
      "teleport/install",
      "teleport/tbot",
      "teleport/tctl",
      "teleport/teleport",
      "teleport/teleport-update",
      "teleport/tsh",
    ]);
    const byPath = new Map(members.map((m) => [m.path, m]));
    for (const exe of ["tsh", "tctl", "teleport", "tbot", "fdpass-teleport", "install"]) {
      assert.equal(byPath.get(`teleport/${exe}`)!.mode, 0o755, exe);
      assert.equal(byPath.get(`teleport/${exe}`)!.type, "File", exe);
    }
    assert.equal(byPath.get("teleport/README.md")!.mode, 0o644);
    assert.equal(byPath.get("teleport/")!.type, "Directory");
    assert.equal(byPath.get("teleport/")!.mode, 0o755);
    assert.equal(byPath.get("teleport/tsh")!.data.toString(), standinScript("tsh", "17.5.1"));
    assert.equal(byPath.get("teleport/VERSION")!.data.toString(), "v17.5.1\n");
    for (const m of members) assert.equal(m.mtime?.getTime(), FIXED_MTIME.getTime(), m.path);
    assert.equal(tshMemberPath(linux17), "teleport/tsh");
  });

  test("enterprise and FIPS tarballs unpack to teleport-ent/", async () => {
    const spec: ArchiveSpec = { version: "17.5.1", os: "linux", arch: "arm64", edition: "ent", fips: true };
    const a = await teleportArchive(spec);
    assert.equal(a.name, "teleport-ent-v17.5.1-linux-arm64-fips-bin.tar.gz");
    const members = await listTar(a.data);
    assert.ok(members.every((m) => m.path.startsWith("teleport-ent/")));
    assert.ok(members.some((m) => m.path === "teleport-ent/tsh" && m.mode === 0o755));
    // Versions before 17 have no teleport-update.
    const old = await listTar((await teleportArchive({ version: "16.4.6", os: "linux", arch: "amd64", edition: "ent" })).data);
    assert.ok(!old.some((m) => m.path.endsWith("teleport-update")));
    assert.ok(old.some((m) => m.path === "teleport-ent/tsh"));
  });

  test("macOS 17+: tsh and tctl are app bundles; before 17 a plain teleport/tsh", async () => {
    const spec: ArchiveSpec = { version: "17.5.1", os: "darwin", arch: "universal", edition: "community" };
    const a = await teleportArchive(spec);
    assert.equal(a.name, "teleport-v17.5.1-darwin-universal-bin.tar.gz");
    const members = await listTar(a.data);
    const byPath = new Map(members.map((m) => [m.path, m]));
    for (const program of ["tsh", "tctl"]) {
      const exe = byPath.get(`teleport/${program}.app/Contents/MacOS/${program}`);
      assert.ok(exe, `${program} bundle binary`);
      assert.equal(exe.mode, 0o755);
      assert.ok(byPath.has(`teleport/${program}.app/Contents/Info.plist`));
      assert.ok(byPath.has(`teleport/${program}.app/Contents/_CodeSignature/CodeResources`));
    }
    assert.ok(!byPath.has("teleport/tsh"));
    assert.equal(tshMemberPath(spec), "teleport/tsh.app/Contents/MacOS/tsh");

    const old = await listTar((await teleportArchive({ ...spec, version: "16.4.6" })).data);
    assert.ok(old.some((m) => m.path === "teleport/tsh" && m.mode === 0o755));
    assert.ok(!old.some((m) => m.path.includes(".app/")));
  });

  test("Windows zip: flat since 14.1.5, under teleport/ before", async () => {
    const pe = Buffer.from("MZ-real-program-bytes");
    const flat = await teleportArchive({ version: "17.5.1", os: "windows", arch: "amd64", edition: "community", windowsTsh: pe });
    assert.equal(flat.name, "teleport-v17.5.1-windows-amd64-bin.zip");
    const members = await listZip(flat.data);
    assert.deepEqual(members.map((m) => m.name).sort(), ["CHANGELOG.md", "README.md", "VERSION", "tbot.exe", "tctl.exe", "tsh.exe"]);
    assert.deepEqual(members.find((m) => m.name === "tsh.exe")!.data, pe);

    const nested = await teleportArchive({ version: "13.4.5", os: "windows", arch: "amd64", edition: "community" });
    const nestedNames = (await listZip(nested.data)).map((m) => m.name).sort();
    assert.deepEqual(nestedNames, [
      "teleport/",
      "teleport/CHANGELOG.md",
      "teleport/README.md",
      "teleport/VERSION",
      "teleport/tctl.exe",
      "teleport/tsh.exe",
    ]);
    const placeholder = (await listZip(nested.data)).find((m) => m.name === "teleport/tsh.exe")!;
    assert.ok(placeholder.data.subarray(0, 2).equals(Buffer.from("MZ")));

    // Backslash separators are stored byte for byte; yauzl (not strict) reads them as `/`.
    const bs = await teleportArchive({ version: "13.4.5", os: "windows", arch: "amd64", edition: "community", windowsBackslashes: true });
    const raw = (await listZip(bs.data, false)).map((m) => m.name);
    assert.ok(raw.includes("teleport\\tsh.exe"), raw.join(","));
    assert.ok((await listZip(bs.data)).some((m) => m.name === "teleport/tsh.exe"));
  });

  test("GNU tar reads the writer's output, including PAX long names", async () => {
    const tarBin = requireTool("tar", "tar");
    const dir = await mkdtemp(path.join(os.tmpdir(), "tshup-standin-test-"));
    try {
      const longPath = `teleport/${"deep/".repeat(25)}file.txt`;
      const longLink = `/opt/${"x".repeat(120)}`;
      const file = path.join(dir, "long.tar.gz");
      await writeFile(
        file,
        tarGz([
          { path: longPath, type: "file", data: "long\n" },
          { path: "link", type: "symlink", linkname: longLink },
        ]),
      );
      const listed = spawnSync(tarBin, ["-tzf", file], { encoding: "utf8" });
      assert.equal(listed.status, 0, listed.stderr);
      assert.deepEqual(listed.stdout.trim().split("\n"), [longPath, "link"]);
      const members = await listTar(await readFile(file));
      assert.equal(members[0]!.path, longPath);
      assert.equal(members[1]!.linkpath, longLink);
      assert.ok(longPath.length > 100 && longLink.length > 100);

      const real = await teleportArchive(linux17);
      await writeFile(path.join(dir, real.name), real.data);
      const t = spawnSync(tarBin, ["-tzf", path.join(dir, real.name)], { encoding: "utf8" });
      assert.equal(t.status, 0, t.stderr);
      assert.ok(t.stdout.split("\n").includes("teleport/tsh"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("builds are deterministic; padding is seeded per artifact", async () => {
    const entries = [{ path: "a/b", type: "file" as const, data: "x" }];
    assert.deepEqual(tarGz(entries), tarGz(entries));
    assert.deepEqual(pseudoRandomBytes("seed", 1000), pseudoRandomBytes("seed", 1000));
    assert.notDeepEqual(pseudoRandomBytes("seed", 1000), pseudoRandomBytes("other", 1000));
    const z1 = await zip([{ path: "x.txt", data: "x" }]);
    const z2 = await zip([{ path: "x.txt", data: "x" }]);
    assert.deepEqual(z1, z2);

    const padded = await teleportArchive({ ...linux17, padding: 2 << 20, gzipLevel: 0 });
    // Random padding does not compress: the archive is at least as big as the padding.
    assert.ok(padded.data.length > 2 << 20, String(padded.data.length));
    const otherVersion = await teleportArchive({ ...linux17, version: "17.5.0", padding: 2 << 20, gzipLevel: 0 });
    assert.notEqual(sha256Hex(padded.data), sha256Hex(otherVersion.data));
  });

  test("the stand-in tsh prints Teleport's version line, JSON, and echoes anything else", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tshup-standin-test-"));
    try {
      const a = await teleportArchive({ ...linux17, padding: 1 << 20, gzipLevel: 0 });
      const members = await listTar(a.data);
      for (const program of ["tsh", "tctl"]) {
        const m = members.find((x) => x.path === `teleport/${program}`)!;
        const file = path.join(dir, program);
        await writeFile(file, m.data);
        await chmod(file, m.mode);
      }
      const tsh = path.join(dir, "tsh");
      assert.ok((await readFile(tsh)).length > 1 << 20, "padding follows the script");

      const version = await execFileP(tsh, ["version"]);
      assert.equal(version.stdout, "Teleport v17.5.1 git:v17.5.1-0-g1a2b3c4 go1.23.8\n");
      assert.equal(version.stdout.trim(), versionLine("17.5.1"));
      const json = await execFileP(tsh, ["version", "--format=json"]);
      assert.equal(json.stdout, '{"version":"17.5.1","gitref":"v17.5.1-0-g1a2b3c4","runtime":"go1.23.8"}\n');
      assert.deepEqual(JSON.parse(json.stdout), JSON.parse(versionJson("17.5.1")));
      assert.equal((await execFileP(tsh, ["version", "--format", "json"])).stdout.trim(), versionJson("17.5.1"));
      assert.equal((await execFileP(tsh, ["login", "--proxy=x:443"])).stdout, "tsh stand-in 17.5.1: login --proxy=x:443\n");
      assert.equal((await execFileP(path.join(dir, "tctl"), ["version"])).stdout.trim(), versionLine("17.5.1"));
      const slept = await execFileP(tsh, ["status"], { env: { ...process.env, TSH_STANDIN_SLEEP: "0.1" } });
      assert.equal(slept.stdout, "tsh stand-in 17.5.1: status\n");

      // Every POSIX shell a user might have stops at `exit 0`, before the padding.
      for (const [shell, pkg] of [["dash", "dash"], ["bash", "bash"], ["zsh", "zsh"]] as const) {
        const sh = requireTool(shell, pkg);
        const r = await execFileP(sh, [tsh, "version"]);
        assert.equal(r.stdout.trim(), versionLine("17.5.1"), shell);
        assert.equal(r.stderr, "", shell);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("unsafe variants carry exactly the hostile member under the normal name", async () => {
    const normal = await teleportArchive(linux17);
    const abs = await unsafeArchive("absolute", linux17);
    assert.equal(abs.name, normal.name);
    assert.ok((await listTar(abs.data)).some((m) => m.path === "/tmp/evil"));

    const dotdot = await listTar((await unsafeArchive("dotdot", linux17)).data);
    assert.ok(dotdot.some((m) => m.path === "teleport/../../evil"));

    const sym = (await listTar((await unsafeArchive("tsh-symlink", linux17)).data)).find((m) => m.path === "teleport/tsh")!;
    assert.equal(sym.type, "SymbolicLink");
    assert.equal(sym.linkpath, "/bin/sh");

    const hard = (await listTar((await unsafeArchive("tsh-hardlink", linux17)).data)).find((m) => m.path === "teleport/tsh")!;
    assert.equal(hard.type, "Link");
    assert.equal(hard.linkpath, "/bin/sh");

    const missing = await listTar((await unsafeArchive("missing-tsh", linux17)).data);
    assert.ok(!missing.some((m) => m.path === "teleport/tsh"));
    assert.ok(missing.some((m) => m.path === "teleport/tctl"));

    const mac = { version: "17.5.1", os: "darwin", arch: "universal", edition: "community" } as const;
    const macMissing = await listTar((await unsafeArchive("missing-tsh", mac)).data);
    assert.ok(!macMissing.some((m) => m.path.startsWith("teleport/tsh.app")));
    assert.ok(macMissing.some((m) => m.path.startsWith("teleport/tctl.app")));

    const corrupt = (await unsafeArchive("corrupt-gzip", linux17)).data;
    assert.deepEqual([...corrupt.subarray(0, 3)], [0x1f, 0x8b, 0x08]);
    assert.throws(() => gunzipSync(corrupt));
    await assert.rejects(listTar(corrupt));

    const win = { version: "17.5.1", os: "windows", arch: "amd64", edition: "community" } as const;
    const zipDotdot = await unsafeArchive("zip-dotdot", win);
    assert.equal(zipDotdot.name, "teleport-v17.5.1-windows-amd64-bin.zip");
    assert.ok((await listZip(zipDotdot.data, false)).some((m) => m.name === "../../evil.exe"));
    await assert.rejects(listZip(zipDotdot.data), /invalid relative path/);
    assert.ok((await listZip((await unsafeArchive("absolute", win)).data, false)).some((m) => m.name === "/tmp/evil.exe"));
    assert.ok(!(await listZip((await unsafeArchive("missing-tsh", win)).data)).some((m) => m.name === "tsh.exe"));
    await assert.rejects(listZip((await unsafeArchive("corrupt-zip", win)).data));
    await assert.rejects(unsafeArchive("tsh-symlink", win), /applies to tar\.gz/);
    await assert.rejects(unsafeArchive("zip-dotdot", linux17), /applies to zip/);
  });

  test("sidecar styles", () => {
    const data = Buffer.from("artifact bytes");
    const hex = sha256Hex(data);
    assert.equal(sha256Sidecar("teleport-v17.5.1-linux-amd64-bin.tar.gz", data), `${hex}  teleport-v17.5.1-linux-amd64-bin.tar.gz\n`);
    assert.equal(sha256Sidecar("teleport-v17.5.1-windows-amd64-bin.zip", data), `${hex} teleport-v17.5.1-windows-amd64-bin.zip\n`);
    assert.equal(sha256Sidecar("x.tar.gz", data, "one-space"), `${hex} x.tar.gz\n`);
    assert.equal(sha256Sidecar("x.zip", data, "two-space"), `${hex}  x.zip\n`);
  });
});

// ---------------------------------------------------------------------------------------------

describe("stand-in CDN", () => {
  let s: Standin;
  let name: string;
  let data: Buffer;

  before(async () => {
    s = await startStandin();
    const info = await s.addArtifact({ ...linux17, padding: 64 * 1024 });
    name = info.name;
    data = (await teleportArchive({ ...linux17, padding: 64 * 1024 })).data;
    assert.equal(info.sha256, sha256Hex(data));
    assert.equal(info.url, `${s.cdnUrl}/${name}`);
  });
  after(() => s.close());

  test("serves the artifact and its sidecar over HTTPS verified against the test CA", async () => {
    const r = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, data);
    assert.equal(r.headers["content-length"], String(data.length));
    assert.equal(r.headers["accept-ranges"], "bytes");
    assert.ok(r.headers.date);
    const sc = await request(`${s.cdnUrl}/${name}.sha256`, { ca: s.caPem });
    assert.equal(sc.body.toString(), `${sha256Hex(data)}  ${name}\n`);
    assert.equal(await readFile(s.caFile, "utf8"), s.caPem);
    assert.equal(s.env.TELEPORT_CDN_BASE_URL, s.cdnUrl);
  });

  test("the plain-HTTP CDN serves the same store", async () => {
    const r = await request(`${s.cdnHttpUrl}/${name}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, data);
    const last = s.requests.at(-1)!;
    assert.equal(last.scheme, "http");
    assert.equal(last.server, "cdn");
  });

  test("HEAD, Range, suffix range, open range, 416 and If-Range", async () => {
    const h = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem, method: "HEAD" });
    assert.equal(h.status, 200);
    assert.equal(h.headers["content-length"], String(data.length));
    assert.equal(h.body.length, 0);

    const mid = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem, headers: { Range: "bytes=10-19" } });
    assert.equal(mid.status, 206);
    assert.equal(mid.headers["content-range"], `bytes 10-19/${data.length}`);
    assert.deepEqual(mid.body, data.subarray(10, 20));

    const open = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem, headers: { Range: `bytes=${data.length - 5}-` } });
    assert.equal(open.status, 206);
    assert.deepEqual(open.body, data.subarray(data.length - 5));

    const suffix = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem, headers: { Range: "bytes=-7" } });
    assert.equal(suffix.status, 206);
    assert.deepEqual(suffix.body, data.subarray(data.length - 7));

    const beyond = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem, headers: { Range: `bytes=${data.length}-` } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers["content-range"], `bytes */${data.length}`);

    const etag = String(mid.headers.etag);
    const sameEtag = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem, headers: { Range: "bytes=0-0", "If-Range": etag } });
    assert.equal(sameEtag.status, 206);
    const changed = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem, headers: { Range: "bytes=0-0", "If-Range": '"other"' } });
    assert.equal(changed.status, 200);
    assert.equal(changed.body.length, data.length);
  });

  test("unknown artifacts answer 404; custom content and sidecars can be set", async () => {
    const missing = await request(`${s.cdnUrl}/teleport-v1.0.0-linux-amd64-bin.tar.gz`, { ca: s.caPem });
    assert.equal(missing.status, 404);

    const custom = s.setArtifact("custom.zip", Buffer.from("zip bytes"));
    const sc = await request(`${custom.url}.sha256`, { ca: s.caPem });
    assert.equal(sc.body.toString(), `${sha256Hex(Buffer.from("zip bytes"))} custom.zip\n`);

    s.setArtifact("nosidecar.tar.gz", Buffer.from("x"), null);
    assert.equal((await request(`${s.cdnUrl}/nosidecar.tar.gz.sha256`, { ca: s.caPem })).status, 404);
    s.setSidecar("nosidecar.tar.gz", "UPPERCASE-HEX  nosidecar.tar.gz\n");
    assert.equal((await request(`${s.cdnUrl}/nosidecar.tar.gz.sha256`, { ca: s.caPem })).body.toString(), "UPPERCASE-HEX  nosidecar.tar.gz\n");

    const u = await s.addUnsafeArtifact("dotdot", { ...linux17, version: "17.0.1" });
    const got = await request(u.url, { ca: s.caPem });
    assert.ok((await listTar(got.body)).some((m) => m.path.includes("../../evil")));
    assert.equal(u.sha256, sha256Hex(got.body));
    assert.ok(s.artifactNames().includes(u.name));
    s.removeArtifact(u.name);
    assert.equal((await request(u.url, { ca: s.caPem })).status, 404);
  });

  test("status faults apply `times` times, then the normal answer returns", async () => {
    s.clearRequests();
    s.setFault(name, { kind: "status", status: 500, times: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await request(`${s.cdnUrl}/${name}`, { ca: s.caPem })).status);
    assert.deepEqual(statuses, [500, 500, 200]);
    assert.deepEqual(
      s.requests.map((r) => [r.path, r.status, r.fault]),
      [
        [`/${name}`, 500, "status"],
        [`/${name}`, 500, "status"],
        [`/${name}`, 200, undefined],
      ],
    );
  });

  test("queued faults run in order", async () => {
    s.setFault(`/${name}`, { kind: "status", status: 404, times: 1 });
    s.addFault(`/${name}`, { kind: "retry-after", status: 503, seconds: 2, times: 1 });
    const first = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem });
    const second = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem });
    const third = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem });
    assert.deepEqual([first.status, second.status, third.status], [404, 503, 200]);
    assert.equal(second.headers["retry-after"], "2");
  });

  test("retry-after sends the header with 429", async () => {
    s.setFault(name, { kind: "retry-after", status: 429, seconds: 1, times: 1 });
    const r = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem });
    assert.equal(r.status, 429);
    assert.equal(r.headers["retry-after"], "1");
    assert.equal((await request(`${s.cdnUrl}/${name}`, { ca: s.caPem })).status, 200);
  });

  test("wrong-hash and no-sidecar change only the sidecar", async () => {
    s.setFault(name, { kind: "wrong-hash" });
    const wrong = await request(`${s.cdnUrl}/${name}.sha256`, { ca: s.caPem });
    assert.equal(wrong.status, 200);
    const [hex, rest] = [wrong.body.toString().slice(0, 64), wrong.body.toString().slice(64)];
    assert.match(hex, /^[0-9a-f]{64}$/);
    assert.notEqual(hex, sha256Hex(data));
    assert.equal(rest, `  ${name}\n`);
    assert.deepEqual((await request(`${s.cdnUrl}/${name}`, { ca: s.caPem })).body, data);

    s.setFault(`${name}.sha256`, { kind: "no-sidecar", times: 1 });
    s.clearFaults(name);
    assert.equal((await request(`${s.cdnUrl}/${name}.sha256`, { ca: s.caPem })).status, 404);
    assert.equal((await request(`${s.cdnUrl}/${name}.sha256`, { ca: s.caPem })).status, 200);
  });

  test("truncate sends the full Content-Length, then closes after n bytes", async () => {
    s.setFault(name, { kind: "truncate", bytes: 1000, times: 1 });
    const r = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem });
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-length"], String(data.length));
    assert.ok(r.error, "the body must end early");
    assert.equal(r.body.length, 1000);
    assert.deepEqual(r.body, data.subarray(0, 1000));
    const resumed = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem, headers: { Range: "bytes=1000-" } });
    assert.equal(resumed.status, 206);
    assert.deepEqual(Buffer.concat([r.body, resumed.body]), data);
  });

  test("stall sends the first bytes, then nothing while the socket stays open", async () => {
    s.setFault(name, { kind: "stall", bytes: 1000, times: 1 });
    // Neither the end of the body nor a close comes before the client gives up.
    await assert.rejects(request(`${s.cdnUrl}/${name}`, { ca: s.caPem, timeoutMs: 500 }), /client timeout/);
    assert.equal(s.requests.at(-1)!.status, 200);
    assert.equal(s.requests.at(-1)!.fault, "stall");
    assert.deepEqual((await request(`${s.cdnUrl}/${name}`, { ca: s.caPem })).body, data);
  });

  test("slow delivers the right bytes", async () => {
    const small = s.setArtifact("small.tar.gz", Buffer.from("0123456789".repeat(20)));
    s.setFault("small.tar.gz", { kind: "slow", bytesPerSecond: 2000, times: 1 });
    const r = await request(small.url, { ca: s.caPem });
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), "0123456789".repeat(20));
    assert.equal(s.requests.at(-1)!.fault, "slow");
  });

  test("redirect answers its status with Location, then the normal answer returns", async () => {
    s.setFault(name, { kind: "redirect", to: `/${name}?via=redirect`, status: 307, times: 1 });
    const r = await request(`${s.cdnUrl}/${name}`, { ca: s.caPem });
    assert.equal(r.status, 307);
    assert.equal(r.headers.location, `/${name}?via=redirect`);
    assert.equal(s.requests.at(-1)!.fault, "redirect");
    assert.deepEqual((await request(`${s.cdnUrl}/${name}?via=redirect`, { ca: s.caPem })).body, data);
  });

  test("hang never answers", async () => {
    s.setFault(name, { kind: "hang", times: 1 });
    await assert.rejects(request(`${s.cdnUrl}/${name}`, { ca: s.caPem, timeoutMs: 300 }), /client timeout/);
    assert.equal(s.requests.at(-1)!.status, undefined);
    assert.equal((await request(`${s.cdnUrl}/${name}`, { ca: s.caPem })).status, 200);
  });
});

// ---------------------------------------------------------------------------------------------

describe("stand-in proxy", () => {
  let s: Standin;

  before(async () => {
    s = await startStandin();
  });
  after(() => s.close());

  test("TLS verifies against the test CA (by IP and by name) and fails without it", async () => {
    const p = await s.addProxy({ cluster: "alpha", serverVersion: "17.5.1" });
    assert.match(p.addr, /^127\.0\.0\.1:\d+$/);
    assert.equal(p.url, `https://${p.addr}`);
    const ok = await request(`${p.url}/webapi/find`, { ca: s.caPem });
    assert.equal(ok.status, 200);
    const named = await request(`${p.url}/webapi/find`, { ca: s.caPem, servername: "localhost" });
    assert.equal(named.status, 200);
    await assert.rejects(request(`${p.url}/webapi/find`), (err: NodeJS.ErrnoException) => {
      assert.match(String(err.code), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
      return true;
    });
  });

  test("find and ping bodies carry Teleport's field names", async () => {
    const p = await s.addProxy({
      cluster: "beta",
      serverVersion: "18.1.4",
      toolsAutoUpdate: true,
      toolsVersion: "18.1.1",
      tlsRouting: true,
      edition: "ent",
    });
    const find = JSON.parse((await request(`${p.url}/webapi/find`, { ca: s.caPem })).body.toString());
    assert.equal(find.server_version, "18.1.4");
    assert.equal(find.min_client_version, "17.0.0-aa");
    assert.equal(find.cluster_name, "beta");
    assert.equal(find.edition, "ent");
    assert.equal(find.fips, false);
    assert.deepEqual(
      { tools_version: find.auto_update.tools_version, tools_auto_update: find.auto_update.tools_auto_update },
      { tools_version: "18.1.1", tools_auto_update: true },
    );
    assert.equal(find.proxy.tls_routing_enabled, true);
    assert.equal(find.proxy.ssh.public_addr, p.addr);
    assert.equal(find.auth.type, "");
    const ping = JSON.parse((await request(`${p.url}/v1/webapi/ping`, { ca: s.caPem })).body.toString());
    assert.equal(ping.auth.type, "local");
    assert.equal(ping.auth.local.name, "");
    assert.deepEqual(ping.auto_update, find.auto_update);

    const old = await s.addProxy({ cluster: "gamma", serverVersion: "14.3.3" });
    const oldBody = JSON.parse((await request(`${old.url}/webapi/ping`, { ca: s.caPem })).body.toString());
    assert.equal(oldBody.min_client_version, "13.0.0");
    assert.ok(!("auto_update" in oldBody));
    assert.ok(!("edition" in oldBody));
    assert.equal(oldBody.proxy.ssh.ssh_public_addr, "127.0.0.1:3023");

    const fips = JSON.parse(
      (await request(`${(await s.addProxy({ cluster: "f", serverVersion: "17.4.8", fips: true })).url}/webapi/find`, { ca: s.caPem })).body.toString(),
    );
    assert.equal(fips.edition, "ent");
    assert.equal(fips.fips, true);

    const records = s.requests.filter((r) => r.server === "proxy" && r.cluster === "beta");
    assert.deepEqual(records.map((r) => r.path), ["/webapi/find", "/v1/webapi/ping"]);
  });

  test("generated bodies have the same keys as the fixtures", async () => {
    const dir = path.join(here, "fixtures", "ping");
    const files = (await readdir(dir)).filter((f) => f.endsWith(".json"));
    assert.ok(files.length >= 7, files.join(","));
    for (const f of files) JSON.parse(await readFile(path.join(dir, f), "utf8"));
    const cases: [string, Parameters<typeof buildPingBody>[0], "find" | "ping"][] = [
      ["v14.3.3-ping.json", { cluster: "c", serverVersion: "14.3.3" }, "ping"],
      ["v16.4.12-ping.json", { cluster: "c", serverVersion: "16.4.12", tlsRouting: true }, "ping"],
      ["v17.5.1-community-find.json", { cluster: "c", serverVersion: "17.5.1", tlsRouting: true }, "find"],
      ["v18.1.4-tools-auto-update-find.json", { cluster: "c", serverVersion: "18.1.4", tlsRouting: true, toolsAutoUpdate: true, toolsVersion: "18.1.1", edition: "ent" }, "find"],
    ];
    const shape = (o: Record<string, unknown>): unknown =>
      Object.fromEntries(
        Object.entries(o).map(([k, v]) => [k, v && typeof v === "object" && !Array.isArray(v) ? shape(v as Record<string, unknown>) : typeof v]),
      );
    for (const [file, cfg, endpoint] of cases) {
      const fixture = JSON.parse(await readFile(path.join(dir, file), "utf8"));
      const generated = buildPingBody(cfg, "teleport.example.com:443", endpoint);
      assert.deepEqual(shape(generated), shape(fixture), file);
      assert.deepEqual(Object.keys(generated), Object.keys(fixture), `${file}: key order`);
    }
    const error = JSON.parse(await readFile(path.join(dir, "error-not-found.json"), "utf8"));
    assert.deepEqual(error, { error: { message: "not found" } });
  });

  test("findMissing: /webapi/find is 404 with Teleport's error body, /webapi/ping answers", async () => {
    const p = await s.addProxy({ cluster: "old", serverVersion: "13.4.5", findMissing: true });
    const find = await request(`${p.url}/webapi/find`, { ca: s.caPem });
    assert.equal(find.status, 404);
    assert.deepEqual(JSON.parse(find.body.toString()), { error: { message: "not found" } });
    const ping = await request(`${p.url}/webapi/ping`, { ca: s.caPem });
    assert.equal(ping.status, 200);
    assert.equal(JSON.parse(ping.body.toString()).server_version, "13.4.5");
  });

  test("gzip compresses the find answer whatever the client asked for", async () => {
    const p = await s.addProxy({ cluster: "gz", serverVersion: "17.5.1" });
    p.setFault("/webapi/find", { kind: "gzip", times: 1 });
    const packed = await request(`${p.url}/webapi/find`, { ca: s.caPem });
    assert.equal(packed.headers["content-encoding"], "gzip");
    const plain = await request(`${p.url}/webapi/find`, { ca: s.caPem });
    assert.equal(plain.headers["content-encoding"], undefined);
    assert.deepEqual(JSON.parse(gunzipSync(packed.body).toString()), JSON.parse(plain.body.toString()));
  });

  test("setPing serves raw HTML, error statuses and invalid versions; update() changes the cluster", async () => {
    const p = await s.addProxy({ cluster: "delta", serverVersion: "17.5.1" });
    p.setPing("<html><body>Sign in to the corporate portal</body></html>");
    const html = await request(`${p.url}/webapi/find`, { ca: s.caPem });
    assert.equal(html.status, 200);
    assert.match(String(html.headers["content-type"]), /text\/html/);

    p.setPing({ error: { message: "cluster is misconfigured" } }, 500, "ping");
    const err = await request(`${p.url}/webapi/ping`, { ca: s.caPem });
    assert.equal(err.status, 500);
    assert.equal(JSON.parse(err.body.toString()).error.message, "cluster is misconfigured");

    p.setPing(null);
    p.update({ serverVersion: "17.5.1; rm -rf /" });
    const bad = JSON.parse((await request(`${p.url}/webapi/find`, { ca: s.caPem })).body.toString());
    assert.equal(bad.server_version, "17.5.1; rm -rf /");

    p.update({ serverVersion: "18.0.0" });
    const upgraded = JSON.parse((await request(`${p.url}/webapi/find`, { ca: s.caPem })).body.toString());
    assert.equal(upgraded.server_version, "18.0.0");
    assert.equal(upgraded.min_client_version, "17.0.0-aa");
    assert.deepEqual(p.body("find"), upgraded);
  });

  test("Date header on every answer, shifted by clockSkewSeconds", async () => {
    const p = await s.addProxy({ cluster: "skewed", serverVersion: "17.5.1", clockSkewSeconds: 3600 });
    const before = Date.now();
    const r = await request(`${p.url}/webapi/find`, { ca: s.caPem });
    const skew = Date.parse(String(r.headers.date)) - before;
    assert.ok(skew > 3500_000 && skew < 3700_000, `skew ${skew}`);
    s.setClockSkew(-7200);
    const q = await s.addProxy({ cluster: "behind", serverVersion: "17.5.1" });
    const behind = await request(`${q.url}/webapi/nothing-here`, { ca: s.caPem });
    assert.equal(behind.status, 404);
    assert.ok(Date.parse(String(behind.headers.date)) < Date.now() - 7000_000);
    s.setClockSkew(0);
  });

  test("proxy faults: status with Teleport's error body, then normal", async () => {
    const p = await s.addProxy({ cluster: "faulty", serverVersion: "17.5.1" });
    p.setFault("/webapi/find", { kind: "status", status: 502, times: 1 });
    const bad = await request(`${p.url}/webapi/find`, { ca: s.caPem });
    assert.equal(bad.status, 502);
    assert.ok(JSON.parse(bad.body.toString()).error.message);
    assert.equal((await request(`${p.url}/webapi/find`, { ca: s.caPem })).status, 200);

    // Stand-in-wide faults reach proxies too, after the proxy's own.
    s.setFault("/webapi/find", { kind: "retry-after", status: 429, seconds: 1, times: 1 });
    p.setFault("/webapi/find", { kind: "status", status: 502, times: 1 });
    const seq = [];
    for (let i = 0; i < 3; i++) seq.push((await request(`${p.url}/webapi/find`, { ca: s.caPem })).status);
    assert.deepEqual(seq, [502, 429, 200]);

    p.setFault("/webapi/find", { kind: "hang" });
    await assert.rejects(request(`${p.url}/webapi/find`, { ca: s.caPem, timeoutMs: 200 }), /client timeout/);
    p.clearFaults();
    await p.close();
    assert.ok(!s.proxies.includes(p));
    await assert.rejects(request(`${p.url}/webapi/find`, { ca: s.caPem }), /ECONNREFUSED/);
  });
});

// ---------------------------------------------------------------------------------------------

describe("close()", () => {
  test("ends hanging and keep-alive connections and leaves no servers or sockets open", async () => {
    const count = (kind: string) => process.getActiveResourcesInfo().filter((r) => r === kind).length;
    const serversBefore = count("TCPServerWrap");
    const socketsBefore = count("TCPSocketWrap");

    const dir = await mkdtemp(path.join(os.tmpdir(), "tshup-standin-test-"));
    const own = path.join(dir, "ca-here");
    await mkdir(own);
    const s = await startStandin({ dir: own });
    assert.equal(s.caFile, path.join(own, "ca.pem"));
    const a = s.setArtifact("big.tar.gz", pseudoRandomBytes("big", 1 << 20));
    const p = await s.addProxy({ cluster: "c", serverVersion: "17.5.1" });

    // Stand-in-wide faults reach proxies too, after the proxy's own.
    s.setFault("/webapi/find", { kind: "retry-after", status: 429, seconds: 1, times: 1 });
    p.setFault("/webapi/find", { kind: "status", status: 502, times: 1 });
    const seq = [];
    for (let i = 0; i < 3; i++) seq.push((await request(`${p.url}/webapi/find`, { ca: s.caPem })).status);
    assert.deepEqual(seq, [502, 429, 200]);

    p.setFault("/webapi/find", { kind: "hang" });
    s.setFault("big.tar.gz", { kind: "slow", bytesPerSecond: 1000 });

    const agent = new https.Agent({ keepAlive: true, ca: s.caPem });
    const hanging = new Promise<Error>((resolve) => {
      https.get(`${p.url}/webapi/find`, { agent }, () => resolve(new Error("answered"))).on("error", resolve);
    });
    const slow = new Promise<Error | undefined>((resolve) => {
      https
        .get(a.url, { agent }, (res) => {
          res.resume();
          res.on("error", resolve);
          res.on("close", () => resolve(res.complete ? new Error("completed") : undefined));
        })
        .on("error", resolve);
    });
    await new Promise((r) => setTimeout(r, 200));
    await s.close();
    await s.close(); // idempotent
    const [h, sl] = await Promise.all([hanging, slow]);
    assert.ok(h instanceof Error && h.message !== "answered");
    assert.ok(sl === undefined || sl.message !== "completed");
    agent.destroy();
    await new Promise((r) => setImmediate(r));

    assert.equal(count("TCPServerWrap"), serversBefore);
    assert.ok(count("TCPSocketWrap") <= socketsBefore);
    // A caller-provided dir is left in place; only a temp dir of the stand-in's own is removed.
    assert.ok((await readdir(own)).includes("ca.pem"));
    await rm(dir, { recursive: true, force: true });
  });
});
