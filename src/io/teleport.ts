import type { Http } from "./http.js";
import type { ProxyAddress } from "../core/proxyaddr.js";
import { parsePing, teleportErrorMessage, type ClusterInfo } from "../core/ping.js";
import { networkError } from "../core/errors.js";

/**
 * Asks a proxy what it runs: /webapi/find (light, what tsh's updater uses), or /webapi/ping on
 * servers too old to have find.
 */
export async function queryProxy(http: Http, proxy: ProxyAddress, insecure: boolean): Promise<ClusterInfo & { date: string | null }> {
  let res = await http.get(`${proxy.url}/webapi/find`, { insecure, maxBytes: 1024 * 1024 });
  if (res.status === 404 || res.status === 405 || res.status === 501) {
    res = await http.get(`${proxy.url}/webapi/ping`, { insecure, maxBytes: 1024 * 1024 });
  }
  const text = res.body.toString("utf8");
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    // Reported below with what it looked like.
  }
  if (res.status !== 200) {
    const msg = teleportErrorMessage(body);
    throw networkError(
      `${res.url} answered HTTP ${res.status}${msg ? `: ${msg}` : ""}`,
      `check that ${proxy.addr} is the Teleport proxy's web address (often port 443 or 3080)`,
    );
  }
  if (body === undefined) {
    const looksHtml = /^\s*</.test(text);
    throw networkError(
      `${res.url} is not a Teleport proxy: it answered ${looksHtml ? "an HTML page" : "something that is not JSON"}`,
      `check the address ${proxy.addr}: give the Teleport proxy's web address, not a login page or load balancer`,
    );
  }
  const info = parsePing(body, proxy.addr, res.url);
  const date = res.headers["date"];
  return { ...info, date: typeof date === "string" ? date : null };
}
