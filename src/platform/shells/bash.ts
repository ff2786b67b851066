import path from "node:path";
import type { Host } from "../../host.js";
import type { RcTarget, ShellStrategy } from "./sh.js";
import { exportPathLine, posixSourceLine } from "./sh.js";

/**
 * bash -l reads the first of ~/.bash_profile, ~/.bash_login, ~/.profile that exists, so an existing
 * .bash_profile (or .bash_login) hides the .profile block and needs its own; bash -i (not a login)
 * reads ~/.bashrc. Files the user does not have are not created: .profile covers login shells, and
 * creating a .bash_profile would stop bash from reading .profile at all.
 */
const FILES = [".bash_profile", ".bash_login", ".bashrc"];

export const bashShell: ShellStrategy = {
  name: "bash",
  // Edits only files that exist, so there is no harm in always looking.
  isUsed: async () => true,
  rcTargets: (host: Host): RcTarget[] =>
    FILES.map((f) => ({ file: path.posix.join(host.home, f), create: false, owned: false })),
  cleanupFiles: (host: Host): RcTarget[] =>
    FILES.map((f) => ({ file: path.posix.join(host.home, f), create: false, owned: false })),
  blockBody: posixSourceLine,
  manualInstructions: (host: Host, binDir: string) =>
    [
      `bash: add the same line at the end of ${path.posix.join(host.home, ".bashrc")}, and of ${path.posix.join(host.home, ".bash_profile")} if you have one:`,
      `    ${exportPathLine(binDir)}`,
    ].join("\n"),
};
