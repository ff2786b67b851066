import path from "node:path";
import type { Context } from "../context.js";
import { artifactCandidates, versionId, type Tool } from "../core/artifact.js";
import { chooseVersion, type Choice } from "../core/choose.js";
import type { Edition } from "../core/ping.js";
import { hostOf } from "../core/proxyaddr.js";
import { TshupError, usageError } from "../core/errors.js";
import { rootKind } from "../io/root.js";
import { dirHasEntries, lstatOrNull } from "../io/fsx.js";
import { listInstalled, readState, versionToolPath, type State, type VersionRecord } from "../io/store.js";
import type { PlanFacts } from "../core/plan.js";
import type { Layout } from "../core/layout.js";
import { settingsAfter, settingsChanges } from "./settings.js";
import type { QueriedCluster } from "./clusters.js";

export interface Target {
  version: string;
  edition: Edition;
  fips: boolean;
  id: string;
  /** The first candidate; the one installed is the first the CDN has. */
  artifact: string;
  kind: "tar.gz" | "zip" | "pkg";
  /** Every artifact that carries this tsh, best first (macOS: per-arch tarball, universal, packages). */
  candidates: { name: string; kind: "tar.gz" | "zip" | "pkg" }[];
  choice: Choice;
}

/** The version, edition and artifact every cluster accepts, from the proxies' answers and the flags. */
export function resolveTarget(ctx: Context, clusters: QueriedCluster[], active: VersionRecord | null): Target {
  const { opts, host } = ctx;
  const match = ctx.site?.policy?.match ?? "exact";
  const choice = chooseVersion({ clusters, pin: opts.version, pinnedBy: ctx.usePin ? "tshup use" : "--version", force: opts.force, match, active: active?.version ?? null });
  const { edition, fips } = ctx.platform.clientBuild({
    edition: opts.edition === "auto" ? (clusters.some((c) => c.edition === "ent") ? "ent" : "community") : opts.edition,
    fips: opts.edition !== "community" && clusters.some((c) => c.fips),
  });
  let candidates;
  try {
    candidates = artifactCandidates({ version: choice.version, platform: host.platform, arch: host.arch, edition, fips });
  } catch (err) {
    throw usageError((err as Error).message, "tshup supports Linux (x64, arm64, arm, 386), macOS and Windows x64");
  }
  const first = candidates[0]!;
  return { version: choice.version, edition, fips, id: versionId(choice.version, edition, fips), artifact: first.name, kind: first.kind, candidates, choice };
}

/** Whether a version holds every tool asked for: listed in its record, and still a file on disk. */
export function hasTools(layout: Layout, record: VersionRecord, tools: readonly Tool[]): boolean {
  // A tool deleted by hand would leave bin/ pointing at nothing while status said all was well.
  return tools.every((t) => {
    const file = versionToolPath(layout, record, t);
    return file !== null && lstatOrNull(file)?.isFile() === true;
  });
}

/** Clusters that share one tsh. The first group's version is `tsh`; the others get `tsh-<cluster>`. */
export interface Group {
  target: Target;
  clusters: QueriedCluster[];
  alias: string | null;
}

/**
 * One tsh for every cluster when their windows overlap (SPEC section 8). With --per-cluster and
 * windows that do not overlap, one per cluster, side by side.
 */
export function planGroups(ctx: Context, clusters: QueriedCluster[], active: VersionRecord | null): Group[] {
  let groups: Group[];
  const splittable = ctx.opts.perCluster && !ctx.opts.version && clusters.length >= 2;
  try {
    groups = [{ target: resolveTarget(ctx, clusters, active), clusters, alias: null }];
    // --force means "reinstall" here, not "one tsh for clusters that do not share a window".
    if (splittable && groups[0]!.target.choice.outside.length > 0) throw new TshupError("incompatible", "the clusters' windows do not overlap");
  } catch (err) {
    if (!(err instanceof TshupError) || err.code !== "incompatible" || !splittable) throw err;
    groups = [];
    for (const c of clusters) {
      const target = resolveTarget(ctx, [c], null);
      const same = groups.find((g) => g.target.id === target.id);
      if (same) same.clusters.push(c);
      else groups.push({ target, clusters: [c], alias: groups.length === 0 ? null : aliasFor(c) });
    }
  }
  for (const g of groups) {
    for (const name of g.target.choice.outside) ctx.feedback.warn(`tsh ${g.target.version} lies outside the window of ${name} (--force)`);
  }
  return groups;
}

function aliasFor(c: QueriedCluster): string {
  const name = (c.cluster || hostOf(c.proxy)).replace(/[^A-Za-z0-9._-]/g, "-");
  return `tsh-${name}`;
}

export function tshPathFor(ctx: Context, groups: Group[], c: QueriedCluster): string {
  const g = groups.find((x) => x.clusters.includes(c));
  return path.join(ctx.layout.binDir, ctx.platform.binName((g?.alias ?? "tsh") as Tool));
}

export interface Installed {
  installed: VersionRecord[];
  activeId: string | null;
  active: VersionRecord | null;
}

export async function installedAndActive(ctx: Context): Promise<Installed> {
  const [installed, activeId] = await Promise.all([listInstalled(ctx.layout), ctx.platform.readActiveId(ctx.layout)]);
  return { installed, activeId, active: installed.find((r) => r.id === activeId) ?? null };
}

/** What a plan needs from the root whatever the clusters say. */
interface RootFacts {
  state: State;
  kind: Awaited<ReturnType<typeof rootKind>>;
  have: Installed;
  /** .staging or .trash holds something an interrupted run left. */
  leftovers: boolean;
}

/**
 * Reads the root's side of the facts, all at once, and only once the clusters have answered: a plan
 * resting on a read from before that would miss what another run (a `tshup use`, an uninstall) did
 * meanwhile, and report "up to date" over it. state.json is read again for the same reason.
 */
async function readRootFacts(ctx: Context): Promise<RootFacts> {
  const { layout } = ctx;
  const [state, kind, have] = await Promise.all([readState(layout), rootKind(layout), installedAndActive(ctx)]);
  return { state, kind, have, leftovers: dirHasEntries(layout.stagingDir) || dirHasEntries(layout.trashDir) };
}

/** What is on this machine, read once per plan: versions, the active one, aliases, PATH and config. */
export interface LocalFacts extends Installed {
  state: State;
  groups: Group[];
  plan: PlanFacts;
  /**
   * The root is marked as tshup's and its work areas are empty, so a run whose plan is empty has
   * nothing at all to do and need not even take the lock.
   */
  settled: boolean;
  /** What the config dry run would have warned about, for a run that does not go on to the real step. */
  configWarnings: string[];
}

/**
 * Reads everything an install decides on (the clusters' answers were gathered before) and turns it
 * into the plan's facts. The PATH and config steps are run as dry runs here, which also proves
 * that every file they will read can be read: a FIFO or a huge rc file fails before any change.
 */
export async function gatherLocalFacts(
  ctx: Context,
  clusters: QueriedCluster[],
  opts: { quiet: boolean; effects?: boolean },
): Promise<LocalFacts> {
  const { layout, platform } = ctx;
  const { state, kind, have, leftovers } = await readRootFacts(ctx);
  const groups = planGroups(ctx, clusters, have.active);
  const aliasNames = [...new Set([...state.aliases, ...groups.flatMap((g) => (g.alias ? [g.alias] : []))])];
  const effects = opts.effects ?? true;
  const [aliasIds, linkedTools, pathEdits, seeded] = await Promise.all([
    Promise.all(aliasNames.map((a) => platform.readAliasId(layout, a))),
    platform.linkedTools(layout),
    effects && ctx.opts.modifyPath ? platform.addToPath(layout, { dryRun: true }).then((r) => r.edits.filter((e) => e.action !== "unchanged")) : null,
    effects && ctx.opts.seedConfig
      ? import("./config.js").then(({ seedConfig }) => seedConfig(ctx, clusters, (c) => tshPathFor(ctx, groups, c), { dryRun: true, quiet: opts.quiet }))
      : null,
  ]);
  const aliases: Record<string, string | null> = Object.fromEntries(aliasNames.map((a, i) => [a, aliasIds[i]!]));
  const config: PlanFacts["config"] = seeded ? (seeded.changed ? seeded.lines : []) : null;
  const configWarnings = seeded?.warnings ?? [];
  const plan: PlanFacts = {
    groups: groups.map((g) => ({ id: g.target.id, version: g.target.version, clusters: g.clusters.map((c) => `${c.cluster || c.proxy} runs ${c.serverVersion}`), alias: g.alias })),
    installed: have.installed.map((r) => ({ id: r.id, version: r.version, hasTools: hasTools(layout, r, ctx.opts.tools) })),
    active: have.active ? { id: have.active.id, version: have.active.version } : null,
    tools: { wanted: ctx.opts.tools, linked: linkedTools },
    aliases,
    rememberedAliases: state.aliases,
    path: pathEdits,
    config,
    settings: [
      ...settingsChanges(state.settings, settingsAfter(ctx.opts, state.settings)).map((l) => `the choice: ${l}`),
      ...(sameList(state.proxies, clusters.map((c) => c.proxy)) ? [] : [`the proxies ${clusters.map((c) => c.proxy).join(", ")} for status and doctor`]),
    ],
    keep: ctx.opts.keep,
    force: ctx.opts.force,
    adopt: kind === "legacy",
  };
  const settled = kind === "owned" && !leftovers;
  return { ...have, state, groups, plan, settled, configWarnings };
}

/**
 * The tsh version that serves each cluster now: the alias made for it (--per-cluster), else the
 * active tsh; null when none does.
 */
export function servingVersion(facts: LocalFacts, c: QueriedCluster): string | null {
  const g = facts.groups.find((x) => x.clusters.includes(c));
  const id = g?.alias ? facts.plan.aliases[g.alias] : facts.activeId;
  return facts.installed.find((r) => r.id === id)?.version ?? null;
}

function sameList(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
