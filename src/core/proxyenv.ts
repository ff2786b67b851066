import { usageError } from "./errors.js";

/**
 * Which HTTP proxy a URL goes through, read from the environment the way curl reads it:
 * https_proxy / HTTPS_PROXY for https, http_proxy / HTTP_PROXY for http (lower case first),
 * NO_PROXY a comma list of `*`, host names (matching the name and its subdomains, a leading dot
 * optional), IP addresses, or either with `:port`.
 */
export function proxyForUrl(target: URL, env: (name: string) => string | undefined): string | null {
  const scheme = target.protocol.replace(":", "");
  if (scheme !== "http" && scheme !== "https") return null;
  const variable = [`${scheme}_proxy`, `${scheme.toUpperCase()}_PROXY`].find((n) => env(n)) ?? "";
  const proxy = (variable ? env(variable)! : "").trim();
  if (!proxy) return null;
  const noProxy = env("no_proxy") ?? env("NO_PROXY") ?? "";
  const port = target.port || (scheme === "https" ? "443" : "80");
  if (bypassesProxy(target.hostname, port, noProxy)) return null;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`;
  let parsed: URL | null = null;
  try {
    parsed = new URL(withScheme);
  } catch {
    // worded below
  }
  if (!parsed || !parsed.hostname) {
    throw usageError(`${variable} is not a proxy URL: ${redactProxy(proxy)}`, `set ${variable} to http://host:port (or https://host:port), or unset it`);
  }
  try {
    decodeURIComponent(parsed.username);
    decodeURIComponent(parsed.password);
  } catch {
    throw usageError(
      `${variable} has a user or password that is not percent-encoded: ${redactProxy(proxy)}`,
      `write a % in the user or password of ${variable} as %25 (and @ as %40, : as %3A, / as %2F)`,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw usageError(
      `${variable} names a ${parsed.protocol.slice(0, -1)} proxy (${redactProxy(proxy)}); tshup speaks to HTTP and HTTPS proxies only`,
      `set ${variable} to an HTTP proxy (http://host:port), or bypass the proxy for ${target.hostname} with NO_PROXY`,
    );
  }
  return withScheme;
}

/**
 * A proxy URL fit to print: whatever stands between the scheme and the last "@" is credentials, and
 * only the user part is kept. Read off the text rather than a parsed URL: a password with "/" or "@"
 * in it makes the URL parse with the password's tail as its host or path.
 */
export function redactProxy(proxy: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)?(.*)@([^@]*)$/is.exec(proxy);
  const shown = m ? `${m[1] ?? ""}${m[2]!.includes(":") ? `${m[2]!.slice(0, m[2]!.indexOf(":"))}:***` : m[2]}@${m[3]}` : proxy;
  return shown.replace(/([^/])\/$/, "$1");
}

export function bypassesProxy(hostname: string, port: string, noProxy: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  for (const rawEntry of noProxy.split(",")) {
    const entry = rawEntry.trim().toLowerCase();
    if (!entry) continue;
    if (entry === "*") return true;
    let name = entry;
    let entryPort: string | null = null;
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      name = bracketed[1]!;
      entryPort = bracketed[2] ?? null;
    } else {
      const m = /^([^:]+):(\d+)$/.exec(entry);
      if (m) {
        name = m[1]!;
        entryPort = m[2]!;
      }
    }
    if (entryPort !== null && entryPort !== port) continue;
    name = name.replace(/^\*?\./, "").replace(/\.$/, "");
    if (host === name || host.endsWith(`.${name}`)) return true;
  }
  return false;
}
