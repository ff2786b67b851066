import { test } from "node:test";
import assert from "node:assert/strict";
import { changeHeadline, makePlan, pendingWork, type PlanFacts } from "../src/core/plan.js";
import { artifactCandidates, parseSidecar, versionId } from "../src/core/artifact.js";
import { chooseVersion, actionFor } from "../src/core/choose.js";
import { parsePing, type ClusterInfo } from "../src/core/ping.js";
import { parseProxyAddress, proxyFromBrowser } from "../src/core/proxyaddr.js";
import { bypassesProxy, proxyForUrl, redactProxy } from "../src/core/proxyenv.js";
import { classifyTarMember, classifyZipMember } from "../src/core/members.js";
import { isRetryableStatus, retryDelayMs, retrying, type RetryNotice } from "../src/core/retry.js";
import { compareVersions, isStrictVersion, major, parseTshVersionOutput, inWindow, windowFor } from "../src/core/version.js";
import semver from "semver";
import { TshupError } from "../src/core/errors.js";
import { progressLine } from "../src/core/format.js";

test("artifact names for every platform and edition", () => {
  const cases: [Parameters<typeof artifactCandidates>[0], string][] = [
    [{ version: "17.5.1", platform: "linux", arch: "x64", edition: "community", fips: false }, "teleport-v17.5.1-linux-amd64-bin.tar.gz"],
    [{ version: "17.5.1", platform: "linux", arch: "arm64", edition: "community", fips: false }, "teleport-v17.5.1-linux-arm64-bin.tar.gz"],
    [{ version: "17.5.1", platform: "linux", arch: "arm", edition: "community", fips: false }, "teleport-v17.5.1-linux-arm-bin.tar.gz"],
    [{ version: "17.5.1", platform: "linux", arch: "ia32", edition: "community", fips: false }, "teleport-v17.5.1-linux-386-bin.tar.gz"],
    [{ version: "17.5.1", platform: "linux", arch: "x64", edition: "ent", fips: false }, "teleport-ent-v17.5.1-linux-amd64-bin.tar.gz"],
    [{ version: "17.5.1", platform: "linux", arch: "x64", edition: "ent", fips: true }, "teleport-ent-v17.5.1-linux-amd64-fips-bin.tar.gz"],
    // FIPS implies enterprise even when the edition says otherwise.
    [{ version: "16.4.2", platform: "linux", arch: "arm64", edition: "community", fips: true }, "teleport-ent-v16.4.2-linux-arm64-fips-bin.tar.gz"],
    [{ version: "17.5.1", platform: "darwin", arch: "arm64", edition: "community", fips: false }, "teleport-v17.5.1-darwin-arm64-bin.tar.gz"],
    [{ version: "17.5.1", platform: "darwin", arch: "x64", edition: "ent", fips: false }, "teleport-ent-v17.5.1-darwin-amd64-bin.tar.gz"],
    [{ version: "17.5.1", platform: "win32", arch: "x64", edition: "community", fips: false }, "teleport-v17.5.1-windows-amd64-bin.zip"],
    [{ version: "18.0.0-rc.1", platform: "linux", arch: "x64", edition: "community", fips: false }, "teleport-v18.0.0-rc.1-linux-amd64-bin.tar.gz"],
  ];
  for (const [req, name] of cases) assert.equal(artifactCandidates(req)[0]!.name, name, JSON.stringify(req));
});

test("macOS candidates: the per-arch tarball, the universal one, then the packages by version", () => {
  const names = (v: string, edition: "community" | "ent" = "community") =>
    artifactCandidates({ version: v, platform: "darwin", arch: "arm64", edition, fips: false }).map((a) => a.name);
  const tarballs = (v: string, ent = "") => [`teleport${ent}-v${v}-darwin-arm64-bin.tar.gz`, `teleport${ent}-v${v}-darwin-universal-bin.tar.gz`];
  assert.deepEqual(names("16.4.2"), [...tarballs("16.4.2"), "teleport-16.4.2.pkg", "tsh-16.4.2.pkg"]);
  assert.deepEqual(names("17.5.1"), [...tarballs("17.5.1"), "teleport-17.5.1.pkg"]);
  assert.deepEqual(names("17.7.2"), [...tarballs("17.7.2"), "teleport-tools-17.7.2.pkg", "teleport-17.7.2.pkg"]);
  assert.deepEqual(names("18.1.4"), [...tarballs("18.1.4"), "teleport-18.1.4.pkg"]);
  assert.deepEqual(names("18.1.5", "ent"), [...tarballs("18.1.5", "-ent"), "teleport-tools-18.1.5.pkg", "teleport-ent-18.1.5.pkg"]);
  assert.deepEqual(names("19.0.0"), [...tarballs("19.0.0"), "teleport-tools-19.0.0.pkg", "teleport-19.0.0.pkg"]);
  assert.equal(artifactCandidates({ version: "17.5.1", platform: "darwin", arch: "x64", edition: "community", fips: false })[0]!.name, "teleport-v17.5.1-darwin-amd64-bin.tar.gz");
});

test("platforms without a Teleport build are refused", () => {
  assert.throws(() => artifactCandidates({ version: "17.5.1", platform: "win32", arch: "arm64", edition: "community", fips: false }));
  assert.throws(() => artifactCandidates({ version: "17.5.1", platform: "linux", arch: "riscv64", edition: "community", fips: false }));
  assert.throws(() => artifactCandidates({ version: "17.5.1", platform: "darwin", arch: "arm64", edition: "ent", fips: true }));
  for (const arch of ["arm", "ia32"]) {
    assert.throws(
      () => artifactCandidates({ version: "17.5.1", platform: "linux", arch, edition: "ent", fips: true }),
      /no FIPS build for linux-(arm|386): FIPS builds exist for linux-amd64 and linux-arm64 only/,
      `no linux-${arch}-fips is asked for`,
    );
  }
});

test("version ids keep editions side by side", () => {
  assert.equal(versionId("17.5.1", "community", false), "17.5.1");
  assert.equal(versionId("17.5.1", "ent", false), "17.5.1-ent");
  assert.equal(versionId("17.5.1", "ent", true), "17.5.1-ent-fips");
});

test("sidecars: two-space, one-space, bare, bad", () => {
  const hex = "a".repeat(64);
  assert.equal(parseSidecar(`${hex}  teleport-v17.5.1-linux-amd64-bin.tar.gz\n`), hex);
  assert.equal(parseSidecar(`${hex} teleport-v17.5.1-windows-amd64-bin.zip\r\n`), hex);
  assert.equal(parseSidecar(`${hex.toUpperCase()}\n`), hex);
  assert.equal(parseSidecar(`  ${hex}\tname`), hex);
  assert.equal(parseSidecar("a".repeat(63)), null);
  assert.equal(parseSidecar("<html>not found</html>"), null);
  assert.equal(parseSidecar(""), null);
});

test("strict versions", () => {
  for (const v of ["17.5.1", "0.0.0", "18.0.0-rc.1", "17.0.0-dev", "16.0.0-aa", "1.2.3+build.5"]) assert.ok(isStrictVersion(v), v);
  for (const v of ["v17.5.1", "17.5", "17.5.1.2", "017.5.1", "17.5.1-", "../17.5.1", "17.5.1/../../x", " 17.5.1", "17.5.1\n", 17, null]) {
    assert.ok(!isStrictVersion(v), String(v));
  }
});

test("tsh version output, as several releases print it", () => {
  assert.equal(parseTshVersionOutput("Teleport v17.5.1 git:v17.5.1-0-g1234abc go1.23.8\n"), "17.5.1");
  assert.equal(parseTshVersionOutput("Teleport v18.0.0 git:v18.0.0-0-gabc go1.24.1\nProxy version: 18.0.0\nProxy: x:443\n"), "18.0.0");
  assert.equal(parseTshVersionOutput("Teleport v13.4.5 git:api/v13.4.5-0-gabc go1.20.8"), "13.4.5");
  assert.equal(parseTshVersionOutput("Teleport v4.4.12git:v4.4.12-0-gabc go1.15"), "4.4.12");
  assert.equal(parseTshVersionOutput("bash: tsh: command not found"), null);
});

test("windows: same major or one lower, at least min_client_version", () => {
  const w = windowFor("17.5.1", "16.0.0-aa");
  assert.ok(inWindow("17.5.1", w));
  assert.ok(inWindow("17.0.0", w));
  assert.ok(inWindow("16.0.0", w));
  assert.ok(inWindow("17.9.9", w), "a newer minor of the same major is allowed");
  assert.ok(!inWindow("18.0.0", w));
  assert.ok(!inWindow("15.4.24", w));
  const old = windowFor("13.4.0", null);
  assert.ok(inWindow("12.1.0", old) && !inWindow("11.9.0", old) && !inWindow("14.0.0", old));
});

function cluster(over: Partial<ClusterInfo> & { serverVersion: string }): ClusterInfo {
  return parsePing(
    {
      server_version: over.serverVersion,
      min_client_version: over.minClientVersion ?? `${Number(over.serverVersion.split(".")[0]) - 1}.0.0-aa`,
      cluster_name: over.cluster ?? "c",
      ...(over.toolsVersion ? { auto_update: { tools_auto_update: true, tools_version: over.toolsVersion } } : {}),
    },
    over.proxy ?? `${over.cluster ?? "c"}.example.com:443`,
    "https://x/webapi/find",
  );
}

test("version choice: target, managed tools version, several clusters, pins, compatible", () => {
  assert.equal(chooseVersion({ clusters: [cluster({ serverVersion: "17.5.1" })], pin: null, force: false, match: "exact", active: null }).version, "17.5.1");
  assert.equal(
    chooseVersion({ clusters: [cluster({ serverVersion: "17.5.1", toolsVersion: "17.4.0" })], pin: null, force: false, match: "exact", active: null }).version,
    "17.4.0",
  );
  const two = [cluster({ serverVersion: "17.5.1", cluster: "new" }), cluster({ serverVersion: "16.4.3", cluster: "old" })];
  assert.equal(chooseVersion({ clusters: two, pin: null, force: false, match: "exact", active: null }).version, "16.4.3");
  const apart = [cluster({ serverVersion: "17.5.1", cluster: "new" }), cluster({ serverVersion: "15.4.0", cluster: "old" })];
  assert.throws(
    () => chooseVersion({ clusters: apart, pin: null, force: false, match: "exact", active: null }),
    (e: unknown) => e instanceof TshupError && e.exitCode === 6 && /new/.test(e.message) && /old/.test(e.message),
  );
  assert.throws(
    () => chooseVersion({ clusters: [cluster({ serverVersion: "17.5.1" })], pin: "18.0.0", force: false, match: "exact", active: null }),
    (e: unknown) => e instanceof TshupError && e.exitCode === 6 && /newer than/.test(e.message) && /16\.x or 17\.x/.test(e.hint),
  );
  assert.equal(chooseVersion({ clusters: [cluster({ serverVersion: "17.5.1" })], pin: "18.0.0", force: true, match: "exact", active: null }).version, "18.0.0");
  assert.equal(chooseVersion({ clusters: [cluster({ serverVersion: "17.5.1" })], pin: "16.4.0", force: false, match: "exact", active: null }).version, "16.4.0");
  assert.equal(chooseVersion({ clusters: [cluster({ serverVersion: "17.5.1" })], pin: null, force: false, match: "compatible", active: "17.1.0" }).version, "17.1.0");
  assert.equal(chooseVersion({ clusters: [cluster({ serverVersion: "17.5.1" })], pin: null, force: false, match: "compatible", active: "15.1.0" }).version, "17.5.1");
});

test("actions", () => {
  assert.equal(actionFor(null, "17.5.1", false), "install");
  assert.equal(actionFor("17.5.1", "17.5.1", true), "none");
  assert.equal(actionFor("17.4.0", "17.5.1", false), "upgrade");
  assert.equal(actionFor("17.5.1", "16.4.0", false), "downgrade");
});

test("ping answers are validated before use", () => {
  const ok = parsePing({ server_version: "17.5.1", min_client_version: "16.0.0-aa", cluster_name: "example", edition: "ent", fips: false }, "p:443", "u");
  assert.equal(ok.edition, "ent");
  assert.equal(ok.target, "17.5.1");
  const bad: unknown[] = [
    null,
    [],
    "17.5.1",
    {},
    { server_version: "v17.5.1" },
    { server_version: "17.5.1/../../etc" },
    { server_version: "17.5.1", min_client_version: "sixteen" },
    { server_version: "17.5.1", cluster_name: "../../etc" },
    { server_version: "17.5.1", cluster_name: "a b" },
    { server_version: "17.5.1", edition: 7 },
    { server_version: "17.5.1", fips: "yes" },
    { server_version: "17.5.1", auto_update: { tools_auto_update: true, tools_version: "latest" } },
    { server_version: "17.5.1", auto_update: "on" },
    { server_version: "17.5.1", proxy: { ssh: { public_addr: "evil\nHost *" } } },
    // Junk that would name tsh's profile ":" or start an ssh argument with "-".
    ...[":", "-oProxyCommand:443", "_:443", "a:0", "::::", "[]:443"].map((addr) => ({ server_version: "17.5.1", proxy: { ssh: { public_addr: addr } } })),
    { server_version: "17.5.1", proxy: { ssh: { ssh_public_addr: "-x:3023" } } },
  ];
  for (const body of bad) {
    assert.throws(() => parsePing(body, "p:443", "https://p/webapi/find"), (e: unknown) => e instanceof TshupError && e.exitCode === 4, JSON.stringify(body));
  }
  const gold = parsePing({ server_version: "17.5.1", edition: "gold" }, "p:443", "u");
  assert.equal(gold.edition, "community", "an edition tshup does not know is treated as community, as tsh does");
  assert.match(gold.notes[0]!, /edition is "gold", which tshup does not know; installing the community tsh/);
  const off = parsePing({ server_version: "17.5.1", auto_update: { tools_auto_update: false, tools_version: "17.4.0" } }, "p", "u");
  assert.equal(off.target, "17.5.1", "tools_version counts only when tools_auto_update is on");
  const empty = parsePing({ server_version: "17.5.1", auto_update: { tools_auto_update: true, tools_version: "" } }, "p", "u");
  assert.equal(empty.target, "17.5.1");
  assert.equal(parsePing({ server_version: "17.5.1", fips: true }, "p", "u").edition, "ent");
  const v6 = parsePing({ server_version: "17.5.1", proxy: { ssh: { public_addr: "[::1]:443", ssh_public_addr: "[::1]:3023" } } }, "p", "u");
  assert.equal(v6.webPublicAddr, "[::1]:443");
  assert.equal(v6.sshPublicAddr, "[::1]:3023");
  assert.equal(parsePing({ server_version: "17.5.1", proxy: { ssh: { public_addr: "Jump.Example.org" } } }, "p", "u").webPublicAddr, "jump.example.org:443");
});

test("proxy addresses in every accepted form", () => {
  assert.equal(parseProxyAddress("teleport.example.com").addr, "teleport.example.com:443");
  assert.equal(parseProxyAddress("teleport.example.com:3080").url, "https://teleport.example.com:3080");
  assert.equal(parseProxyAddress("https://Teleport.Example.com:8443/").addr, "teleport.example.com:8443");
  assert.equal(parseProxyAddress("https://teleport.example.com").addr, "teleport.example.com:443");
  assert.equal(parseProxyAddress("127.0.0.1:4443").addr, "127.0.0.1:4443");
  assert.equal(parseProxyAddress("[::1]:4443").url, "https://[::1]:4443");
  for (const bad of ["", "http://t.example.com", "t.example.com:99999", "t.example.com:abc", "t.example.com/path", "user@host", "https://t.example.com/webapi", "a b"]) {
    assert.throws(() => parseProxyAddress(bad), (e: unknown) => e instanceof TshupError && e.exitCode === 2, bad);
  }
});

test("HTTP proxies and NO_PROXY as curl reads them", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  const u = new URL("https://cdn.teleport.dev/x");
  assert.equal(proxyForUrl(u, env({ HTTPS_PROXY: "proxy:3128" })), "http://proxy:3128");
  assert.equal(proxyForUrl(u, env({ https_proxy: "http://a:1", HTTPS_PROXY: "http://b:2" })), "http://a:1");
  assert.equal(proxyForUrl(u, env({ HTTP_PROXY: "http://p:1" })), null, "http_proxy is not for https URLs");
  assert.equal(proxyForUrl(new URL("http://mirror.local/x"), env({ http_proxy: "http://p:1" })), "http://p:1");
  assert.equal(proxyForUrl(u, env({ HTTPS_PROXY: "http://p:1", NO_PROXY: "teleport.dev" })), null);
  assert.equal(proxyForUrl(u, env({ HTTPS_PROXY: "http://p:1", no_proxy: ".teleport.dev" })), null);
  assert.equal(proxyForUrl(u, env({ HTTPS_PROXY: "http://p:1", NO_PROXY: "*" })), null);
  assert.ok(bypassesProxy("127.0.0.1", "8443", "localhost,127.0.0.1"));
  assert.ok(bypassesProxy("a.b.example.com", "443", "example.com:443"));
  assert.ok(!bypassesProxy("a.b.example.com", "8443", "example.com:443"));
  assert.ok(!bypassesProxy("notexample.com", "443", "example.com"));
  assert.ok(!bypassesProxy("example.com", "443", ""));
});

test("a proxy variable that is no HTTP proxy URL is a usage error naming the variable, its password hidden", () => {
  const env = (vars: Record<string, string>) => (n: string) => vars[n];
  const u = new URL("https://cdn.teleport.dev/x");
  const refused = (vars: Record<string, string>, message: RegExp) =>
    assert.throws(
      () => proxyForUrl(u, env(vars)),
      (err: unknown) => err instanceof TshupError && err.code === "usage" && message.test(err.message) && !err.message.includes("s3cret") && /HTTPS?_PROXY|https?_proxy/.test(err.hint ?? ""),
    );
  refused({ HTTPS_PROXY: "http://" }, /^HTTPS_PROXY is not a proxy URL: http:\/\/$/);
  refused({ https_proxy: "http://alice:s3cret@[::1" }, /^https_proxy is not a proxy URL: http:\/\/alice:\*\*\*@\[::1$/);
  refused({ HTTPS_PROXY: "socks5://alice:s3cret@127.0.0.1:1080" }, /^HTTPS_PROXY names a socks5 proxy \(socks5:\/\/alice:\*\*\*@127\.0\.0\.1:1080\); tshup speaks to HTTP and HTTPS proxies only$/);
  refused({ HTTPS_PROXY: "http://alice:s3cret/x@127.0.0.1:3128" }, /^HTTPS_PROXY is not a proxy URL: http:\/\/alice:\*\*\*@127\.0\.0\.1:3128$/);
  refused({ HTTPS_PROXY: "http://alice:50%s3cret@127.0.0.1:3128" }, /^HTTPS_PROXY has a user or password that is not percent-encoded: http:\/\/alice:\*\*\*@127\.0\.0\.1:3128$/);
  assert.equal(proxyForUrl(u, env({ HTTPS_PROXY: "socks5://127.0.0.1:1080", NO_PROXY: "cdn.teleport.dev" })), null, "a bypassed host never looks at the variable");
  for (const [raw, shown] of [
    ["alice:s3cret/x@proxy:3128", "alice:***@proxy:3128"],
    ["http://alice:s3@cr/et@proxy:3128", "http://alice:***@proxy:3128"],
    ["http://alice@proxy:3128/", "http://alice@proxy:3128"],
    ["http://proxy:3128", "http://proxy:3128"],
  ]) {
    assert.equal(redactProxy(raw!), shown, raw);
  }
});

test("archive members: only the wanted tools, never unsafe names", () => {
  assert.deepEqual(classifyTarMember("teleport/tsh", ["tsh"]), { kind: "wanted", dest: "tsh", tool: "tsh" });
  assert.deepEqual(classifyTarMember("teleport-ent/tsh", ["tsh"]), { kind: "wanted", dest: "tsh", tool: "tsh" });
  assert.deepEqual(classifyTarMember("./teleport/tsh", ["tsh"]), { kind: "wanted", dest: "tsh", tool: "tsh" });
  assert.deepEqual(classifyTarMember("teleport/tctl", ["tsh"]), { kind: "skip" });
  assert.deepEqual(classifyTarMember("teleport/tctl", ["tsh", "tctl"]), { kind: "wanted", dest: "tctl", tool: "tctl" });
  assert.deepEqual(classifyTarMember("teleport/tsh.app/Contents/MacOS/tsh", ["tsh"]), { kind: "wanted", dest: "tsh.app/Contents/MacOS/tsh", tool: "tsh" });
  assert.deepEqual(classifyTarMember("teleport/tsh.app/Contents/Info.plist", ["tsh"]), { kind: "wanted", dest: "tsh.app/Contents/Info.plist", tool: null });
  assert.deepEqual(classifyTarMember("teleport/examples/tsh", ["tsh"]), { kind: "skip" });
  assert.deepEqual(classifyTarMember("teleport", ["tsh"]), { kind: "skip" });
  for (const bad of ["/etc/passwd", "teleport/../../evil", "..", "teleport/tsh.app/../../x", "C:/x", "\\\\server\\share", "teleport\\..\\..\\x"]) {
    assert.equal(classifyTarMember(bad, ["tsh"]).kind, "unsafe", bad);
  }
  assert.deepEqual(classifyZipMember("tsh.exe", ["tsh"]), { kind: "wanted", dest: "tsh.exe", tool: "tsh" });
  assert.deepEqual(classifyZipMember("teleport/tsh.exe", ["tsh"]), { kind: "wanted", dest: "tsh.exe", tool: "tsh" });
  assert.deepEqual(classifyZipMember("TSH.EXE", ["tsh"]), { kind: "wanted", dest: "tsh.exe", tool: "tsh" });
  assert.deepEqual(classifyZipMember("tctl.exe", ["tsh"]), { kind: "skip" });
  assert.equal(classifyZipMember("../tsh.exe", ["tsh"]).kind, "unsafe");
});

test("retry rule and backoff", () => {
  for (const s of [408, 429, 500, 502, 503, 504]) assert.ok(isRetryableStatus(s), String(s));
  for (const s of [200, 206, 400, 401, 403, 404, 416]) assert.ok(!isRetryableStatus(s), String(s));
  assert.equal(retryDelayMs(0, "3", 0.5, 0), 3000);
  assert.equal(retryDelayMs(0, new Date(10_000).toUTCString(), 0.5, 5_000), 5000);
  assert.equal(retryDelayMs(0, "100000", 0.5, 0), 60_000, "Retry-After is capped");
  const d = retryDelayMs(3, undefined, 0, 0);
  assert.ok(d >= 1000 && d <= 2000, String(d));
});

test("the one retry loop: retried answers and failures, each retry told once, the last answer or failure kept", async () => {
  const notices: RetryNotice[] = [];
  const policy = { retries: 2, random: () => 0.5, now: () => 0, sleep: async () => {}, onRetry: (n: RetryNotice) => notices.push(n) };
  const statuses = [503, 429, 200];
  const answer = await retrying(policy, "https://x/a", async (n) => ({ status: statuses[n]! }), (a) => ({ status: a.status }));
  assert.equal(answer.status, 200);
  assert.deepEqual(notices.map((n) => [n.attempt, n.attempts, n.reason]), [[2, 3, "HTTP 503"], [3, 3, "HTTP 429"]]);
  notices.length = 0;
  assert.equal((await retrying(policy, "https://x/b", async () => ({ status: 502 }), (a) => a)).status, 502, "spent: the last answer as it is");
  assert.equal(notices.length, 2);
  notices.length = 0;
  const refused = Object.assign(new Error("connect ECONNREFUSED"), { retryCode: "ECONNREFUSED" });
  await assert.rejects(retrying(policy, "https://x/c", async () => Promise.reject(refused)), refused);
  assert.deepEqual(notices.map((n) => n.reason), ["connection refused", "connection refused"]);
  notices.length = 0;
  const late = Object.assign(new Error("HTTP 503"), { retryStatus: 503, retryAfter: "7" });
  await assert.rejects(retrying(policy, "https://x/d", async () => Promise.reject(late)), late);
  assert.deepEqual(notices.map((n) => n.delayMs), [7000, 7000], "a failure's Retry-After is honoured");
  notices.length = 0;
  const forbidden = Object.assign(new Error("HTTP 403"), { retryStatus: 403, status: 503 });
  await assert.rejects(retrying(policy, "https://x/e", async () => Promise.reject(forbidden)), forbidden);
  assert.equal(notices.length, 0, "a 403 is not retried, whatever else the error carries");
});

test("ping bodies as several Teleport versions send them", async () => {
  const { readFileSync } = await import("node:fs");
  const body = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/ping/${name}`, import.meta.url), "utf8"));
  const table: [string, Partial<ClusterInfo>][] = [
    ["v12.1.5-ping.json", { serverVersion: "12.1.5", minClientVersion: "11.0.0", toolsVersion: null, edition: "community", target: "12.1.5", tlsRouting: true }],
    ["v14.3.3-ping.json", { serverVersion: "14.3.3", minClientVersion: "13.0.0", sshPublicAddr: "teleport.example.com:3023", tlsRouting: false, target: "14.3.3" }],
    ["v16.4.12-ping.json", { serverVersion: "16.4.12", minClientVersion: "15.0.0-aa", toolsVersion: null, target: "16.4.12", edition: "community" }],
    ["v17.4.8-ent-fips-ping.json", { cluster: "corp-prod", edition: "ent", fips: true, target: "17.4.8", sshPublicAddr: "teleport.corp.example.com:3023" }],
    ["v17.5.1-community-find.json", { serverVersion: "17.5.1", minClientVersion: "16.0.0-aa", webPublicAddr: "teleport.example.com:443", target: "17.5.1" }],
    ["v18.1.4-tools-auto-update-find.json", { serverVersion: "18.1.4", toolsVersion: "18.1.1", target: "18.1.1", edition: "ent" }],
  ];
  for (const [file, expected] of table) {
    const info = parsePing(body(file), "p:443", "u");
    for (const [k, v] of Object.entries(expected)) assert.deepEqual((info as any)[k], v, `${file}: ${k}`);
  }
  assert.throws(() => parsePing(body("error-not-found.json"), "p:443", "u"), (e: unknown) => e instanceof TshupError && e.exitCode === 4);
});

test("the progress line fits every width, dropping figures before it wraps", () => {
  const label = "Downloading teleport-ent-v17.5.1-linux-amd64-fips-bin.tar.gz";
  for (let columns = 10; columns <= 200; columns++) {
    for (const [received, total, rate] of [[0, 8e6, 0], [3.4e6, 8e6, 1.9e6], [8e6, 8e6, 20e6], [123456, null, 5e5]] as const) {
      const { text, filled } = progressLine(label, received, total, rate, columns);
      assert.ok(text.length < columns, `${columns}: ${JSON.stringify(text)}`);
      if (columns >= 16) assert.match(text, total ? /\d+%/ : /\d+(\.\d)? (B|KB|MB)/, `${columns}: ${text}`);
      if (filled) assert.match(text.slice(...filled), /^#*$/);
    }
  }
  assert.equal(progressLine(label, 3.4e6, 8e6, 1.9e6, 200).text, `${label} [#############-----------------]  42% 3.2/7.6 MB   1.8 MB/s ETA  3s`);
  assert.equal(progressLine(label, 3.4e6, 8e6, 1.9e6, 40).text, "Downloading teleport… [####------]  42%");
});

test("a proxy address pasted from the browser keeps its scheme, host and port", () => {
  const cases: [string, string, string][] = [
    ["https://teleport.example.com/web/login", "teleport.example.com:443", "/web/login"],
    ["https://Teleport.Example.com:3080/web/cluster/x/nodes?q=1#top", "teleport.example.com:3080", "/web/cluster/x/nodes?q=1#top"],
    ["https://[::1]:3080/web", "[::1]:3080", "/web"],
    ["https://teleport.example.com/", "teleport.example.com:443", ""],
    ["teleport.example.com:3080", "teleport.example.com:3080", ""],
  ];
  for (const [input, addr, dropped] of cases) assert.deepEqual([proxyFromBrowser(input).address.addr, proxyFromBrowser(input).dropped], [addr, dropped], input);
  for (const bad of ["http://teleport.example.com/web/login", "https://alice@teleport.example.com/web", "teleport.example.com/web"]) {
    assert.throws(() => proxyFromBrowser(bad), TshupError, bad);
  }
});

test("compareVersions and major agree with the semver package on every pair of a varied set", () => {
  const cores = ["0.0.0", "1.2.3", "1.10.0", "1.9.9", "17.5.1", "17.5.10", "18.0.0", "9007199254740991.0.0"];
  const pres = ["", "-aa", "-alpha", "-alpha.1", "-alpha.beta", "-alpha.10", "-alpha.2", "-beta", "-beta.2", "-rc.1", "-rc.11", "-0", "-1", "-10", "-x-y", "-1a", "-A", "-a"];
  const builds = ["", "+build.1", "+ab"];
  const versions = cores.flatMap((c) => pres.flatMap((p) => builds.map((b) => `${c}${p}${b}`)));
  assert.ok(versions.every((v) => isStrictVersion(v) && semver.valid(v) !== null));
  for (const a of versions) {
    assert.equal(major(a), semver.major(a), a);
    for (const b of versions) assert.equal(compareVersions(a, b), semver.compare(a, b), `${a} vs ${b}`);
  }
  assert.throws(() => compareVersions("v1.2.3", "1.2.3"), /Invalid Version/);
  assert.throws(() => major("1.2"), /Invalid Version/);
});

test("the summary's first line and status's action say what the plan changes, no more", () => {
  const primary = { id: "17.5.1", version: "17.5.1", clusters: ["main"], alias: null };
  const legacy = { id: "16.4.3", version: "16.4.3", clusters: ["legacy"], alias: "tsh-legacy" };
  const base: PlanFacts = {
    groups: [primary],
    installed: [{ id: "17.5.1", version: "17.5.1", hasTools: true }],
    active: { id: "17.5.1", version: "17.5.1" },
    tools: { wanted: ["tsh"], linked: ["tsh"] },
    aliases: {},
    rememberedAliases: [],
    path: [],
    config: [],
    settings: [],
    adopt: false,
    keep: 3,
    force: false,
  };
  const plan = (over: Partial<PlanFacts>) => makePlan({ ...base, ...over });
  assert.equal(changeHeadline(plan({ installed: [], active: null }), null), "tsh 17.5.1 installed");
  assert.equal(changeHeadline(plan({ installed: [], active: { id: "17.4.2", version: "17.4.2" } }), "17.4.2"), "tsh 17.5.1 installed (was 17.4.2)");
  assert.equal(changeHeadline(plan({ active: { id: "17.4.2", version: "17.4.2" } }), "17.4.2"), "tsh 17.5.1 active again (was 17.4.2)");
  assert.equal(changeHeadline(plan({ force: true }), "17.5.1"), "tsh 17.5.1 reinstalled");
  const lacking = plan({ installed: [{ id: "17.5.1", version: "17.5.1", hasTools: false }], tools: { wanted: ["tsh", "tctl"], linked: ["tsh"] } });
  assert.equal(changeHeadline(lacking, "17.5.1"), "tsh 17.5.1 reinstalled; tctl put in bin");
  assert.equal(pendingWork(lacking), "install tsh 17.5.1 again (a tool asked for is missing from it), update the tools in bin");
  const narrowed = plan({ tools: { wanted: ["tsh"], linked: ["tsh", "tctl"] } });
  assert.equal(changeHeadline(narrowed, "17.5.1"), "tsh 17.5.1 kept; tctl taken out of bin");
  assert.equal(pendingWork(narrowed), "update the tools in bin");
  assert.equal(changeHeadline(plan({ settings: ["the Teleport user alice"] }), "17.5.1"), "tsh 17.5.1 kept; its setup brought up to date");
  const split = plan({ groups: [primary, legacy] });
  assert.equal(changeHeadline(split, "17.5.1"), "tsh 17.5.1 kept; tsh 16.4.3 installed for tsh-legacy");
  assert.equal(pendingWork(split), "install tsh 16.4.3 for tsh-legacy, update aliases");
  const rejoined = plan({ aliases: { "tsh-legacy": "16.4.3" }, rememberedAliases: ["tsh-legacy"] });
  assert.equal(changeHeadline(rejoined, "17.5.1"), "tsh 17.5.1 kept; tsh-legacy removed");
  assert.equal(pendingWork(rejoined), "update aliases");
});
