/**
 * OpenSSH client configuration for Teleport clusters, as text: one file per cluster that tshup owns
 * (`~/.ssh/tshup/<cluster>.conf`) and one marked block at the top of `~/.ssh/config` that includes
 * them. Pure: the effects are in io/sshconfig.ts.
 *
 * Paths are written absolute and quoted, never with `~`: ssh expands `~` from the password database,
 * not from $HOME, and on Windows `~` and spaces in profile paths are the usual trouble, so an absolute
 * path is the only form that means exactly what tshup computed on every platform.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { usageError } from "./errors.js";
import { isValidHost, joinHostPort } from "./proxyaddr.js";
import { BLOCK_END, BLOCK_START, FLAG_CREATED, findBlocks, splitLines, type Block } from "./rcblock.js";

export { BLOCK_END, BLOCK_START, FLAG_CREATED };

export type SshStyle = "tsh-proxy" | "proxyjump";
export type SshOptionValue = string | number | boolean | string[];

export interface ClusterSshConfig {
  /** The proxy's web host: the profile name and the directory of tsh's keys. */
  proxyHost: string;
  /** The proxy's web port, for `tsh proxy ssh --proxy=host:port`. */
  proxyPort: number;
  /** The proxy's SSH listener (`ssh_public_addr`), the default jump for the proxyjump style. */
  sshProxyAddr?: string;
  cluster: string;
  teleportUser: string;
  /** ssh `User` on the hosts; unset leaves ssh's own default (the local user name). */
  login?: string;
  style: SshStyle;
  /** Host patterns; empty means `*.<cluster>` for tsh-proxy (proxyjump needs some). */
  hosts: string[];
  /** `[user@]host[:port]` for proxyjump; default sshProxyAddr, else `<proxyHost>:3023`. */
  jump?: string;
  options: Record<string, SshOptionValue>;
  tshPath: string;
  teleportHome: string;
  homeDir: string;
  windows: boolean;
  /**
   * The cluster's SSH host CA keys ("<type> <base64>", from the proxy's public
   * /webapi/auth/export?type=host), for the proxyjump style: tsh's known_hosts trusts them only for
   * `*.<cluster>`, and a jump-host site reaches its hosts by their own names.
   */
  hostCAs?: string[];
  /**
   * Leaf clusters the user reaches through this root (tsh-proxy style): each gets the pair of
   * blocks `tsh config` writes for it, with the root's certificate and `--cluster=<leaf>`.
   */
  leafClusters?: string[];
}

/** Teleport's node SSH port, used by tsh-proxy style like `tsh config` does. */
export const NODE_SSH_PORT = 3022;
/** The proxy's SSH listener when a cluster does not say (Teleport's default). */
export const PROXY_SSH_PORT = 3023;

const HASH_LINE = /^# tshup-sha256: ([0-9a-f]{64})[ \t]*\r?\n/m;

// ---------------------------------------------------------------------------------------------
// Validation shared with the manifest parser: every value here ends up on an ssh config line.

/** Options that would break the file's structure, or that tshup itself writes for the style. */
function reservedOption(name: string, style: SshStyle): string | null {
  switch (name.toLowerCase()) {
    case "host":
    case "match":
    case "include":
      return `${name} would start a new section of the ssh config; use hosts to choose the hosts`;
    case "user":
      return "User is set by tshup from the ssh login; give it as login (or --login) instead";
    case "proxyjump":
    case "proxycommand":
      return `${name} is set by tshup from the style${style === "proxyjump" ? " and jump" : ""}; choose them there instead`;
    case "port":
      return style === "tsh-proxy" ? "Port is set by tshup for the tsh-proxy style (Teleport's node port 3022)" : null;
    case "userknownhostsfile":
      return style === "tsh-proxy" ? "UserKnownHostsFile is set by tshup for the tsh-proxy style (tsh's known_hosts)" : null;
    default:
      return null;
  }
}

/**
 * One argument on an ssh config line: no whitespace or control characters (a line break would let a
 * value start a new directive), no quotes (they change how ssh splits the line), no leading `#`.
 */
function argumentProblem(value: string): string | null {
  if (value === "") return "must not be empty";
  if (/[\s\u0000-\u001f\u007f]/.test(value)) return "must not contain spaces, tabs or line breaks (give several words as a list)";
  if (/["']/.test(value)) return "must not contain quotes";
  if (value.startsWith("#")) return "must not start with #";
  return null;
}

/**
 * The ssh options a manifest may set, each with the values ssh accepts for it. An allow-list,
 * because ssh has options that run a command (ProxyCommand, LocalCommand, KnownHostsCommand,
 * RemoteCommand, Match exec), load code (PKCS11Provider, SecurityKeyProvider), or name programs and
 * files (XAuthLocation, IdentityAgent, ControlPath), and new ones appear with new OpenSSH releases:
 * only options that can do none of that are accepted. The values are checked as well, because one
 * value ssh rejects (`Compression maybe`) makes ssh refuse to connect to every host, not only the
 * cluster's.
 */
const YES_NO = ["yes", "no"];
const TIME = /^(\d{1,9}[smhdwSMHDW]?)+$/;
const UNIT_SECONDS: Record<string, number> = { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
/** ssh's time format: 90, 90s, 1h30m. */
function seconds(text: string): number {
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhdw]?)/gi)) total += Number(n) * UNIT_SECONDS[unit!.toLowerCase()]!;
  return total;
}
const ALGORITHMS = /^[+^-]?[A-Za-z0-9@._+*?-]+(,[A-Za-z0-9@._+*?-]+)*$/;
type OptionGrammar =
  | { words: string[]; bool?: true }
  | { range: [number, number]; time?: boolean }
  | { pattern: RegExp; describe: string; maxWords?: number };
const SSH_OPTION_VALUES: Record<string, OptionGrammar> = {
  AddKeysToAgent: { words: ["yes", "no", "ask", "confirm"], bool: true },
  AddressFamily: { words: ["any", "inet", "inet6"] },
  BatchMode: { words: YES_NO, bool: true },
  CASignatureAlgorithms: { pattern: ALGORITHMS, describe: "a comma-separated list of algorithm names" },
  CheckHostIP: { words: YES_NO, bool: true },
  Ciphers: { pattern: ALGORITHMS, describe: "a comma-separated list of cipher names" },
  Compression: { words: YES_NO, bool: true },
  ConnectTimeout: { range: [1, 2147483647], time: true },
  ConnectionAttempts: { range: [1, 2147483647] },
  EscapeChar: { pattern: /^(none|[!-~]|\^[@-_a-z])$/, describe: "one character, ^ and a letter, or none" },
  ExitOnForwardFailure: { words: YES_NO, bool: true },
  ForwardAgent: { words: YES_NO, bool: true },
  GSSAPIAuthentication: { words: YES_NO, bool: true },
  HashKnownHosts: { words: YES_NO, bool: true },
  HostKeyAlgorithms: { pattern: ALGORITHMS, describe: "a comma-separated list of algorithm names" },
  IPQoS: {
    pattern: /^(af[1-4][1-3]|cs[0-7]|ef|le|lowdelay|throughput|reliability|none|\d{1,3})$/,
    describe: "one or two of af11-af43, cs0-cs7, ef, le, lowdelay, throughput, reliability, none or a number",
    maxWords: 2,
  },
  IdentitiesOnly: { words: YES_NO, bool: true },
  KexAlgorithms: { pattern: ALGORITHMS, describe: "a comma-separated list of algorithm names" },
  LogLevel: { words: ["QUIET", "FATAL", "ERROR", "INFO", "VERBOSE", "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3"] },
  MACs: { pattern: ALGORITHMS, describe: "a comma-separated list of MAC names" },
  NumberOfPasswordPrompts: { range: [0, 2147483647] },
  Port: { range: [1, 65535] },
  PreferredAuthentications: { pattern: /^[a-z-]+(,[a-z-]+)*$/, describe: "a comma-separated list like publickey,keyboard-interactive" },
  PubkeyAcceptedAlgorithms: { pattern: ALGORITHMS, describe: "a comma-separated list of algorithm names" },
  PubkeyAcceptedKeyTypes: { pattern: ALGORITHMS, describe: "a comma-separated list of algorithm names" },
  PubkeyAuthentication: { words: ["yes", "no", "unbound", "host-bound"], bool: true },
  RekeyLimit: { pattern: /^(default|none|\d{1,12}[KMG]?|(\d{1,9}[smhdwSMHDW]?)+)$/, describe: "a size like 1G and an optional time like 1h", maxWords: 2 },
  RequestTTY: { words: ["yes", "no", "force", "auto"], bool: true },
  SendEnv: { pattern: /^-?[A-Za-z0-9_*?]+$/, describe: "environment variable names (wildcards * and ? allowed)", maxWords: Infinity },
  ServerAliveCountMax: { range: [0, 2147483647] },
  ServerAliveInterval: { range: [0, 2147483647], time: true },
  SetEnv: { pattern: /^[A-Za-z_][A-Za-z0-9_]*=[^\s]*$/, describe: "NAME=VALUE pairs", maxWords: Infinity },
  StrictHostKeyChecking: { words: ["yes", "no", "ask", "accept-new", "off"], bool: true },
  TCPKeepAlive: { words: YES_NO, bool: true },
  UpdateHostKeys: { words: ["yes", "no", "ask"], bool: true },
  VisualHostKey: { words: YES_NO, bool: true },
};
export const ALLOWED_SSH_OPTIONS = Object.keys(SSH_OPTION_VALUES);

const ALLOWED_LOWER = new Map(ALLOWED_SSH_OPTIONS.map((o) => [o.toLowerCase(), o]));

/** Why an ssh option (name and value) cannot be written, or null. */
export function sshOptionProblem(name: string, value: unknown, style: SshStyle): string | null {
  if (!/^[A-Za-z]+$/.test(name)) return "the option name must be letters only, like ServerAliveInterval";
  const reserved = reservedOption(name, style);
  if (reserved) return reserved;
  const canonical = ALLOWED_LOWER.get(name.toLowerCase());
  if (!canonical) {
    return `${name} is not one of the options tshup writes (none that runs a command, loads code or names a program or file); allowed: ${ALLOWED_SSH_OPTIONS.join(", ")}`;
  }
  const words = Array.isArray(value) ? value : [value];
  if (words.length === 0) return "must list at least one word";
  for (const word of words) {
    if (typeof word === "string") {
      const p = argumentProblem(word) ?? shellProblem(word);
      if (p) return Array.isArray(value) ? `each word ${p}` : p;
    } else if (typeof word !== "number" && typeof word !== "boolean") {
      return Array.isArray(value) ? "must list strings" : "must be a string, number, boolean or list of strings";
    }
  }
  return optionValueProblem(SSH_OPTION_VALUES[canonical]!, value as SshOptionValue);
}

/** Whether ssh would accept the value: checked here so that ssh never refuses the whole config. */
function optionValueProblem(grammar: OptionGrammar, value: SshOptionValue): string | null {
  const words = Array.isArray(value) ? value : [value];
  if ("words" in grammar) {
    if (typeof value === "boolean") return grammar.bool ? null : `must be one of ${grammar.words.join(", ")}`;
    const ok = words.length === 1 && grammar.words.some((w) => w.toLowerCase() === String(words[0]).toLowerCase());
    return ok ? null : `must be one of ${grammar.words.join(", ")}${grammar.bool ? " (or true/false)" : ""}`;
  }
  if ("range" in grammar) {
    const [min, max] = grammar.range;
    const text = words.length === 1 && typeof words[0] !== "boolean" ? String(words[0]) : "";
    const amount = /^\d{1,10}$/.test(text) ? Number(text) : grammar.time && TIME.test(text) ? seconds(text) : NaN;
    return amount >= min && amount <= max ? null : `must be a whole number from ${min} to ${max}${grammar.time ? " (seconds, or a time like 5m)" : ""}`;
  }
  if (typeof value === "boolean" || words.length > (grammar.maxWords ?? 1)) return `must be ${grammar.describe}`;
  return words.every((w) => grammar.pattern.test(String(w))) ? null : `must be ${grammar.describe}`;
}

/**
 * Characters a shell acts on. ssh hands ProxyCommand to the shell with %r and %h filled in, and
 * `ssh -l` passes a login on, so a value carrying any of these could run a command nobody wrote.
 */
function shellProblem(value: string): string | null {
  const bad = /[$`;&|<>(){}\\"'\[\]]/.exec(value);
  return bad ? `must not contain ${JSON.stringify(bad[0])} (shell characters could run a command)` : null;
}

/** Why an ssh Host pattern cannot be written, or null. */
export function hostPatternProblem(pattern: string): string | null {
  const bare = pattern.startsWith("!") ? pattern.slice(1) : pattern;
  if (bare === "") return "is empty";
  if (bare.length > 253) return "is longer than a host name can be";
  // Host names, IP addresses and ssh's wildcards * and ?: nothing a shell or ssh's parser acts on.
  if (!/^[A-Za-z0-9._*?:-]+$/.test(bare)) return "must be a host name pattern: letters, digits, . - _ : and the wildcards * and ?";
  return null;
}

/**
 * A user name written bare on an ssh line (a login, a jump user): it reaches a shell through the
 * ProxyCommand's %r, so only what Unix and Teleport logins use is accepted.
 */
function tokenProblem(value: string): string | null {
  if (value === "") return "must not be empty";
  if (value.length > 256) return "is longer than 256 characters";
  if (!/^[A-Za-z0-9_][A-Za-z0-9._@-]*$/.test(value)) return "must be a user name: letters, digits and . _ @ - only (no spaces or shell characters)";
  return null;
}

/** Why a login cannot be written as ssh `User`, or null. */
export function loginProblem(login: string): string | null {
  return tokenProblem(login);
}

/** Why a Teleport user name cannot be used in tsh's key paths, or null. */
export function teleportUserProblem(user: string): string | null {
  if (user === "" || user.trim() !== user) return "must not be empty or start or end with spaces";
  if (user.length > 256) return "is longer than 256 characters";
  // It names files under ~/.tsh/keys and appears in ssh config paths: SSO names (e-mail
  // addresses included) fit this, shell and path characters do not.
  if (!/^[A-Za-z0-9_][A-Za-z0-9._@+=,-]*$/.test(user)) return "must be letters, digits and . _ @ + = , - only";
  return null;
}

/** Cluster names become part of host patterns, file names and a command line: keep them plain. */
export function clusterNameProblem(cluster: string): string | null {
  return /^[A-Za-z0-9][A-Za-z0-9._+:@-]*$/.test(cluster) ? null : "must be letters, digits and . _ + : @ - only";
}

export interface JumpHost {
  user?: string;
  host: string;
  port?: number;
  /** As ssh's ProxyJump takes it. */
  spec: string;
}

/** Parses `[user@]host[:port]` (IPv6 in brackets), or returns why it cannot. */
export function parseJump(input: string): JumpHost | string {
  const m = /^(?:([^@\s]+)@)?(\[[0-9A-Fa-f:.]+\]|[^:@\s[\]]+)(?::(\d{1,5}))?$/.exec(input);
  if (!m) return "must be [user@]host[:port], e.g. teleport.example.org:3023";
  const user = m[1];
  const host = m[2]!.replace(/^\[|\]$/g, "").toLowerCase();
  if (user !== undefined) {
    const p = tokenProblem(user);
    if (p) return `the user ${p}`;
  }
  if (!isValidHost(host)) return `"${host}" is not a host name`;
  let port: number | undefined;
  if (m[3] !== undefined) {
    port = Number(m[3]);
    if (port < 1 || port > 65535) return `port ${port} is out of range`;
  }
  const hostSpec = host.includes(":") ? `[${host}]` : host;
  return { user, host, port, spec: `${user !== undefined ? `${user}@` : ""}${hostSpec}${port !== undefined ? `:${port}` : ""}` };
}

// ---------------------------------------------------------------------------------------------
// Per-cluster files.

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;

/**
 * The file name of a cluster's config in `~/.ssh/tshup/`. Names that had to be changed to be safe
 * on every file system get a short hash of the real name, so two clusters never share a file.
 */
export function clusterConfigFileName(cluster: string): string {
  return `${clusterFileBase(cluster)}.conf`;
}

/** `~/.ssh/tshup/<cluster>.known_hosts`: the cluster's host CA for its proxyjump hosts. */
export function clusterKnownHostsFileName(cluster: string): string {
  return `${clusterFileBase(cluster)}.known_hosts`;
}

function clusterFileBase(cluster: string): string {
  let base = cluster.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[.]+/, "").replace(/[. ]+$/, "");
  if (base === "") base = "cluster";
  if (WINDOWS_RESERVED.test(base)) base = `_${base}`;
  if (base.length > 80) base = base.slice(0, 80);
  if (base !== cluster) base += `-${createHash("sha256").update(cluster).digest("hex").slice(0, 8)}`;
  return base;
}

/**
 * A path as an ssh config argument: quoted (spaces are common in Windows profiles) with `%` doubled
 * (ssh expands %-tokens in these). OpenSSH's parser eats one backslash of `\\`, `\"` and `\'`, which a
 * Windows UNC path or a folder starting with a quote would contain; such paths get forward slashes,
 * which Windows' OpenSSH accepts too.
 */
function configPath(p: string, windows: boolean): string {
  let v = p;
  if (windows && (/\\\\|\\"|\\'/.test(v) || v.endsWith("\\"))) v = v.replace(/\\/g, "/");
  return `"${v.replace(/%/g, "%%")}"`;
}

/**
 * The head of a ProxyCommand: the tsh tshup installed, with tsh's own managed updates off for it
 * (TELEPORT_TOOLS_VERSION=off), so that inside ssh it neither re-runs another version recorded in
 * ~/.tsh/bin nor downloads one mid-connection. POSIX ssh hands the command to the shell as
 * `exec <command>`, where an assignment cannot lead, hence env(1); single quotes keep every
 * character of the path literal. Windows' ssh starts the command directly (no shell, so no
 * environment prefix), and older Windows OpenSSH fails on a quoted program path
 * (CreateProcessW error 87, gravitational/teleport#16181): the path is written bare unless it
 * has a space, where quotes are the only form that works at all.
 */
function commandHead(p: string, windows: boolean): string {
  const head = windows ? (/\s/.test(p) ? `"${p}"` : p) : `/usr/bin/env TELEPORT_TOOLS_VERSION=off '${p.replace(/'/g, `'"'"'`)}'`;
  return head.replace(/%/g, "%%");
}

function optionLine(name: string, value: SshOptionValue): string {
  const text =
    typeof value === "boolean" ? (value ? "yes" : "no") : Array.isArray(value) ? value.join(" ") : String(value);
  return `    ${name} ${text}`;
}

function pathProblem(p: string): string | null {
  return /[\u0000-\u001f\u007f"]/.test(p) ? "must not contain control characters or quotes" : null;
}

function check(what: string, value: string, problem: string | null): void {
  if (problem) {
    throw usageError(`cannot write ssh config: the ${what} ${JSON.stringify(value)} ${problem}`, "correct it in the site manifest or on the command line");
  }
}

/** The jump host a proxyjump config uses: the given one, else the proxy's SSH listener. */
export function jumpFor(c: Pick<ClusterSshConfig, "jump" | "sshProxyAddr" | "proxyHost">): JumpHost {
  const spec = c.jump ?? c.sshProxyAddr ?? `${c.proxyHost}:${PROXY_SSH_PORT}`;
  const parsed = parseJump(spec);
  if (typeof parsed === "string") {
    throw usageError(`cannot write ssh config: the jump host ${JSON.stringify(spec)} ${parsed}`, "correct ssh.jump in the site manifest");
  }
  return parsed;
}

function header(c: ClusterSshConfig, p: typeof path): string[] {
  const userConfig = p.join(c.homeDir, ".ssh", "config");
  return [
    `# ssh settings for the Teleport cluster ${c.cluster} (proxy ${joinHostPort(c.proxyHost, c.proxyPort)}), written by tshup.`,
    "# tshup rewrites this file when the site's settings change. To customize it, edit it here:",
    "# tshup then keeps your version and warns on each run, until tshup --force puts its own back.",
    `# ${userConfig} includes this file at its top, so these settings win over later ones there.`,
    "# tshup uninstall removes this file.",
  ];
}

/** sha256 of a managed file's text without its hash line. */
function contentHash(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/**
 * The whole text of `~/.ssh/tshup/<cluster>.conf`. Its header carries a hash of the rest, so a later
 * run can tell tshup's own file from one a person edited (see managedFileState).
 */
export function renderClusterConfig(c: ClusterSshConfig): string {
  const p = c.windows ? path.win32 : path.posix;
  check("cluster name", c.cluster, clusterNameProblem(c.cluster));
  check("proxy host", c.proxyHost, isValidHost(c.proxyHost) ? null : "is not a host name");
  if (!Number.isInteger(c.proxyPort) || c.proxyPort < 1 || c.proxyPort > 65535) {
    check("proxy port", String(c.proxyPort), "is out of range");
  }
  check("Teleport user", c.teleportUser, teleportUserProblem(c.teleportUser));
  if (c.login !== undefined) check("ssh login", c.login, loginProblem(c.login));
  check("Teleport home", c.teleportHome, pathProblem(c.teleportHome) ?? (p.isAbsolute(c.teleportHome) ? null : "must be an absolute path"));
  check("tsh path", c.tshPath, pathProblem(c.tshPath));
  for (const h of c.hosts) check("host pattern", h, hostPatternProblem(h));
  if (c.hosts.length > 0 && c.hosts.every((h) => h.startsWith("!"))) {
    check("host patterns", c.hosts.join(" "), "must include at least one pattern without !");
  }
  for (const [name, value] of Object.entries(c.options)) {
    check(`ssh option ${name}`, Array.isArray(value) ? value.join(" ") : String(value), sshOptionProblem(name, value, c.style));
  }

  const keyDir = p.join(c.teleportHome, "keys", c.proxyHost);
  const identity = configPath(p.join(keyDir, c.teleportUser), c.windows);
  const certificate = configPath(p.join(keyDir, `${c.teleportUser}-ssh`, `${c.cluster}-cert.pub`), c.windows);
  const options = Object.entries(c.options).map(([name, value]) => optionLine(name, value));
  const user = c.login !== undefined ? [`    User ${c.login}`] : [];
  const uniq = (xs: string[]) => [...new Set(xs)];

  let body: string[];
  if (c.style === "tsh-proxy") {
    const hosts = c.hosts.length > 0 ? c.hosts : [`*.${c.cluster}`];
    body = [
      `# Common settings for the cluster's hosts and its proxy.`,
      `Host ${uniq([...hosts, c.proxyHost]).join(" ")}`,
      `    UserKnownHostsFile ${configPath(p.join(c.teleportHome, "known_hosts"), c.windows)}`,
      `    IdentityFile ${identity}`,
      `    CertificateFile ${certificate}`,
      ...user,
      ...options,
      "",
      "# The hosts are reached through the proxy by tsh, over the proxy's web port.",
      `Host ${[...hosts, `!${c.proxyHost}`].join(" ")}`,
      `    Port ${NODE_SSH_PORT}`,
      `    ProxyCommand ${commandHead(c.tshPath, c.windows)} proxy ssh --cluster=${c.cluster} --proxy=${joinHostPort(c.proxyHost, c.proxyPort)} %r@%h:%p`,
    ];
    for (const leaf of c.leafClusters ?? []) {
      check("leaf cluster name", leaf, clusterNameProblem(leaf));
      if (leaf === c.cluster) continue;
      body.push(
        "",
        `# The leaf cluster ${leaf}, reached through ${c.cluster} with its certificate.`,
        `Host *.${leaf} ${c.proxyHost}`,
        `    UserKnownHostsFile ${configPath(p.join(c.teleportHome, "known_hosts"), c.windows)}`,
        `    IdentityFile ${identity}`,
        `    CertificateFile ${certificate}`,
        ...user,
        ...options,
        `Host *.${leaf} !${c.proxyHost}`,
        `    Port ${NODE_SSH_PORT}`,
        `    ProxyCommand ${commandHead(c.tshPath, c.windows)} proxy ssh --cluster=${leaf} --proxy=${joinHostPort(c.proxyHost, c.proxyPort)} %r@%h:%p`,
      );
    }
  } else {
    if (c.hosts.length === 0) {
      throw usageError(`cannot write ssh config for cluster ${c.cluster}: the proxyjump style needs host patterns`, "list them under ssh.hosts in the site manifest");
    }
    const jump = jumpFor(c);
    body = [
      "# Common settings for the jump host (the proxy's SSH port) and the hosts behind it.",
      `Host ${uniq([jump.host, ...c.hosts]).join(" ")}`,
      ...user,
      // Teleport hosts present host certificates signed by the cluster's host CA, which tsh's
      // known_hosts trusts only for *.<cluster>. tshup's file vouches for these names, as a global
      // file, so the user's own UserKnownHostsFile stays as they set it.
      ...(c.hostCAs?.length
        ? [`    GlobalKnownHostsFile ${[p.join(c.homeDir, ".ssh", "tshup", clusterKnownHostsFileName(c.cluster)), ...(c.windows ? [] : ["/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"])].map((f) => configPath(f, c.windows)).join(" ")}`]
        : []),
      `    IdentityFile ${identity}`,
      `    CertificateFile ${certificate}`,
      ...options,
      "",
      "# The hosts are reached by jumping through the proxy.",
      `Host ${[...c.hosts, `!${jump.host}`].join(" ")}`,
      `    ProxyJump ${jump.spec}`,
    ];
  }
  const head = header(c, p);
  const rest = ["", ...body, ""].join("\n");
  const unsealed = head.join("\n") + "\n" + rest;
  return `${head.join("\n")}\n# tshup-sha256: ${contentHash(unsealed)}\n${rest}`;
}

const HOST_CA = /^(ssh-rsa|ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) ([A-Za-z0-9+/]{16,16384}={0,2})$/;

/**
 * The host CA keys in the proxy's `/webapi/auth/export?type=host` answer (known_hosts lines
 * `@cert-authority <patterns> <type> <base64> [type=host]`), as "<type> <base64>". Anything that is
 * not such a line is ignored, so nothing else the server sent reaches a file ssh reads.
 */
export function parseHostCAs(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^@cert-authority\s+\S+\s+(\S+)\s+(\S+)(?:\s+type=host)?\s*$/.exec(line.trim());
    if (m && HOST_CA.test(`${m[1]} ${m[2]}`)) out.push(`${m[1]} ${m[2]}`);
  }
  return [...new Set(out)];
}

/** `~/.ssh/tshup/<cluster>.known_hosts` for the proxyjump style: the host CA for the jump host and the hosts behind it. */
export function renderKnownHosts(c: ClusterSshConfig): string {
  const patterns = [jumpFor(c).host, ...c.hosts.filter((h) => !h.startsWith("!"))];
  for (const h of patterns) check("host pattern", h, hostPatternProblem(h));
  for (const k of c.hostCAs ?? []) check("host CA key", k.slice(0, 40), HOST_CA.test(k) ? null : "is not an ssh public key");
  const head = [
    `# The SSH host CA of the Teleport cluster ${c.cluster} (from its proxy ${c.proxyHost}), for the hosts ssh reaches through it.`,
    "# Written by tshup; tshup uninstall removes this file.",
  ];
  const rest = ["", ...(c.hostCAs ?? []).map((k) => `@cert-authority ${[...new Set(patterns)].join(",")} ${k}`), ""].join("\n");
  return `${head.join("\n")}\n# tshup-sha256: ${contentHash(head.join("\n") + "\n" + rest)}\n${rest}`;
}

/**
 * What a file in `~/.ssh/tshup/` is: `tshup` when it is exactly what tshup wrote, `edited` when it
 * carries tshup's hash line but a person changed it since, `foreign` when it has no hash line.
 */
export function managedFileState(text: string): "tshup" | "edited" | "foreign" {
  const m = HASH_LINE.exec(text);
  if (!m) return "foreign";
  const rest = text.slice(0, m.index) + text.slice(m.index + m[0].length);
  return contentHash(rest) === m[1] ? "tshup" : "edited";
}

// ---------------------------------------------------------------------------------------------
// The include block in ~/.ssh/config.

/**
 * The Include line for `~/.ssh/config`. POSIX: the absolute path, so a config read with `ssh -F` or
 * with a $HOME that differs from the password database still finds tshup's files. Windows: relative
 * (ssh resolves it in the user's .ssh folder), because several OpenSSH for Windows releases treat
 * `C:\...` in Include as relative and glob treats `\` as an escape. A home with characters that glob
 * or the config parser would interpret also gets the relative form.
 */
export function includeLineFor(homeDir: string, windows: boolean): string {
  if (windows || /[*?[\]\\"'%\u0000-\u001f\u007f]/.test(homeDir)) return "Include tshup/*.conf";
  return `Include "${path.posix.join(homeDir, ".ssh", "tshup", "*.conf")}"`;
}

const BLOCK_COMMENT = "# Teleport hosts: ssh settings kept by tshup (tshup uninstall removes this block)";

/** Byte order marks as a UTF-8 decode or a latin1 (byte-exact) decode shows them. */
function splitBom(text: string): [string, string] {
  if (text.startsWith("\uFEFF")) return ["\uFEFF", text.slice(1)];
  if (text.startsWith("\u00EF\u00BB\u00BF")) return [text.slice(0, 3), text.slice(3)];
  return ["", text];
}

/** Offset of the first `Host` or `Match` line outside tshup blocks, or the text's length. */
function firstSectionStart(text: string, blocks: Block[]): number {
  for (const line of splitLines(text)) {
    if (blocks.some((b) => line.start >= b.start && line.start < b.end)) continue;
    if (/^[ \t]*(host|match)(?:[ \t]*=|[ \t]|\r?$)/i.test(line.content)) return line.start;
  }
  return text.length;
}

function renderIncludeBlock(includeLine: string, eol: string, created: boolean): string {
  return [BLOCK_START, ...(created ? [FLAG_CREATED] : []), BLOCK_COMMENT, includeLine, BLOCK_END].join(eol) + eol;
}

function firstEol(text: string): "\n" | "\r\n" {
  const nl = text.indexOf("\n");
  return nl > 0 && text[nl - 1] === "\r" ? "\r\n" : "\n";
}

function withoutBlocks(text: string, blocks: Block[]): string {
  let out = text;
  for (let i = blocks.length - 1; i >= 0; i--) out = out.slice(0, blocks[i]!.start) + out.slice(blocks[i]!.end);
  return out;
}

/**
 * Puts tshup's include block into `~/.ssh/config`'s text (`null`: no such file). The block goes at the
 * very top (after a byte order mark, if any): an Include after a `Host` or `Match` line would only
 * apply to that section, and at the top tshup's settings for its hosts come before the user's global
 * defaults. Inserting only prepends whole lines, so removeIncludeBlock gives back the exact bytes.
 * An existing block already above every Host/Match line is rewritten in place; one anywhere else
 * (or several) is taken out and a fresh one put at the top. The file's line ending is kept.
 */
export function upsertIncludeBlock(original: string | null, includeLine: string): { text: string; changed: boolean } {
  if (original === null) return { text: renderIncludeBlock(includeLine, "\n", true), changed: true };
  const [bom, body] = splitBom(original);
  const blocks = findBlocks(body);
  if (blocks.length === 1 && blocks[0]!.end <= firstSectionStart(body, blocks)) {
    const b = blocks[0]!;
    const text = bom + body.slice(0, b.start) + renderIncludeBlock(includeLine, b.eol, b.created) + body.slice(b.end);
    return text === original ? { text: original, changed: false } : { text, changed: true };
  }
  const created = blocks.some((b) => b.created);
  const rest = withoutBlocks(body, blocks);
  return { text: bom + renderIncludeBlock(includeLine, firstEol(rest), created) + rest, changed: true };
}

/**
 * Takes tshup's block(s) out of `~/.ssh/config`'s text. `text` is null when tshup created the file
 * and nothing else is left in it: the file should be deleted.
 */
export function removeIncludeBlock(text: string): { text: string | null; changed: boolean } {
  const [bom, body] = splitBom(text);
  const blocks = findBlocks(body);
  if (blocks.length === 0) return { text, changed: false };
  const out = bom + withoutBlocks(body, blocks);
  return { text: out === "" && blocks.some((b) => b.created) ? null : out, changed: true };
}

/** Whether a config starts with a byte order mark, which OpenSSH rejects as a bad option. */
export function hasByteOrderMark(text: string): boolean {
  return splitBom(text)[0] !== "";
}
