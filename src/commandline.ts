import { DEFAULT_MIRROR_PLATFORMS, MIRROR_PLATFORMS } from "./core/artifact.js";

/**
 * The command line tshup accepts, in one table: the parser, the help pages and the shell
 * completions all read it, so a flag cannot be accepted by one and unknown to another.
 */
export interface FlagSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** What the value looks like, as help shows it. */
  value?: string;
  help: string;
  /** What a shell offers for the value: fixed words, or paths. */
  complete?: readonly string[] | "file" | "dir";
}

export const FLAGS = {
  proxy: { type: "string", multiple: true, value: "HOST[:PORT]", help: "a Teleport proxy (or https://host:port); repeatable. Default: TELEPORT_PROXY, the manifest, then tsh's current profile" },
  manifest: { type: "string", value: "PATH|URL", complete: "file", help: "a site manifest (YAML or JSON), a local file or an https:// URL" },
  version: { type: "string", value: "X.Y.Z", help: "install exactly this version (it must suit every cluster unless --force)" },
  "cdn-url": { type: "string", value: "URL", complete: "dir", help: "artifact base (default TELEPORT_CDN_BASE_URL, else https://cdn.teleport.dev); also file:///dir or a directory" },
  edition: { type: "string", value: "auto|community|ent", complete: ["auto", "community", "ent"], help: "default auto: from the proxy's edition and FIPS mode" },
  tools: { type: "string", value: "tsh[,tctl]", complete: ["tsh", "tsh,tctl"], help: "which binaries (default tsh)" },
  prefix: { type: "string", value: "DIR", complete: "dir", help: "tshup's root (default TSHUP_HOME, else the per-user data directory)" },
  "no-modify-path": { type: "boolean", help: "leave PATH alone; print what to add instead" },
  "no-config": { type: "boolean", help: "do not seed ssh or tsh config" },
  user: { type: "string", value: "NAME", help: "Teleport user name (for the tsh profile and key paths)" },
  login: { type: "string", value: "NAME", help: "SSH login on the hosts (ssh User)" },
  yes: { type: "boolean", short: "y", help: "never prompt (nor does a run without a terminal, or with CI set)" },
  json: { type: "boolean", help: "print one JSON document on stdout; human text goes to stderr" },
  "dry-run": { type: "boolean", help: "print the plan, change nothing (exit 3 when it would change something)" },
  insecure: { type: "boolean", help: "do not verify the proxy's TLS certificate (never applies to downloads)" },
  "ca-file": { type: "string", value: "PEM", complete: "file", help: "extra trusted CA certificates (NODE_EXTRA_CA_CERTS is honoured too)" },
  keep: { type: "string", value: "N", help: "installed versions to keep (default 3; the active one is never removed)" },
  force: { type: "boolean", help: "allow a version outside the window; reinstall even when nothing changed" },
  "per-cluster": { type: "boolean", help: "clusters whose windows do not overlap: one tsh each, tsh-<cluster> for the others" },
  "no-per-cluster": { type: "boolean", help: "forget a remembered --per-cluster: one tsh for every cluster again" },
  "allow-http-mirror": { type: "boolean", help: "trust .sha256 files from a plain-http mirror (anyone on the network path could forge them)" },
  timeout: { type: "string", value: "SECONDS", help: "give up on a connection silent this long (default 30)" },
  jitter: { type: "string", value: "SECONDS", help: "wait a random time up to SECONDS first (spreads a fleet's cron runs)" },
  platforms: { type: "string", value: "P[,P...]", complete: Object.keys(MIRROR_PLATFORMS), help: "Teleport platforms to fetch" },
  quiet: { type: "boolean", short: "q", help: "print only errors (warnings stay in the --json report)" },
  verbose: { type: "boolean", short: "v", help: "say more, and show the stack of an internal error" },
  help: { type: "boolean", short: "h", help: "show this help" },
} as const satisfies Record<string, FlagSpec>;

export type Flag = keyof typeof FLAGS;

/** Output flags for every command that reports something. */
export const OUTPUT_FLAGS = ["json", "quiet", "verbose"] as const satisfies readonly Flag[];
/** Flags for commands that ask proxies or download. */
const NETWORK = ["ca-file", "timeout"] as const satisfies readonly Flag[];

export interface CommandSpec {
  /** After `tshup `, as the usage line shows it. */
  usage: string;
  /** One line for the overview. */
  summary: string;
  about: string;
  flags: readonly Flag[];
  /** Where a flag means something particular to this command. */
  flagHelp?: Partial<Record<Flag, { value?: string; help: string }>>;
  /** The one argument the command takes, if any. */
  arg?: { name: string; what: string; hint: string; values?: readonly string[]; complete?: "dir" };
  examples: readonly (readonly [command: string, comment: string])[];
  exits: readonly (readonly [code: number, when: string])[];
}

const USAGE_EXIT = [2, "usage: a bad flag or argument"] as const;

export const SHELLS = ["bash", "zsh", "fish", "powershell"] as const;
export type Shell = (typeof SHELLS)[number];

/**
 * A command of more than one word ("self update") is a key with a space; the parser, the help
 * and the completions treat its first word as a group.
 */
export const COMMANDS = {
  install: {
    usage: "[install] [flags]",
    summary: "install or upgrade tsh to match the proxies (the default command)",
    about:
      "Asks each proxy which version it runs, installs the tsh every cluster accepts side by side under tshup's root, makes it the active tsh, puts it on PATH and seeds ssh and tsh config. At a terminal it asks only what it does not know and shows the plan first; with --yes, --json, CI set or no terminal it never prompts. A run with nothing to do changes nothing.",
    flags: ["proxy", "manifest", "version", "cdn-url", "edition", "tools", "prefix", "no-modify-path", "no-config", "user", "login", "yes", "dry-run", "insecure", ...NETWORK, "keep", "force", "per-cluster", "no-per-cluster", "allow-http-mirror", "jitter", ...OUTPUT_FLAGS, "help"],
    examples: [
      ["tshup --proxy teleport.example.com", "install or upgrade, then: tsh login"],
      ["tshup --manifest https://intranet.example.com/tshup.yaml --yes", "a site's setup, unattended"],
      ["tshup --proxy teleport.example.com --dry-run", "the plan only; exit 3 when it would change something"],
    ],
    exits: [
      [0, "installed, upgraded, or nothing to do"],
      [2, "usage: a bad flag, an invalid manifest, no proxy known and no terminal to ask"],
      [3, "--dry-run: something would change"],
      [4, "network: a proxy or the CDN unreachable, TLS failure, artifact not found"],
      [5, "verification: checksum, signature or archive refused"],
      [6, "incompatible: the version is outside a cluster's window"],
      [7, "system: permissions, disk full, lock not obtained in time"],
    ],
  },
  status: {
    usage: "status [flags]",
    summary: "compare what is installed with what each proxy wants",
    about:
      "Asks each proxy (--proxy, TELEPORT_PROXY, the manifest, the last install's proxies, or tsh's current profile) which version it wants and compares it with the tsh that serves each cluster: the active one, or its tsh-<cluster> after --per-cluster. It shows what tshup remembers of your choices (tools, --per-cluster, user, login, a use pin). It changes nothing, so a detection script may run it as often as it likes.",
    flags: ["proxy", "manifest", "version", "edition", "force", "per-cluster", "prefix", "insecure", ...NETWORK, ...OUTPUT_FLAGS, "help"],
    flagHelp: {
      "per-cluster": { help: "judge clusters whose windows do not overlap each by its own tsh (remembered from install)" },
      version: { value: "X.Y.Z", help: "compare with this version instead of the proxies' target" },
      force: { help: "accept a --version outside a cluster's window" },
    },
    examples: [
      ["tshup status --proxy teleport.example.com", "exit 0 up to date, 3 something to do"],
      ["tshup status --json", "\"action\": none, install, upgrade or downgrade"],
    ],
    exits: [
      [0, "up to date"],
      [3, "something to do: not installed, outside a window, or not the target"],
      USAGE_EXIT,
      [4, "network: a proxy unreachable or not answering as Teleport does"],
      [6, "incompatible: the clusters' windows do not overlap, or a tshup use pin lies outside one"],
    ],
  },
  list: {
    usage: "list [flags]",
    summary: "installed versions, the active one marked",
    about: "Lists the versions in tshup's root, offline; * marks the active one.",
    flags: ["prefix", ...OUTPUT_FLAGS, "help"],
    examples: [
      ["tshup list", "one version a line, * before the active one"],
      ["tshup list --json", "versions[] with id, edition and whether it is active"],
    ],
    exits: [[0, "listed (also when nothing is installed)"], USAGE_EXIT, [7, "system: the root could not be read"]],
  },
  use: {
    usage: "use VERSION [flags]",
    summary: "make an installed version the active one (offline)",
    about: "Switches the active tsh to a version already installed, without asking any proxy. VERSION is a version or an id as tshup list shows it (17.5.1, 17.5.1-ent).",
    flags: ["prefix", "dry-run", ...OUTPUT_FLAGS, "help"],
    flagHelp: { "dry-run": { help: "say whether it would switch, change nothing (exit 3 when it would)" } },
    arg: { name: "VERSION", what: "the installed version to make active", hint: "e.g. tshup use 17.5.1; tshup list shows what is installed" },
    examples: [
      ["tshup use 17.4.2", "switch to the installed 17.4.2"],
      ["tshup use 17.4.2 --dry-run", "exit 3 when it would switch, 0 when 17.4.2 is active"],
    ],
    exits: [
      [0, "switched, or already active"],
      [2, "usage: VERSION is not installed, or a bad flag"],
      [3, "--dry-run: it would switch"],
      [7, "system: the lock not obtained in time, or the link not switched"],
    ],
  },
  uninstall: {
    usage: "uninstall [flags]",
    summary: "remove everything tshup added",
    about:
      "Removes exactly what tshup added: its versions, bin entries, env scripts and state, the PATH blocks in shell startup files (or the Windows Path entry), the ssh Include block and tshup's ssh files. Anything else stays, with a warning, and tsh's own ~/.tsh stays. At a terminal it lists what it will remove and asks first.",
    flags: ["prefix", "yes", "dry-run", ...OUTPUT_FLAGS, "help"],
    flagHelp: {
      yes: { help: "do not ask before removing" },
      "dry-run": { help: "list what would be removed, change nothing (exit 3 when something would go)" },
    },
    examples: [
      ["tshup uninstall --dry-run", "what would be removed"],
      ["tshup uninstall --yes", "remove it without asking"],
    ],
    exits: [
      [0, "removed, or nothing to remove"],
      [2, "usage: the root was not made by tshup, or a bad flag"],
      [3, "--dry-run: something would be removed"],
      [7, "system: a file could not be removed"],
    ],
  },
  doctor: {
    usage: "doctor [flags]",
    summary: "diagnose the setup and say how to fix what is wrong",
    about:
      "Checks the active tsh, PATH (anything that shadows tshup's tsh), each proxy and its version window, the clock, the tsh certificate, and whether ssh reads ~/.ssh/config. Each problem comes with its fix; nothing is changed.",
    flags: ["proxy", "manifest", "user", "per-cluster", "prefix", "insecure", ...NETWORK, ...OUTPUT_FLAGS, "help"],
    flagHelp: { user: { value: "NAME", help: "the Teleport user whose certificate to check (default: the tsh profile's)" } },
    examples: [
      ["tshup doctor", "every check, each problem with its fix"],
      ["tshup doctor --proxy teleport.example.com --json", "findings[] with check, status, detail and fix"],
    ],
    exits: [[0, "no problems found"], [3, "problems found, each with its fix"], USAGE_EXIT],
  },
  mirror: {
    usage: "mirror DIR --version V[,V...] [flags]",
    summary: "download and verify artifacts into DIR, laid out like the CDN",
    about:
      "Writes DIR/<artifact> and DIR/<artifact>.sha256 side by side, flat as on the CDN, so that tshup --cdn-url DIR (or file:///DIR, or DIR served over https) installs from it. Every artifact is checked against the CDN's .sha256 file before it is renamed into place; one already there is hashed again and kept when it matches. An interrupted download stays as DIR/<artifact>.partial and the next run resumes it. No Teleport proxy is contacted.",
    flags: ["version", "platforms", "edition", "cdn-url", "manifest", "allow-http-mirror", "dry-run", ...NETWORK, ...OUTPUT_FLAGS, "help"],
    flagHelp: {
      version: { value: "V[,V...]", help: "tsh versions to fetch (required), e.g. --version 17.5.1,16.4.3" },
      platforms: {
        value: "P[,P...]",
        help: `default: ${DEFAULT_MIRROR_PLATFORMS.join(", ")}. FIPS builds only when named: ${Object.keys(MIRROR_PLATFORMS)
          .filter((p) => MIRROR_PLATFORMS[p]!.fips)
          .join(", ")} (enterprise builds, whatever --edition says)`,
      },
      edition: { value: "auto|community|ent", help: "auto and community: community builds; ent: enterprise builds as well (Windows has only the community build, which serves every cluster)" },
      "cdn-url": { value: "URL", help: "where to download from (default TELEPORT_CDN_BASE_URL, else https://cdn.teleport.dev)" },
      manifest: { value: "PATH|URL", help: "a site manifest: its cdn, signing keys and signature policy apply" },
      "dry-run": { help: "say what would be fetched, change nothing (exit 3 when something would be)" },
      json: { help: "one JSON document on stdout: mirror.artifacts[] with name, sha256, status" },
    },
    arg: { name: "DIR", what: "a directory to fill", hint: "e.g. tshup mirror /srv/teleport --version 17.5.1", complete: "dir" },
    examples: [
      ["tshup mirror /srv/teleport --version 17.5.1", "the default platforms"],
      ["tshup mirror /srv/teleport --version 17.5.1,16.4.3 --platforms linux-amd64", "two versions, one platform"],
      ["tshup --cdn-url /srv/teleport --proxy teleport.example.com", "then install from the mirror"],
    ],
    exits: [
      [0, "every artifact verified in DIR"],
      USAGE_EXIT,
      [3, "--dry-run: something would be fetched"],
      [4, "network: the CDN unreachable, or an artifact not published"],
      [5, "verification: a checksum or signature did not match"],
      [7, "system: DIR not writable, disk full, lock not obtained in time"],
    ],
  },
  completions: {
    usage: "completions SHELL",
    summary: "print completions for bash, zsh, fish or powershell",
    about: "Prints a script that completes tshup's commands, flags and their values in SHELL. Load it from the shell's startup file, as the examples show.",
    flags: ["help"],
    arg: { name: "SHELL", what: "the shell to complete for", hint: `one of ${SHELLS.join(", ")}, e.g. tshup completions bash`, values: SHELLS },
    examples: [
      ['eval "$(tshup completions bash)"', "in ~/.bashrc"],
      ["source <(tshup completions zsh)", "in ~/.zshrc, after compinit"],
      ["tshup completions fish > ~/.config/fish/completions/tshup.fish", "once"],
      ["tshup completions powershell | Out-String | Invoke-Expression", "in $PROFILE"],
    ],
    exits: [[0, "printed"], USAGE_EXIT],
  },
  "self install": {
    usage: "self install [flags]",
    summary: "copy this executable to its stable per-user place, on PATH",
    about:
      "Copies the running tshup executable to ~/.local/bin/tshup (Windows: %LOCALAPPDATA%\\Programs\\tshup\\tshup.exe) atomically and puts that directory on PATH, so the fleet recipes and timers find it. A file there that is not a tshup build is left alone unless --force.",
    flags: ["prefix", "no-modify-path", "force", "dry-run", ...OUTPUT_FLAGS, "help"],
    flagHelp: { force: { help: "replace a file at that place that is not a tshup build" } },
    examples: [
      ["tshup self install", "run from the downloaded executable, once it is checked"],
      ["tshup self install --dry-run", "exit 3 when it would copy or edit PATH"],
    ],
    exits: [
      [0, "installed, or already there"],
      [2, "usage: run from a script, not an executable; or a file there that is not tshup's"],
      [3, "--dry-run: something would change"],
      [7, "system: the copy or the PATH edit failed"],
    ],
  },
  "self update": {
    usage: "self update [flags]",
    summary: "replace tshup with the site's newer build, verified against its SHA256SUMS",
    about:
      "Fetches SHA256SUMS from the manifest's self_update.base_url over verified https, downloads this platform's build, checks its hash and that it runs, and replaces the installed copy (or the running executable) atomically. The same build is nothing to do; an older one needs --force.",
    flags: ["manifest", "force", "dry-run", ...NETWORK, ...OUTPUT_FLAGS, "help"],
    flagHelp: { force: { help: "install the published build even when it is older than this one" } },
    examples: [
      ["tshup self update", "with the manifest built into a site's executable"],
      ["tshup self update --manifest https://intranet.example.com/tshup.yaml --json", "from a manifest"],
    ],
    exits: [
      [0, "updated, or already the published build"],
      [2, "usage: no self_update.base_url in the manifest"],
      [3, "--dry-run: it would update"],
      [4, "network: SHA256SUMS or the build not reachable or missing"],
      [5, "verification: the build's hash does not match, or it does not answer --version within twice --timeout"],
      [7, "system: the lock not obtained in time, or the file not replaced"],
    ],
  },
} as const satisfies Record<string, CommandSpec>;

export type Command = keyof typeof COMMANDS;

export const COMMAND_NAMES = Object.keys(COMMANDS) as Command[];

export function commandSpec(command: Command): CommandSpec {
  return COMMANDS[command];
}

/** The commands whose first word is `word` ("self" -> self install, self update); none for a command by itself. */
export function commandsInGroup(word: string): Command[] {
  return COMMAND_NAMES.filter((c) => c.startsWith(`${word} `));
}

/** What each group of commands is for, on its page (`tshup self --help`). */
export const GROUP_SUMMARIES: Readonly<Record<string, string>> = { self: "install tshup itself on PATH, and keep it updated" };

/** What `tshup help` is, in the overview and in completions. */
export const HELP_SUMMARY = "the overview, or a command's own page (also COMMAND --help)";

/** Environment variables tshup reads, as the overview lists them. */
export const ENVIRONMENT: readonly (readonly [name: string, what: string])[] = [
  ["TELEPORT_PROXY", "the proxy, when no --proxy is given"],
  ["TELEPORT_CDN_BASE_URL", "the artifact base, when no --cdn-url is given"],
  ["TELEPORT_HOME", "where tsh keeps its profiles and keys (default ~/.tsh)"],
  ["TSHUP_HOME", "tshup's root, when no --prefix is given"],
  ["HTTPS_PROXY, HTTP_PROXY, NO_PROXY", "an HTTP proxy for tshup's requests, as curl reads them (lower case too)"],
  ["NODE_EXTRA_CA_CERTS", "extra trusted CA certificates"],
  ["TSHUP_LOCK_TIMEOUT", "seconds to wait for another run's lock (default 600)"],
  ["NO_COLOR", "no colour on a terminal"],
  ["CI", "never prompt, no animation"],
];

/** SPEC section 4, as the overview explains them. */
export const EXITS: readonly (readonly [code: number, when: string])[] = [
  [0, "ok: done, changed or nothing to do"],
  [1, "internal: a bug in tshup; please report it with the output of --verbose"],
  [2, "usage: a bad flag or argument, an invalid manifest, no proxy known"],
  [3, "pending: status has something to do; --dry-run would change something"],
  [4, "network: a proxy or the CDN unreachable, TLS failure, artifact not found"],
  [5, "verification: checksum, signature or archive refused"],
  [6, "incompatible: outside a cluster's window, or windows that do not overlap"],
  [7, "system: permissions, disk full, lock not obtained in time"],
];
