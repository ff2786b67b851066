import { isIPv6 } from "node:net";
import { usageError } from "./errors.js";

export interface ProxyAddress {
  host: string;
  port: number;
  /** "host:port", the form tsh and the JSON report use. */
  addr: string;
  /** Base URL for the web API. */
  url: string;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function isValidHost(host: string): boolean {
  return HOSTNAME.test(host) || IPV4.test(host) || isIPv6(host);
}

/** Accepts `host`, `host:port`, `https://host[:port][/]`; default port 443. */
export function parseProxyAddress(input: string): ProxyAddress {
  const raw = input.trim();
  const bad = (why: string) =>
    usageError(`invalid proxy address "${input}": ${why}`, "use host, host:port or https://host:port, e.g. teleport.example.com:443");
  if (!raw) throw bad("it is empty");
  let hostPart = raw;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw bad("not a URL");
    }
    if (u.protocol !== "https:") throw bad(`the proxy speaks https, not ${u.protocol.replace(":", "")}`);
    if (u.username || u.password || u.search || u.hash || (u.pathname && u.pathname !== "/")) {
      throw bad("give only the scheme, host and port");
    }
    hostPart = u.port ? `${u.hostname}:${u.port}` : u.hostname;
  } else if (/[/?#@\s]/.test(raw)) {
    throw bad("it contains characters a host name cannot have");
  }
  let host = hostPart;
  let port = 443;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPart);
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2]) port = Number(bracketed[2]);
  } else {
    const m = /^([^:]+):(\d+)$/.exec(hostPart);
    if (m) {
      host = m[1]!;
      port = Number(m[2]);
    } else if (hostPart.includes(":") && !/^[0-9a-fA-F:]+$/.test(hostPart)) {
      throw bad("the port must be a number");
    }
  }
  host = host.toLowerCase().replace(/\.$/, "");
  if (!isValidHost(host)) throw bad(`"${host}" is not a host name`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port ${port} is out of range`);
  const addr = joinHostPort(host, port);
  return { host, port, addr, url: `https://${addr}` };
}

/** host:port, with an IPv6 host in brackets as every tool that reads it expects. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * An address as a person pastes it from the browser's address bar: `https://host[:port]/web/login`
 * is the proxy `host:port` and a page of its web UI. The page (path, query, fragment) is dropped and
 * returned, so the wizard can say so; anything else is read as parseProxyAddress reads it.
 */
export function proxyFromBrowser(input: string): { address: ProxyAddress; dropped: string } {
  const raw = input.trim();
  if (/^https:\/\//i.test(raw)) {
    try {
      const u = new URL(raw);
      const dropped = `${u.pathname === "/" ? "" : u.pathname}${u.search}${u.hash}`;
      if (dropped && !u.username && !u.password) return { address: parseProxyAddress(`https://${u.host}`), dropped };
    } catch {
      // parseProxyAddress below says what is wrong with it.
    }
  }
  return { address: parseProxyAddress(raw), dropped: "" };
}

/** Host of a host:port (IPv6 in brackets), as tsh's Profile.Name() takes it. */
export function hostOf(addr: string): string {
  const m = /^\[([^\]]+)\]:\d+$/.exec(addr) ?? /^([^:]+):\d+$/.exec(addr);
  return m ? m[1]! : addr;
}

/**
 * The web address tsh keeps a cluster under. After pinging, tsh replaces the address typed with
 * the proxy's advertised `proxy.ssh.public_addr`, and names the profile, the key directory and
 * (in `tsh config`) the ssh Host patterns after that host; so must tshup, or ssh points at keys
 * that never exist.
 */
export function tshProfileAddr(c: { proxy: string; webPublicAddr: string | null }): string {
  if (!c.webPublicAddr) return c.proxy;
  try {
    return parseProxyAddress(c.webPublicAddr).addr;
  } catch {
    return c.proxy;
  }
}
