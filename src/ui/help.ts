import type { HelpPage } from "../options.js";
import { COMMAND_NAMES, ENVIRONMENT, GROUP_SUMMARIES, EXITS, FLAGS, HELP_SUMMARY, commandSpec, commandsInGroup, type Command, type Flag, type FlagSpec } from "../commandline.js";
import { EXIT_CODES } from "../core/errors.js";

/** Help pages fit an 80-column terminal. */
const WIDTH = 80;
/** Where the text of a two-column row starts. */
const TEXT_AT = 25;

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** A label and its text beside it, wrapped; under it when the label leaves no room. */
function rows(items: readonly (readonly [string, string])[], textAt = TEXT_AT): string[] {
  const out: string[] = [];
  const indent = " ".repeat(textAt);
  for (const [label, text] of items) {
    const left = `  ${label}`;
    const body = wrap(text, WIDTH - textAt);
    if (left.length + 2 <= textAt) {
      out.push(`${left.padEnd(textAt)}${body[0] ?? ""}`.trimEnd(), ...body.slice(1).map((l) => indent + l));
    } else {
      out.push(left, ...body.map((l) => indent + l));
    }
  }
  return out;
}

function flagLabel(flag: Flag, value = (FLAGS[flag] as FlagSpec).value): string {
  const f: FlagSpec = FLAGS[flag];
  return `${f.short ? `-${f.short}, ` : ""}--${flag}${value ? ` ${value}` : ""}`;
}

const paragraph = (text: string) => wrap(text, WIDTH).join("\n");

/** `tshup --help`: every command, every flag, the environment and the exit codes. */
export function overview(): string {
  const commands = COMMAND_NAMES.map((c) => {
    const spec = commandSpec(c);
    return [spec.arg ? `${c} ${spec.arg.name}` : c, spec.summary] as const;
  });
  const flags = (Object.keys(FLAGS) as Flag[]).map((f) => [flagLabel(f), FLAGS[f].help] as const);
  return [
    "tshup: install and keep current the Teleport tsh client, matched to your proxy",
    "",
    "Usage: tshup [COMMAND] [flags]    (the command is install when none is given)",
    "",
    "Commands:",
    ...rows([...commands, ["help [COMMAND]", HELP_SUMMARY], ["--version [--json]", "tshup's own version"]]),
    "",
    "Flags (tshup COMMAND --help shows the ones that command takes):",
    ...rows(flags),
    "",
    "Environment:",
    ...rows(ENVIRONMENT),
    "",
    "Exit codes (each command's page says which apply):",
    ...rows(EXITS.map(([code, when]) => [`${code}`, when] as const), 7),
    "",
  ].join("\n");
}

/** `tshup COMMAND --help`: its usage, what it does, its own flags, examples and exit codes. */
export function commandHelp(command: Command): string {
  const spec = commandSpec(command);
  const flags = spec.flags.map((f) => {
    const own = spec.flagHelp?.[f];
    return [flagLabel(f, own?.value), own?.help ?? (f === "help" ? "show this page" : FLAGS[f].help)] as const;
  });
  const exits = [...spec.exits, EXITS.find(([code]) => code === EXIT_CODES.internal)!]
    .sort(([a], [b]) => a - b)
    .map(([code, when]) => [`${code}`, when] as const);
  return [
    paragraph(`tshup ${command}: ${spec.summary}`),
    "",
    `Usage: tshup ${spec.usage}`,
    "",
    paragraph(spec.about),
    "",
    "Flags:",
    ...rows(flags),
    "",
    "Examples:",
    ...spec.examples.flatMap(([cmd, comment]) => [`  ${cmd}`, ...wrap(comment, WIDTH - 6).map((l) => `      ${l}`)]),
    "",
    "Exit codes:",
    ...rows(exits, 7),
    "",
  ].join("\n");
}

/** `tshup self --help`: the commands of a group, each with its summary. */
export function groupHelp(group: string): string {
  const members = commandsInGroup(group);
  return [
    paragraph(`tshup ${group}: ${GROUP_SUMMARIES[group] ?? members.map((c) => `tshup ${c}`).join(", ")}`),
    "",
    `Usage: tshup ${group} ${members.map((c) => c.slice(group.length + 1)).join("|")} [flags]`,
    "",
    "Commands:",
    ...rows(members.map((c) => [c, commandSpec(c).summary] as const)),
    "",
    paragraph(`tshup ${members[0]} --help (or tshup help ${members[0]}) shows one command's flags, examples and exit codes.`),
    "",
  ].join("\n");
}

/** `tshup help help`. */
export function helpHelp(): string {
  return [
    paragraph(`tshup help: ${HELP_SUMMARY}`),
    "",
    "Usage: tshup help [COMMAND]",
    "",
    paragraph("Prints the overview of every command, flag, environment variable and exit code; with COMMAND, that command's own page. tshup COMMAND --help prints the same page. Help changes nothing and needs no network."),
    "",
    "Examples:",
    "  tshup help",
    "  tshup help self update",
    "",
    "Exit codes:",
    ...rows([EXITS.find(([code]) => code === EXIT_CODES.ok)!, EXITS.find(([code]) => code === EXIT_CODES.usage)!].map(([code, when]) => [`${code}`, when] as const), 7),
    "",
  ].join("\n");
}

export function helpPage(page: HelpPage, command: Command): string {
  switch (page.page) {
    case "overview":
      return overview();
    case "command":
      return commandHelp(command);
    case "group":
      return groupHelp(page.group);
    case "help":
      return helpHelp();
  }
}
