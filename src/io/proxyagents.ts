// The agents for requests through an HTTP(S) proxy, in their own module: loading them brings
// node:http and hpagent, which a run with no proxy set has no use for.
import http from "node:http";
import type https from "node:https";
import tls from "node:tls";
import type { Duplex } from "node:stream";
import { HttpsProxyAgent } from "hpagent";

export interface ProxyAgents {
  http: http.Agent;
  https: https.Agent;
}

export function proxyAgents(proxy: string, opts: { timeoutMs: number; secureContext: tls.SecureContext | undefined; insecure: boolean }): ProxyAgents {
  return {
    http: new ForwardingProxyAgent(new URL(proxy), opts.timeoutMs),
    https: new HttpsProxyAgent({ proxy, keepAlive: false, timeout: opts.timeoutMs, secureContext: opts.secureContext, rejectUnauthorized: !opts.insecure }),
  };
}

/**
 * Sends plain http:// requests to the proxy in absolute form (`GET http://host/path`), as curl does.
 * hpagent's HttpProxyAgent tunnels them with CONNECT instead, which proxies commonly allow to port
 * 443 only (tinyproxy's and squid's stock configurations), so an http:// mirror would be refused.
 */
class ForwardingProxyAgent extends http.Agent {
  constructor(
    private readonly proxy: URL,
    timeoutMs: number,
  ) {
    super({ keepAlive: false, timeout: timeoutMs });
  }

  // http.Agent's internal hook (not in @types/node): the request constructor calls it before the
  // request line is written, so the request target can still be rewritten here.
  addRequest(req: http.ClientRequest, options: http.RequestOptions): void {
    const host = options.host ?? options.hostname ?? "localhost";
    const port = Number(options.port) || 80;
    const authority = `${host.includes(":") ? `[${host}]` : host}${port === 80 ? "" : `:${port}`}`;
    req.path = `http://${authority}${req.path}`;
    if (this.proxy.username || this.proxy.password) {
      const cred = `${decodeURIComponent(this.proxy.username)}:${decodeURIComponent(this.proxy.password)}`;
      req.setHeader("proxy-authorization", `Basic ${Buffer.from(cred).toString("base64")}`);
    }
    const proxyHost = this.proxy.hostname.replace(/^\[|\]$/g, "");
    const viaProxy = { ...options, host: proxyHost, hostname: proxyHost, port: Number(this.proxy.port) || (this.proxy.protocol === "https:" ? 443 : 80) };
    (http.Agent.prototype as unknown as { addRequest(r: http.ClientRequest, o: object): void }).addRequest.call(this, req, viaProxy);
  }

  // An https:// proxy URL: TLS to the proxy itself, plain HTTP inside.
  override createConnection(options: http.ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex {
    if (this.proxy.protocol !== "https:") return super.createConnection(options, callback);
    const host = String(options.host);
    return tls.connect({ host, port: Number(options.port), servername: host });
  }
}
