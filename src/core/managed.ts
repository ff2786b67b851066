/**
 * tsh's own managed updates (TELEPORT.md section 5): tsh 17+ re-executes the version recorded for
 * the active profile in `<tools dir>/.config.json`, or the one TELEPORT_TOOLS_VERSION names, so the
 * tsh on PATH is not always the tsh that runs. Pure: io reads the file and the environment.
 */
import { isStrictVersion } from "./version.js";

export interface ManagedOverride {
  /** What makes tsh run another version: the environment, or tsh's record for the profile. */
  source: "TELEPORT_TOOLS_VERSION" | "config";
  version: string;
  /** The profile the record is for (config only). */
  profile?: string;
}

/**
 * The version tsh would run instead of `installed`, or null when it runs itself. `configText` is
 * `.config.json` as tsh writes it: {"configs": {"<profile>": {"version": "X", "disabled": false}}}.
 */
export function managedOverride(envValue: string | undefined, configText: string | null, profile: string | null, installed: string): ManagedOverride | null {
  const env = envValue?.trim();
  if (env) {
    if (env.toLowerCase() === "off") return null;
    const v = env.replace(/^v/, "");
    return isStrictVersion(v) && v !== installed ? { source: "TELEPORT_TOOLS_VERSION", version: v } : null;
  }
  if (!configText || !profile) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(configText);
  } catch {
    return null; // tsh itself ignores a damaged file
  }
  const rec = (parsed as { configs?: Record<string, { version?: unknown; disabled?: unknown }> })?.configs?.[profile];
  if (!rec || rec.disabled === true || typeof rec.version !== "string") return null;
  const v = rec.version.replace(/^v/, "");
  return isStrictVersion(v) && v !== installed ? { source: "config", version: v, profile } : null;
}

/** Where tsh keeps its managed copies: TELEPORT_TOOLS_DIR, else TELEPORT_HOME/bin (default ~/.tsh/bin). */
export function toolsDir(env: { toolsDir?: string }, teleportHome: string, join: (...p: string[]) => string): string {
  return env.toolsDir || join(teleportHome, "bin");
}
