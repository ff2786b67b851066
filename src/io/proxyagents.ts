// The agents for requests through an HTTP(S) proxy, in their own module: loading them brings
// node:http, which a run with no proxy set has no use for.
import http from "node:http";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import type { Duplex } from "node:stream";

export interface ProxyAgents {
  http: http.Agent;
  https: https.Agent;
}

export interface ProxyAgentOptions {
  timeoutMs: number;
  /** Node's roots with --ca-file's and NODE_EXTRA_CA_CERTS' added: the proxy's own certificate is checked against them too. */
  secureContext: tls.SecureContext | undefined;
  /** Skips verifying the target (the Teleport proxy with --insecure), never the HTTP proxy itself. */
  insecure: boolean;
}

/** Marks an error as one with the HTTP proxy itself (its TLS, its socket), not with the target behind it. */
function atProxy<E extends Error>(err: E): E & { atProxy: true } {
  return Object.assign(err, { atProxy: true as const });
}

/** A proxy's refusal of CONNECT, with its status for the caller to word (407 asks for credentials). */
function refusedConnect(status: number): Error {
  return Object.assign(atProxy(new Error(`the proxy answered CONNECT with HTTP ${status}`)), { proxyRefusedStatus: status });
}

export function proxyAgents(proxy: string, opts: ProxyAgentOptions): ProxyAgents {
  const endpoint = proxyEndpoint(new URL(proxy));
  return {
    http: new ForwardingProxyAgent(endpoint, opts),
    https: new TunnelingProxyAgent(endpoint, opts),
  };
}

/** Where the proxy is, and the `Proxy-Authorization` its URL's user and password make (null without). */
interface ProxyEndpoint {
  host: string;
  port: number;
  tls: boolean;
  credentials: string | null;
}

function proxyEndpoint(proxy: URL): ProxyEndpoint {
  const secure = proxy.protocol === "https:";
  const credentials =
    proxy.username || proxy.password ? `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString("base64")}` : null;
  return { host: proxy.hostname.replace(/^\[|\]$/g, ""), port: Number(proxy.port) || (secure ? 443 : 80), tls: secure, credentials };
}

/**
 * TLS to an https:// proxy, checked against the same roots as every other request. A name is sent
 * only for a host name: an IP address as SNI is not allowed (RFC 6066) and makes Node warn.
 */
function proxyTlsOptions(host: string, secureContext: tls.SecureContext | undefined): tls.ConnectionOptions {
  return { ...(secureContext ? { secureContext } : {}), rejectUnauthorized: true, ...(net.isIP(host) ? {} : { servername: host }) };
}

const bracketed = (host: string) => (host.includes(":") ? `[${host}]` : host);

/**
 * https:// requests through the proxy: a CONNECT tunnel to the target, then TLS to the target inside
 * it, as curl does.
 */
class TunnelingProxyAgent extends https.Agent {
  constructor(
    private readonly endpoint: ProxyEndpoint,
    private readonly opts: ProxyAgentOptions,
  ) {
    super({ keepAlive: false, timeout: opts.timeoutMs, ...(opts.secureContext ? { secureContext: opts.secureContext } : {}), rejectUnauthorized: !opts.insecure });
  }

  // https.Agent's hook for a new connection. Node's agent always passes the callback and takes a
  // socket given to it later (returning nothing), which lets the tunnel be set up first.
  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, socket: Duplex) => void): Duplex {
    const target = `${bracketed(String(options.host))}:${options.port ?? 443}`;
    const headers: Record<string, string> = { host: target, connection: "close" };
    if (this.endpoint.credentials) headers["proxy-authorization"] = this.endpoint.credentials;
    const { host, port } = this.endpoint;
    const request = (this.endpoint.tls ? https : http).request({
      method: "CONNECT",
      host,
      port,
      path: target,
      setHost: false,
      headers,
      agent: false,
      ...(this.endpoint.tls ? proxyTlsOptions(host, this.opts.secureContext) : {}),
    });
    let settled = false;
    // The whole CONNECT exchange, not only each silence, gets --timeout: an idle timeout alone would
    // let a proxy that drips its answer a line at a time hold the run for ever.
    const deadline = setTimeout(
      () => request.destroy(atProxy(Object.assign(new Error(`the proxy did not complete its answer to CONNECT within ${this.opts.timeoutMs / 1000} s`), { code: "ETIMEDOUT" }))),
      this.opts.timeoutMs,
    );
    const done = (err: Error | null, socket?: Duplex) => {
      clearTimeout(deadline);
      if (settled) return;
      settled = true;
      callback?.(err, socket as Duplex);
    };
    // Bytes after the answer, before our TLS hello, cannot be the target's (in TLS the client speaks
    // first): they are the proxy's own leftovers, and are left unread.
    request.once("connect", (response, socket) => {
      request.removeAllListeners();
      if (response.statusCode !== 200) {
        socket.destroy();
        return done(refusedConnect(response.statusCode ?? 0));
      }
      done(null, super.createConnection({ ...options, socket } as tls.ConnectionOptions) as unknown as Duplex);
    });
    request.once("error", (err) => done(atProxy(err)));
    request.end();
    return undefined as unknown as Duplex;
  }
}

/**
 * Sends plain http:// requests to the proxy in absolute form (`GET http://host/path`), as curl does.
 * A CONNECT tunnel instead is commonly allowed to port 443 only (tinyproxy's and squid's stock
 * configurations), so an http:// mirror would be refused.
 */
class ForwardingProxyAgent extends http.Agent {
  constructor(
    private readonly endpoint: ProxyEndpoint,
    private readonly opts: ProxyAgentOptions,
  ) {
    super({ keepAlive: false, timeout: opts.timeoutMs });
  }

  // http.Agent's internal hook (not in @types/node): the request constructor calls it before the
  // request line is written, so the request target can still be rewritten here.
  addRequest(req: http.ClientRequest, options: http.RequestOptions): void {
    const host = options.host ?? options.hostname ?? "localhost";
    const port = Number(options.port) || 80;
    req.path = `http://${bracketed(host)}${port === 80 ? "" : `:${port}`}${req.path}`;
    if (this.endpoint.credentials) req.setHeader("proxy-authorization", this.endpoint.credentials);
    const viaProxy = { ...options, host: this.endpoint.host, hostname: this.endpoint.host, port: this.endpoint.port };
    (http.Agent.prototype as unknown as { addRequest(r: http.ClientRequest, o: object): void }).addRequest.call(this, req, viaProxy);
  }

  // An https:// proxy URL: TLS to the proxy itself, plain HTTP inside.
  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex {
    const socket = this.endpoint.tls
      ? tls.connect({ host: this.endpoint.host, port: this.endpoint.port, ...proxyTlsOptions(this.endpoint.host, this.opts.secureContext) })
      : (super.createConnection(options, callback) as Duplex);
    // Any failure on this socket is the proxy's: the target is only a line in the request.
    socket.once("error", (err) => atProxy(err));
    return socket;
  }
}
