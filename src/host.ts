import fs from "node:fs";
import os from "node:os";

export type PlatformName = "linux" | "darwin" | "win32";

/**
 * Everything tshup reads from the world, captured once at start so the rest of the code takes it as
 * an argument and tests can hand in their own.
 */
export interface Host {
  platform: PlatformName;
  /** Node's arch name: x64, arm64, arm, ia32. */
  arch: string;
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  tmpdir: string;
  pid: number;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Absent in hosts that can never prompt. */
  stdin?: NodeJS.ReadableStream;
  stdinIsTTY: boolean;
  hostname: string;
  /** The running single executable's path, or null when tshup runs as a script under Node. */
  selfExecutable: string | null;
  now(): number;
  /** Uniform in [0, 1): backoff jitter, fleet jitter and unique names. */
  random(): number;
  /** Whether a process with this pid runs (EPERM counts: it exists, someone else's). */
  isProcessAlive(pid: number): boolean;
  /**
   * Something that tells one process from a later one with the same pid (Linux: boot id and start
   * tick), or null where the system does not say.
   */
  processIdentity(pid: number): string | null;
  /**
   * Calls `handler` on SIGINT or SIGTERM instead of dying at once; returns the function that stops
   * listening. The handler ends the process with `exitNow`.
   */
  onSignal(handler: (signal: "SIGINT" | "SIGTERM") => void): () => void;
  /** Writes the last words synchronously and ends the process with `code`. */
  exitNow(code: number, stdoutText: string): never;
}

export function realHost(): Host {
  const platform = process.platform;
  if (platform !== "linux" && platform !== "darwin" && platform !== "win32") {
    throw new Error(`tshup does not support ${platform}; it runs on Linux, macOS and Windows`);
  }
  return {
    platform,
    arch: process.arch,
    env: { ...process.env },
    home: os.homedir(),
    tmpdir: os.tmpdir(),
    pid: process.pid,
    // Node builds each standard stream on first use, a few milliseconds apiece; a quiet no-op run
    // should not pay for streams it never touches.
    get stdout() {
      return opened(process.stdout);
    },
    get stderr() {
      return opened(process.stderr);
    },
    get stdin() {
      return process.stdin;
    },
    get stdinIsTTY() {
      return builtin<typeof import("node:tty")>("node:tty").isatty(0);
    },
    hostname: os.hostname(),
    // Asked only by the commands that copy or replace tshup itself.
    get selfExecutable() {
      // Node's own answer: process.execPath is then tshup itself, not a Node running a script.
      return builtin<typeof import("node:sea")>("node:sea").isSea() ? process.execPath : null;
    },
    now: () => Date.now(),
    random: () => Math.random(),
    isProcessAlive,
    processIdentity: (pid) => (platform === "linux" ? linuxProcessIdentity(pid) : null),
    onSignal(handler) {
      const listeners = (["SIGINT", "SIGTERM"] as const).map((sig) => {
        const l = () => handler(sig);
        process.on(sig, l);
        return () => process.off(sig, l);
      });
      return () => listeners.forEach((off) => off());
    },
    exitNow(code, stdoutText) {
      if (stdoutText) {
        try {
          fs.writeSync(1, stdoutText);
        } catch {
          // stdout is gone; the exit code still tells.
        }
      }
      process.exit(code);
    },
  };
}

/**
 * A built-in module loaded on first use, for those only some runs need: tty brings readline's
 * internals with it, sea is asked only by the self commands, http serves only plain-http mirrors and
 * proxies. In the single executables each costs up to 3 ms to load, as did node:module for
 * createRequire, hence getBuiltinModule (Node 20.16 and 22.3 on) and require before it.
 */
export function builtin<T>(id: string): T {
  const proc = process as { getBuiltinModule?: (id: string) => unknown };
  return (proc.getBuiltinModule ? proc.getBuiltinModule(id) : require(id)) as T;
}

const openedStreams = new Set<NodeJS.WriteStream>();
function opened(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  if (!openedStreams.has(stream)) {
    openedStreams.add(stream);
    // `tshup --help | head -1`: the reader has gone, which is no reason for a stack trace. Any
    // other failure (`> /dev/full`) is one line on stderr, if stderr can take it, and exit 7.
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") return;
      const name = stream === process.stdout ? "stdout" : "stderr";
      try {
        fs.writeSync(2, `tshup: error: cannot write to ${name}: ${err.message}\n  hint: check where ${name} goes: a full disk, or a file that cannot be written\n`);
      } catch {
        // stderr is what failed; the exit code still tells.
      }
      process.exit(7);
    });
  }
  return stream;
}

/**
 * Ends the process with `code` once everything written to stdout and stderr has gone out (a pipe
 * is asynchronous on macOS and Windows). Exiting rather than letting Node wind down skips freeing
 * the whole heap page by page: about 10 ms, a third of a run with nothing to do.
 */
export function exitWhenFlushed(code: number): void {
  void Promise.all([...openedStreams].map((s) => new Promise<void>((resolve) => s.write("", () => resolve())))).then(() => process.exit(code));
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The boot id and the start time in clock ticks since boot (field 22 of /proc/PID/stat). */
function linuxProcessIdentity(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const boot = fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    return `${boot}:${fields[19]}`;
  } catch {
    return null;
  }
}

/** A name part no other run, and no earlier run of this one, uses. */
export function uniqueTag(host: Host): string {
  return `${host.pid}-${host.now().toString(36)}-${Math.floor(host.random() * 36 ** 6).toString(36)}`;
}

/** Case-insensitive on Windows, where the environment is. */
export function envGet(host: Host, name: string): string | undefined {
  const direct = host.env[name];
  if (direct !== undefined || host.platform !== "win32") return direct;
  const key = Object.keys(host.env).find((k) => k.toUpperCase() === name.toUpperCase());
  return key === undefined ? undefined : host.env[key];
}

/** A person at a terminal who may be asked questions (SPEC: never with --yes, no TTY, or CI set). */
export function canPrompt(host: Host, opts: { yes: boolean; json: boolean }): boolean {
  // The flags first: asking about the terminal loads tty and builds the standard streams.
  return !opts.yes && !opts.json && !envGet(host, "CI") && host.stdinIsTTY && host.stdin !== undefined && Boolean(host.stdout.isTTY);
}

/**
 * Why a person at a terminal was not asked, when they cannot tell: stdin is the terminal but stdout
 * goes into a pipe or a file (`tshup | tee log`). Null when tshup can ask, or when the reason is one
 * the person chose (--yes, --json, CI) or plain (no terminal at all).
 */
export function whyNotAsked(host: Host, opts: { yes: boolean; json: boolean }): string | null {
  if (!host.stdinIsTTY || host.stdout.isTTY || opts.yes || opts.json || envGet(host, "CI")) return null;
  return "tshup asks only when its output is a terminal, and here it goes into a pipe or a file; run it without | or > to be asked";
}
