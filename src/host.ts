import os from "node:os";
import tty from "node:tty";

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
  now(): number;
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
      return process.stdout;
    },
    get stderr() {
      return process.stderr;
    },
    get stdin() {
      return process.stdin;
    },
    stdinIsTTY: tty.isatty(0),
    now: () => Date.now(),
  };
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
  return host.stdinIsTTY && host.stdin !== undefined && Boolean(host.stdout.isTTY) && !opts.yes && !opts.json && !envGet(host, "CI");
}
