/**
 * Which HTTP proxy a URL goes through, read from the environment the way curl reads it:
 * https_proxy / HTTPS_PROXY for https, http_proxy / HTTP_PROXY for http (lower case first),
 * NO_PROXY a comma list of `*`, host names (matching the name and its subdomains, a leading dot
 * optional), IP addresses, or either with `:port`.
 */
export function proxyForUrl(target: URL, env: (name: string) => string | undefined): string | null {
  const scheme = target.protocol.replace(":", "");
  if (scheme !== "http" && scheme !== "https") return null;
  const proxy = env(`${scheme}_proxy`) || env(`${scheme.toUpperCase()}_PROXY`) || "";
  if (!proxy.trim()) return null;
  const noProxy = env("no_proxy") ?? env("NO_PROXY") ?? "";
  const port = target.port || (scheme === "https" ? "443" : "80");
  if (bypassesProxy(target.hostname, port, noProxy)) return null;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(proxy.trim()) ? proxy.trim() : `http://${proxy.trim()}`;
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
