import type { Host } from "../host.js";
import type { Layout } from "../core/layout.js";
import type { ExtraTool, Tool } from "../core/artifact.js";
import type { VersionRecord } from "../io/store.js";
import type { Edition } from "../core/ping.js";

export interface FileEdit {
  file: string;
  action: string;
}

export interface PathOutcome {
  changed: boolean;
  edits: FileEdit[];
  /** Files that did not exist before, so uninstall may delete them. */
  created: string[];
  /** Things the user should know (a broadcast that failed, a new terminal needed). */
  notes: string[];
}

/** Everything that differs between operating systems, chosen once from the host. */
export interface PlatformStrategy {
  /** The name of a tool's entry point in bin/: tsh, or tsh.exe. */
  binName(tool: Tool): string;
  /**
   * Makes `record` the active version: the bin/ entries of tsh and of `tools` (those it holds)
   * switched so no reader sees a gap, and every other tool's entry removed.
   */
  activate(layout: Layout, record: VersionRecord, tools: readonly Tool[]): Promise<void>;
  /** Points one tool's bin/ entry (not tsh's) at `record`'s copy, or removes it for null, without a switch. */
  setTool(layout: Layout, tool: ExtraTool, record: VersionRecord | null): Promise<void>;
  /** The tools that have an entry in bin/ now. */
  linkedTools(layout: Layout): Promise<Tool[]>;
  /**
   * Points bin/<alias> (tsh-<cluster>) at a version's tsh, or removes it for null. Returns whether
   * anything changed.
   */
  linkAlias(layout: Layout, alias: string, record: VersionRecord | null): Promise<boolean>;
  /** The id of the version bin/<alias> runs: null when there is none, "" when it is not one of tshup's. */
  readAliasId(layout: Layout, alias: string): Promise<string | null>;
  /** The id of the version bin/tsh runs, or null. */
  readActiveId(layout: Layout): Promise<string | null>;
  /**
   * Puts the bin dir first on PATH, and after it the directory of tshup's own stable copy when that
   * copy is there (or `withSelf`: `self install` is about to put it there).
   */
  addToPath(layout: Layout, opts: { dryRun: boolean; withSelf?: boolean }): Promise<PathOutcome>;
  /** Takes what addToPath added off PATH again, the stable copy's directory included. */
  removeFromPath(layout: Layout, opts: { dryRun: boolean; createdFiles: string[] }): Promise<PathOutcome>;
  /** What to add by hand with --no-modify-path. */
  pathInstructions(layout: Layout): string;
  /** The shell line that makes tsh usable in the current terminal right away. */
  currentShellHint(layout: Layout): string;
  /** A path as the person would type it: under HOME as ~, in the OS's own separators. */
  display(p: string): string;
  /** The build of tsh this OS gets: Windows has one client for every edition, macOS no FIPS one. */
  clientBuild(wanted: { edition: Edition; fips: boolean }): { edition: Edition; fips: boolean };
  /**
   * Removes a path tshup made (a link itself, never its target). Where a running program's file
   * cannot be deleted (Windows), what is left is moved into a leftover directory, named in the
   * result so the person can delete it later.
   */
  removeOwned(target: string): Promise<{ parkedIn: string; count: number } | null>;
  /** Paths in ssh config are Windows ones (quoted native paths for Windows' OpenSSH). */
  windows: boolean;
  host: Host;
}
