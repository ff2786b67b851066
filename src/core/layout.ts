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
  const fromEnv = envGet(host, "TSHUP_HOME");
  return fromEnv ? pathFor(host).resolve(fromEnv) : builtInRoot(host);
}

/** The root when TSHUP_HOME says nothing: the per-user data directory. */
export function builtInRoot(host: Host): string {
  const p = pathFor(host);
  if (host.platform === "win32") {
    const local = envGet(host, "LOCALAPPDATA") || p.join(host.home, "AppData", "Local");
    return p.join(local, "tshup");
  }
  const xdg = envGet(host, "XDG_DATA_HOME");
  const dataHome = xdg && p.isAbsolute(xdg) ? xdg : p.join(host.home, ".local", "share");
  return p.join(dataHome, "tshup");
}

/** Written into a root tshup made; install and uninstall only work on a root that carries it. */
export const ROOT_MARKER = ".tshup-root";

/**
 * Names tshup itself makes directly in its root. Uninstall removes these (bin/ and versions/ only
 * entry by entry) and leaves anything else where it is.
 */
export const OWNED_ROOT_FILES = ["env", "env.fish", "state.json", "last-run.json", ".lock", ROOT_MARKER] as const;
export const OWNED_WORK_DIRS = [".staging", "downloads", ".trash"] as const;

/** What bin/ holds that tshup made: the tools, per-cluster aliases, and its own temporary links. */
export function isOwnedBinEntry(name: string): boolean {
  return (
    /^(tsh|tctl|tsh-[A-Za-z0-9._-]+)(\.exe)?$/i.test(name) ||
    // Links and copies half made by a killed run, and the markers Windows keeps beside its copies.
    /^(tsh|tctl|tsh-[A-Za-z0-9._-]+)\.tmp-\d+$/.test(name) ||
    /^\.(tsh|tctl|tsh-[A-Za-z0-9._-]+)(\.exe)?\.new-\d+$/i.test(name) ||
    /^\.tsh-[A-Za-z0-9._-]+\.id$/.test(name) ||
    name === ".tshup-active"
  );
}

/**
 * Why a directory must not be tshup's root, or null. tshup deletes what it made there on uninstall,
 * so a root shared with anything else (the file system's root, a home, a well-known directory that
 * other programs fill) is refused outright.
 */
export function unsafeRootReason(root: string, host: Host): string | null {
  const p = pathFor(host);
  const fold = (s: string) => {
    const n = p.normalize(s).replace(/[\\/]+$/, "");
    return host.platform === "linux" ? n : n.toLowerCase();
  };
  const r = fold(root);
  if (r === "" || r === fold(p.parse(p.resolve(root)).root)) {
    return "is the root of a file system";
  }
  const home = fold(host.home);
  if (r === home) return "is your home directory";
  const sep = host.platform === "win32" ? "\\" : "/";
  if (home.startsWith(`${r}${sep}`)) return "contains your home directory";
  if (host.platform !== "win32" && /^\/(proc|sys|dev)(\/|$)/.test(r)) return "is on a kernel file system";
  const shared = new Set<string>();
  const add = (...parts: (string | undefined)[]) => {
    if (parts.every((x) => x)) shared.add(fold(p.join(...(parts as string[]))));
  };
  if (host.platform === "win32") {
    for (const v of ["LOCALAPPDATA", "APPDATA", "USERPROFILE", "ProgramFiles", "ProgramFiles(x86)", "ProgramData", "SystemRoot", "TEMP", "TMP"]) add(envGet(host, v));
    add(envGet(host, "LOCALAPPDATA"), "Programs");
    add(host.home, "AppData");
  } else {
    for (const d of ["/usr", "/usr/local", "/usr/local/bin", "/usr/bin", "/bin", "/sbin", "/lib", "/opt", "/etc", "/var", "/tmp", "/Applications", "/Library", "/System", "/Users", "/home"]) shared.add(d);
    add(host.home, ".local");
    add(host.home, ".local", "share");
    add(host.home, ".local", "bin");
    add(host.home, ".config");
    add(host.home, ".cache");
    add(host.home, "bin");
    add(host.home, "Library");
    add(envGet(host, "XDG_DATA_HOME"));
  }
  for (const d of ["Desktop", "Documents", "Downloads", ".ssh", ".tsh"]) add(host.home, d);
  add(host.tmpdir);
  return shared.has(r) ? "is a directory other programs share" : null;
}
