import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import net from "node:net";
import tls from "node:tls";
import os from "node:os";
import path from "node:path";
import { freePort, startStandin, type Standin, type StandinProxy } from "./support/standin.js";
import { cliVariants, makeHome, runCli } from "./support/cli.js";
import { requireTool } from "./support/tools.js";
import { issueServerCert, makeTestCA } from "./support/ca.js";

const VERSION = "17.5.1";
const ARTIFACT = `teleport-v${VERSION}-linux-amd64-bin.tar.gz`;

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

interface Tinyproxy {
  url: string;
  /** The log lines tinyproxy wrote for client requests (`CONNECT host:port ...`, `GET http://...`). */
  requestsSince(mark: number): Promise<string[]>;
  /** A mark for requestsSince: the log's current length. */
  mark(): Promise<number>;
  stop(): Promise<void>;
}

/** A real tinyproxy in the foreground on a loopback port, with its own config, log and pid file. */
async function startTinyproxy(extraConfig: string[] = []): Promise<Tinyproxy> {
  const program = requireTool("tinyproxy", "tinyproxy");
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-tinyproxy-"));
  const port = await freePort();
  const log = path.join(dir, "tinyproxy.log");
  // No ConnectPort line: tinyproxy 1.11 then allows CONNECT to every port (with any ConnectPort
  // line only the listed ones), and the stand-in's ports are random.
  await fsp.writeFile(
    path.join(dir, "tinyproxy.conf"),
    [
      `Port ${port}`,
      "Listen 127.0.0.1",
      "Allow 127.0.0.1",
      "Timeout 60",
      "MaxClients 100",
      "LogLevel Connect",
      `LogFile "${log}"`,
      `PidFile "${path.join(dir, "tinyproxy.pid")}"`,
      ...extraConfig,
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn(program, ["-d", "-c", path.join(dir, "tinyproxy.conf")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // Readiness, not timing: wait until it accepts connections (or has died).
  for (let i = 0; !(await canConnect(port)); i++) {
    if (child.exitCode !== null || i > 200) {
      child.kill("SIGKILL");
      throw new Error(`tinyproxy did not start on 127.0.0.1:${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const read = async () => {
    try {
      return await fsp.readFile(log, "utf8");
    } catch {
      return "";
    }
  };
  return {
    url: `http://127.0.0.1:${port}`,
    mark: async () => (await read()).length,
    async requestsSince(mark) {
      return (await read())
        .slice(mark)
        .split("\n")
        .map((l) => /Request \(file descriptor \d+\): (.*)$/.exec(l)?.[1])
        .filter((l): l is string => l !== undefined);
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * TLS in front of a plain proxy, so that it is reached with an https:// proxy URL. Its certificate,
 * for localhost and 127.0.0.1, comes from the tests' CA, which a run trusts only when told to.
 */
async function startTlsFront(plainProxyUrl: string): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-tls-front-"));
  const cert = issueServerCert(await makeTestCA(dir), ["localhost"], ["127.0.0.1"]);
  const upstream = new URL(plainProxyUrl);
  const open = new Set<net.Socket>();
  const server = tls.createServer({ cert: cert.certPem, key: cert.keyPem }, (clear) => {
    const up = net.connect(Number(upstream.port), upstream.hostname);
    const end = () => {
      clear.destroy();
      up.destroy();
    };
    for (const s of [clear, up]) {
      open.add(s);
      s.on("error", end);
      s.on("close", () => {
        open.delete(s);
        end();
      });
    }
    clear.pipe(up);
    up.pipe(clear);
  });
  // A client that fails the handshake never reaches the handler above.
  server.on("connection", (raw: net.Socket) => {
    open.add(raw);
    raw.on("close", () => open.delete(raw));
  });
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    async stop() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A CONNECT proxy that misbehaves in one way: `junk-after-200` answers 200 with stray bytes after
 * its headers and then tunnels; `drip` sends a 200 status line and then a header line every 300 ms,
 * never ending its answer.
 */
async function startScriptedProxy(mode: "junk-after-200" | "drip"): Promise<{ url: string; stop(): Promise<void> }> {
  const open = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = net.createServer((client) => {
    open.add(client);
    client.on("close", () => open.delete(client));
    client.on("error", () => {});
    client.once("data", (request) => {
      const target = /^CONNECT (\S+):(\d+) /.exec(request.toString("latin1"));
      if (!target) return client.destroy();
      if (mode === "drip") {
        client.write("HTTP/1.1 200 OK\r\n");
        const timer = setInterval(() => client.write("X-Waiting: yes\r\n"), 300);
        timers.add(timer);
        client.on("close", () => clearInterval(timer));
        return;
      }
      const upstream = net.connect(Number(target[2]), target[1]!.replace(/^\[|\]$/g, ""), () => {
        client.write("HTTP/1.1 200 Connection established\r\n\r\nJUNK");
        client.pipe(upstream);
        upstream.pipe(client);
      });
      open.add(upstream);
      upstream.on("close", () => {
        open.delete(upstream);
        client.destroy();
      });
      upstream.on("error", () => client.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    async stop() {
      for (const t of timers) clearInterval(t);
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const PROXY_VARS = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"];

for (const variant of cliVariants()) {
  describe(`HTTP proxies through a real tinyproxy (${variant.name})`, () => {
    let standin: Standin;
    let proxy: StandinProxy;
    let tp: Tinyproxy;
    /** The same, asking for a user and password (BasicAuth). */
    let authTp: Tinyproxy;
    let cdnPort: string;
    let cdnHttpPort: string;
    /** tinyproxy behind TLS: HTTPS_PROXY=https://... */
    let front: { port: number; stop(): Promise<void> };

    before(async () => {
      standin = await startStandin();
      proxy = await standin.addProxy({ cluster: "example", serverVersion: VERSION });
      await standin.addArtifact({ version: VERSION, os: "linux", arch: "amd64", edition: "community" });
      cdnPort = new URL(standin.cdnUrl).port;
      cdnHttpPort = new URL(standin.cdnHttpUrl).port;
      tp = await startTinyproxy();
      authTp = await startTinyproxy(["BasicAuth alice s3cret"]);
      front = await startTlsFront(tp.url);
    });
    after(async () => {
      await front?.stop();
      await tp?.stop();
      await authTp?.stop();
      await standin?.close();
    });

    /**
     * An install into a fresh home with exactly the proxy variables given (none inherited). With
     * `trustOnlyByFlag`, the tests' CA is not in NODE_EXTRA_CA_CERTS: only a --ca-file makes it trusted.
     */
    async function install(proxyEnv: Record<string, string>, args: string[] = [], opts: { trustOnlyByFlag?: boolean } = {}) {
      assert.ok(Object.keys(proxyEnv).every((k) => PROXY_VARS.includes(k)));
      const h = await makeHome("tshup-proxy-");
      const { NODE_EXTRA_CA_CERTS, ...withoutExtraCAs } = standin.env;
      try {
        const r = await runCli(variant, ["--proxy", proxy.addr, "--json", "--no-modify-path", "--no-config", ...args], {
          env: { ...h.env, ...(opts.trustOnlyByFlag ? withoutExtraCAs : { ...withoutExtraCAs, NODE_EXTRA_CA_CERTS }), ...proxyEnv },
        });
        if (r.code === 0) assert.ok(fs.existsSync(path.join(h.home, ".local", "share", "tshup", "bin", "tsh")));
        return r;
      } finally {
        await h.cleanup();
      }
    }

    test("HTTPS_PROXY: the proxy query and the CDN download go through CONNECT", async () => {
      for (const name of ["HTTPS_PROXY", "https_proxy"]) {
        const mark = await tp.mark();
        standin.clearRequests();
        const r = await install({ [name]: tp.url });
        assert.equal(r.code, 0, `${name}: ${r.stderr}`);
        assert.equal(r.json.version, VERSION);
        const seen = await tp.requestsSince(mark);
        assert.ok(seen.includes(`CONNECT 127.0.0.1:${proxy.port} HTTP/1.1`), `${name}: the proxy query tunnels through tinyproxy: ${seen.join(" | ")}`);
        assert.ok(seen.includes(`CONNECT 127.0.0.1:${cdnPort} HTTP/1.1`), `${name}: the CDN download tunnels through tinyproxy: ${seen.join(" | ")}`);
        assert.ok(seen.every((l) => l.startsWith("CONNECT ")), "https is never sent to the proxy in the clear");
        assert.ok(standin.requests.some((q) => q.server === "cdn" && q.path === `/${ARTIFACT}` && q.status === 200));
      }
    });

    test("HTTP_PROXY: an http:// mirror is fetched with plain proxied GETs (install and tshup mirror)", async () => {
      const mark = await tp.mark();
      standin.clearRequests();
      const r = await install({ HTTP_PROXY: tp.url }, ["--cdn-url", standin.cdnHttpUrl, "--allow-http-mirror"]);
      assert.equal(r.code, 0, r.stderr);
      const seen = await tp.requestsSince(mark);
      assert.ok(seen.includes(`GET http://127.0.0.1:${cdnHttpPort}/${ARTIFACT}.sha256 HTTP/1.1`), seen.join(" | "));
      assert.ok(seen.includes(`GET http://127.0.0.1:${cdnHttpPort}/${ARTIFACT} HTTP/1.1`), seen.join(" | "));
      assert.ok(!seen.some((l) => l.startsWith("CONNECT ")), "HTTP_PROXY does not apply to the https proxy query");
      const viaProxy = standin.requests.filter((q) => q.server === "cdn" && q.scheme === "http");
      assert.ok(viaProxy.length >= 2 && viaProxy.every((q) => /tinyproxy/i.test(String(q.headers.via))), "the CDN saw the requests arrive through tinyproxy");

      const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-proxy-mirror-"));
      try {
        const mark2 = await tp.mark();
        const h = await makeHome("tshup-proxy-");
        const m = await runCli(variant, ["mirror", dir, "--version", VERSION, "--platforms", "linux-amd64", "--cdn-url", standin.cdnHttpUrl, "--allow-http-mirror", "--json"], {
          env: { ...h.env, http_proxy: tp.url },
        });
        await h.cleanup();
        assert.equal(m.code, 0, m.stderr);
        assert.deepEqual(m.json.mirror.artifacts.map((a: any) => a.status), ["done"]);
        const seen2 = await tp.requestsSince(mark2);
        assert.ok(seen2.includes(`GET http://127.0.0.1:${cdnHttpPort}/${ARTIFACT} HTTP/1.1`), `http_proxy (lower case) is honoured: ${seen2.join(" | ")}`);
      } finally {
        await fsp.rm(dir, { recursive: true, force: true });
      }
    });

    test("NO_PROXY bypasses the proxy (upper and lower case)", async () => {
      const dead = `http://127.0.0.1:${await freePort()}`;
      for (const [proxyVar, noProxyVar] of [["HTTPS_PROXY", "NO_PROXY"], ["https_proxy", "no_proxy"]] as const) {
        const mark = await tp.mark();
        const r = await install({ [proxyVar]: tp.url, [noProxyVar]: "127.0.0.1" });
        assert.equal(r.code, 0, `${noProxyVar}: ${r.stderr}`);
        assert.deepEqual(await tp.requestsSince(mark), [], `${noProxyVar}: tinyproxy saw nothing`);
        // The same with a proxy that does not exist: only a real bypass can succeed.
        const viaDead = await install({ [proxyVar]: dead, [noProxyVar]: "localhost,127.0.0.1" });
        assert.equal(viaDead.code, 0, `${noProxyVar} with a dead proxy: ${viaDead.stderr}`);
      }
    });

    test("a dead proxy: exit 4 naming the proxy URL, for the proxy query and for the download", async () => {
      const dead = `http://127.0.0.1:${await freePort()}`;
      const query = await install({ HTTPS_PROXY: dead });
      assert.equal(query.code, 4, query.stderr);
      assert.equal(query.json.error.code, "network");
      assert.ok(query.json.error.message.includes(dead), query.json.error.message);
      assert.match(query.json.error.message, /webapi/);
      assert.match(query.json.error.hint, /HTTPS_PROXY/);

      // The proxy query goes direct (no HTTPS_PROXY); the http:// download meets the dead proxy.
      const download = await install({ HTTP_PROXY: dead }, ["--cdn-url", standin.cdnHttpUrl, "--allow-http-mirror"]);
      assert.equal(download.code, 4, download.stderr);
      assert.ok(download.json.error.message.includes(dead), download.json.error.message);
      assert.ok(download.json.error.message.includes(standin.cdnHttpUrl), download.json.error.message);
    });

    test("an https:// proxy: its certificate is checked against --ca-file, for CONNECT and for plain GETs", async () => {
      const mark = await tp.mark();
      const byName = `https://localhost:${front.port}`;
      const byIp = `https://127.0.0.1:${front.port}`;
      const tunnel = await install({ HTTPS_PROXY: byName }, ["--ca-file", standin.caFile], { trustOnlyByFlag: true });
      assert.equal(tunnel.code, 0, tunnel.stderr);
      const plain = await install({ HTTP_PROXY: byIp }, ["--ca-file", standin.caFile, "--cdn-url", standin.cdnHttpUrl, "--allow-http-mirror"], { trustOnlyByFlag: true });
      assert.equal(plain.code, 0, plain.stderr);
      for (const r of [tunnel, plain]) assert.ok(!/Warning|DEP0123/.test(r.stderr), `no Node warning (an IP address is not sent as a TLS name): ${r.stderr}`);
      const seen = await tp.requestsSince(mark);
      assert.ok(seen.includes(`CONNECT 127.0.0.1:${cdnPort} HTTP/1.1`), seen.join(" | "));
      assert.ok(seen.includes(`GET http://127.0.0.1:${cdnHttpPort}/${ARTIFACT} HTTP/1.1`), seen.join(" | "));

      const untrusted = await install({ HTTPS_PROXY: byName }, [], { trustOnlyByFlag: true });
      assert.equal(untrusted.code, 4, untrusted.stderr);
      assert.match(untrusted.json.error.message, /^TLS verification failed for the HTTP proxy https:\/\/localhost:\d+ \(on the way to https:\/\/127\.0\.0\.1:\d+\/webapi\/find\): /);
      assert.match(untrusted.json.error.hint, /--ca-file/);
      const insecure = await install({ HTTPS_PROXY: byName }, ["--insecure"], { trustOnlyByFlag: true });
      assert.equal(insecure.code, 4, "--insecure is for the Teleport proxy, never the HTTP proxy");
      assert.match(insecure.json.error.message, /TLS verification failed for the HTTP proxy/);
    });

    test("a proxy variable tshup cannot use (SOCKS, not a URL): exit 2 naming the variable, nothing asked", async () => {
      const asked = standin.requests.length;
      for (const [value, message] of [
        ["socks5://alice:s3cret@127.0.0.1:1080", /^HTTPS_PROXY names a socks5 proxy \(socks5:\/\/alice:\*\*\*@127\.0\.0\.1:1080\)/],
        ["http://", /^HTTPS_PROXY is not a proxy URL/],
      ] as const) {
        const r = await install({ HTTPS_PROXY: value });
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.json.error.code, "usage");
        assert.match(r.json.error.message, message);
        assert.match(r.json.error.hint, /HTTPS_PROXY/);
        assert.ok(!`${r.stdout}${r.stderr}`.includes("s3cret"), "the password is never printed");
      }
      assert.equal(standin.requests.length, asked, "no request was made");
    });

    test("a CONNECT answer with stray bytes after it still tunnels; one that never ends is cut off", async (t) => {
      const junk = await startScriptedProxy("junk-after-200");
      t.after(() => junk.stop());
      const tunnelled = await install({ HTTPS_PROXY: junk.url });
      assert.equal(tunnelled.code, 0, tunnelled.stderr);

      const drip = await startScriptedProxy("drip");
      t.after(() => drip.stop());
      const started = Date.now();
      const cut = await install({ HTTPS_PROXY: drip.url }, ["--timeout", "1"]);
      assert.equal(cut.code, 4, cut.stderr);
      assert.match(cut.json.error.message, /through the HTTP proxy http:\/\/127\.0\.0\.1:\d+: the proxy did not complete its answer to CONNECT within 1 s/);
      assert.ok(Date.now() - started < 30_000, `ended after ${Date.now() - started} ms`);
    });

    test("a proxy that wants a password: credentials in the URL work; a refusal names the proxy and is not retried", async () => {
      const withUser = (password: string) => authTp.url.replace("http://", `http://alice:${password}@`);
      let mark = await authTp.mark();
      const tunnel = await install({ HTTPS_PROXY: withUser("s3cret") });
      assert.equal(tunnel.code, 0, tunnel.stderr);
      const plain = await install({ HTTP_PROXY: withUser("s3cret") }, ["--cdn-url", standin.cdnHttpUrl, "--allow-http-mirror"]);
      assert.equal(plain.code, 0, plain.stderr);
      const seen = await authTp.requestsSince(mark);
      assert.ok(seen.includes(`CONNECT 127.0.0.1:${cdnPort} HTTP/1.1`), seen.join(" | "));
      assert.ok(seen.includes(`GET http://127.0.0.1:${cdnHttpPort}/${ARTIFACT} HTTP/1.1`), seen.join(" | "));

      const none = await install({ HTTPS_PROXY: authTp.url });
      assert.equal(none.code, 4, none.stderr);
      assert.match(none.json.error.message, /the HTTP proxy http:\/\/127\.0\.0\.1:\d+ refused https:\/\/127\.0\.0\.1:\d+\/webapi\/find: HTTP 407, proxy authentication required/);
      assert.match(none.json.error.hint, /HTTPS_PROXY=http:\/\/user:password@/);

      mark = await authTp.mark();
      const wrong = await install({ HTTPS_PROXY: withUser("wrong-password") });
      assert.equal(wrong.code, 4, wrong.stderr);
      assert.ok(wrong.json.error.message.includes(`${authTp.url.replace("http://", "http://alice:***@")}`), wrong.json.error.message);
      assert.match(wrong.json.error.message, /authentication failed/);
      assert.ok(!`${wrong.stdout}${wrong.stderr}`.includes("wrong-password"), "the password is never printed");
      assert.equal((await authTp.requestsSince(mark)).length, 1, "a refusal is not retried");

      const plainNone = await install({ HTTP_PROXY: authTp.url }, ["--cdn-url", standin.cdnHttpUrl, "--allow-http-mirror"]);
      assert.equal(plainNone.code, 4, plainNone.stderr);
      assert.match(plainNone.json.error.message, /the HTTP proxy http:\/\/127\.0\.0\.1:\d+ refused http:\/\/127\.0\.0\.1:\d+\/\S+\.sha256: HTTP 407/);
    });
  });
}
