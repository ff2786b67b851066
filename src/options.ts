import { parseArgs } from "node:util";
import { usageError } from "./core/errors.js";
import type { Tool } from "./core/artifact.js";
import { isStrictVersion } from "./core/version.js";
import { loginProblem, teleportUserProblem } from "./core/sshconfig.js";

export const COMMANDS = ["install", "status", "list", "use", "uninstall", "doctor", "mirror", "self"] as const;
export type Command = (typeof COMMANDS)[number];

/** One options object that every front end fills: flags, a manifest, the wizard. */
export interface Options {
  command: Command;
  positionals: string[];
  help: boolean;
  showVersion: boolean;
  proxies: string[];
  manifest: string | null;
  version: string | null;
  cdnUrl: string | null;
  edition: "auto" | "community" | "ent";
  tools: Tool[];
  prefix: string | null;
  modifyPath: boolean;
  seedConfig: boolean;
  user: string | null;
  login: string | null;
  yes: boolean;
  json: boolean;
  dryRun: boolean;
  insecure: boolean;
  caFile: string | null;
  keep: number;
  force: boolean;
  quiet: boolean;
  verbose: boolean;
  timeoutSeconds: number;
  /** mirror: the versions (--version V[,V...]) and platforms (--platforms a,b) to fetch. */
  versions: string[];
  platforms: string[] | null;
  /** Seconds of random delay before contacting anything (fleet cron runs). */
  jitterSeconds: number;
  /** Several clusters whose windows do not overlap: one tsh per cluster side by side. */
  perCluster: boolean;
  /** Accept a .sha256 sidecar fetched over plain http (anyone on the path could forge it). */
  allowHttpMirror: boolean;
  /** Flags given explicitly, so a manifest only fills what the user left open. */
  explicit: Set<string>;
}

const FLAGS = {
  proxy: { type: "string", multiple: true },
  manifest: { type: "string" },
  version: { type: "string" },
  "cdn-url": { type: "string" },
  edition: { type: "string" },
  tools: { type: "string" },
  prefix: { type: "string" },
  "no-modify-path": { type: "boolean" },
  "no-config": { type: "boolean" },
  user: { type: "string" },
  login: { type: "string" },
  yes: { type: "boolean", short: "y" },
  json: { type: "boolean" },
  "dry-run": { type: "boolean" },
  insecure: { type: "boolean" },
  "ca-file": { type: "string" },
  keep: { type: "string" },
  force: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  verbose: { type: "boolean", short: "v" },
  timeout: { type: "string" },
  platforms: { type: "string" },
  jitter: { type: "string" },
  "per-cluster": { type: "boolean" },
  "allow-http-mirror": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const HINT = "run tshup --help for the flags";

export function parseOptions(argv: string[]): Options {
  // `tshup --version` alone prints tshup's own version; `--version X.Y.Z` pins tsh.
  const showVersion = argv.length === 1 && argv[0] === "--version";
  let parsed;
  try {
    parsed = parseArgs({ args: showVersion ? [] : argv, options: FLAGS, strict: true, allowPositionals: true });
  } catch (err) {
    const msg = (err as Error).message.split("\n")[0]!.replace(/\. To specify a positional argument.*$/, "");
    throw usageError(msg, HINT);
  }
  const v = parsed.values;
  const positionals = [...parsed.positionals];
  let command: Command = "install";
  if (positionals.length > 0 && (COMMANDS as readonly string[]).includes(positionals[0]!)) {
    command = positionals.shift() as Command;
  } else if (positionals.length > 0 && positionals[0] !== "help") {
    throw usageError(`unknown command "${positionals[0]}"`, `commands: ${COMMANDS.join(", ")}; ${HINT}`);
  }
  const help = Boolean(v.help) || positionals[0] === "help";
  const explicit = new Set(Object.keys(v));

  let version: string | null = null;
  const versions: string[] = [];
  if (typeof v.version === "string") {
    for (const raw of command === "mirror" ? v.version.split(",") : [v.version]) {
      const pin = raw.trim().replace(/^v(?=\d)/, "");
      if (!isStrictVersion(pin)) throw usageError(`--version ${raw} is not a version like 17.5.1`, "give the full tsh version, e.g. --version 17.5.1");
      versions.push(pin);
    }
    version = versions[0]!;
  } else if (argv.includes("--version") && !showVersion) {
    throw usageError("--version needs a version like 17.5.1 (or run tshup --version alone for tshup's own)", HINT);
  }

  for (const [flag, value, problem] of [
    ["--user", v.user, teleportUserProblem],
    ["--login", v.login, loginProblem],
  ] as const) {
    const p = value === undefined ? null : problem(value);
    if (p) throw usageError(`${flag} ${JSON.stringify(value!.slice(0, 80))} ${p}`, `${flag} names ${flag === "--user" ? "your Teleport user" : "the Unix account on the hosts"}, e.g. ${flag} alice`);
  }
  if (v.prefix !== undefined && v.prefix.trim() === "") {
    throw usageError("--prefix needs a directory; it was given an empty one", "pass --prefix DIR, or leave it out for the default root");
  }
  const edition = (v.edition ?? "auto") as Options["edition"];
  if (!["auto", "community", "ent"].includes(edition)) {
    throw usageError(`--edition ${v.edition} is not one of auto, community, ent`, HINT);
  }
  const tools = parseTools(v.tools ?? "tsh");
  const keep = parseCount("--keep", v.keep ?? "3", 1);
  const timeoutSeconds = parseCount("--timeout", v.timeout ?? "30", 1);
  const jitterSeconds = parseCount("--jitter", v.jitter ?? "0", 0);
  const platforms = v.platforms === undefined ? null : v.platforms.split(",").map((p) => p.trim()).filter(Boolean);
  if (v.quiet && v.verbose) throw usageError("--quiet and --verbose contradict each other", "pick one");
  if (command === "use" && !help && positionals.length !== 1) {
    throw usageError("use needs exactly one VERSION", "e.g. tshup use 17.5.1; tshup list shows what is installed");
  }
  if (command === "self" && !help && (positionals.length !== 1 || !["install", "update"].includes(positionals[0]!))) {
    throw usageError(positionals.length === 0 ? "self needs a subcommand: install or update" : `self ${positionals.join(" ")}: expected self install or self update`, "e.g. tshup self install");
  }
  if (command !== "use" && command !== "mirror" && command !== "self" && positionals.length > 0 && !help) {
    throw usageError(`unexpected argument "${positionals[0]}"`, HINT);
  }

  return {
    command,
    positionals,
    help,
    showVersion,
    proxies: (v.proxy ?? []) as string[],
    manifest: v.manifest ?? null,
    version,
    cdnUrl: v["cdn-url"] ?? null,
    edition,
    tools,
    prefix: v.prefix ?? null,
    modifyPath: !v["no-modify-path"],
    seedConfig: !v["no-config"],
    user: v.user ?? null,
    login: v.login ?? null,
    yes: Boolean(v.yes),
    json: Boolean(v.json),
    dryRun: Boolean(v["dry-run"]),
    insecure: Boolean(v.insecure),
    caFile: v["ca-file"] ?? null,
    keep,
    force: Boolean(v.force),
    quiet: Boolean(v.quiet),
    verbose: Boolean(v.verbose),
    timeoutSeconds,
    versions,
    platforms,
    jitterSeconds,
    perCluster: Boolean(v["per-cluster"]),
    allowHttpMirror: Boolean(v["allow-http-mirror"]),
    explicit,
  };
}

export function parseTools(value: string): Tool[] {
  const list = value.split(",").map((s) => s.trim()).filter(Boolean);
  const bad = list.find((t) => t !== "tsh" && t !== "tctl");
  if (bad) throw usageError(`--tools: unknown tool "${bad}"`, "tshup installs tsh and, if asked, tctl: --tools tsh,tctl");
  if (!list.includes("tsh")) throw usageError("--tools must include tsh", "e.g. --tools tsh,tctl");
  return [...new Set(list)] as Tool[];
}

function parseCount(flag: string, value: string, min: number): number {
  if (!/^\d+$/.test(value) || Number(value) < min) throw usageError(`${flag} ${value} is not a whole number of at least ${min}`, HINT);
  return Number(value);
}

export const HELP = `tshup: install and keep current the Teleport tsh client, matched to your proxy

Usage:
  tshup [install] [flags]   install or upgrade tsh to match the proxy(ies)
  tshup status [flags]      compare what is installed with what each proxy wants (exit 3: something to do)
  tshup list                installed versions, the active one marked
  tshup use VERSION         make an installed version the active one
  tshup doctor              diagnose the setup and say how to fix what is wrong (exit 3: problems)
  tshup mirror DIR --version V[,V...] [--platforms P,...]
                            download and verify artifacts into DIR, laid out like the CDN
  tshup self install        copy this executable to ~/.local/bin/tshup (Windows: %LOCALAPPDATA%\Programs\tshup)
                            and put it on PATH
  tshup self update         replace that copy with the build the site publishes (manifest self_update.base_url),
                            verified against its SHA256SUMS
  tshup --version           print tshup's own version

Flags:
  --proxy HOST[:PORT]       a Teleport proxy (or https://host:port); repeatable. Default: TELEPORT_PROXY,
                            then tsh's current profile
  --version X.Y.Z           install exactly this version (must suit every cluster unless --force)
  --cdn-url URL             artifact base (default TELEPORT_CDN_BASE_URL, else https://cdn.teleport.dev);
                            also file:///dir or a directory
  --edition auto|community|ent   default auto: from the proxy
  --tools tsh[,tctl]        which binaries (default tsh)
  --prefix DIR              tshup's root (env TSHUP_HOME)
  --no-modify-path          leave PATH alone; print what to add instead
  --no-config               do not seed ssh or tsh config
  --user NAME               Teleport user name      --login NAME   SSH login on the hosts
  -y, --yes                 never prompt
  --json                    print one JSON document on stdout; human text goes to stderr
  --dry-run                 print the plan, change nothing (exit 3 when it would change something)
  --insecure                do not verify the proxy's TLS certificate (never applies to downloads)
  --ca-file PEM             extra trusted CA certificates (NODE_EXTRA_CA_CERTS is honoured too)
  --per-cluster             clusters whose windows do not overlap: one tsh each, tsh-<cluster> for the others
  --allow-http-mirror       trust .sha256 files from a plain-http mirror (anyone on the network path
                            could forge them; a hash pinned in an https or local manifest needs no opt-in)
  --keep N                  installed versions to keep (default 3; the active one is never removed)
  --force                   allow a version outside the window; reinstall even when nothing changed
  --timeout SECONDS         give up on a connection silent this long (default 30)
  --jitter SECONDS          wait a random time up to SECONDS first (spreads a fleet's cron runs)
  -q, --quiet, -v, --verbose

Exit codes: 0 ok, 1 internal, 2 usage, 3 pending, 4 network, 5 verification, 6 incompatible, 7 system.
`;
