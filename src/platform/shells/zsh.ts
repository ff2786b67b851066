import path from "node:path";
import type { Host } from "../../host.js";
import { absoluteEnvDir, loginShellName, type RcTarget, type ShellProbe, type ShellStrategy } from "./sh.js";
import { exportPathLine, posixSourceLine } from "./sh.js";

/** zsh reads its startup files from ZDOTDIR when set, else from the home. */
export function zshDir(host: Host): string {
  return absoluteEnvDir(host, "ZDOTDIR") ?? host.home;
}

/**
 * zsh counts as used when it is the login shell (SHELL), when the user already has zsh startup
 * files, when it is installed (on PATH: a user may switch to it later, and a .zshenv is harmless),
 * or on macOS, where it is the default shell.
 */
async function isUsed(probe: ShellProbe): Promise<boolean> {
  const { host } = probe;
  if (loginShellName(host) === "zsh" || host.platform === "darwin") return true;
  const dir = zshDir(host);
  for (const f of [".zshenv", ".zshrc", ".zprofile", ".zlogin"]) {
    if (await probe.exists(path.posix.join(dir, f))) return true;
  }
  return probe.onPath("zsh");
}

/**
 * .zshenv is read by every zsh, login or not, interactive or not. On macOS /etc/zprofile then runs
 * path_helper, which moves the system directories (with /usr/local/bin and any old tsh in it) in
 * front of ours for login shells, which every Terminal window is; the block in .zprofile, read
 * after /etc/zprofile, puts tshup's bin dir back in front.
 */
function rcTargets(host: Host): RcTarget[] {
  const dir = zshDir(host);
  const files = [path.posix.join(dir, ".zshenv")];
  if (host.platform === "darwin") files.push(path.posix.join(dir, ".zprofile"));
  return files.map((file) => ({ file, create: true, owned: false }));
}

function cleanupFiles(host: Host): RcTarget[] {
  const dirs = [...new Set([zshDir(host), host.home])];
  return dirs.flatMap((dir) =>
    [".zshenv", ".zprofile"].map((f) => ({ file: path.posix.join(dir, f), create: false, owned: false })),
  );
}

export const zshShell: ShellStrategy = {
  name: "zsh",
  isUsed,
  rcTargets,
  cleanupFiles,
  blockBody: posixSourceLine,
  manualInstructions: (host: Host, binDir: string) =>
    [
      `zsh: add the same line at the end of ${rcTargets(host)
        .map((t) => t.file)
        .join(" and of ")}:`,
      `    ${exportPathLine(binDir)}`,
    ].join("\n"),
};
