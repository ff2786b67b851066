import fsp from "node:fs/promises";
import path from "node:path";
import type { Host } from "../host.js";
import type { Layout } from "../core/layout.js";
import type { Tool } from "../core/artifact.js";
import type { VersionRecord } from "../io/store.js";
import { fsError } from "../core/errors.js";
import { atomicWriteFile, mkdirp, readTextIfExists, renameWithRetry } from "../io/fsx.js";
import { moveToTrash } from "../io/store.js";
import type { PlatformStrategy } from "./types.js";

const ALL_TOOLS: Tool[] = ["tsh", "tctl"];
const ACTIVE_MARKER = ".tshup-active";

/**
 * Windows: links need privileges, so bin\tsh.exe is a copy of the active version. A running exe
 * cannot be overwritten or deleted but can be renamed, so the old one is moved aside first.
 */
export function win32Strategy(host: Host): PlatformStrategy {
  return {
    host,
    binName: (tool) => `${tool}.exe`,

    async activate(layout: Layout, record: VersionRecord) {
      await mkdirp(layout.binDir);
      for (const tool of ALL_TOOLS) {
        const dest = path.join(layout.binDir, `${tool}.exe`);
        const rel = record.tools[tool];
        const tmp = `${dest}.new-${process.pid}`;
        try {
          if (rel) await fsp.copyFile(path.join(layout.versionsDir, record.id, ...rel.split("/")), tmp);
          await moveToTrash(layout, dest);
          if (rel) await renameWithRetry(tmp, dest, true);
        } catch (err) {
          await fsp.rm(tmp, { force: true }).catch(() => {});
          throw fsError(err, "replace", dest);
        }
      }
      await atomicWriteFile(path.join(layout.binDir, ACTIVE_MARKER), `${record.id}\n`);
    },

    async readActiveId(layout: Layout) {
      const id = (await readTextIfExists(path.join(layout.binDir, ACTIVE_MARKER)))?.trim();
      return id ? id : null;
    },

    async addToPath() {
      return { changed: false, edits: [], created: [], notes: ["adding to the Windows user Path is not available in this build"] };
    },
    async removeFromPath() {
      return { changed: false, edits: [], created: [], notes: [] };
    },
    pathInstructions: (layout) => `setx is unsafe; add ${layout.binDir} to your user Path in System Properties`,
    currentShellHint: (layout) => `set "PATH=${layout.binDir};%PATH%"`,
  };
}
