import path from "node:path";
import type { Host } from "../../host.js";
import { absoluteEnvDir, loginShellName, type RcTarget, type ShellProbe, type ShellStrategy } from "./sh.js";

/** fish single quotes: only \ and ' are special inside. */
export function fishQuote(s: string): string {
  return `'${s.replace(/[\\']/g, "\\$&")}'`;
}

export function fishConfigDir(host: Host): string {
  return path.posix.join(absoluteEnvDir(host, "XDG_CONFIG_HOME") ?? path.posix.join(host.home, ".config"), "fish");
}

/** One line, so the file stays valid even if someone converts it to CRLF: the CR lands in the comment. */
export function fishSourceLine(root: string): string {
  const env = fishQuote(path.posix.join(root, "env.fish"));
  return `if test -f ${env}; source ${env}; end # tshup: tsh on PATH`;
}

/**
 * `<root>/env.fish`: like the sh script, takes each directory out of PATH wherever it is and puts it
 * first, and exports TSHUP_HOME for a root that is not the default one.
 */
export function fishEnvScript(binDir: string, alsoDirs: string[] = [], root: string | null = null): string {
  const putFirst = (dir: string) => [
    `set -l tshup_bin ${fishQuote(dir)}`,
    "set -l tshup_rest",
    "for tshup_dir in $PATH",
    '    if test "$tshup_dir" != "$tshup_bin"',
    "        set tshup_rest $tshup_rest $tshup_dir",
    "    end",
    "end",
    "set -gx PATH $tshup_bin $tshup_rest",
  ];
  return [
    "# tshup: puts its bin directory first in PATH, exactly once. Sourced from",
    "# conf.d/tshup.fish; tshup rewrites this file and removes it on uninstall.",
    ...[...alsoDirs].reverse().flatMap(putFirst),
    ...putFirst(binDir),
    ...(root === null ? [] : [`set -gx TSHUP_HOME ${fishQuote(root)}`]),
    "",
  ].join("\n");
}

/** Same rule as zsh: the login shell, an existing fish configuration, or fish installed. */
async function isUsed(probe: ShellProbe): Promise<boolean> {
  if (loginShellName(probe.host) === "fish") return true;
  if (await probe.exists(fishConfigDir(probe.host))) return true;
  return probe.onPath("fish");
}

/** fish reads every conf.d/*.fish before config.fish, so tshup keeps a file of its own there. */
const target = (host: Host): RcTarget => ({
  file: path.posix.join(fishConfigDir(host), "conf.d", "tshup.fish"),
  create: true,
  owned: true,
});

export const fishShell: ShellStrategy = {
  name: "fish",
  isUsed,
  rcTargets: (host) => [target(host)],
  cleanupFiles: (host) => {
    const here = target(host);
    const dflt = path.posix.join(host.home, ".config", "fish", "conf.d", "tshup.fish");
    return dflt === here.file ? [here] : [here, { ...here, file: dflt }];
  },
  blockBody: fishSourceLine,
  manualInstructions: (host: Host, binDir: string) =>
    [`fish: put this line in ${target(host).file}:`, `    set -gx PATH ${fishQuote(binDir)} $PATH`].join("\n"),
};
