import path from "node:path";
import type { Host } from "../host.js";
import { envGet } from "../host.js";

/** Where everything of tshup's lives under its root (SPEC section 6). */
export interface Layout {
  root: string;
  versionsDir: string;
  binDir: string;
  statePath: string;
  lockPath: string;
  /** Work areas inside the root, so the final renames never cross a file system. */
  stagingDir: string;
  downloadsDir: string;
  trashDir: string;
}

export function layoutFor(root: string, p: typeof path = path): Layout {
  return {
    root,
    versionsDir: p.join(root, "versions"),
    binDir: p.join(root, "bin"),
    statePath: p.join(root, "state.json"),
    lockPath: p.join(root, ".lock"),
    stagingDir: p.join(root, ".staging"),
    downloadsDir: p.join(root, "downloads"),
    trashDir: p.join(root, ".trash"),
  };
}

export const pathFor = (host: Host): typeof path => (host.platform === "win32" ? path.win32 : path.posix);

/** `--prefix`, then TSHUP_HOME, then the platform's per-user data directory. */
export function defaultRoot(host: Host): string {
  const p = pathFor(host);
  const fromEnv = envGet(host, "TSHUP_HOME");
  if (fromEnv) return p.resolve(fromEnv);
  if (host.platform === "win32") {
    const local = envGet(host, "LOCALAPPDATA") || p.join(host.home, "AppData", "Local");
    return p.join(local, "tshup");
  }
  const xdg = envGet(host, "XDG_DATA_HOME");
  const dataHome = xdg && p.isAbsolute(xdg) ? xdg : p.join(host.home, ".local", "share");
  return p.join(dataHome, "tshup");
}
