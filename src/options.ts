import { TshupError, usageError } from "./core/errors.js";
import type { Tool } from "./core/artifact.js";
import { isStrictVersion } from "./core/version.js";
import { loginProblem, teleportUserProblem } from "./core/sshconfig.js";
import { nearest } from "./core/suggest.js";
import { COMMAND_NAMES, FLAGS, OUTPUT_FLAGS, commandSpec, commandsInGroup, type Command, type Flag, type FlagSpec } from "./commandline.js";

export type { Command } from "./commandline.js";

export type HelpPage = { page: "overview" } | { page: "command" } | { page: "group"; group: string } | { page: "help" };

/** One options object that every front end fills: flags, a manifest, the wizard. */
export interface Options {
  command: Command;
  positionals: string[];
  /** Which help page to print instead of running: the overview, the named command's page, the page
   *  of a group of commands (`tshup self --help`), or the page of `tshup help` itself. */
  help: HelpPage | null;
  /** `tshup --version` without a value: tshup's own version. */
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

const isFlag = (name: string): name is Flag => Object.hasOwn(FLAGS, name);
const SHORT = new Map<string, Flag>(Object.entries(FLAGS).flatMap(([name, f]) => ("short" in f ? [[f.short, name as Flag]] : [])));

interface Given {
  flag: Flag;
  /** undefined: none given (a string flag then lacks its value). */
  value: string | undefined;
}

/**
 * Splits argv into flags and words with the whole flag table, so that a flag's value is never
 * taken for a command; which flags the command accepts is checked once the command is known.
 */
function scan(argv: string[]): { given: Given[]; words: string[]; unknown: string[] } {
  const given: Given[] = [];
  const words: string[] = [];
  const unknown: string[] = [];
  // A value may start with "-" (--keep -1 is then refused for what it is), a flag may not.
  const looksLikeFlag = (a: string) => a.startsWith("--") || (/^-[a-zA-Z]+$/.test(a) && [...a.slice(1)].every((c) => SHORT.has(c)));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      if (!isFlag(name)) {
        unknown.push(`--${name}`);
        continue;
      }
      let value = eq < 0 ? undefined : arg.slice(eq + 1);
      const next = argv[i + 1];
      if (FLAGS[name].type === "string" && value === undefined && next !== undefined && !looksLikeFlag(next)) {
        value = next;
        i++;
      }
      given.push({ flag: name, value });
    } else if (arg.startsWith("-") && arg.length > 1) {
      for (const c of arg.slice(1)) {
        const flag = SHORT.get(c);
        if (flag) given.push({ flag, value: undefined });
        else unknown.push(`-${c}`);
      }
    } else {
      words.push(arg);
    }
  }
  return { given, words, unknown };
}

const show = (command: Command) => `tshup ${command}`;
const andList = (items: string[]) => (items.length > 1 ? `${items.slice(0, -1).join(", ")} and ${items.at(-1)}` : items.join(""));
/** A command's flags in a hint: named when they are few, else where to read them. */
const takes = (command: Command) => {
  const own = commandSpec(command).flags;
  return own.length <= 6 ? `${show(command)} takes ${andList(own.map((f) => `--${f}`))}` : `${show(command)} --help lists its flags`;
};

const LONGEST = Math.max(...COMMAND_NAMES.map((c) => c.split(" ").length));

/** The command the words name, longest first, so that "self update" wins over "self". */
function matchCommand(words: string[]): { command: Command; rest: string[] } | null {
  for (let n = Math.min(LONGEST, words.length); n > 0; n--) {
    const name = words.slice(0, n).join(" ");
    if ((COMMAND_NAMES as string[]).includes(name)) return { command: name as Command, rest: words.slice(n) };
  }
  return null;
}

function unknownCommand(word: string, next: string | undefined): TshupError {
  const group = commandsInGroup(word);
  if (group.length > 0) {
    const sub = group.map((c) => c.slice(word.length + 1));
    const guess = next === undefined ? null : nearest(next, sub);
    return usageError(
      next === undefined ? `tshup ${word} needs a subcommand: ${sub.join(", ")}` : `unknown command "tshup ${word} ${next}"`,
      `${guess ? `did you mean tshup ${word} ${guess}? ` : ""}tshup ${word} --help lists them`,
    );
  }
  // A slip may hit a command's last word too: "update" for "self update".
  const meant = new Map<string, string>([["help", "help"]]);
  for (const c of COMMAND_NAMES) meant.set(c.split(" ").at(-1)!, c);
  for (const c of COMMAND_NAMES) meant.set(c.split(" ")[0]!, c.split(" ")[0]!);
  const guess = nearest(word, [...meant.keys()]);
  const firstWords = [...new Set(COMMAND_NAMES.map((c) => c.split(" ")[0]!))];
  return usageError(`unknown command "${word}"`, `${guess ? `did you mean tshup ${meant.get(guess)}? ` : ""}commands: ${firstWords.join(", ")}; tshup --help describes them`);
}

/** A flag outside the command's own set: the nearest of its own, or where the flag belongs. */
function foreignFlag(raw: string, command: Command): TshupError {
  const name = raw.replace(/^--?/, "");
  if (isFlag(name) && raw.startsWith("--")) {
    const owners = COMMAND_NAMES.filter((c) => commandSpec(c).flags.includes(name));
    return usageError(`${show(command)} does not take --${name}`, `--${name} belongs to tshup ${andList(owners)}; ${takes(command)}`);
  }
  const guess = raw.startsWith("--") ? nearest(name, commandSpec(command).flags) : null;
  return usageError(`unknown flag ${raw} for ${show(command)}`, `${guess ? `did you mean --${guess}? ` : ""}${takes(command)}`);
}

/** The page for a word that is not a command by itself: a group's first word, or help. */
function helpForWord(word: string): HelpPage | null {
  if (word === "help") return { page: "help" };
  return commandsInGroup(word).length > 0 ? { page: "group", group: word } : null;
}

export function parseOptions(argv: string[]): Options {
  const { given, words, unknown } = scan(argv);
  const helpWord = words[0] === "help";
  if (helpWord) words.shift();
  const matched = words.length > 0 ? matchCommand(words) : null;
  const command: Command = matched?.command ?? "install";
  const wantsHelp = helpWord || given.some((g) => g.flag === "help");
  // Help needs nothing else to be right: the other flags are not checked.
  if (wantsHelp && !matched && words.length === 1) {
    const page = helpForWord(words[0]!);
    if (page) return build(command, new Map(), [], { help: page, showVersion: false });
  }
  if (unknown.length > 0) throw foreignFlag(unknown[0]!, command);
  if (words.length > 0 && !matched) throw unknownCommand(words[0]!, words[1]);
  const positionals = matched?.rest ?? [];
  if (wantsHelp) return build(command, new Map(), [], { help: { page: matched ? "command" : "overview" }, showVersion: false });

  // `--version` without a value, before any command, is tshup's own version (--json prints it as
  // a document); with a value, it pins tsh.
  const output = new Set<Flag>(OUTPUT_FLAGS);
  if (!matched && given.some((g) => g.flag === "version" && g.value === undefined) && given.every((g) => g.flag === "version" || output.has(g.flag))) {
    return build(command, new Map(given.filter((g) => g.flag !== "version").map((g) => [g.flag, []])), [], { help: null, showVersion: true });
  }
  const spec = commandSpec(command);
  const values = new Map<Flag, string[]>();
  for (const g of given) {
    if (!spec.flags.includes(g.flag)) throw foreignFlag(`--${g.flag}`, command);
    const f: FlagSpec = FLAGS[g.flag];
    if (f.type === "boolean" && g.value !== undefined) throw usageError(`--${g.flag} takes no value (it was given "${g.value}")`, `pass --${g.flag} alone`);
    if (f.type === "string" && g.value === undefined) {
      if (g.flag === "version") throw usageError("--version needs a version like 17.5.1 (or run tshup --version alone for tshup's own)", `${show(command)} --help lists its flags`);
      throw usageError(`--${g.flag} needs a value: ${spec.flagHelp?.[g.flag]?.value ?? f.value}`, `${show(command)} --help describes it`);
    }
    // A repeated flag that takes one value: the last one counts.
    values.set(g.flag, [...(f.multiple ? values.get(g.flag) ?? [] : []), g.value ?? ""]);
  }
  checkArgument(command, positionals);
  return build(command, values, positionals, { help: null, showVersion: false });
}

/** The command's one argument, or none: counted, and checked against its values where it has some. */
function checkArgument(command: Command, positionals: string[]): void {
  const arg = commandSpec(command).arg;
  if (!arg) {
    if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}" for ${show(command)}`, `${show(command)} takes no argument; ${show(command)} --help shows its usage`);
    return;
  }
  if (positionals.length === 0) throw usageError(`${show(command)} needs ${arg.what} (${arg.name})`, arg.hint);
  if (positionals.length > 1) throw usageError(`${show(command)} takes one ${arg.name}, got ${positionals.map((p) => `"${p}"`).join(" ")}`, arg.hint);
  const value = positionals[0]!;
  if (arg.values && !arg.values.includes(value)) {
    const guess = nearest(value, arg.values);
    throw usageError(`${show(command)}: "${value}" is not one of ${arg.values.join(", ")}`, guess ? `did you mean ${show(command)} ${guess}?` : arg.hint);
  }
}

function build(command: Command, values: Map<Flag, string[]>, positionals: string[], mode: { help: Options["help"]; showVersion: boolean }): Options {
  const one = (flag: Flag) => values.get(flag)?.at(-1);
  const on = (flag: Flag) => values.has(flag);
  let version: string | null = null;
  const versions: string[] = [];
  const pin = one("version");
  if (pin !== undefined) {
    for (const raw of command === "mirror" ? pin.split(",") : [pin]) {
      const v = raw.trim().replace(/^v(?=\d)/, "");
      if (!isStrictVersion(v)) throw usageError(`--version ${raw} is not a version like 17.5.1`, "give the full tsh version, e.g. --version 17.5.1");
      versions.push(v);
    }
    version = versions[0]!;
  }

  const user = one("user");
  const login = one("login");
  for (const [flag, value, problem] of [
    ["--user", user, teleportUserProblem],
    ["--login", login, loginProblem],
  ] as const) {
    const p = value === undefined ? null : problem(value);
    if (p) throw usageError(`${flag} ${JSON.stringify(value!.slice(0, 80))} ${p}`, `${flag} names ${flag === "--user" ? "your Teleport user" : "the Unix account on the hosts"}, e.g. ${flag} alice`);
  }
  const prefix = one("prefix");
  if (prefix !== undefined && prefix.trim() === "") {
    throw usageError("--prefix needs a directory; it was given an empty one", "pass --prefix DIR, or leave it out for the default root");
  }
  const edition = (one("edition") ?? "auto") as Options["edition"];
  if (!["auto", "community", "ent"].includes(edition)) {
    throw usageError(`--edition ${edition} is not one of auto, community, ent`, `${show(command)} --help describes it`);
  }
  const tools = parseTools(one("tools") ?? "tsh");
  const keep = parseCount("--keep", one("keep") ?? "3", 1);
  const timeoutSeconds = parseCount("--timeout", one("timeout") ?? "30", 1);
  const jitterSeconds = parseCount("--jitter", one("jitter") ?? "0", 0);
  const platforms = one("platforms")?.split(",").map((p) => p.trim()).filter(Boolean) ?? null;
  if (on("quiet") && on("verbose")) throw usageError("--quiet and --verbose contradict each other", "pick one");
  if (on("per-cluster") && on("no-per-cluster")) throw usageError("--per-cluster and --no-per-cluster contradict each other", "pick one");

  return {
    command,
    positionals,
    help: mode.help,
    showVersion: mode.showVersion,
    proxies: values.get("proxy") ?? [],
    manifest: one("manifest") ?? null,
    version,
    cdnUrl: one("cdn-url") ?? null,
    edition,
    tools,
    prefix: prefix ?? null,
    modifyPath: !on("no-modify-path"),
    seedConfig: !on("no-config"),
    user: user ?? null,
    login: login ?? null,
    yes: on("yes"),
    json: on("json"),
    dryRun: on("dry-run"),
    insecure: on("insecure"),
    caFile: one("ca-file") ?? null,
    keep,
    force: on("force"),
    quiet: on("quiet"),
    verbose: on("verbose"),
    timeoutSeconds,
    versions,
    platforms,
    jitterSeconds,
    perCluster: on("per-cluster"),
    allowHttpMirror: on("allow-http-mirror"),
    explicit: new Set(values.keys()),
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
  if (!/^\d+$/.test(value) || Number(value) < min) throw usageError(`${flag} ${value} is not a whole number of at least ${min}`, `give ${flag} a whole number, ${min} or more`);
  return Number(value);
}
