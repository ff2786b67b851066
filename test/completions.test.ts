import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import fsp from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { COMMANDS, SHELLS, type CommandSpec, type Shell } from "../src/commandline.js";
import { completionScript } from "../src/ui/completions.js";
import { cliVariants, ROOT, runCli } from "./support/cli.js";
import { OWN_FLAGS } from "./support/surface.js";
import { requireTool } from "./support/tools.js";

/** What completing at the end of each line offers, as a sorted set (a trailing "/" on directories dropped). */
type Offers = string[][];

// A command of two words ("self install") is offered by its first word.
const COMMAND_WORDS = [...new Set([...Object.keys(OWN_FLAGS).map((c) => c.split(" ")[0]!), "help"])].sort();

/** The same lines for every shell, and what each must offer. */
const CASES: [line: string, offers: string[]][] = [
  ["tshup ins", ["install"]],
  ["tshup ", COMMAND_WORDS],
  ["tshup st", ["status"]],
  ["tshup --proxy status st", ["status"]],
  ["tshup --edition ", ["auto", "community", "ent"]],
  ["tshup status --edition c", ["community"]],
  ["tshup --tools ", ["tsh", "tsh,tctl"]],
  ["tshup mirror m --platforms linux-arm", ["linux-arm", "linux-arm64", "linux-arm64-fips"]],
  ["tshup completions ", [...SHELLS].sort()],
  ["tshup completions z", ["zsh"]],
  ["tshup help ", COMMAND_WORDS.filter((w) => w !== "help")],
  ["tshup help mi", ["mirror"]],
  ["tshup use 17.5.1 --d", ["--dry-run"]],
  ["tshup use 17.5.1 ", []],
  ["tshup list extra ", []],
  ["tshup mirror md", ["mdir"]],
  ["tshup --prefix md", ["mdir"]],
  ["tshup --manifest site", ["site.yaml"]],
  ...(Object.entries(OWN_FLAGS) as [string, string[]][]).map(([command, flags]): [string, string[]] => [`tshup ${command} --`, flags.map((f) => `--${f}`).sort()]),
  ["tshup --", OWN_FLAGS.install.map((f) => `--${f}`).sort()],
];

/** A table with a command group, as `self install` and `self update` will make one. */
const GROUPED: Record<string, CommandSpec> = {
  ...COMMANDS,
  "self install": { ...COMMANDS.list, summary: "copy tshup to its place", flags: ["prefix", "yes", "help"] },
  "self update": { ...COMMANDS.list, summary: "replace tshup with a newer build", flags: ["dry-run", "json", "help"] },
};
const GROUPED_CASES: [string, string[]][] = [
  ["tshup ", [...new Set([...COMMAND_WORDS, "self"])].sort()],
  ["tshup self ", ["install", "update"]],
  ["tshup self up", ["update"]],
  ["tshup self update --", ["--dry-run", "--help", "--json"]],
  ["tshup --prefix md self install --", ["--help", "--prefix", "--yes"]],
  ["tshup help self ", ["install", "update"]],
  ["tshup self update extra ", []],
];

const MARK = "-- done --";
const byMark = (text: string): Offers =>
  text
    .split("\n")
    .reduce<string[][]>((acc, l) => (l === MARK ? [...acc, []] : (acc.at(-1)!.push(l), acc)), [[]])
    .slice(0, -1)
    .map((o) => [...new Set(o.filter(Boolean).map((x) => x.replace(/\/$/, "")))].sort());

let dir: string;
const scripts = {} as Record<Shell, string>;
const grouped = {} as Record<Shell, string>;
let env: Record<string, string>;

before(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), "tshup-completions-"));
  // What the directory and file cases find.
  await fsp.mkdir(path.join(dir, "mdir"));
  await fsp.writeFile(path.join(dir, "site.yaml"), "name: x\n");
  env = { HOME: dir, PATH: "/usr/local/bin:/usr/bin:/bin", LANG: "C.UTF-8", XDG_CONFIG_HOME: path.join(dir, ".config"), XDG_DATA_HOME: path.join(dir, ".local", "share"), TERM: "dumb" };
  const variant = cliVariants()[0]!;
  for (const shell of SHELLS) {
    const r = await runCli(variant, ["completions", shell], { env });
    assert.equal(r.code, 0, r.stderr);
    scripts[shell] = path.join(dir, `tshup.${shell}`);
    await fsp.writeFile(scripts[shell], r.stdout);
    grouped[shell] = path.join(dir, `grouped.${shell}`);
    await fsp.writeFile(grouped[shell], completionScript(shell, GROUPED));
  }
});
after(async () => fsp.rm(dir, { recursive: true, force: true }));

/** Loads the script in a real bash, finds its function with `complete -p`, and drives it with COMP_WORDS. */
function bashOffers(script: string, lines: string[]): Offers {
  const bash = requireTool("bash", "bash");
  const driver = `source "$1"; shift
spec=$(complete -p tshup) || exit 3
[[ $spec == "complete -F "*" tshup" ]] || { echo "unexpected: $spec" >&2; exit 4; }
fn=\${spec#complete -F }; fn=\${fn%% *}
for line in "$@"; do
  read -r -a COMP_WORDS <<< "$line"
  [[ $line == *" " ]] && COMP_WORDS+=("")
  COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); COMP_LINE=$line; COMP_POINT=\${#line}; COMPREPLY=()
  "$fn" tshup "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s\\n' "\${COMPREPLY[@]}" ${JSON.stringify(MARK)}
done`;
  return byMark(execFileSync(bash, ["--norc", "--noprofile", "-c", driver, "bash", script, ...lines], { cwd: dir, env, encoding: "utf8" }));
}

/** Types each line into an interactive zsh (through zpty) and records what its Tab offers. */
function zshOffers(script: string, lines: string[]): Offers {
  const zsh = requireTool("zsh", "zsh");
  const out = path.join(dir, `zsh-${Math.random().toString(36).slice(2)}.out`);
  execFileSync(zsh, ["-f", path.join(ROOT, "test", "support", "complete.zsh"), script, out, ...lines], { cwd: dir, env, encoding: "utf8", timeout: 120_000 });
  return byMark(fs.readFileSync(out, "utf8"));
}

/** fish's own `complete -C` for each line, after sourcing the script. */
function fishOffers(script: string, lines: string[]): Offers {
  const fish = requireTool("fish", "fish");
  const quote = (s: string) => `'${s.replace(/[\\']/g, (c) => `\\${c}`)}'`;
  const commands = [`source ${quote(script)}`, ...lines.map((l) => `complete -C ${quote(l)}; echo ${quote(MARK)}`)].join("\n");
  // Each line is "word<TAB>description".
  return byMark(execFileSync(fish, ["--no-config", "-c", commands], { cwd: dir, env, encoding: "utf8" }).replace(/\t.*$/gm, ""));
}

function expectOffers(shell: string, cases: [string, string[]][], offers: Offers): void {
  assert.equal(offers.length, cases.length, `${shell}: one answer per line`);
  cases.forEach(([line, expected], i) => assert.deepEqual(offers[i], [...expected].sort(), `${shell}: "${line}<TAB>"`));
}

describe("shell completions, loaded in the real shells", () => {
  test("bash: complete -p names the function; it offers the commands, each command's flags and the values", () => {
    expectOffers("bash", CASES, bashOffers(scripts.bash, CASES.map(([l]) => l)));
    expectOffers("bash, with a command group", GROUPED_CASES, bashOffers(grouped.bash, GROUPED_CASES.map(([l]) => l)));
  });

  test("zsh: loads after compinit in zsh -f, registers _tshup with compdef, and Tab offers the same", () => {
    const zsh = requireTool("zsh", "zsh");
    const loaded = execFileSync(zsh, ["-f", "-c", `autoload -Uz compinit && compinit -u -D && source ${scripts.zsh} && print -r -- "$_comps[tshup] $(whence -w _tshup)"`], { env, encoding: "utf8" });
    assert.equal(loaded, "_tshup _tshup: function\n");
    expectOffers("zsh", CASES, zshOffers(scripts.zsh, CASES.map(([l]) => l)));
    expectOffers("zsh, with a command group", GROUPED_CASES, zshOffers(grouped.zsh, GROUPED_CASES.map(([l]) => l)));
  });

  test("zsh: the script also works as an autoloaded _tshup on $fpath", () => {
    const zsh = requireTool("zsh", "zsh");
    const fpathDir = path.join(dir, "fpath");
    fs.mkdirSync(fpathDir, { recursive: true });
    fs.copyFileSync(scripts.zsh, path.join(fpathDir, "_tshup"));
    const out = execFileSync(zsh, ["-f", "-c", `fpath=(${fpathDir} $fpath); autoload -Uz compinit && compinit -u -D && print -r -- $_comps[tshup]`], { env, encoding: "utf8" });
    assert.equal(out, "_tshup\n", "compinit reads #compdef tshup from the file");
  });

  test("fish: complete -C offers the same, with a description for each command and flag", () => {
    expectOffers("fish", CASES, fishOffers(scripts.fish, CASES.map(([l]) => l)));
    expectOffers("fish, with a command group", GROUPED_CASES, fishOffers(grouped.fish, GROUPED_CASES.map(([l]) => l)));
    const described = execFileSync(requireTool("fish", "fish"), ["--no-config", "-c", `source ${scripts.fish}; complete -C 'tshup ins'; complete -C 'tshup status --vers'`], { env, encoding: "utf8" });
    assert.equal(described, `install\t${COMMANDS.install.summary}\n--version\t${COMMANDS.status.flagHelp.version.help}\n`);
  });

  test("powershell: parsed with PowerShell's grammar (PowerShell itself does not run here), naming every command and flag", () => {
    const text = fs.readFileSync(scripts.powershell, "utf8");
    // The grammar has teeth: the same script without its last brace must not parse.
    const broken = path.join(dir, "broken.ps1");
    fs.writeFileSync(broken, text.replace(/\}\s*$/, ""));
    const grammar = path.join(ROOT, "test", "support", "powershell-grammar.mjs");
    const problems = JSON.parse(execFileSync(process.execPath, ["--liftoff-only", grammar, scripts.powershell, broken], { encoding: "utf8" }));
    assert.deepEqual(problems[scripts.powershell], [], "the script parses as PowerShell");
    assert.ok(problems[broken].length > 0, "a script without its last brace does not parse");

    assert.match(text, /^Register-ArgumentCompleter -Native -CommandName 'tshup', 'tshup\.exe' -ScriptBlock \{$/m);
    assert.match(text, /\[System\.Management\.Automation\.CompletionResult\]::new\(/);
    for (const [command, flags] of Object.entries(OWN_FLAGS)) {
      assert.match(text, new RegExp(`^ {8}'${command}' = @\\(${flags.map((f) => `'--${f}'`).join(", ")}\\)$`, "m"), `${command}'s flags`);
    }
    const firstWords = [...new Set(Object.keys(OWN_FLAGS).map((c) => c.split(" ")[0]!))];
    assert.match(text, new RegExp(`^ {8}'' = @\\(${firstWords.map((c) => `'${c}'`).join(", ")}\\)$`, "m"), "the commands");
    assert.match(text, /^ {8}'self' = @\('install', 'update'\)$/m, "a group's subcommands");
    assert.match(text, /^ {8}'--edition' = @\('auto', 'community', 'ent'\)$/m);
    assert.match(text, /^ {8}'completions' = @\('bash', 'zsh', 'fish', 'powershell'\)$/m);
  });

  test("completions refuses a shell it does not know, suggesting the nearest", async () => {
    const r = await runCli(cliVariants()[0]!, ["completions", "zhs"], { env });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'tshup: error: tshup completions: "zhs" is not one of bash, zsh, fish, powershell\n  hint: did you mean tshup completions zsh?\n');
  });
});
