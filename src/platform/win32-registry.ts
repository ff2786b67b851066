// The user environment in the registry (HKCU\Environment), reached through Windows' own programs:
// reg.exe to read and write, PowerShell to tell running programs that it changed. Every program
// is started directly (execFile, never through cmd), so no `%VAR%` in the data is expanded and no
// shell quoting applies: Node quotes each argument for the C runtime's rules, which reg.exe parses
// back to the same string, a trailing backslash or an embedded quote included.
import { execFile } from "node:child_process";
import fsp from "node:fs/promises";
import { decodeRegFile, parseRegExport, type RegValue } from "../core/winpath.js";

export const ENVIRONMENT_KEY = "HKCU\\Environment";

export interface RunResult {
  /** The exit code, or null when the program could not be started or was killed. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Why it did not run to an exit code (not found, timed out). */
  error: string | null;
}

/** Starts a program without a shell; the seam that lets tests stand in for reg.exe. */
export type Runner = (file: string, args: string[], opts: { timeoutMs: number }) => Promise<RunResult>;

export const execFileRunner: Runner = (file, args, opts) =>
  new Promise((resolve) => {
    execFile(file, args, { timeout: opts.timeoutMs, windowsHide: true, encoding: "utf8", maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr, error: null });
      const code = (err as { code?: unknown }).code;
      if (typeof code === "number" && !(err as { killed?: boolean }).killed) return resolve({ code, stdout, stderr, error: null });
      resolve({ code: null, stdout, stderr, error: (err as Error).message });
    });
  });

/** The values of HKCU\Environment that tshup touches, and the broadcast after a change. */
export interface UserEnvironment {
  /** The value exactly as stored (unexpanded), or null when there is none. */
  read(name: string): Promise<RegValue | null>;
  write(name: string, v: { type: "REG_SZ" | "REG_EXPAND_SZ"; value: string }): Promise<void>;
  remove(name: string): Promise<void>;
  /**
   * Sends WM_SETTINGCHANGE("Environment") so Explorer, and the terminals it starts from now on,
   * read the new value. Best effort: null when done, else a sentence saying what did not work.
   */
  broadcast(): Promise<string | null>;
}

export interface RegExeOptions {
  /** %SystemRoot%, where reg.exe and PowerShell live (full paths: PATH is not searched). */
  systemRoot: string;
  /** A directory for the temporary export file. */
  tmpdir: string;
  /** Joins paths the way the host does (path.win32.join on Windows). */
  join: (...parts: string[]) => string;
  /** A name no other run uses at the same time, for the export file (uniqueTag). */
  tag: () => string;
  runner?: Runner;
}

function firstLine(r: RunResult): string {
  const text = (r.stderr || r.stdout || r.error || "").trim();
  return text.split(/\r?\n/)[0] || `exit code ${r.code}`;
}

/**
 * Reads go through `reg export`, not `reg query`: query prints through the console code page and
 * changes what it cannot show (a user name with "ł" comes back as "l"), so a value read that way
 * and written back would be corrupted. The export file is UTF-16 and exact.
 */
export function regExeUserEnvironment(opts: RegExeOptions): UserEnvironment {
  const run = opts.runner ?? execFileRunner;
  const regExe = opts.join(opts.systemRoot, "System32", "reg.exe");
  const reg = (args: string[]) => run(regExe, args, { timeoutMs: 60_000 });

  return {
    async read(name) {
      const file = opts.join(opts.tmpdir, `tshup-env-${opts.tag()}.reg`);
      try {
        const r = await reg(["export", ENVIRONMENT_KEY, file, "/y"]);
        if (r.code !== 0) throw new Error(`reg export ${ENVIRONMENT_KEY} failed: ${firstLine(r)}`);
        let data: Buffer;
        try {
          data = await fsp.readFile(file);
        } catch (err) {
          throw new Error(`reg export ${ENVIRONMENT_KEY} wrote no file ${file}: ${(err as Error).message}`);
        }
        try {
          return parseRegExport(decodeRegFile(data), name);
        } catch (err) {
          throw new Error(`cannot read ${ENVIRONMENT_KEY}\\${name} from reg export: ${(err as Error).message}`);
        }
      } finally {
        await fsp.rm(file, { force: true }).catch(() => {});
      }
    },

    async write(name, v) {
      const r = await reg(["add", ENVIRONMENT_KEY, "/v", name, "/t", v.type, "/d", v.value, "/f"]);
      if (r.code !== 0) throw new Error(`reg add ${ENVIRONMENT_KEY} /v ${name} failed: ${firstLine(r)}`);
    },

    async remove(name) {
      const r = await reg(["delete", ENVIRONMENT_KEY, "/v", name, "/f"]);
      if (r.code !== 0) throw new Error(`reg delete ${ENVIRONMENT_KEY} /v ${name} failed: ${firstLine(r)}`);
    },

    async broadcast() {
      const powershell = opts.join(opts.systemRoot, "System32", "WindowsPowerShell", "v1.0", "powershell.exe");
      try {
        await fsp.access(powershell);
      } catch {
        return `${powershell} is not there to tell running programs`;
      }
      const r = await run(powershell, ["-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand", encodePowershell(BROADCAST_SCRIPT)], {
        timeoutMs: 60_000,
      });
      if (r.code === 0 && r.stdout.includes(BROADCAST_DONE)) return null;
      // Constrained language mode (AppLocker, WDAC) refuses Add-Type; some PowerShells are stubs.
      return `PowerShell could not tell running programs (${r.code === 0 ? "it did not confirm" : firstLine(r)})`;
    },
  };
}

const BROADCAST_DONE = "tshup-broadcast-done";

// SendMessageTimeout(HWND_BROADCAST, WM_SETTINGCHANGE, 0, "Environment", SMTO_ABORTIFHUNG, 5000):
// what the Environment Variables dialog sends, so Explorer rebuilds the environment it gives to
// programs started from now on.
const BROADCAST_SCRIPT = [
  "$ErrorActionPreference = 'Stop'",
  "Add-Type -Namespace TshupNative -Name User32 -MemberDefinition '[DllImport(\"user32.dll\", CharSet = CharSet.Unicode, SetLastError = true)] public static extern System.IntPtr SendMessageTimeout(System.IntPtr hWnd, uint Msg, System.UIntPtr wParam, string lParam, uint fuFlags, uint uTimeout, out System.UIntPtr lpdwResult);'",
  "$result = [System.UIntPtr]::Zero",
  "$ok = [TshupNative.User32]::SendMessageTimeout([System.IntPtr]0xffff, 0x1A, [System.UIntPtr]::Zero, 'Environment', 0x2, 5000, [ref]$result)",
  "if ($ok -eq [System.IntPtr]::Zero) { Write-Output ('SendMessageTimeout failed: ' + [System.Runtime.InteropServices.Marshal]::GetLastWin32Error()); exit 1 }",
  `Write-Output '${BROADCAST_DONE}'`,
].join("\n");

/** -EncodedCommand takes base64 of UTF-16LE, which sidesteps every quoting rule. */
export function encodePowershell(script: string): string {
  return Buffer.from(script, "utf16le").toString("base64");
}
