/**
 * The shells tshup sets PATH up for on Linux and macOS, one strategy each: which startup files,
 * the line that sources the env script, and whether the shell is in use here.
 */
import { shShell, type ShellStrategy } from "./sh.js";
import { bashShell } from "./bash.js";
import { zshShell } from "./zsh.js";
import { fishShell } from "./fish.js";

export {
  posixEnvScript,
  exportPathLine,
  posixSourceLine,
  shDoubleQuote,
  shSingleQuote,
  loginShellName,
  absoluteEnvDir,
  type ShellProbe,
  type RcTarget,
  type ShellStrategy,
} from "./sh.js";
export { zshDir } from "./zsh.js";
export { fishConfigDir, fishEnvScript, fishSourceLine, fishQuote } from "./fish.js";

/** The order of edits and of the --no-modify-path text. */
export const SHELLS: readonly ShellStrategy[] = [shShell, bashShell, zshShell, fishShell];
