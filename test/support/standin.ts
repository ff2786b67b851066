// The stand-in Teleport proxy and CDN that the tests, `npm run demo` and `npm run bench` run tshup
// against: HTTPS servers on 127.0.0.1 with certificates from the test CA, an in-memory artifact
// store with Range support, per-path faults, and /webapi/find + /webapi/ping bodies shaped like
// Teleport's (api/client/webclient/webclient.go).
import { mkdtemp, rm } from "node:fs/promises";
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import net, { type Socket } from "node:net";
import os from "node:os";
import zlib from "node:zlib";
import path from "node:path";
import {
  FIXED_MTIME,
  type ArchiveSpec,
  sha256Hex,
  sha256Sidecar,
  teleportArchive,
  unsafeArchive,
  type UnsafeKind,
} from "./archives.js";
import { issueServerCert, makeTestCA } from "./ca.js";

// ---------------------------------------------------------------------------------------------
// Public types

/**
 * A fault answers requests for one path instead of the normal answer. `times` counts the
 * requests (GET or HEAD) it applies to before the next queued fault, or the normal answer, takes
 * over; without `times` it applies forever.
 */
export type Fault =
  /** Answer with this status (CDN: a short text body; proxy: Teleport's JSON error body). */
  | { kind: "status"; status: number; times?: number; body?: string }
  /** Sidecar only (set on the artifact or its `.sha256` path): the sidecar carries a wrong hex. */
  | { kind: "wrong-hash"; times?: number }
  /** Sidecar only: the sidecar answers 404, as if it had never been published. */
  | { kind: "no-sidecar"; times?: number }
  /** Sends headers with the full Content-Length, then `bytes` of the body, then closes the socket. */
  | { kind: "truncate"; bytes: number; times?: number }
  /** Sends headers with the full Content-Length and `bytes` of the body, then falls silent with the socket open. */
  | { kind: "stall"; bytes: number; times?: number }
  /** Answers `status` with a `Retry-After: seconds` header. */
  | { kind: "retry-after"; status: 429 | 503; seconds: number; times?: number }
  /** Sends the normal answer at about `bytesPerSecond`. */
  | { kind: "slow"; bytesPerSecond: number; times?: number }
  /** Accepts the request and never answers (close() still ends it). */
  | { kind: "hang"; times?: number }
  /** Answers `status` (default 302) with `Location: to`, as a mirror behind a redirect does. */
  | { kind: "redirect"; to: string; status?: 301 | 302 | 303 | 307 | 308; times?: number }
  /** Proxy answers only: the normal body gzip-compressed with `Content-Encoding: gzip`, whatever the client asked for. */
  | { kind: "gzip"; times?: number };

export interface RequestRecord {
  server: "cdn" | "proxy";
  scheme: "https" | "http";
  port: number;
  method: string;
  /** Path without the query string, e.g. `/teleport-v17.5.1-linux-amd64-bin.tar.gz`. */
  path: string;
  /** Path with the query string as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The status sent; undefined while pending and for `hang`. */
  status?: number;
  /** The fault that shaped the answer, if any. */
  fault?: Fault["kind"];
  /** Proxy requests: the proxy's cluster name. */
  cluster?: string;
}

export interface StandinOptions {
  /** Shift every `Date` header by this many seconds (negative: the server's clock is behind). */
  clockSkewSeconds?: number;
  /** Where `ca.pem` is written; default a fresh temp dir that close() removes. */
  dir?: string;
}

export interface ArtifactInfo {
  name: string;
  sha256: string;
  size: number;
  /** `https://127.0.0.1:PORT/<name>` */
  url: string;
  /** `http://127.0.0.1:PORT/<name>` on the plain-HTTP CDN. */
  httpUrl: string;
}

export interface ProxyConfig {
  cluster: string;
  /** Sent verbatim as `server_version`: may be deliberately invalid. */
  serverVersion: string;
  /** Default: `<major-1>.0.0-aa` from v15 on, `<major-1>.0.0` before. */
  minClientVersion?: string;
  /** Default `"community"` from v16 on (absent before); `"ent"` when `fips`. `null` omits it. */
  edition?: "oss" | "community" | "ent" | null;
  fips?: boolean;
  toolsAutoUpdate?: boolean;
  /** Default: the server version (what a cluster without an autoupdate_version resource sends). */
  toolsVersion?: string;
  /**
   * Include the `auto_update` object. Default: from the version (17.0.1+, 16.4.10+, 15.4.24+),
   * or whenever `toolsAutoUpdate`/`toolsVersion` is given.
   */
  autoUpdate?: boolean;
  tlsRouting?: boolean;
  /** `/webapi/find` answers 404 as on servers that predate it; `/webapi/ping` still works. */
  findMissing?: boolean;
  /** `proxy.ssh.public_addr`; default the stand-in's own `127.0.0.1:PORT`. */
  publicAddr?: string;
  /** `proxy.ssh.ssh_public_addr` when not TLS-routed; default `127.0.0.1:3023`. */
  sshPublicAddr?: string;
  /** `auth.type` on /webapi/ping; default `"local"`. */
  authType?: string;
  /** `auth.second_factor` on /webapi/ping; default `"otp"`. */
  secondFactor?: string;
  /** Extra top-level keys (unknown to tshup, which must ignore them). */
  extra?: Record<string, unknown>;
  /** Overrides the stand-in-wide clock skew for this proxy's `Date` headers. */
  clockSkewSeconds?: number;
}

export type PingEndpoint = "find" | "ping";

export interface StandinProxy {
  /** `127.0.0.1:PORT`, what a user passes as `--proxy`. */
  addr: string;
  /** `https://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** The current configuration (after update()). */
  readonly config: ProxyConfig;
  /**
   * Replace the generated answer: an object is sent as JSON; a string or Buffer verbatim (as
   * text/html when it starts with `<`, else application/json). `null` restores the generated one.
   */
  setPing(bodyOrRaw: object | string | Buffer | null, status?: number, which?: PingEndpoint | "both"): void;
  /** Change the configuration, e.g. to upgrade the cluster between two runs. */
  update(changes: Partial<ProxyConfig>): void;
  /** The generated body for an endpoint, as currently configured. */
  body(endpoint: PingEndpoint): Record<string, unknown>;
  setFault(path: string, fault: Fault): void;
  addFault(path: string, fault: Fault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

export interface Standin {
  /** The test CA certificate file (`--ca-file`, `NODE_EXTRA_CA_CERTS`). */
  caFile: string;
  caPem: string;
  /** Directory holding `ca.pem`. */
  dir: string;
  /** `https://127.0.0.1:PORT`, no trailing slash: a `TELEPORT_CDN_BASE_URL`. */
  cdnUrl: string;
  /** `http://127.0.0.1:PORT`, the same store over plain HTTP. */
  cdnHttpUrl: string;
  /** Every request to any stand-in server, in arrival order. */
  requests: RequestRecord[];
  /**
   * Environment for a tshup run against this stand-in: `TELEPORT_CDN_BASE_URL` (the HTTPS CDN) and
   * `NODE_EXTRA_CA_CERTS` (the CA file). A plain record so it spreads into `process.env` copies.
   */
  env: Record<string, string>;
  proxies: StandinProxy[];
  /** Builds the real-layout artifact for `spec` and serves it with a correct sidecar. */
  addArtifact(spec: ArchiveSpec): Promise<ArtifactInfo>;
  /** Serves `unsafeArchive(kind, spec)` under the normal name, with a sidecar matching its bytes. */
  addUnsafeArtifact(kind: UnsafeKind, spec: ArchiveSpec): Promise<ArtifactInfo>;
  /**
   * Serves `data` as `/<name>`; the sidecar is `sidecarText` when given, none when `null`, else the
   * correct one (two spaces, or one for `.zip`).
   */
  setArtifact(name: string, data: Buffer, sidecarText?: string | null): ArtifactInfo;
  setSidecar(name: string, sidecarText: string | null): void;
  removeArtifact(name: string): void;
  artifactNames(): string[];
  /**
   * Replace the fault queue of a path on every stand-in server: CDN paths (`/<name>`,
   * `/<name>.sha256`; the leading `/` is optional) and proxy paths (`/webapi/find`, for all
   * proxies; a proxy's own faults are checked before these).
   */
  setFault(path: string, fault: Fault): void;
  /** Append to a path's stand-in-wide fault queue. */
  addFault(path: string, fault: Fault): void;
  /** Clear one path's stand-in-wide faults, or all of them (proxies' own faults stay). */
  clearFaults(path?: string): void;
  addProxy(cfg: ProxyConfig): Promise<StandinProxy>;
  setClockSkew(seconds: number): void;
  clearRequests(): void;
  /** Closes every server and socket (hanging ones included) and removes the temp dir. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Shared plumbing

interface QueuedFault {
  fault: Fault;
  remaining: number;
}

const RESPONSE_FAULTS = new Set<Fault["kind"]>(["status", "truncate", "stall", "retry-after", "slow", "hang", "redirect", "gzip"]);
const SIDECAR_FAULTS = new Set<Fault["kind"]>(["wrong-hash", "no-sidecar"]);

class FaultTable {
  private readonly queues = new Map<string, QueuedFault[]>();

  set(p: string, fault: Fault): void {
    this.queues.set(normalizePath(p), [queued(fault)]);
  }

  add(p: string, fault: Fault): void {
    const key = normalizePath(p);
    const q = this.queues.get(key) ?? [];
    q.push(queued(fault));
    this.queues.set(key, q);
  }

  clear(p?: string): void {
    if (p === undefined) this.queues.clear();
    else this.queues.delete(normalizePath(p));
  }

  /** Consumes and returns the head fault of `p` when it is one of `kinds`. */
  take(p: string, kinds: Set<Fault["kind"]>): Fault | undefined {
    const q = this.queues.get(p);
    const head = q?.[0];
    if (!q || !head || !kinds.has(head.fault.kind)) return undefined;
    head.remaining--;
    if (head.remaining <= 0) q.shift();
    if (q.length === 0) this.queues.delete(p);
    return head.fault;
  }
}

function queued(fault: Fault): QueuedFault {
  if (fault.times !== undefined && (!Number.isInteger(fault.times) || fault.times < 1)) {
    throw new Error(`fault ${fault.kind}: times must be a positive integer, got ${fault.times}`);
  }
  return { fault, remaining: fault.times ?? Number.POSITIVE_INFINITY };
}

/** A loopback port free just now: for a server the test starts itself, or an address where nothing answers. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function normalizePath(p: string): string {
  let out = p;
  if (/^https?:\/\//.test(out)) out = new URL(out).pathname;
  out = out.split("?")[0]!;
  return out.startsWith("/") ? out : `/${out}`;
}

interface Runtime {
  closed: boolean;
  clockSkewSeconds: number;
  timers: Set<NodeJS.Timeout>;
  requests: RequestRecord[];
}

function dateHeader(skewSeconds: number): string {
  return new Date(Date.now() + skewSeconds * 1000).toUTCString();
}

interface Listening {
  server: http.Server | https.Server;
  port: number;
  close(): Promise<void>;
}

async function listen(server: http.Server | https.Server): Promise<Listening> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  // Clients that hang up mid-request or fail the TLS handshake are normal in fault tests.
  server.on("clientError", (_err: Error, socket: Socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("stand-in server has no TCP address");
  let closing: Promise<void> | undefined;
  return {
    server,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

function record(
  rt: Runtime,
  req: IncomingMessage,
  server: RequestRecord["server"],
  scheme: RequestRecord["scheme"],
  port: number,
  cluster?: string,
): RequestRecord {
  const url = req.url ?? "/";
  const rec: RequestRecord = {
    server,
    scheme,
    port,
    method: req.method ?? "GET",
    path: normalizePath(url),
    url,
    headers: req.headers,
  };
  if (cluster !== undefined) rec.cluster = cluster;
  rt.requests.push(rec);
  return rec;
}

function head(res: ServerResponse, rec: RequestRecord, status: number, headers: http.OutgoingHttpHeaders, skew: number): void {
  rec.status = status;
  res.writeHead(status, { Date: dateHeader(skew), ...headers });
}

/** Sends `body` (already sliced for a range) honouring truncate/stall/slow faults; HEAD sends no body. */
function sendBody(rt: Runtime, req: IncomingMessage, res: ServerResponse, body: Buffer, fault: Fault | undefined): void {
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  if (fault?.kind === "truncate") {
    const n = Math.max(0, Math.min(fault.bytes, body.length - 1));
    const cut = () => res.socket?.end();
    if (n === 0) {
      res.flushHeaders();
      setImmediate(cut);
    } else {
      res.write(body.subarray(0, n), cut);
    }
    return;
  }
  if (fault?.kind === "stall") {
    // close() ends the open socket.
    res.write(body.subarray(0, Math.max(0, Math.min(fault.bytes, body.length - 1))));
    return;
  }
  if (fault?.kind === "slow") {
    const tickMs = 100;
    const chunk = Math.max(1, Math.floor((fault.bytesPerSecond * tickMs) / 1000));
    let offset = 0;
    const step = () => {
      if (rt.closed || res.destroyed) return;
      const part = body.subarray(offset, offset + chunk);
      offset += part.length;
      if (offset >= body.length) {
        res.end(part);
        return;
      }
      res.write(part);
      const timer = setTimeout(() => {
        rt.timers.delete(timer);
        step();
      }, tickMs);
      rt.timers.add(timer);
    };
    step();
    return;
  }
  // In pieces, as a real server streams from disk: one write of a whole archive would encrypt all
  // of it before the first byte left.
  const piece = 1024 * 1024;
  let offset = 0;
  const pump = () => {
    while (offset + piece < body.length) {
      const part = body.subarray(offset, (offset += piece));
      if (!res.write(part)) {
        res.once("drain", pump);
        return;
      }
    }
    res.end(body.subarray(offset));
  };
  pump();
}

/** Answers a status/retry-after/hang fault; returns false when the fault shapes the body instead. */
function answerFault(
  res: ServerResponse,
  rec: RequestRecord,
  fault: Fault,
  skew: number,
  errorBody: (status: number, message: string) => { body: Buffer; type: string },
): boolean {
  rec.fault = fault.kind;
  if (fault.kind === "hang") return true;
  if (fault.kind === "redirect") {
    head(res, rec, fault.status ?? 302, { Location: fault.to, "Content-Length": 0 }, skew);
    res.end();
    return true;
  }
  if (fault.kind === "status" || fault.kind === "retry-after") {
    const status = fault.status;
    const { body, type } =
      fault.kind === "status" && fault.body !== undefined
        ? { body: Buffer.from(fault.body), type: "text/plain; charset=utf-8" }
        : errorBody(status, `${status} ${http.STATUS_CODES[status] ?? ""}`.trim());
    const headers: http.OutgoingHttpHeaders = { "Content-Type": type, "Content-Length": body.length };
    if (fault.kind === "retry-after") headers["Retry-After"] = String(fault.seconds);
    head(res, rec, status, headers, skew);
    res.end(rec.method === "HEAD" ? undefined : body);
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// CDN

interface StoredArtifact {
  data: Buffer;
  sha256: string;
  etag: string;
  sidecar: string | null;
}

type Range = { start: number; end: number } | "unsatisfiable" | null;

function parseRange(value: string | undefined, size: number): Range {
  if (!value) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  // Multiple or malformed ranges: ignoring Range and sending the whole body is allowed.
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return null;
  if (start >= size) return "unsatisfiable";
  return { start, end };
}

const LAST_MODIFIED = FIXED_MTIME.toUTCString();

function cdnErrorBody(status: number, message: string): { body: Buffer; type: string } {
  return { body: Buffer.from(`${message}\n`), type: "text/plain; charset=utf-8" };
}

function wrongSidecar(name: string, stored: string | null): string {
  const wrong = sha256Hex(Buffer.from(`not the bytes of ${name}`));
  if (stored && /^[0-9a-fA-F]{64}/.test(stored)) return wrong + stored.slice(64);
  return `${wrong}${name.endsWith(".zip") ? " " : "  "}${name}\n`;
}

function cdnHandler(
  rt: Runtime,
  store: Map<string, StoredArtifact>,
  faults: FaultTable,
  scheme: RequestRecord["scheme"],
  port: () => number,
) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const rec = record(rt, req, "cdn", scheme, port());
    const skew = rt.clockSkewSeconds;
    const p = rec.path;

    const fault = faults.take(p, RESPONSE_FAULTS);
    if (fault && answerFault(res, rec, fault, skew, cdnErrorBody)) return;

    if (req.method !== "GET" && req.method !== "HEAD") {
      const body = Buffer.from("method not allowed\n");
      head(res, rec, 405, { Allow: "GET, HEAD", "Content-Type": "text/plain", "Content-Length": body.length }, skew);
      res.end(body);
      return;
    }

    let name: string;
    try {
      name = decodeURIComponent(p.slice(1));
    } catch {
      name = p.slice(1);
    }
    let body: Buffer | undefined;
    let type = "application/octet-stream";
    let etag: string | undefined;
    if (name.endsWith(".sha256")) {
      const base = name.slice(0, -".sha256".length);
      const artifact = store.get(base);
      const sidecarFault = faults.take(p, SIDECAR_FAULTS) ?? faults.take(`/${base}`, SIDECAR_FAULTS);
      if (sidecarFault) rec.fault = sidecarFault.kind;
      if (artifact && artifact.sidecar !== null && sidecarFault?.kind !== "no-sidecar") {
        const text = sidecarFault?.kind === "wrong-hash" ? wrongSidecar(base, artifact.sidecar) : artifact.sidecar;
        body = Buffer.from(text);
        type = "text/plain; charset=utf-8";
        etag = `"${sha256Hex(body).slice(0, 32)}"`;
      }
    } else {
      const artifact = store.get(name);
      if (artifact) {
        body = artifact.data;
        type = name.endsWith(".zip") ? "application/zip" : name.endsWith(".gz") ? "application/gzip" : type;
        etag = artifact.etag;
      }
    }

    if (!body || !etag) {
      // Shaped like the S3 answer behind a CDN for a missing key.
      const xml = Buffer.from(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>${name}</Key></Error>`,
      );
      head(res, rec, 404, { "Content-Type": "application/xml", "Content-Length": xml.length }, skew);
      res.end(req.method === "HEAD" ? undefined : xml);
      return;
    }

    const common: http.OutgoingHttpHeaders = {
      "Content-Type": type,
      "Accept-Ranges": "bytes",
      ETag: etag,
      "Last-Modified": LAST_MODIFIED,
    };
    const ifRange = req.headers["if-range"];
    const rangeAllowed = ifRange === undefined || ifRange === etag || ifRange === LAST_MODIFIED;
    const range = rangeAllowed ? parseRange(req.headers.range, body.length) : null;
    if (range === "unsatisfiable") {
      head(res, rec, 416, { ...common, "Content-Range": `bytes */${body.length}`, "Content-Length": 0 }, skew);
      res.end();
      return;
    }
    if (range) {
      const slice = body.subarray(range.start, range.end + 1);
      head(
        res,
        rec,
        206,
        { ...common, "Content-Range": `bytes ${range.start}-${range.end}/${body.length}`, "Content-Length": slice.length },
        skew,
      );
      sendBody(rt, req, res, slice, fault);
      return;
    }
    head(res, rec, 200, { ...common, "Content-Length": body.length }, skew);
    sendBody(rt, req, res, body, fault);
  };
}

// ---------------------------------------------------------------------------------------------
// Proxy bodies

interface ParsedVersion {
  major: number;
  minor: number;
  patch: number;
}

function parseVersion(v: string): ParsedVersion | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

function atLeast(v: ParsedVersion, major: number, minor: number, patch: number): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

function hasAutoUpdateObject(v: ParsedVersion | undefined): boolean {
  if (!v) return false;
  if (v.major >= 18) return true;
  if (v.major === 17) return atLeast(v, 17, 0, 1);
  if (v.major === 16) return atLeast(v, 16, 4, 10);
  if (v.major === 15) return atLeast(v, 15, 4, 24);
  return false;
}

/**
 * The JSON object a Teleport proxy of `cfg.serverVersion` would answer on /webapi/find or
 * /webapi/ping, keys in the Go struct's field order. `addr` is the proxy's `host:port`.
 */
export function buildPingBody(cfg: ProxyConfig, addr: string, endpoint: PingEndpoint): Record<string, unknown> {
  const v = parseVersion(cfg.serverVersion);
  const major = v?.major ?? 99;
  const host = addr.replace(/:\d+$/, "");
  const port = addr.match(/:(\d+)$/)?.[1] ?? "443";
  const tlsRouting = cfg.tlsRouting ?? false;

  // Go serialises the whole (zero-valued on find) auth struct; pointer fields with omitempty vanish.
  const auth: Record<string, unknown> =
    endpoint === "ping"
      ? {
          type: cfg.authType ?? "local",
          second_factor: cfg.secondFactor ?? "otp",
          preferred_local_mfa: "otp",
          local: { name: "" },
          private_key_policy: "none",
        }
      : { type: "", private_key_policy: "" };
  if (major >= 15) auth.piv_slot = "";
  if (major >= 17) auth.piv_pin_cache_duration = 0;
  if (major >= 14) auth.device_trust = {};
  else if (endpoint === "ping") auth.device_trust_disabled = true;
  auth.has_motd = false;
  if (major >= 15) auth.default_session_ttl = endpoint === "ping" ? "12h0m0s" : "0s";

  const ssh: Record<string, unknown> = tlsRouting
    ? {
        listen_addr: `0.0.0.0:${port}`,
        tunnel_listen_addr: `0.0.0.0:${port}`,
        web_listen_addr: `0.0.0.0:${port}`,
        public_addr: cfg.publicAddr ?? addr,
      }
    : {
        listen_addr: "0.0.0.0:3023",
        tunnel_listen_addr: "0.0.0.0:3024",
        web_listen_addr: `0.0.0.0:${port}`,
        public_addr: cfg.publicAddr ?? addr,
        ssh_public_addr: cfg.sshPublicAddr ?? `${host}:3023`,
        ssh_tunnel_public_addr: `${host}:3024`,
      };
  if (major >= 14) ssh.dial_timeout = 30_000_000_000;

  const body: Record<string, unknown> = {
    auth,
    proxy: {
      kube: tlsRouting ? { enabled: true, listen_addr: `0.0.0.0:${port}` } : {},
      ssh,
      db: tlsRouting ? { postgres_listen_addr: `0.0.0.0:${port}`, mysql_listen_addr: `0.0.0.0:${port}` } : {},
      tls_routing_enabled: tlsRouting,
    },
    server_version: cfg.serverVersion,
    min_client_version:
      cfg.minClientVersion ?? (v ? `${Math.max(0, v.major - 1)}.0.0${v.major >= 15 ? "-aa" : ""}` : ""),
  };
  const includeAutoUpdate =
    cfg.autoUpdate ??
    (cfg.toolsAutoUpdate !== undefined || cfg.toolsVersion !== undefined || hasAutoUpdateObject(v));
  if (includeAutoUpdate) {
    const autoUpdate: Record<string, unknown> = {
      tools_version: cfg.toolsVersion ?? cfg.serverVersion,
      tools_auto_update: cfg.toolsAutoUpdate ?? false,
      agent_version: cfg.serverVersion,
      agent_auto_update: false,
    };
    if (major >= 17) autoUpdate.agent_update_jitter_seconds = 60;
    body.auto_update = autoUpdate;
  }
  body.cluster_name = cfg.cluster;
  if (major >= 12) body.automatic_upgrades = false;
  const edition = cfg.edition === undefined ? (cfg.fips ? "ent" : major >= 16 ? "community" : undefined) : cfg.edition;
  if (edition !== undefined && edition !== null) {
    body.edition = edition;
    body.fips = cfg.fips ?? false;
  } else if (cfg.fips !== undefined && cfg.edition !== null) {
    body.fips = cfg.fips;
  }
  return { ...body, ...cfg.extra };
}

function teleportError(status: number, message: string): { body: Buffer; type: string } {
  return { body: Buffer.from(JSON.stringify({ error: { message } })), type: "application/json" };
}

interface PingOverride {
  body: Buffer;
  type: string;
  status: number;
}

function toOverride(bodyOrRaw: object | string | Buffer, status: number): PingOverride {
  if (Buffer.isBuffer(bodyOrRaw) || typeof bodyOrRaw === "string") {
    const body = Buffer.isBuffer(bodyOrRaw) ? bodyOrRaw : Buffer.from(bodyOrRaw);
    const looksHtml = body.toString("utf8", 0, 64).trimStart().startsWith("<");
    return { body, type: looksHtml ? "text/html; charset=utf-8" : "application/json", status };
  }
  return { body: Buffer.from(JSON.stringify(bodyOrRaw)), type: "application/json", status };
}

// ---------------------------------------------------------------------------------------------
// startStandin

/** The artifact the Linux x64 tests install: the community tarball of `version`. */
export const linux = (version: string) => ({ version, os: "linux" as const, arch: "amd64" as const, edition: "community" as const });

export async function startStandin(opts: StandinOptions = {}): Promise<Standin> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), "tshup-standin-")));
  const ca = await makeTestCA(dir);
  const tls = issueServerCert(ca, ["localhost"], ["127.0.0.1", "::1"]);

  const rt: Runtime = {
    closed: false,
    clockSkewSeconds: opts.clockSkewSeconds ?? 0,
    timers: new Set(),
    requests: [],
  };
  const store = new Map<string, StoredArtifact>();
  // Keyed by path, so one table serves the CDN (`/<artifact>`) and every proxy (`/webapi/...`).
  const sharedFaults = new FaultTable();
  const listening: Listening[] = [];

  let httpsPort = 0;
  let httpPort = 0;
  const cdnHttps = await listen(
    https.createServer({ key: tls.keyPem, cert: tls.certPem }, cdnHandler(rt, store, sharedFaults, "https", () => httpsPort)),
  );
  httpsPort = cdnHttps.port;
  listening.push(cdnHttps);
  const cdnPlain = await listen(http.createServer(cdnHandler(rt, store, sharedFaults, "http", () => httpPort)));
  httpPort = cdnPlain.port;
  listening.push(cdnPlain);

  const cdnUrl = `https://127.0.0.1:${httpsPort}`;
  const cdnHttpUrl = `http://127.0.0.1:${httpPort}`;

  const info = (name: string): ArtifactInfo => {
    const a = store.get(name);
    if (!a) throw new Error(`no artifact ${name}`);
    const encoded = encodeURIComponent(name);
    return { name, sha256: a.sha256, size: a.data.length, url: `${cdnUrl}/${encoded}`, httpUrl: `${cdnHttpUrl}/${encoded}` };
  };

  const setArtifact = (name: string, data: Buffer, sidecarText?: string | null): ArtifactInfo => {
    if (!name || name.includes("/")) throw new Error(`artifact name must be a plain file name, got ${JSON.stringify(name)}`);
    const sha256 = sha256Hex(data);
    store.set(name, {
      data,
      sha256,
      etag: `"${sha256.slice(0, 32)}"`,
      sidecar: sidecarText === undefined ? sha256Sidecar(name, data) : sidecarText,
    });
    return info(name);
  };

  const proxies: StandinProxy[] = [];

  const addProxy = async (initial: ProxyConfig): Promise<StandinProxy> => {
    let cfg: ProxyConfig = { ...initial };
    const faults = new FaultTable();
    const overrides: Partial<Record<PingEndpoint, PingOverride>> = {};
    let port = 0;
    const addrOf = () => `127.0.0.1:${port}`;

    const handler = (req: IncomingMessage, res: ServerResponse) => {
      const rec = record(rt, req, "proxy", "https", port, cfg.cluster);
      const skew = cfg.clockSkewSeconds ?? rt.clockSkewSeconds;
      const send = (status: number, body: Buffer, type: string) => {
        head(res, rec, status, { "Content-Type": type, "Content-Length": body.length, "Cache-Control": "no-store" }, skew);
        res.end(req.method === "HEAD" ? undefined : body);
      };

      // The proxy's own faults first, then stand-in-wide ones set for this path.
      const fault = faults.take(rec.path, RESPONSE_FAULTS) ?? sharedFaults.take(rec.path, RESPONSE_FAULTS);
      if (fault && answerFault(res, rec, fault, skew, teleportError)) return;

      // Teleport serves the web API both with and without the /v1 prefix.
      const p = rec.path.replace(/^\/v1(?=\/webapi\/)/, "");
      let endpoint: PingEndpoint | undefined;
      if (p === "/webapi/find") endpoint = "find";
      else if (p === "/webapi/ping" || /^\/webapi\/ping\/[^/]+$/.test(p)) endpoint = "ping";

      if (!endpoint) {
        const e = teleportError(404, "not found");
        send(404, e.body, e.type);
        return;
      }
      if (req.method !== "GET" && req.method !== "HEAD") {
        const e = teleportError(405, "method not allowed");
        send(405, e.body, e.type);
        return;
      }
      if (endpoint === "find" && cfg.findMissing) {
        const e = teleportError(404, "not found");
        send(404, e.body, e.type);
        return;
      }
      const override = overrides[endpoint];
      if (override) {
        send(override.status, override.body, override.type);
        return;
      }
      const json = Buffer.from(JSON.stringify(buildPingBody(cfg, addrOf(), endpoint)));
      if (fault?.kind === "truncate" || fault?.kind === "slow") {
        rec.fault = fault.kind;
        head(res, rec, 200, { "Content-Type": "application/json", "Content-Length": json.length }, skew);
        sendBody(rt, req, res, json, fault);
        return;
      }
      if (fault?.kind === "gzip") {
        rec.fault = fault.kind;
        const packed = zlib.gzipSync(json);
        head(res, rec, 200, { "Content-Type": "application/json", "Content-Encoding": "gzip", "Content-Length": packed.length }, skew);
        res.end(req.method === "HEAD" ? undefined : packed);
        return;
      }
      send(200, json, "application/json");
    };

    const l = await listen(https.createServer({ key: tls.keyPem, cert: tls.certPem }, handler));
    port = l.port;
    listening.push(l);

    const proxy: StandinProxy = {
      addr: addrOf(),
      url: `https://${addrOf()}`,
      port,
      get config() {
        return cfg;
      },
      setPing(bodyOrRaw, status = 200, which = "both") {
        const endpoints: PingEndpoint[] = which === "both" ? ["find", "ping"] : [which];
        for (const e of endpoints) {
          if (bodyOrRaw === null) delete overrides[e];
          else overrides[e] = toOverride(bodyOrRaw, status);
        }
      },
      update(changes) {
        cfg = { ...cfg, ...changes };
      },
      body(endpoint) {
        return buildPingBody(cfg, addrOf(), endpoint);
      },
      setFault: (p, fault) => faults.set(p, fault),
      addFault: (p, fault) => faults.add(p, fault),
      clearFaults: () => faults.clear(),
      async close() {
        const i = proxies.indexOf(proxy);
        if (i !== -1) proxies.splice(i, 1);
        await l.close();
      },
    };
    proxies.push(proxy);
    return proxy;
  };

  let closing: Promise<void> | undefined;

  return {
    caFile: ca.caFile,
    caPem: ca.certPem,
    dir,
    cdnUrl,
    cdnHttpUrl,
    requests: rt.requests,
    env: { TELEPORT_CDN_BASE_URL: cdnUrl, NODE_EXTRA_CA_CERTS: ca.caFile },
    proxies,
    async addArtifact(spec) {
      const a = await teleportArchive(spec);
      return setArtifact(a.name, a.data);
    },
    async addUnsafeArtifact(kind, spec) {
      const a = await unsafeArchive(kind, spec);
      return setArtifact(a.name, a.data);
    },
    setArtifact,
    setSidecar(name, sidecarText) {
      const a = store.get(name);
      if (!a) throw new Error(`setSidecar: no artifact ${name}`);
      a.sidecar = sidecarText;
    },
    removeArtifact(name) {
      store.delete(name);
    },
    artifactNames() {
      return [...store.keys()];
    },
    setFault: (p, fault) => sharedFaults.set(p, fault),
    addFault: (p, fault) => sharedFaults.add(p, fault),
    clearFaults: (p) => sharedFaults.clear(p),
    addProxy,
    setClockSkew(seconds) {
      rt.clockSkewSeconds = seconds;
    },
    clearRequests() {
      rt.requests.length = 0;
    },
    close() {
      closing ??= (async () => {
        rt.closed = true;
        for (const t of rt.timers) clearTimeout(t);
        rt.timers.clear();
        await Promise.all(listening.map((l) => l.close()));
        proxies.length = 0;
        if (ownDir) await rm(dir, { recursive: true, force: true });
      })();
      return closing;
    },
  };
}
