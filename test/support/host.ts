import os from "node:os";
import type { Host } from "../../src/host.js";

/**
 * A Host for calling tshup's modules in-process: this machine's file system under `home`, with the
 * platform, environment and clock a test chooses. It has no stdin, so nothing can prompt.
 */
export function testHost(home: string, over: Partial<Host> = {}): Host {
  return {
    platform: "linux",
    arch: process.arch,
    home,
    tmpdir: os.tmpdir(),
    pid: process.pid,
    stdout: process.stdout,
    stderr: process.stderr,
    stdinIsTTY: false,
    hostname: os.hostname(),
    selfExecutable: null,
    now: () => Date.now(),
    random: () => Math.random(),
    isProcessAlive: () => true,
    processIdentity: () => null,
    onSignal: () => () => {},
    exitNow: (code) => {
      throw new Error(`exit ${code}`);
    },
    ...over,
    env: { HOME: home, ...over.env },
  };
}
