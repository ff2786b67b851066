import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import type http from "node:http";
import https from "node:https";
import tls from "node:tls";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { VERSION } from "../build-info.js";
import type { Host } from "../host.js";
import { builtin, envGet } from "../host.js";
import type { ProxyAgents } from "./proxyagents.js";
import { networkError, usageError } from "../core/errors.js";
import { readRegularFileSync } from "./fsx.js";
import { proxyForUrl, redactProxy } from "../core/proxyenv.js";
import { retrying, type Outcome, type RetryNotice, type RetryPolicy } from "../core/retry.js";

export interface HttpSettings {
  host: Host;
  caFile: string | null;
  timeoutMs: number;
  retries: number;
  /** Told of each retry before its wait. */
  onRetry?: (notice: RetryNotice) => void;
  /** One line per request made (--verbose). */
  log?: (line: string) => void;
}

export interface BufferedResponse {
  url: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface StreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Bytes still to come in this response, when known. */
  length: number | null;
  stream: Readable;
}

const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A response header's first value. */
export const header = (h: Record<string, string | string[] | undefined>, name: string) => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * The one way tshup talks to the network: trust, proxies, redirects, timeouts and the retry rule
 * live here. It sits on Node's own http and https: tshup only ever sends GETs and already owns
 * retries, Range resume and progress, and a client library's start-up would cost more than the
 * whole of a no-op run's budget.
 */
export class Http {
  /** Certificates trusted beyond Node's default store (bundled roots and NODE_EXTRA_CA_CERTS). */
  private added: string[];
  /**
   * NODE_EXTRA_CA_CERTS as read by tshup, on a Node whose store copies leave it out (see
   * contextTrusting); read with --ca-file, so that a bad file is exit 2 before any request.
   */
  private readonly nodeExtra: string[];
  /**
   * One TLS context for every request: passing `ca` builds a new one, with its whole root store,
   * per connection (8 ms a run with --ca-file, and again for each of several proxies).
   */
  private secureContext: tls.SecureContext | undefined;
  private withSystemStore = false;
  private readonly agentCache = new Map<string, ProxyAgents>();

  private readonly policy: RetryPolicy;

  constructor(private readonly settings: HttpSettings) {
    this.added = addedCAs(settings, false);
    const extra = envGet(settings.host, "NODE_EXTRA_CA_CERTS");
    this.nodeExtra = this.added.length > 0 && !tlsCertificates() && extra ? readPem(extra, "NODE_EXTRA_CA_CERTS") : [];
    const { host, retries, onRetry } = settings;
    this.policy = { retries, random: () => host.random(), now: () => host.now(), sleep: (ms) => sleep(ms), onRetry: onRetry ?? (() => {}) };
  }

  private context(): tls.SecureContext | undefined {
    if (this.added.length === 0) return undefined;
    this.secureContext ??= contextTrusting(this.added, this.nodeExtra);
    return this.secureContext;
  }

  /** How long a connection may stay silent (--timeout). */
  get idleTimeoutMs(): number {
    return this.settings.timeoutMs;
  }

  /**
   * GET with retries; returns the last answer (even an error status) once retries are spent. A
   * small answer also has an overall deadline (twice the idle timeout, at least 5 s), so a server
   * that drips a byte at a time cannot hold a run for ever.
   */
  async get(url: string, opts: { insecure?: boolean; maxBytes?: number } = {}): Promise<BufferedResponse> {
    const deadlineMs = Math.max(2 * this.settings.timeoutMs, 5_000);
    return this.retrying(
      url,
      async () => {
        const res = await this.open(url, { insecure: opts.insecure ?? false, offset: 0, deadlineMs });
        const body = await readAll(await decoded(res), opts.maxBytes ?? 4 * 1024 * 1024, url);
        return { url, status: res.status, headers: res.headers, body };
      },
      (r) => ({ status: r.status, retryAfter: header(r.headers, "retry-after") }),
    );
  }

  /** Runs `attempt` under the one retry rule and loop (core/retry.ts), with this run's policy. */
  retrying<T>(url: string, attempt: (n: number) => Promise<T>, answerOf?: (answer: T) => Outcome): Promise<T> {
    return retrying(this.policy, url, attempt, answerOf);
  }

  /** Opens one streaming GET (from `offset` with a Range request), following redirects; the caller decides on retries. */
  async open(url: string, opts: { offset: number; insecure?: boolean; deadlineMs?: number }): Promise<StreamResponse> {
    if (url.startsWith("file:")) {
      this.settings.log?.(`read ${url}${opts.offset > 0 ? ` from byte ${opts.offset}` : ""}`);
      return openFile(url, opts.offset);
    }
    let current = new URL(url);
    for (let hops = 0; ; hops++) {
      const res = await this.logged(current, opts);
      const location = REDIRECTS.has(res.statusCode ?? 0) ? header(res.headers, "location") : undefined;
      if (location === undefined) {
        const declared = header(res.headers, "content-length");
        return {
          status: res.statusCode ?? 0,
          headers: res.headers,
          length: declared !== undefined && Number.isFinite(Number(declared)) ? Number(declared) : null,
          stream: res,
        };
      }
      res.destroy();
      current = redirectTarget(url, current, location, hops);
    }
  }

  /** A request, and for --verbose the line that says what was asked, what came back and how long it took. */
  private async logged(target: URL, opts: { offset: number; insecure?: boolean; deadlineMs?: number }): Promise<http.IncomingMessage> {
    const log = this.settings.log;
    if (!log) return this.request(target, opts);
    const started = this.settings.host.now();
    const asked = `GET ${target.href}${opts.offset > 0 ? ` from byte ${opts.offset}` : ""}`;
    const took = () => `${this.settings.host.now() - started} ms`;
    try {
      const res = await this.request(target, opts);
      log(`${asked}: HTTP ${res.statusCode} (${took()})`);
      return res;
    } catch (err) {
      log(`${asked}: ${(err as Error).message} (${took()})`);
      throw err;
    }
  }

  private async request(target: URL, opts: { offset: number; insecure?: boolean; deadlineMs?: number }): Promise<http.IncomingMessage> {
    const url = target.href;
    const proxy = proxyForUrl(target, (n) => envGet(this.settings.host, n));
    const secure = target.protocol === "https:";
    const insecure = opts.insecure ?? false;
    let response: http.IncomingMessage;
    try {
      const agent = proxy ? (await this.proxyAgents(proxy, insecure))[secure ? "https" : "http"] : undefined;
      response = await new Promise<http.IncomingMessage>((resolve, reject) => {
        const options: https.RequestOptions = {
          headers: { "user-agent": `tshup/${VERSION}`, ...(opts.offset > 0 ? { range: `bytes=${opts.offset}-` } : {}) },
          ...(this.added.length === 0 ? {} : { secureContext: this.context() }),
          rejectUnauthorized: !insecure,
          ...(agent ? { agent } : {}),
        };
        // node:http is loaded for plain-http mirrors only: it costs 3 ms a run to load.
        const req = (secure ? https : builtin<typeof http>("node:http")).request(target, options);
        let res: http.IncomingMessage | null = null;
        // An idle socket for the whole timeout, in any phase (connect, TLS, waiting for the answer, a
        // stalled body), ends the request; a slow but moving download does not.
        req.setTimeout(this.settings.timeoutMs, () => {
          const err = Object.assign(new Error(`no answer for ${this.settings.timeoutMs / 1000} s`), { code: "ETIMEDOUT" });
          if (res) res.destroy(err);
          else req.destroy(err);
        });
        if (opts.deadlineMs !== undefined) {
          const seconds = Math.round(opts.deadlineMs / 1000);
          const deadline = setTimeout(() => {
            // Not retried: a server that drips its answer will drip it again.
            const err = Object.assign(new Error(`no complete answer within ${seconds} s`), { code: "EDEADLINE" });
            if (res) res.destroy(err);
            else {
              req.destroy(err);
              // A request still waiting for its socket (a proxy tunnel being set up) emits nothing
              // when destroyed.
              reject(err);
            }
          }, opts.deadlineMs);
          req.on("close", () => clearTimeout(deadline));
        }
        req.on("error", (err) => (res ? res.destroy(err) : reject(err)));
        req.on("response", (r) => resolve((res = r)));
        req.end();
      });
    } catch (err) {
      if (!insecure && !this.withSystemStore && UNTRUSTED_ISSUER.has(errorCode(err)) && tlsCertificates() !== undefined) {
        // Reading the operating system's store costs tens of milliseconds, so it is read only once
        // a certificate turned out to need it (a company's TLS inspection, an internal CA).
        this.withSystemStore = true;
        this.added = addedCAs(this.settings, true);
        this.secureContext = undefined;
        this.agentCache.clear();
        return this.request(target, opts);
      }
      throw describeRequestError(err, url, proxy);
    }
    // Plain http:// through a proxy: its refusal arrives as an ordinary answer, not a failed CONNECT.
    if (proxy && response.statusCode === 407) {
      response.destroy();
      throw proxyRefusal(url, proxy, 407, null);
    }
    return response;
  }

  private async proxyAgents(proxy: string, insecure: boolean): Promise<ProxyAgents> {
    const key = `${proxy}|${insecure}`;
    let agents = this.agentCache.get(key);
    if (!agents) {
      const { proxyAgents } = await import("./proxyagents.js");
      agents = proxyAgents(proxy, { timeoutMs: this.settings.timeoutMs, secureContext: this.context(), insecure });
      this.agentCache.set(key, agents);
    }
    return agents;
  }
}

/**
 * The CAs a request trusts beyond Node's default store. Node 22 (the single executables) can read the
 * operating system's store (Windows and macOS stores, OpenSSL's on Linux), which is where a company
 * puts the CA of its TLS inspection: with it added, that works with no flags. Older Node has no
 * system store.
 */
function addedCAs(settings: HttpSettings, withSystem: boolean): string[] {
  const fromFile = settings.caFile ? checkedCertificates(readPem(settings.caFile, "--ca-file"), settings.caFile, "--ca-file") : [];
  if (!withSystem) return fromFile;
  let system: string[] = [];
  try {
    system = tlsCertificates()?.("system") ?? [];
  } catch {
    // A store that cannot be read adds nothing; the bundled roots still apply.
  }
  return [...new Set([...system, ...fromFile])];
}

/**
 * A context that trusts Node's default store and `added`. Node 22 copies its parsed default store
 * (bundled roots and NODE_EXTRA_CA_CERTS) into a context that gains a CA; passing `ca` instead
 * replaces the store, so the whole list would be turned to PEM and parsed again: about 30 ms a run
 * with --ca-file. Node 20's copy leaves out NODE_EXTRA_CA_CERTS, so there the list is passed whole,
 * with that file as tshup read it (`nodeExtra`).
 */
function contextTrusting(added: string[], nodeExtra: string[]): tls.SecureContext {
  const read = tlsCertificates();
  if (read) {
    const context = tls.createSecureContext();
    const native = context.context as { addCACert?: (pem: string) => void };
    if (typeof native.addCACert === "function") {
      for (const pem of added) native.addCACert(pem);
      return context;
    }
    return tls.createSecureContext({ ca: [...new Set([...read("default"), ...added])] });
  }
  return tls.createSecureContext({ ca: [...tls.rootCertificates, ...nodeExtra, ...added] });
}

const UNTRUSTED_ISSUER = new Set([
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "CERT_UNTRUSTED",
]);

const errorCode = (err: unknown): string => (err as { code?: string })?.code ?? "";

/** Where a redirect leads; never from https to plain http, and never in circles. */
function redirectTarget(original: string, from: URL, location: string, hops: number): URL {
  if (hops + 1 > MAX_REDIRECTS) {
    throw networkError(`${original} redirected more than ${MAX_REDIRECTS} times`, "check the URL; the server or mirror sends it round in circles");
  }
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw networkError(`${from.href} redirected to an invalid address: ${location}`, "report it to whoever runs that server");
  }
  if (next.protocol !== "https:" && next.protocol !== "http:") {
    throw networkError(`${from.href} redirected to ${next.href}, which is not http(s)`, "report it to whoever runs that server");
  }
  if (from.protocol === "https:" && next.protocol === "http:") {
    throw networkError(`${from.href} redirected to plain http (${next.href}); tshup does not follow that`, "use the https address the server should have sent, or an http:// URL from the start if you mean it");
  }
  return next;
}

/**
 * The body of a small answer, decompressed when it came compressed: tshup asks for no compression,
 * but an ingress in front of a proxy may compress all the same.
 */
async function decoded(res: StreamResponse): Promise<Readable> {
  const encoding = header(res.headers, "content-encoding")?.trim().toLowerCase();
  if (!encoding || encoding === "identity") return res.stream;
  const zlib = builtin<typeof import("node:zlib")>("node:zlib");
  const decoder = encoding === "gzip" || encoding === "x-gzip" ? zlib.createGunzip() : encoding === "deflate" ? zlib.createInflate() : encoding === "br" ? zlib.createBrotliDecompress() : null;
  if (!decoder) {
    res.stream.destroy();
    throw networkError(`the answer came in an encoding tshup cannot read: ${encoding}`, "report it to whoever runs that server");
  }
  res.stream.on("error", (err) => decoder.destroy(err));
  return res.stream.pipe(decoder);
}

/** Node 22's `tls.getCACertificates`, which also marks the Node whose store copies keep NODE_EXTRA_CA_CERTS. */
function tlsCertificates(): ((type?: string) => string[]) | undefined {
  const read = (tls as { getCACertificates?: (type?: string) => string[] }).getCACertificates;
  return typeof read === "function" ? read : undefined;
}

function readPem(file: string, source: string): string[] {
  let text: string;
  try {
    text = readRegularFileSync(file, 8 * 1024 * 1024).toString("utf8");
  } catch (err) {
    throw usageError(`cannot read ${source} ${file}: ${(err as Error).message.replace(/^could not read \S+: /, "")}`, "give a readable PEM file of CA certificates");
  }
  const certs = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!certs) throw usageError(`${source} ${file} holds no PEM certificate`, "give a file with -----BEGIN CERTIFICATE----- blocks");
  return certs;
}

/**
 * Node adds a block that is not a certificate to a trust store without a word, so a damaged file
 * would only show later as a TLS failure that asks for the very CA the user gave.
 */
function checkedCertificates(certs: string[], file: string, source: string): string[] {
  certs.forEach((pem, i) => {
    try {
      new X509Certificate(pem);
    } catch (err) {
      throw usageError(
        `${source} ${file}: certificate ${i + 1} of ${certs.length} is not a valid certificate (${(err as Error).message.replace(/^error:[0-9A-F]+:/, "")})`,
        "the file may be cut or edited; export the CA certificate again as PEM",
      );
    }
  });
  return certs;
}

async function readAll(stream: Readable, maxBytes: number, url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        stream.destroy();
        throw networkError(`${url} sent more than ${maxBytes} bytes where a small answer was expected`, "check the URL");
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if ((err as { code?: string }).code === "network") throw err;
    throw describeRequestError(err, url, null);
  }
  return Buffer.concat(chunks);
}

function openFile(url: string, offset: number): StreamResponse {
  const file = fileURLToPath(url);
  let size: number;
  try {
    const st = fs.statSync(file);
    // A FIFO or device in a mirror directory would never end; only a regular file is an artifact.
    if (!st.isFile()) return { status: 404, headers: {}, length: 0, stream: Readable.from([]) };
    size = st.size;
  } catch {
    return { status: 404, headers: {}, length: 0, stream: Readable.from([]) };
  }
  const start = Math.min(offset, size);
  return {
    status: offset > 0 ? 206 : 200,
    headers: {},
    length: size - start,
    stream: fs.createReadStream(file, { start }),
  };
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|SSL|EPROTO|HOSTNAME|ALTNAME/;

/** A network error that says which URL (and proxy) failed and why; `retryCode` drives the retry rule. */
export function describeRequestError(err: unknown, url: string, proxy: string | null): Error {
  const e = err as { message?: string };
  const code = errorCode(err);
  const reason = (e.message ?? String(err)).replace(/\s+/g, " ");
  const status = (err as { proxyRefusedStatus?: number }).proxyRefusedStatus;
  if (proxy && status !== undefined) {
    const out = proxyRefusal(url, proxy, status, err);
    // A 5xx from the proxy (its upstream failed) may pass; a refusal (403, 407) will not.
    (out as { retryCode?: string }).retryCode = status >= 500 ? "EPROXYUPSTREAM" : "EPROXYREFUSED";
    return out;
  }
  let out;
  const withProxyItself = proxy !== null && (err as { atProxy?: boolean }).atProxy === true;
  // "Client network socket disconnected before secure TLS connection was established" is a cut
  // connection, not a certificate that failed.
  const isTls = code !== "ECONNRESET" && (TLS_CODES.test(code) || /certificate|self[- ]signed|tls|ssl/i.test(reason));
  if (withProxyItself && isTls) {
    out = networkError(
      `TLS verification failed for the HTTP proxy ${redactProxy(proxy)} (on the way to ${url}): ${reason}`,
      "pass the CA that signed the proxy's certificate with --ca-file (or NODE_EXTRA_CA_CERTS); --insecure never applies to the HTTP proxy",
      err,
    );
  } else if (isTls) {
    out = networkError(
      `TLS verification failed for ${url}: ${reason}`,
      "if your organisation intercepts TLS, pass its CA with --ca-file (or NODE_EXTRA_CA_CERTS); --insecure skips verification for the Teleport proxy only, never for downloads",
      err,
    );
  } else if (proxy && (withProxyItself || /proxy|ECONNREFUSED|ENOTFOUND|EAI_AGAIN/i.test(`${code} ${reason}`))) {
    out = networkError(
      `could not reach ${url} through the HTTP proxy ${redactProxy(proxy)}: ${reason}`,
      "check HTTPS_PROXY / HTTP_PROXY and NO_PROXY, or that the proxy is running",
      err,
    );
  } else if (code === "ETIMEDOUT" || code === "EDEADLINE") {
    out = networkError(`timed out talking to ${url}: ${reason}`, "check the network, or raise --timeout", err);
  } else {
    out = networkError(`could not reach ${url}: ${reason}`, "check the address and your network connection", err);
  }
  (out as { retryCode?: string }).retryCode = code;
  return out;
}

function proxyRefusal(url: string, proxy: string, status: number, cause: unknown): Error {
  if (status === 407 || status === 401) {
    const hasUser = /^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(proxy);
    return networkError(
      `the HTTP proxy ${redactProxy(proxy)} refused ${url}: HTTP ${status}, proxy authentication ${hasUser ? "failed" : "required"}`,
      "put the proxy's user and password in the proxy variable, e.g. HTTPS_PROXY=http://user:password@proxy.example.com:3128 (percent-encode special characters)",
      cause,
    );
  }
  return networkError(
    `the HTTP proxy ${redactProxy(proxy)} refused to connect to ${url}: HTTP ${status}`,
    "ask whoever runs the proxy to allow this host and port, or bypass the proxy for it with NO_PROXY",
    cause,
  );
}

