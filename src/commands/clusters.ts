import type { Context } from "../context.js";
import { envGet } from "../host.js";
import { parseProxyAddress, type ProxyAddress } from "../core/proxyaddr.js";
import type { ClusterInfo } from "../core/ping.js";
import { usageError } from "../core/errors.js";
import { queryProxy } from "../io/teleport.js";
import { readCurrentProfile, readProfileField } from "../io/tshprofile.js";

export type QueriedCluster = ClusterInfo & { date: string | null };

/**
 * SPEC section 3: --proxy, then TELEPORT_PROXY, then the manifest, then the proxies the last
 * install served (so a plain rerun after a two-cluster install asks both, and neither cluster's
 * tsh-<cluster> goes while its ssh config still runs it), then tsh's current profile.
 */
export async function resolveProxies(ctx: Context): Promise<ProxyAddress[]> {
  let raw: string[] = ctx.opts.proxies;
  if (raw.length === 0) {
    const env = envGet(ctx.host, "TELEPORT_PROXY");
    if (env) raw = [env];
  }
  if (raw.length === 0) raw = (ctx.site?.clusters ?? []).map((c) => c.proxy);
  if (raw.length === 0) raw = ctx.remembered?.proxies ?? [];
  if (raw.length === 0) {
    const fromProfile = await currentProfileProxy(ctx.teleportHome);
    if (fromProfile) raw = [fromProfile];
  }
  if (raw.length === 0) {
    throw usageError("no Teleport proxy given", "pass --proxy teleport.example.com (or set TELEPORT_PROXY)");
  }
  const seen = new Set<string>();
  return raw.map(parseProxyAddress).filter((p) => !seen.has(p.addr) && Boolean(seen.add(p.addr)));
}

/** The proxy of tsh's active profile, so `tshup` alone upgrades a machine that already logged in. */
async function currentProfileProxy(teleportHome: string): Promise<string | null> {
  const name = await readCurrentProfile(teleportHome);
  if (!name) return null;
  return (await readProfileField(teleportHome, name, "web_proxy_addr")) ?? name;
}

export async function queryClusters(ctx: Context, proxies: ProxyAddress[]): Promise<QueriedCluster[]> {
  const label = proxies.length === 1 ? `Asking ${proxies[0]!.addr} which version it runs` : `Asking ${proxies.length} proxies which versions they run`;
  const spinner = await ctx.feedback.spin(label);
  try {
    const clusters = await Promise.all(proxies.map((p) => queryProxy(ctx.http, p, ctx.opts.insecure)));
    spinner.succeed(clusters.map((c) => `${c.cluster || c.proxy} runs Teleport ${c.serverVersion}${c.toolsVersion && c.toolsVersion !== c.serverVersion ? ` (wants clients at ${c.toolsVersion})` : ""}`).join("; "));
    for (const note of clusters.flatMap((c) => c.notes)) ctx.feedback.warn(note);
    return clusters;
  } catch (err) {
    spinner.fail(`Could not ask ${proxies.map((p) => p.addr).join(", ")}`);
    throw err;
  }
}
