import { incompatibleError } from "./errors.js";
import type { ClusterInfo } from "./ping.js";
import { compareVersions, describeWindow, inWindow } from "./version.js";

export interface Choice {
  version: string;
  /** Why this version: for the human summary and --verbose. */
  reason: string;
  /** The clusters whose window the version lies outside (only with --force). */
  outside: string[];
}

export interface ChoiceInput {
  clusters: ClusterInfo[];
  pin: string | null;
  /** Where the pin came from, for the hint: "--version" (a flag or the manifest) or "tshup use". */
  pinnedBy?: "--version" | "tshup use";
  force: boolean;
  match: "exact" | "compatible";
  active: string | null;
}

const name = (c: ClusterInfo) => (c.cluster ? `${c.cluster} (${c.proxy})` : c.proxy);

/** SPEC section 8: the lowest target that every cluster accepts, a pin, or the installed one. */
export function chooseVersion(input: ChoiceInput): Choice {
  const { clusters, pin, force } = input;
  const outsideOf = (v: string) => clusters.filter((c) => !inWindow(v, c.window));
  if (pin) {
    const outside = outsideOf(pin);
    if (outside.length > 0 && !force) {
      const c = outside[0]!;
      const newer = compareVersions(pin, c.serverVersion) > 0;
      throw incompatibleError(
        `tsh ${pin} is ${newer ? "newer than" : "too old for"} the proxy ${name(c)} (${c.serverVersion}); clients may be the same major or one lower`,
        input.pinnedBy === "tshup use"
          ? `tsh ${pin} was pinned by tshup use; lift the pin with tshup --version V for a V in ${describeWindow(c.window)}, or pass --force`
          : `pick ${describeWindow(c.window)}, or pass --force`,
      );
    }
    return { version: pin, reason: "pinned", outside: outside.map(name) };
  }
  if (input.match === "compatible" && input.active && outsideOf(input.active).length === 0) {
    return { version: input.active, reason: "installed version is compatible with every cluster", outside: [] };
  }
  const targets = [...new Set(clusters.map((c) => c.target))].sort(compareVersions);
  for (const t of targets) {
    if (outsideOf(t).length === 0) {
      return { version: t, reason: clusters.length > 1 ? "lowest target every cluster accepts" : "the cluster's target", outside: [] };
    }
  }
  const managedOutside = clusters.find((c) => c.toolsVersion !== null && !inWindow(c.toolsVersion, c.window));
  if (managedOutside && !force) {
    const c = managedOutside;
    throw incompatibleError(
      `the cluster ${name(c)} asks clients to run tsh ${c.toolsVersion} (its managed client version), but that lies outside the versions it accepts: it runs ${c.serverVersion} and accepts ${describeWindow(c.window)}`,
      "ask the cluster's admins to correct the client tools version (tctl autoupdate client-tools), or pin a version with --version",
    );
  }
  if (force) {
    const t = targets[0]!;
    return { version: t, reason: "forced outside a window", outside: outsideOf(t).map(name) };
  }
  const windows = clusters.map((c) => `${name(c)} runs ${c.serverVersion} and accepts ${describeWindow(c.window)}`).join("; ");
  throw incompatibleError(
    `no tsh version works with every cluster: ${windows}`,
    "pass --per-cluster to install one tsh per cluster side by side, pin one with --version and --force, or ask the admins to align the clusters",
  );
}

export type Action = "none" | "install" | "upgrade" | "downgrade";

export function actionFor(active: string | null, chosen: string, activeIdMatches: boolean): Action {
  if (active === null) return "install";
  if (activeIdMatches) return "none";
  const c = compareVersions(chosen, active);
  return c > 0 ? "upgrade" : c < 0 ? "downgrade" : "install";
}
