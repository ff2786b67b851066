/**
 * Seeds tsh's profile so that a plain `tsh login` knows the proxy (SPEC section 6): writes
 * `<TELEPORT_HOME>/<proxy-host>.yaml` and `current-profile` only when they are absent, and never
 * touches keys. tsh reads the profile with Go's yaml.v2 into api/profile's Profile struct; its own
 * `tsh login` then rewrites the file with everything the proxy tells it.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { Host } from "../host.js";
import { fsError, TshupError } from "../core/errors.js";
import { pathFor } from "../core/layout.js";
import { hostOf, isValidHost } from "../core/proxyaddr.js";
import { teleportUserProblem } from "../core/sshconfig.js";
import { atomicWriteFile, existsOrThrow, readTextIfExists } from "./fsx.js";

export interface TshProfileSeed {
  teleportHome: string;
  /** The profile's name: the host of webProxyAddr. */
  proxyHost: string;
  /** host:port of the web proxy, e.g. teleport.example.com:443. */
  webProxyAddr: string;
  /** host:port of the SSH proxy (the web address again with TLS routing). */
  sshProxyAddr: string;
  user?: string;
  cluster: string;
  tlsRoutingEnabled: boolean;
}

export interface TshProfileResult {
  changed: boolean;
  edits: { file: string; action: "created" | "unchanged" }[];
  warnings: string[];
}

/** The `user:` of tsh's profile for a proxy host, or null. */
export async function readProfileUser(teleportHome: string, proxyHost: string): Promise<string | null> {
  return readProfileField(teleportHome, proxyHost, "user");
}

/**
 * One top-level string of a tsh profile (`user`, `web_proxy_addr`), quoted or bare. tsh writes
 * these files itself, flat and one key a line, so a line match reads them without a YAML parser.
 */
export async function readProfileField(teleportHome: string, profile: string, field: "user" | "web_proxy_addr"): Promise<string | null> {
  const text = await readTextIfExists(path.join(teleportHome, `${profile}.yaml`));
  return (text ? new RegExp(`^${field}:\\s*["']?([^"'\\s]+)["']?\\s*$`, "m").exec(text)?.[1] : undefined) ?? null;
}

/**
 * The profile file's text. Strings are written double-quoted: yaml.v2 reads YAML 1.1, where a bare
 * `yes`, `no` or `on` is a boolean and would not load into a string field. `private_key_policy` is
 * "none", which is what tsh records for an ordinary key; an empty policy is not one tsh accepts as a
 * requirement.
 */
export function renderTshProfile(p: TshProfileSeed): string {
  const q = (s: string) => JSON.stringify(s);
  const lines = [
    `web_proxy_addr: ${q(p.webProxyAddr)}`,
    `ssh_proxy_addr: ${q(p.sshProxyAddr)}`,
    ...(p.user !== undefined ? [`user: ${q(p.user)}`] : []),
    `cluster: ${q(p.cluster)}`,
    `tls_routing_enabled: ${p.tlsRoutingEnabled ? "true" : "false"}`,
    `private_key_policy: none`,
  ];
  return lines.join("\n") + "\n";
}

function checkSeed(p: TshProfileSeed): void {
  const bad = (what: string) =>
    new TshupError("internal", `cannot write tsh's profile: ${what}`, "this is a bug in tshup; please report it, and run with --no-config meanwhile");
  if (!isValidHost(p.proxyHost) || /[/\\]/.test(p.proxyHost)) throw bad(`"${p.proxyHost}" is not a host name`);
  if (hostOf(p.webProxyAddr) !== p.proxyHost) throw bad(`the web address ${p.webProxyAddr} is not on ${p.proxyHost}`);
  for (const [k, v] of [["web_proxy_addr", p.webProxyAddr], ["ssh_proxy_addr", p.sshProxyAddr], ["cluster", p.cluster]] as const) {
    if (!v || /[\u0000-\u001f\u007f\s]/.test(v)) throw bad(`${k} ${JSON.stringify(v)} is empty or has spaces`);
  }
  if (p.user !== undefined) {
    const problem = teleportUserProblem(p.user);
    if (problem) throw bad(`the user ${JSON.stringify(p.user)} ${problem}`);
  }
}

export async function seedTshProfile(host: Host, p: TshProfileSeed, opts: { dryRun: boolean }): Promise<TshProfileResult> {
  checkSeed(p);
  const path = pathFor(host);
  const profile = path.join(p.teleportHome, `${p.proxyHost}.yaml`);
  const current = path.join(p.teleportHome, "current-profile");
  const edits: TshProfileResult["edits"] = [];
  const writes: (() => Promise<void>)[] = [];

  if (await existsOrThrow(profile)) edits.push({ file: profile, action: "unchanged" });
  else {
    edits.push({ file: profile, action: "created" });
    const text = renderTshProfile(p);
    writes.push(() => atomicWriteFile(profile, text, { mode: 0o600 }));
  }
  if (await existsOrThrow(current)) edits.push({ file: current, action: "unchanged" });
  else {
    edits.push({ file: current, action: "created" });
    writes.push(() => atomicWriteFile(current, `${p.proxyHost}\n`, { mode: 0o600 }));
  }

  if (!opts.dryRun && writes.length > 0) {
    try {
      await fs.mkdir(p.teleportHome, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw fsError(err, "create the directory", p.teleportHome);
    }
    for (const w of writes) await w();
  }
  return { changed: writes.length > 0, edits, warnings: [] };
}

/** tsh's current profile name (`current-profile`), or null. */
export async function readCurrentProfile(teleportHome: string): Promise<string | null> {
  const name = (await readTextIfExists(path.join(teleportHome, "current-profile")))?.trim();
  return name && !/[/\\]/.test(name) ? name : null;
}
