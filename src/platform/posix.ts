import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { Host } from "../host.js";
import type { Layout } from "../core/layout.js";
import { ALL_TOOLS, type ExtraTool, type Tool } from "../core/artifact.js";
import type { VersionRecord } from "../io/store.js";
import { fsError } from "../core/errors.js";
import { exists, removeWithRetry, renameWithRetry, requireRealDir } from "../io/fsx.js";
import { tildify } from "../core/format.js";
import { selfCopyPresent } from "../io/self.js";
import { selfInstallPath } from "../core/self.js";
import { addPosixPath, removePosixPath, posixPathInstructions } from "./posix-path.js";
import type { PathOutcome, PlatformStrategy } from "./types.js";


/** Linux and macOS: bin/<tool> is a relative symlink into versions/<id>/, swapped by rename. */
export function posixStrategy(host: Host): PlatformStrategy {
  return {
    host,
    windows: false,
    binName: (tool) => tool,
    display: (p) => tildify(p, host.home, "/"),
    // No FIPS build of tsh exists for macOS.
    clientBuild: (wanted) => (host.platform === "darwin" ? { edition: wanted.edition, fips: false } : wanted),
    async removeOwned(target) {
      try {
        await removeWithRetry(target);
      } catch (err) {
        throw fsError(err, "remove", target);
      }
      return null;
    },

    async activate(layout: Layout, record: VersionRecord, tools: readonly Tool[]) {
      await requireRealDir(layout.binDir);
      // A tool not asked for, or one the new version lacks, must not keep pointing at an old one.
      for (const tool of ALL_TOOLS) await pointTool(layout, tool, tool === "tsh" || tools.includes(tool) ? record : null, host);
    },

    async setTool(layout: Layout, tool: ExtraTool, record: VersionRecord | null) {
      await requireRealDir(layout.binDir);
      await pointTool(layout, tool, record, host);
    },

    async linkedTools(layout: Layout) {
      const present = await Promise.all(ALL_TOOLS.map((t) => exists(path.join(layout.binDir, t))));
      return ALL_TOOLS.filter((_, i) => present[i]);
    },

    async linkAlias(layout: Layout, alias: string, record: VersionRecord | null) {
      const link = path.join(layout.binDir, alias);
      if (record === null) {
        const had = await exists(link);
        await fsp.rm(link, { force: true });
        return had;
      }
      const target = path.posix.join("..", "versions", record.id, record.tools.tsh!);
      if ((await fsp.readlink(link).catch(() => null)) === target) return false;
      await swapLink(link, target, host);
      return true;
    },

    async readAliasId(layout: Layout, alias: string) {
      const link = path.join(layout.binDir, alias);
      if (!(await exists(link))) return null;
      const target = await fsp.readlink(link).catch(() => "");
      return /^\.\.\/versions\/([^/]+)\//.exec(target)?.[1] ?? "";
    },

    async readActiveId(layout: Layout) {
      try {
        const target = fs.readlinkSync(path.join(layout.binDir, "tsh"));
        const m = /(?:^|\/)versions\/([^/]+)\//.exec(target);
        return m ? m[1]! : null;
      } catch {
        return null;
      }
    },

    async addToPath(layout, opts) {
      const also = opts.withSelf || (await selfCopyPresent(host)) ? [path.posix.dirname(selfInstallPath(host))] : [];
      const r = await addPosixPath(host, layout.root, layout.binDir, { dryRun: opts.dryRun, also });
      return toOutcome(r);
    },

    async removeFromPath(layout, opts) {
      const r = await removePosixPath(host, layout.root, opts);
      return toOutcome(r);
    },

    pathInstructions: (layout) => posixPathInstructions(host, layout.root, layout.binDir),
    currentShellHint: (layout) => `. "${layout.root.replace(/(["\\$`])/g, "\\$1")}/env"`,
  };
}

function toOutcome(r: { changed: boolean; edits: { file: string; action: string }[] }): PathOutcome {
  return {
    changed: r.changed,
    edits: r.edits,
    created: r.edits.filter((e) => e.action === "created").map((e) => e.file),
    notes: [],
  };
}

/** bin/<tool> pointed at `record`'s copy, or removed when there is none (null, or a version without it). */
async function pointTool(layout: Layout, tool: Tool, record: VersionRecord | null, host: Host): Promise<void> {
  const link = path.join(layout.binDir, tool);
  const rel = record?.tools[tool];
  if (!record || !rel) {
    await fsp.rm(link, { force: true });
    return;
  }
  await swapLink(link, path.posix.join("..", "versions", record.id, rel), host);
}

/** A new link renamed over the old one, so bin/tsh is never missing, not even for an instant. */
async function swapLink(link: string, target: string, host: Host): Promise<void> {
  const tmp = `${link}.tmp-${host.pid}`;
  try {
    await fsp.rm(tmp, { force: true });
    await fsp.symlink(target, tmp);
    await renameWithRetry(tmp, link);
  } catch (err) {
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw fsError(err, "link", link);
  }
}
