/**
 * The plan of an install, as a value: what tshup will change, decided once from the facts a run
 * gathered. `--dry-run`, the wizard's "tshup will:", `status` and the JSON report show this value,
 * and the install carries out exactly this value, so what tshup says it will do is what it does.
 */
import type { ExtraTool, Tool } from "./artifact.js";
import { compareVersions } from "./version.js";

/** One tsh the plan needs, and the clusters it serves; `alias` is tsh-<cluster> for all but the first. */
export interface PlannedGroup {
  id: string;
  version: string;
  clusters: string[];
  alias: string | null;
}

export interface PlanFacts {
  groups: PlannedGroup[];
  /** Complete versions, newest first, and whether each holds every tool asked for. */
  installed: { id: string; version: string; hasTools: boolean }[];
  active: { id: string; version: string } | null;
  /** The tools asked for, and those with an entry in bin/ now. */
  tools: { wanted: readonly Tool[]; linked: readonly Tool[] };
  /** Where each alias tshup made points now (null: gone), and which aliases state.json lists. */
  aliases: Record<string, string | null>;
  rememberedAliases: string[];
  /** The PATH edits a dry run found (only the files that change), or null with --no-modify-path. */
  path: { file: string; action: string }[] | null;
  /** The ssh and tsh config changes a dry run found, or null with --no-config. */
  config: string[] | null;
  /** Remembered settings that this run changes (tools, per-cluster, the Teleport user...). */
  settings: string[];
  /** The root was made by an earlier release and gets tshup's marker now. */
  adopt: boolean;
  keep: number;
  force: boolean;
}

export interface Plan {
  groups: PlannedGroup[];
  /** Versions to download, verify and install (already there: not listed, unless --force). */
  install: PlannedGroup[];
  activate: { id: string; version: string; from: string | null } | null;
  /** Tools besides tsh to put in bin/ or take out of it, as --tools widened or narrowed. */
  tools: { link: ExtraTool[]; remove: ExtraTool[] };
  aliases: { link: { name: string; id: string; version: string }[]; remove: string[] };
  path: { file: string; action: string }[] | null;
  config: string[] | null;
  /** Version ids moved out, beyond --keep; the versions in use are never among them. */
  prune: string[];
  settings: string[];
  adopt: boolean;
}

export function makePlan(f: PlanFacts): Plan {
  const have = (g: PlannedGroup) => f.installed.some((r) => r.id === g.id && r.hasTools);
  const install = f.groups.filter((g) => f.force || !have(g));
  const primary = f.groups[0]!;
  const activate = f.force || f.active?.id !== primary.id ? { id: primary.id, version: primary.version, from: f.active?.version ?? null } : null;
  const wanted = f.groups.filter((g) => g.alias !== null);
  const link = wanted.filter((g) => f.aliases[g.alias!] !== g.id).map((g) => ({ name: g.alias!, id: g.id, version: g.version }));
  const remove = f.rememberedAliases.filter((a) => !wanted.some((g) => g.alias === a) && f.aliases[a] !== null);
  const after = [...f.installed.map((r) => ({ id: r.id, version: r.version })), ...install.filter((g) => !f.installed.some((r) => r.id === g.id))];
  const others = (list: readonly Tool[]) => list.filter((t): t is ExtraTool => t !== "tsh");
  const tools = {
    link: others(f.tools.wanted).filter((t) => !f.tools.linked.includes(t)),
    remove: others(f.tools.linked).filter((t) => !f.tools.wanted.includes(t)),
  };
  return {
    groups: f.groups,
    install,
    activate,
    tools,
    aliases: { link, remove },
    path: f.path,
    config: f.config,
    prune: versionsToPrune(after, f.keep, f.groups.map((g) => g.id)),
    settings: f.settings,
    adopt: f.adopt,
  };
}

/**
 * The versions --keep N removes: all but the N newest, never one in use. `installed` in any order;
 * the order is tshup's one ranking of versions (newest first, then by id).
 */
export function versionsToPrune(installed: { id: string; version: string }[], keep: number, inUse: string[]): string[] {
  const ranked = [...installed].sort(compareNewestFirst);
  const kept = new Set([...ranked.slice(0, Math.max(keep, 1)).map((r) => r.id), ...inUse]);
  return ranked.filter((r) => !kept.has(r.id)).map((r) => r.id);
}

/** tshup's one ranking of installed versions: newest first, then by id. */
export function compareNewestFirst(a: { id: string; version: string }, b: { id: string; version: string }): number {
  return compareVersions(b.version, a.version) || a.id.localeCompare(b.id);
}

/** Whether the plan changes which tsh serves a cluster: an install, the switch, an alias. What status judges. */
export function changesTsh(p: Plan): boolean {
  return p.install.length > 0 || p.activate !== null || p.aliases.link.length > 0 || p.aliases.remove.length > 0;
}

/** Whether the plan puts a tool besides tsh in bin/ or takes one out. */
export function changesTools(p: Plan): boolean {
  return p.tools.link.length > 0 || p.tools.remove.length > 0;
}

/** Whether carrying out the plan would change anything: a dry run's exit 3 exactly when it would. */
export function planChanges(p: Plan): boolean {
  return (
    changesTsh(p) ||
    changesTools(p) ||
    (p.path?.length ?? 0) > 0 ||
    (p.config?.length ?? 0) > 0 ||
    p.prune.length > 0 ||
    p.settings.length > 0 ||
    p.adopt
  );
}

/**
 * What a run that carried out the plan did to tsh, in the summary's first line: a download, a
 * switch, or only the entries around it (the tools in bin/, the aliases, PATH and config).
 */
export function changeHeadline(p: Plan, previous: string | null): string {
  const primary = p.groups[0]!;
  const fetched = p.install.includes(primary);
  const around = [
    ...p.tools.link.map((t) => `${t} put in bin`),
    ...p.tools.remove.map((t) => `${t} taken out of bin`),
    ...p.install.filter((g) => g !== primary).map((g) => `tsh ${g.version} installed for ${g.alias}`),
    ...p.aliases.link.filter((a) => !p.install.some((g) => g.alias === a.name)).map((a) => `${a.name} now runs tsh ${a.version}`),
    ...p.aliases.remove.map((a) => `${a} removed`),
  ];
  const what =
    previous === null
      ? "installed"
      : p.activate && previous !== primary.version
        ? `${fetched ? "installed" : "active again"} (was ${previous})`
        : fetched || p.activate
          ? "reinstalled"
          : "kept";
  const rest = around.length ? around.join(", ") : what === "kept" ? "its setup brought up to date" : "";
  return `tsh ${primary.version} ${what}${rest ? `; ${rest}` : ""}`;
}

/** What status says a run of tshup would do, when it would not change the active version. */
export function pendingWork(p: Plan): string {
  const primary = p.groups[0]!;
  const work = [
    ...(p.install.includes(primary) ? [`install tsh ${primary.version} again (a tool asked for is missing from it)`] : []),
    ...(p.activate ? [`make tsh ${p.activate.version} active again`] : []),
    ...(changesTools(p) ? ["update the tools in bin"] : []),
    ...p.install.filter((g) => g !== primary).map((g) => `install tsh ${g.version} for ${g.alias}`),
    ...(p.aliases.link.length > 0 || p.aliases.remove.length > 0 ? ["update aliases"] : []),
  ];
  return work.join(", ");
}

/** The plan in words, one line per change (and what stays), for the wizard, --dry-run and the report. */
export function describePlan(p: Plan, where: { versionDir: (id: string) => string; bin: (name: string) => string; binDir: string; file: (f: string) => string }): string[] {
  const lines: string[] = [];
  for (const g of p.groups) {
    const serves = g.clusters.join(", ");
    lines.push(p.install.includes(g) ? `install tsh ${g.version} (${serves}) into ${where.versionDir(g.id)}` : `tsh ${g.version} is already installed (${serves})`);
  }
  if (p.activate) lines.push(`make tsh ${p.activate.version} the active tsh: ${where.bin("tsh")}${p.activate.from ? ` (now ${p.activate.from})` : ""}`);
  for (const t of p.tools.link) lines.push(`put ${t} in ${where.bin(t)}`);
  for (const t of p.tools.remove) lines.push(`remove ${where.bin(t)} (${t} is no longer asked for)`);
  for (const a of p.aliases.link) lines.push(`run tsh ${a.version} as ${where.bin(a.name)}`);
  for (const a of p.aliases.remove) lines.push(`remove ${where.bin(a)} (no cluster needs it now)`);
  if (p.path === null) lines.push("leave PATH alone, as asked");
  else lines.push(p.path.length ? `put ${where.binDir} on PATH: ${p.path.map((e) => `${where.file(e.file)} (${e.action})`).join(", ")}` : `${where.binDir} is already on PATH`);
  if (p.config === null) lines.push("leave ssh and tsh config alone, as asked");
  else lines.push(...(p.config.length ? p.config : ["ssh and tsh config already seeded"]));
  for (const id of p.prune) lines.push(`remove tsh ${id} (beyond --keep)`);
  for (const s of p.settings) lines.push(`remember ${s}`);
  if (p.adopt) lines.push("mark the root as tshup's (an earlier release made it, without the marker)");
  return lines;
}
