import path from "node:path";
import type { Context } from "../context.js";
import { EMBEDDED_MANIFEST } from "../build-info.js";
import type { Manifest, ManifestCluster } from "../core/manifest.js";
import { hostOf, joinHostPort, parseProxyAddress, tshProfileAddr } from "../core/proxyaddr.js";
import { usageError, networkError, TshupError } from "../core/errors.js";
import { addStep } from "../core/report.js";
import { parseHostCAs, type ClusterSshConfig } from "../core/sshconfig.js";
import { seedSshConfig, removeSshConfig } from "../io/sshconfig.js";
import { readCurrentProfile, readProfileUser, seedTshProfile } from "../io/tshprofile.js";
import { exists, readRegularFile } from "../io/fsx.js";
import type { QueriedCluster } from "./clusters.js";
import type { ClusterInfo } from "../core/ping.js";

/** `--manifest PATH|URL`, else the manifest a site built into its binary, else none. */
export async function loadManifest(ctx: Context): Promise<Manifest | null> {
  const ref = ctx.opts.manifest;
  if (!ref && !EMBEDDED_MANIFEST) return null;
  // The validator is big; a run without a manifest never loads it.
  const { parseManifest } = await import("../core/manifest.js");
  if (!ref) return EMBEDDED_MANIFEST ? parseManifest(EMBEDDED_MANIFEST, "built into this tshup") : null;
  if (/^http:\/\//i.test(ref)) {
    throw usageError(
      `manifest ${ref}: refusing a manifest over plain http; it can move the CDN and pin hashes, so anyone on the network path could choose the tsh you run`,
      `serve it over https (--manifest ${ref.replace(/^http:/i, "https:")}) or pass a local file`,
    );
  }
  if (/^https:\/\//i.test(ref)) {
    const res = await ctx.http.get(ref, { maxBytes: 1024 * 1024 });
    if (res.status !== 200) throw networkError(`could not fetch the manifest ${ref}: HTTP ${res.status}`, "check the URL, or pass a local file with --manifest");
    return parseManifest(res.body.toString("utf8"), ref);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref)) throw usageError(`manifest ${ref}: only https:// URLs or local files`, "pass an https:// URL or a path");
  let text: string;
  try {
    const bytes = await readRegularFile(ref, 1024 * 1024);
    if (bytes === null) throw usageError(`manifest ${ref} does not exist`, "check the path given to --manifest");
    text = bytes.toString("utf8");
  } catch (err) {
    if (err instanceof TshupError && err.code === "system") throw usageError(`manifest ${err.message}`, err.hint);
    throw err;
  }
  return parseManifest(text, ref);
}

/** Flags override the manifest; the manifest overrides defaults (SPEC section 7). */
export function applyManifest(ctx: Context, m: Manifest): void {
  const o = ctx.opts;
  const given = (flag: string) => o.explicit.has(flag);
  if (!given("version") && m.policy?.version) o.version = m.policy.version;
  if (!given("tools") && m.tools) o.tools = [...new Set(["tsh" as const, ...m.tools])];
  if (!given("edition") && m.edition) o.edition = m.edition;
  if (!given("user") && m.user) o.user = m.user;
  if (!given("login") && m.login) o.login = m.login;
}

/** The manifest's entry for a queried cluster, matched on the normalised proxy address. */
export function manifestClusterFor(m: Manifest | null, c: ClusterInfo): ManifestCluster | undefined {
  return m?.clusters?.find((mc) => {
    try {
      return parseProxyAddress(mc.proxy).addr === c.proxy;
    } catch {
      return false;
    }
  });
}

/** The Teleport user: --user, the manifest, or the user of tsh's existing profile for this proxy. */
export async function teleportUserFor(ctx: Context, c: ClusterInfo): Promise<string | null> {
  return ctx.opts.user ?? (await readProfileUser(ctx.teleportHome, hostOf(tshProfileAddr(c))));
}

/**
 * What to type to log in to a cluster: `tsh login` alone when tsh's current profile is the one
 * tshup seeds for it (it names the proxy, and the user when it knows one), else with `--proxy`.
 * --no-config seeds nothing, so it keeps `--proxy`.
 */
export async function loginCommand(ctx: Context, c: ClusterInfo): Promise<string> {
  const profile = hostOf(tshProfileAddr(c));
  const seeded = ctx.opts.seedConfig && (await readCurrentProfile(ctx.teleportHome)) === profile;
  const profileUser = seeded ? await readProfileUser(ctx.teleportHome, profile) : null;
  const user = ctx.opts.user && ctx.opts.user !== profileUser ? ` --user=${ctx.opts.user}` : "";
  return `tsh login${seeded ? "" : ` --proxy=${c.proxy}`}${user}`;
}

const hostCAs = new Map<string, Promise<string[]>>();

/**
 * The cluster's SSH host CA, from the proxy's public /webapi/auth/export?type=host, asked once per
 * run. It is fetched over verified TLS only: with --insecure nothing vouches for it, so none is
 * written and ssh asks about host keys as it would without tshup.
 */
async function hostCAsOf(ctx: Context, c: ClusterInfo): Promise<string[]> {
  if (ctx.opts.insecure) {
    ctx.feedback.warn(`not fetching the SSH host CA of ${c.proxy} over an unverified connection (--insecure); ssh will ask about the hosts' keys`);
    return [];
  }
  let pending = hostCAs.get(c.proxy);
  if (!pending) {
    const url = `${parseProxyAddress(c.proxy).url}/webapi/auth/export?type=host`;
    pending = ctx.http.get(url, { maxBytes: 256 * 1024 }).then(
      (res) => (res.status === 200 ? parseHostCAs(res.body.toString("utf8")) : []),
      () => [],
    );
    hostCAs.set(c.proxy, pending);
  }
  const keys = await pending;
  if (keys.length === 0) ctx.feedback.verbose(`${c.proxy} gave no SSH host CA; ssh will ask about the hosts' keys`);
  return keys;
}

const leaves = new Map<string, Promise<string[]>>();

/**
 * The leaf clusters of a root the user is logged in to, from the installed tsh itself; asked once
 * per run, and only when tsh holds a certificate for the root (otherwise the next run does it).
 */
async function leafClustersOf(ctx: Context, c: ClusterInfo, tsh: string, user: string, proxyHost: string): Promise<string[]> {
  const cert = path.join(ctx.teleportHome, "keys", proxyHost, `${user}-ssh`, `${c.cluster || proxyHost}-cert.pub`);
  if (!(await exists(tsh)) || !(await exists(cert))) return [];
  let pending = leaves.get(c.proxy);
  if (!pending) {
    const { listLeafClusters } = await import("../io/spawn.js");
    pending = listLeafClusters(ctx.host, tsh, tshProfileAddr(c), ctx.teleportHome);
    leaves.set(c.proxy, pending);
  }
  return pending;
}

/** ssh and tsh files for each cluster; `tshPathFor` names the tsh its ProxyCommand runs. */
export async function seedConfig(
  ctx: Context,
  clusters: QueriedCluster[],
  tshPathFor: (c: QueriedCluster) => string,
  opts: { dryRun: boolean; quiet?: boolean },
): Promise<{ changed: boolean; created: string[]; lines: string[]; warnings: string[] }> {
  const { host, report } = ctx;
  const warnings: string[] = [];
  // Quiet: the caller says them, once (a plan's dry run is followed by the real step, or not at all).
  const warn = (line: string) => (opts.quiet ? warnings.push(line) : ctx.feedback.warn(line));
  const created: string[] = [];
  const lines: string[] = [];
  let changed = false;

  const specs: ClusterSshConfig[] = [];
  for (const c of clusters) {
    const user = await teleportUserFor(ctx, c);
    // tsh keeps the cluster under the proxy's public address, not the one typed (TELEPORT.md 6).
    const webAddr = tshProfileAddr(c);
    const proxyHost = hostOf(webAddr);
    const profile = await seedTshProfile(
      host,
      {
        teleportHome: ctx.teleportHome,
        proxyHost,
        webProxyAddr: webAddr,
        sshProxyAddr: c.tlsRouting ? webAddr : c.sshPublicAddr ?? joinHostPort(proxyHost, 3023),
        user: user ?? undefined,
        cluster: c.cluster || proxyHost,
        tlsRoutingEnabled: c.tlsRouting,
      },
      opts,
    );
    for (const e of profile.edits.filter((x) => x.action === "created")) {
      created.push(e.file);
      lines.push(`${opts.dryRun ? "create" : "created"} ${e.file}`);
    }
    changed ||= profile.changed;
    if (!user) {
      warn(`no Teleport user known for ${c.proxy}, so ~/.ssh/config was not seeded for it; pass --user NAME (or log in with tsh first)`);
      continue;
    }
    const mc = manifestClusterFor(ctx.site, c);
    const style = mc?.ssh?.style ?? "tsh-proxy";
    specs.push({
      proxyHost,
      proxyPort: parseProxyAddress(webAddr).port,
      sshProxyAddr: c.sshPublicAddr ?? undefined,
      cluster: c.cluster || proxyHost,
      teleportUser: user,
      login: ctx.opts.login ?? undefined,
      style,
      hostCAs: style === "proxyjump" ? await hostCAsOf(ctx, c) : undefined,
      leafClusters: style === "tsh-proxy" ? await leafClustersOf(ctx, c, tshPathFor(c), user, proxyHost) : undefined,
      hosts: mc?.ssh?.hosts ?? [],
      jump: mc?.ssh?.jump,
      options: mc?.ssh?.options ?? {},
      tshPath: tshPathFor(c),
      teleportHome: ctx.teleportHome,
      homeDir: host.home,
      windows: ctx.platform.windows,
    });
  }
  if (specs.length > 0) {
    const ssh = await seedSshConfig(host, specs, { dryRun: opts.dryRun, force: ctx.opts.force });
    for (const w of ssh.warnings) warn(w);
    for (const e of ssh.edits.filter((x) => x.action !== "unchanged")) {
      if (e.action === "created") created.push(e.file);
      lines.push(`${opts.dryRun ? (e.action === "created" ? "create" : e.action === "updated" ? "update" : "keep your edited") : e.action} ${e.file}`);
    }
    if (ssh.backup && ssh.changed) lines.push(`${opts.dryRun ? "back up" : "backed up"} ~/.ssh/config to ${ssh.backup}`);
    changed ||= ssh.changed;
    if (!opts.quiet) report.ssh_files = ssh.edits;
  }
  if (!opts.dryRun) {
    addStep(report, "config", changed ? "done" : "skipped", changed ? lines.join("; ") : "ssh and tsh config already seeded");
  }
  // Two proxies on one host share a profile: one line for it.
  return { changed, created, lines: [...new Set(lines)], warnings };
}

export async function removeTshupSshConfig(ctx: Context, dryRun: boolean, warn: boolean): Promise<{ file: string; action: string }[]> {
  const r = await removeSshConfig(ctx.host, { dryRun });
  if (warn) for (const w of r.warnings) ctx.feedback.warn(w);
  return r.edits.filter((e) => e.action !== "unchanged");
}
