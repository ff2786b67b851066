import path from "node:path";
import type { Context } from "../context.js";
import { envGet } from "../host.js";
import { managedOverride, toolsDir, type ManagedOverride } from "../core/managed.js";
import { readRegularFile } from "./fsx.js";
import { readCurrentProfile } from "./tshprofile.js";

/** Whether tsh would re-execute a managed copy instead of tshup's active version, and where that is recorded. */
export async function findManagedOverride(ctx: Context, installed: string): Promise<(ManagedOverride & { file: string }) | null> {
  const dir = toolsDir({ toolsDir: envGet(ctx.host, "TELEPORT_TOOLS_DIR") }, ctx.teleportHome, path.join);
  const file = path.join(dir, ".config.json");
  const text = (await readRegularFile(file, 1024 * 1024).catch(() => null))?.toString("utf8") ?? null;
  const o = managedOverride(envGet(ctx.host, "TELEPORT_TOOLS_VERSION"), text, await readCurrentProfile(ctx.teleportHome), installed);
  return o ? { ...o, file } : null;
}

/** The warning (and doctor's fix) for an override. */
export function describeOverride(o: ManagedOverride & { file: string }, installed: string): { detail: string; fix: string } {
  if (o.source === "TELEPORT_TOOLS_VERSION") {
    return {
      detail: `TELEPORT_TOOLS_VERSION=${o.version} is set, so tsh runs its managed ${o.version} instead of tshup's ${installed}`,
      fix: "unset TELEPORT_TOOLS_VERSION (or set it to off); tshup installs the version the cluster asks for",
    };
  }
  return {
    detail: `tsh's own managed updates recorded ${o.version} for the profile ${o.profile} in ${o.file}, so a plain tsh re-runs that instead of tshup's ${installed}`,
    fix: `remove ${path.dirname(o.file)} (tsh's own copies; tshup installs what the cluster asks for), or run tsh with TELEPORT_TOOLS_VERSION=off`,
  };
}
