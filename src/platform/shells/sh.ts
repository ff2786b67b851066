/** sh/dash, and what the other shell strategies share: their types, quoting, the env script. */
import path from "node:path";
import type { Host } from "../../host.js";
import { envGet } from "../../host.js";

/** Read-only questions a shell strategy asks about the machine, answered by posix-path. */
export interface ShellProbe {
  host: Host;
  /** Whether something exists at the path (symlinks followed). */
  exists(p: string): Promise<boolean>;
  /** Whether an executable of that name is in one of the host's PATH directories. */
  onPath(program: string): Promise<boolean>;
}

/** A startup file a shell reads, and how tshup treats it. */
export interface RcTarget {
  file: string;
  /** Create it when absent (otherwise it is edited only when it already exists). */
  create: boolean;
  /** The whole file is tshup's: removal deletes it once its block is gone. */
  owned: boolean;
}

export interface ShellStrategy {
  name: "sh" | "bash" | "zsh" | "fish";
  /** Whether this shell is in use here, so its startup files get the block. */
  isUsed(probe: ShellProbe): Promise<boolean>;
  /** The files that get the block on install. */
  rcTargets(host: Host): RcTarget[];
  /**
   * Every file an earlier install may have put a block in, for removal: also the places the
   * current environment no longer points at (the home's .zshenv when ZDOTDIR is set now, ...).
   */
  cleanupFiles(host: Host): RcTarget[];
  /** The block's body: the line that sources tshup's env script. */
  blockBody(root: string): string;
  /** For --no-modify-path: what to add by hand, and where. */
  manualInstructions(host: Host, binDir: string): string;
}

/** The user's login shell's name from SHELL ("zsh" for /usr/local/bin/zsh), or "". */
export function loginShellName(host: Host): string {
  const shell = envGet(host, "SHELL") ?? "";
  return shell ? path.posix.basename(shell) : "";
}

/** An XDG-style directory variable: used only when absolute, as the XDG spec says. */
export function absoluteEnvDir(host: Host, name: string): string | undefined {
  const v = envGet(host, name);
  return v && path.posix.isAbsolute(v) ? v : undefined;
}

/** Single quotes take everything literally but a single quote, which is closed, escaped, reopened. */
export function shSingleQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Double quotes, as in the spec's `. "<root>/env"`: only \ " $ and ` need a backslash. */
export function shDoubleQuote(s: string): string {
  return `"${s.replace(/[\\"$`]/g, "\\$&")}"`;
}

/** The hand-written equivalent of the env script, for --no-modify-path. */
export function exportPathLine(binDir: string): string {
  return `export PATH=${shDoubleQuote(binDir).slice(0, -1)}:$PATH"`;
}

/**
 * The line in the block. It checks the script is there, because a `.` of a missing file aborts a
 * non-interactive sh reading ~/.profile (some display managers log in that way), and someone may
 * delete the root by hand. It ends in a comment so that the CR of a CRLF startup file falls inside
 * the comment instead of becoming part of the `fi` keyword.
 */
export function posixSourceLine(root: string): string {
  const env = shDoubleQuote(path.posix.join(root, "env"));
  return `if [ -f ${env} ]; then . ${env}; fi # tshup: tsh on PATH`;
}

/**
 * `<root>/env`, for sh, dash, bash, ksh and zsh. Unlike a plain "prepend unless present", it takes
 * the bin dir out of wherever it is and puts it first, so it wins over an older tsh in
 * /usr/local/bin even after something (macOS path_helper, a distribution's profile) moved it; doing
 * that every time also keeps it in PATH exactly once when shells nest or files source each other.
 * Only parameter expansion, no external commands: PATH may be broken when this runs. Quoted
 * expansions in the patterns keep * ? [ in the path literal. `alsoDirs` (tshup's own installed
 * copy's directory) come right after the bin dir, each handled the same way. `root`, for a root
 * that is not the default one, is exported as TSHUP_HOME so that tshup finds it again in every new
 * shell without --prefix.
 */
export function posixEnvScript(binDir: string, alsoDirs: string[] = [], root: string | null = null): string {
  // The last directory put first ends up first: the bin dir goes last.
  const putFirst = (dir: string) => [
    `_tshup_bin=${shSingleQuote(dir)}`,
    '_tshup_rest=":${PATH-}:"',
    "while :; do",
    '    case "$_tshup_rest" in',
    '        *:"$_tshup_bin":*) _tshup_rest=${_tshup_rest%%:"$_tshup_bin":*}:${_tshup_rest#*:"$_tshup_bin":} ;;',
    "        *) break ;;",
    "    esac",
    "done",
    "_tshup_rest=${_tshup_rest#:}",
    "_tshup_rest=${_tshup_rest%:}",
    'PATH="$_tshup_bin${_tshup_rest:+:$_tshup_rest}"',
  ];
  return [
    "# tshup: puts its bin directory first in PATH, exactly once. Sourced from the tshup block in",
    "# your shell startup files; tshup rewrites this file and removes it on uninstall.",
    ...[...alsoDirs].reverse().flatMap(putFirst),
    ...putFirst(binDir),
    "export PATH",
    "unset _tshup_bin _tshup_rest",
    ...(root === null ? [] : [`TSHUP_HOME=${shSingleQuote(root)}`, "export TSHUP_HOME"]),
    "",
  ].join("\n");
}

/**
 * ~/.profile: read by sh/dash login shells, by bash -l when there is no ~/.bash_profile or
 * ~/.bash_login, and by most graphical sessions, whose PATH every terminal then inherits. Created
 * when absent.
 */
export const shShell: ShellStrategy = {
  name: "sh",
  isUsed: async () => true,
  rcTargets: (host: Host): RcTarget[] => [{ file: path.posix.join(host.home, ".profile"), create: true, owned: false }],
  cleanupFiles: (host: Host): RcTarget[] => [{ file: path.posix.join(host.home, ".profile"), create: false, owned: false }],
  blockBody: posixSourceLine,
  manualInstructions: (host: Host, binDir: string) =>
    [
      `sh, dash: add this line at the end of ${path.posix.join(host.home, ".profile")}:`,
      `    ${exportPathLine(binDir)}`,
    ].join("\n"),
};
