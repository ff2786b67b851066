import { COMMANDS, FLAGS, HELP_SUMMARY, type CommandSpec, type Flag, type FlagSpec, type Shell } from "../commandline.js";
import { shSingleQuote } from "../platform/shells/sh.js";
import { fishQuote } from "../platform/shells/fish.js";

/**
 * Shell completion scripts, drawn from the command table so that they offer exactly what the
 * parser accepts. Every shell reads the line the same way: flags are passed over (with the value
 * of a flag that takes one), `help` opens help mode, and words that extend a command or a group
 * ("self", then "self update") form the command; any other word is the command's argument.
 */
type Table = Readonly<Record<string, CommandSpec>>;

interface FlagItem {
  long: string;
  short?: string;
  help: string;
  /** What its value looks like; none for a flag that takes no value. */
  value?: string;
  complete?: FlagSpec["complete"];
}

interface Word {
  word: string;
  help: string;
}

interface Model {
  /** The command and group names the scanner follows: "install", "self", "self update". */
  paths: string[];
  /** Flags that take a value, whose next word is that value. */
  valueFlags: FlagItem[];
  /** The words that may come next after a path ("" for the first word), help not included. */
  next: Map<string, Word[]>;
  /** Each command's own flags; "" (no command yet) has install's, the default command's. */
  flags: Map<string, FlagItem[]>;
  /** Commands whose argument has fixed values, or is a directory. */
  args: Map<string, readonly string[] | "dir">;
}

function flagItem(flag: Flag, spec?: CommandSpec): FlagItem {
  const f: FlagSpec = FLAGS[flag];
  const own = spec?.flagHelp?.[flag];
  return { long: `--${flag}`, short: f.short ? `-${f.short}` : undefined, help: own?.help ?? f.help, value: f.type === "string" ? own?.value ?? f.value ?? "VALUE" : undefined, complete: f.complete };
}

function buildModel(table: Table): Model {
  const names = Object.keys(table);
  const groups = [...new Set(names.filter((n) => n.includes(" ")).map((n) => n.slice(0, n.lastIndexOf(" "))))];
  const next = new Map<string, Word[]>();
  const add = (parent: string, word: Word) => {
    const list = next.get(parent) ?? [];
    if (!list.some((w) => w.word === word.word)) list.push(word);
    next.set(parent, list);
  };
  for (const name of names) {
    const words = name.split(" ");
    for (let i = 0; i < words.length; i++) {
      const parent = words.slice(0, i).join(" ");
      const whole = i === words.length - 1;
      add(parent, { word: words[i]!, help: whole ? table[name]!.summary : names.filter((n) => n.startsWith(`${words.slice(0, i + 1).join(" ")} `)).map((n) => `tshup ${n}`).join(", ") });
    }
  }
  const flags = new Map<string, FlagItem[]>(names.map((n) => [n, table[n]!.flags.map((f) => flagItem(f, table[n]))]));
  if (flags.has("install")) flags.set("", flags.get("install")!);
  const args = new Map<string, readonly string[] | "dir">();
  for (const n of names) {
    const arg = table[n]!.arg;
    if (arg?.values) args.set(n, arg.values);
    else if (arg?.complete) args.set(n, arg.complete);
  }
  const valueFlags = (Object.keys(FLAGS) as Flag[]).filter((f) => FLAGS[f].type === "string").map((f) => flagItem(f));
  return { paths: [...names, ...groups], valueFlags, next, flags, args };
}

const psQuote = (s: string) => `'${s.replace(/'/g, "''")}'`;
/** zsh's _describe splits "word:description" at the first colon: a word's own colons are escaped. */
const described = (word: string, help: string) => shSingleQuote(`${word.replace(/:/g, "\\:")}:${help}`);

/** The arms of a `case`, keys with the same body sharing one arm: `'a'|'b') body ;;`. */
function caseArms(entries: [string[], string][], indent: string, zsh = false): string {
  const arms = new Map<string, string[]>();
  for (const [keys, body] of entries) arms.set(body, [...(arms.get(body) ?? []), ...keys]);
  return [...arms].map(([body, keys]) => `${indent}${zsh ? "(" : ""}${keys.map(shSingleQuote).join("|")}) ${body} ;;`).join("\n");
}

function bash(m: Model): string {
  const valueArms = m.valueFlags.map((f): [string[], string] => {
    if (Array.isArray(f.complete)) return [[f.long], `COMPREPLY=($(compgen -W ${shSingleQuote(f.complete.join(" "))} -- "$cur")); return`];
    if (f.complete === "file" || f.complete === "dir") return [[f.long], `compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen ${f.complete === "dir" ? "-d" : "-f"} -- "$cur")); return`];
    return [[f.long], "return"];
  });
  const flagArms = [...m.flags].map(([cmd, flags]): [string[], string] => [[cmd], `flags=${shSingleQuote(flags.map((f) => f.long).join(" "))}`]);
  const nextArms = [...m.next].map(([cmd, words]): [string[], string] => [[cmd], `words=${shSingleQuote(words.map((w) => w.word).join(" "))}`]);
  const argArms = [...m.args].map(([cmd, arg]): [string[], string] =>
    arg === "dir" ? [[cmd], `compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")); return`] : [[cmd], `words=${shSingleQuote(arg.join(" "))}`],
  );
  return `# bash completion for tshup: eval "$(tshup completions bash)" in ~/.bashrc
_tshup() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]}
  local cmd= help= word flags= words= i args=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    case $word in
      ${m.valueFlags.map((f) => f.long).join("|")}) ((i++)); continue ;;
      -*) continue ;;
    esac
    if [[ -z $cmd && -z $help && $args == 0 && $word == help ]]; then help=1; continue; fi
    case "\${cmd:+$cmd }$word" in
      ${m.paths.map(shSingleQuote).join("|")}) cmd="\${cmd:+$cmd }$word" ;;
      *) ((args++)) ;;
    esac
  done
  if ((COMP_CWORD > 1)); then
    case $prev in
${caseArms(valueArms, "      ")}
    esac
  fi
  if [[ $cur == -* ]]; then
    case $cmd in
${caseArms(flagArms, "      ")}
    esac
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  if ((args == 0)); then
    case $cmd in
${caseArms(nextArms, "      ")}
    esac
    if [[ -z $cmd && -z $help ]]; then words="$words help"; fi
    if [[ -z $help ]]; then
      case $cmd in
${caseArms(argArms, "        ")}
      esac
    fi
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _tshup tshup
`;
}

function zsh(m: Model): string {
  const valueArms = m.valueFlags.map((f): [string[], string] => {
    if (Array.isArray(f.complete)) return [[f.long], `compadd -- ${f.complete.map(shSingleQuote).join(" ")}; return`];
    if (f.complete === "file") return [[f.long], "_files; return"];
    if (f.complete === "dir") return [[f.long], "_files -/; return"];
    return [[f.long], `_message -e values ${shSingleQuote(f.value!)}; return`];
  });
  const flagArms = [...m.flags].map(([cmd, flags]): [string[], string] => [[cmd], `flags=(${flags.map((f) => described(f.long, f.help)).join(" ")})`]);
  const nextArms = [...m.next].map(([cmd, words]): [string[], string] => [[cmd], `candidates=(${words.map((w) => described(w.word, w.help)).join(" ")})`]);
  const argArms = [...m.args].map(([cmd, arg]): [string[], string] => (arg === "dir" ? [[cmd], "_files -/; return"] : [[cmd], `compadd -- ${arg.map(shSingleQuote).join(" ")}; return`]));
  return `#compdef tshup
# zsh completion for tshup: source <(tshup completions zsh) in ~/.zshrc, after compinit;
# or save it as _tshup in a directory on $fpath
_tshup() {
  local cur=\${words[CURRENT]} prev=\${words[CURRENT-1]} cmd= help= word
  local -a flags candidates
  integer i args=0
  for (( i = 2; i < CURRENT; i++ )); do
    word=\${words[i]}
    case $word in
      (${m.valueFlags.map((f) => f.long).join("|")}) (( i++ )); continue ;;
      (-*) continue ;;
    esac
    if [[ -z $cmd && -z $help && $args == 0 && $word == help ]]; then help=1; continue; fi
    case "\${cmd:+$cmd }$word" in
      (${m.paths.map(shSingleQuote).join("|")}) cmd="\${cmd:+$cmd }$word" ;;
      (*) (( args++ )) ;;
    esac
  done
  if (( CURRENT > 2 )); then
    case $prev in
${caseArms(valueArms, "      ", true)}
    esac
  fi
  if [[ $cur == -* ]]; then
    case $cmd in
${caseArms(flagArms, "      ", true)}
    esac
    _describe -t flags flag flags
    return
  fi
  (( args == 0 )) || return 1
  if [[ -z $help ]]; then
    case $cmd in
${caseArms(argArms, "      ", true)}
    esac
  fi
  case $cmd in
${caseArms(nextArms, "    ", true)}
  esac
  if [[ -z $cmd && -z $help ]]; then candidates+=(${described("help", HELP_SUMMARY)}); fi
  (( \${#candidates} )) && _describe -t commands command candidates
}
if [[ \${funcstack[1]-} == _tshup ]]; then _tshup "$@"; else compdef _tshup tshup; fi
`;
}

function fish(m: Model): string {
  const lines: string[] = [];
  const using = (cmds: string[]) => `__tshup_using ${cmds.map((c) => fishQuote(c)).join(" ")}`;
  for (const [cmd, flags] of m.flags) {
    if (cmd === "install") continue;
    const at = cmd === "" ? ["", "install"] : [cmd];
    for (const f of flags) {
      const name = `-l ${f.long.slice(2)}${f.short ? ` -s ${f.short.slice(1)}` : ""}`;
      const value = Array.isArray(f.complete)
        ? ` -x -a ${fishQuote(f.complete.join(" "))}`
        : f.complete === "file"
          ? " -r -F"
          : f.complete === "dir"
            ? ` -x -a ${fishQuote("(__fish_complete_directories (commandline -ct))")}`
            : f.value
              ? " -x"
              : "";
      lines.push(`complete -c tshup -n ${fishQuote(using(at))} ${name}${value} -d ${fishQuote(f.help)}`);
    }
  }
  for (const [parent, words] of m.next) {
    for (const helpMode of [0, 1]) {
      for (const w of words) lines.push(`complete -c tshup -n ${fishQuote(`__tshup_next ${fishQuote(parent)} ${helpMode}`)} -a ${fishQuote(w.word)} -d ${fishQuote(w.help)}`);
    }
  }
  lines.push(`complete -c tshup -n ${fishQuote("__tshup_next '' 0")} -a help -d ${fishQuote(HELP_SUMMARY)}`);
  for (const [cmd, arg] of m.args) {
    const words = arg === "dir" ? "(__fish_complete_directories (commandline -ct))" : arg.join(" ");
    lines.push(`complete -c tshup -n ${fishQuote(`__tshup_next ${fishQuote(cmd)} 0`)} -a ${fishQuote(words)}`);
  }
  return `# fish completion for tshup: tshup completions fish > ~/.config/fish/completions/tshup.fish

# Prints three lines: 1 in help mode (else 0), the command so far ('' for none), and how many
# arguments follow it.
function __tshup_scan
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cmd ''
    set -l help 0
    set -l args 0
    set -l skip 0
    for word in $tokens
        if test $skip = 1
            set skip 0
            continue
        end
        switch $word
            case ${m.valueFlags.map((f) => f.long).join(" ")}
                set skip 1
                continue
            case '-*'
                continue
        end
        if test -z "$cmd" -a $help = 0 -a $args = 0 -a "$word" = help
            set help 1
            continue
        end
        set -l longer (string trim -- "$cmd $word")
        if contains -- $longer ${m.paths.map(fishQuote).join(" ")}
            set cmd $longer
        else
            set args (math $args + 1)
        end
    end
    printf '%s\\n' $help $cmd $args
end

# True when the command on the line is one of the arguments ('' for none yet).
function __tshup_using
    set -l s (__tshup_scan)
    test $s[1] = 0; and contains -- $s[2] $argv
end

# True when the next word extends $argv[1] (a group, '' for the first word, or a command's
# argument), in help mode when $argv[2] is 1.
function __tshup_next
    set -l s (__tshup_scan)
    test $s[3] = 0; and test "$s[2]" = "$argv[1]"; and test $s[1] = $argv[2]
end

complete -c tshup -f
${lines.join("\n")}
`;
}

function powershell(m: Model): string {
  const list = (items: readonly string[]) => `@(${items.map(psQuote).join(", ")})`;
  const table = (entries: [string, string][]) => `@{\n${entries.map(([k, v]) => `        ${psQuote(k)} = ${v}`).join("\n")}\n    }`;
  // Keyed "<command> <candidate>", as the completer looks them up: a flag's meaning may be the command's own.
  const tips = new Map<string, string>();
  for (const [cmd, flags] of m.flags) for (const f of flags) tips.set(`${cmd} ${f.long}`.trim(), f.help);
  for (const [parent, words] of m.next) for (const w of words) tips.set(`${parent} ${w.word}`.trim(), w.help);
  const values = m.valueFlags.filter((f) => Array.isArray(f.complete)).map((f): [string, string] => [f.long, list(f.complete as readonly string[])]);
  return `# PowerShell completion for tshup: tshup completions powershell | Out-String | Invoke-Expression
# in $PROFILE
Register-ArgumentCompleter -Native -CommandName 'tshup', 'tshup.exe' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $valueFlags = ${list(m.valueFlags.map((f) => f.long))}
    $paths = ${list(m.paths)}
    $flags = ${table([...m.flags].map(([cmd, flags]) => [cmd, list(flags.map((f) => f.long))]))}
    $next = ${table([...m.next].map(([cmd, words]) => [cmd, list(words.map((w) => w.word))]))}
    $argValues = ${table([...m.args].filter((e): e is [string, readonly string[]] => e[1] !== "dir").map(([cmd, arg]) => [cmd, list(arg)]))}
    $values = ${table(values)}
    $tips = ${table([...tips].map(([k, v]) => [k, psQuote(v)]))}

    # The words before the one being completed, without tshup itself.
    $tokens = @($commandAst.CommandElements | Select-Object -Skip 1 | Where-Object { $_.Extent.EndOffset -lt $cursorPosition } | ForEach-Object { $_.ToString() })
    $cmd = ''
    $help = $false
    $argCount = 0
    for ($i = 0; $i -lt $tokens.Count; $i++) {
        $word = $tokens[$i]
        if ($valueFlags -contains $word) { $i++; continue }
        if ($word.StartsWith('-')) { continue }
        if ($cmd -eq '' -and -not $help -and $argCount -eq 0 -and $word -eq 'help') { $help = $true; continue }
        $longer = "$cmd $word".Trim()
        if ($paths -contains $longer) { $cmd = $longer } else { $argCount++ }
    }
    $prev = ''
    if ($tokens.Count -gt 0) { $prev = $tokens[$tokens.Count - 1] }

    $candidates = @()
    $kind = 'ParameterValue'
    if ($valueFlags -contains $prev) {
        if ($values.ContainsKey($prev)) { $candidates = $values[$prev] }
    } elseif ($wordToComplete.StartsWith('-')) {
        if ($flags.ContainsKey($cmd)) { $candidates = $flags[$cmd] }
        $kind = 'ParameterName'
    } elseif ($argCount -eq 0) {
        if ($next.ContainsKey($cmd)) { $candidates = $next[$cmd] }
        if ($cmd -eq '' -and -not $help) { $candidates += 'help' }
        if (-not $help -and $argValues.ContainsKey($cmd)) { $candidates = $argValues[$cmd] }
    }
    foreach ($candidate in $candidates) {
        if ($candidate -notlike "$wordToComplete*") { continue }
        $tip = $candidate
        $key = "$cmd $candidate".Trim()
        if ($tips.ContainsKey($key)) { $tip = $tips[$key] }
        [System.Management.Automation.CompletionResult]::new($candidate, $candidate, $kind, $tip)
    }
}
`;
}

const RENDER: Record<Shell, (m: Model) => string> = { bash, zsh, fish, powershell };

/** The completion script for `shell`; `table` is the command table, or a larger one in tests. */
export function completionScript(shell: Shell, table: Table = COMMANDS): string {
  return RENDER[shell](buildModel(table));
}
