import fsp from "node:fs/promises";
import path from "node:path";
import { reportPaths, type Context } from "../context.js";
import { canPrompt } from "../host.js";
import { addStep, dryRunExit } from "../core/report.js";
import { usageError } from "../core/errors.js";
import { acquireLock, lockTimeoutMs } from "../io/lock.js";
import { readState } from "../io/store.js";
import { requireOwnRoot, rootInventory, type RootEntry } from "../io/root.js";
import { ROOT_MARKER } from "../core/layout.js";
import { installedAndActive } from "./facts.js";
import { selfDirIsOwn, selfWorkFiles } from "../core/self.js";

/**
 * Removes exactly what tshup added: versions, bin entries, env scripts, state, its work areas, rc
 * blocks (files it created are deleted, others get their earlier bytes back), the Windows Path
 * entry, the ssh Include block, tshup's ssh files and backups. Anything else in the root stays, with
 * a warning; a root without tshup's marker is refused before anything is touched. tsh's own ~/.tsh
 * (profiles, keys) stays.
 */
export async function runUninstall(ctx: Context): Promise<number> {
  const { report, layout, platform, host, opts } = ctx;
  const show = ctx.platform.display;
  const kind = await requireOwnRoot(layout, host, "uninstall");
  const { installed, active } = await installedAndActive(ctx);
  report.previous = active?.version ?? null;
  report.installed = installed.map((r) => r.version);
  report.paths = reportPaths(ctx);
  const rootExists = kind !== "absent";

  // The plan first, from dry runs of every part: the question, --dry-run and the real run agree.
  const state = await readState(layout);
  const pathPlan = await platform.removeFromPath(layout, { dryRun: true, createdFiles: state.createdFiles });
  const { removeTshupSshConfig } = await import("./config.js");
  const sshPlan = await removeTshupSshConfig(ctx, true, false);
  const inventory = rootExists ? await rootInventory(layout) : [];
  const foreign = inventory.filter((e) => !e.ours);
  // A root that keeps what tshup did not make keeps its marker too, so that the next uninstall (or
  // install) still knows it for tshup's instead of refusing it as a stranger's.
  const markerPath = path.join(layout.root, ROOT_MARKER);
  const ours = inventory.filter((e) => e.ours && !(foreign.length > 0 && e.path === markerPath));
  const keepSteps = () => {
    for (const e of foreign) addStep(report, "keep", "skipped", `keep ${show(e.path)} (not made by tshup)`);
  };
  const { selfCopyInventory, withSelfLock } = await import("./self.js");
  const self = await selfCopyInventory(ctx);
  const planned = [
    ...pathPlan.edits.filter((e) => e.action !== "unchanged").map((e) => `${e.action === "deleted" ? "delete" : "restore"} ${show(e.file)}`),
    ...sshPlan.map((e) => `${e.action === "removed" ? "delete" : "restore"} ${show(e.file)}`),
    ...ours.filter((e) => !isContainer(e, layout)).map((e) => `delete ${show(e.path)}`),
    ...self.remove.map((f) => `delete ${show(f)}`),
  ];
  if (rootExists && foreign.length === 0) planned.push(`delete ${show(layout.root)}`);

  if (opts.dryRun) {
    for (const line of planned) addStep(report, "plan", "skipped", line);
    keepSteps();
    if (self.foreign) addStep(report, "keep", "skipped", `keep ${show(self.foreign)}`);
    report.version = report.previous;
    if (!opts.json && !opts.quiet) {
      for (const s of report.steps) host.stdout.write(`${s.detail}\n`);
      host.stdout.write("(dry run: nothing was changed)\n");
    }
    return dryRunExit(report, planned.length > 0);
  }
  if (self.foreign) ctx.feedback.warn(`keeping ${show(self.foreign)}: tshup removes only its own executable there`);
  if (planned.length === 0) {
    const why = rootExists ? `${show(layout.root)} holds only what tshup did not make` : `${show(layout.root)} does not exist`;
    addStep(report, "root", "skipped", `nothing of tshup's to remove (${why})`);
    keepSteps();
    if (!opts.json && !opts.quiet) {
      host.stdout.write(rootExists ? `Nothing to remove: nothing of tshup's is left in ${show(layout.root)}; it keeps ${foreign.map((e) => show(e.path)).join(", ")}, which tshup did not make\n` : `Nothing to remove: tshup is not installed in ${show(layout.root)}\n`);
    }
    return 0;
  }
  if (!opts.yes && !canPrompt(host, opts)) {
    // Removing is the one thing tshup never does unasked: a script says --yes; `| tee log` at a
    // terminal, CI or --json alone are not a yes.
    throw usageError(
      `uninstall would remove ${planned.length} thing${planned.length === 1 ? "" : "s"} and this run cannot ask you first`,
      "pass --yes to remove them without asking (tshup uninstall --dry-run lists them); at a terminal, tshup asks only when its output is the terminal too",
    );
  }
  if (canPrompt(host, opts)) {
    host.stdout.write(`tshup uninstall will:\n${planned.map((l) => `  ${l}\n`).join("")}`);
    const kept = [...foreign.map((e) => show(e.path)), ...(self.foreign ? [show(self.foreign)] : [])];
    if (kept.length > 0) host.stdout.write(`and keep what tshup did not make:\n${kept.map((k) => `  ${k}\n`).join("")}`);
    const { askYesNo } = await import("../ui/wizard.js");
    if (!(await askYesNo(host, "Remove these?", false))) {
      host.stdout.write("Nothing was changed.\n");
      return 0;
    }
  }

  const lock = rootExists ? await acquireLock(layout.lockPath, { host, timeoutMs: lockTimeoutMs(host, 60_000) }) : null;
  try {
    const pathOutcome = await platform.removeFromPath(layout, { dryRun: false, createdFiles: state.createdFiles });
    for (const e of pathOutcome.edits.filter((x) => x.action !== "unchanged")) {
      addStep(report, "path", "done", `${e.action === "deleted" ? "deleted" : "restored"} ${show(e.file)}`);
    }
    for (const n of pathOutcome.notes) ctx.feedback.warn(n);
    for (const e of await removeTshupSshConfig(ctx, false, true)) addStep(report, "ssh-config", "done", `${e.action} ${show(e.file)}`);
    for (const r of installed) addStep(report, "versions", "done", `removed tsh ${r.id}`);
    for (const e of ours) {
      if (e.path === layout.lockPath) continue;
      await removeEntry(ctx, e, layout);
    }
    for (const e of foreign) ctx.feedback.warn(`kept ${show(e.path)}: tshup did not make it`);
  } finally {
    await lock?.release();
  }
  // Its own installed copy (self install), under the lock self update takes, so neither races.
  if (self.remove.length > 0) {
    await withSelfLock(ctx, self.exe, async () => {
      for (const f of self.remove.filter((x) => x !== selfWorkFiles(self.exe, host).lock)) await removeEntry(ctx, { path: f, ours: true }, layout);
    });
    if (selfDirIsOwn(host)) await fsp.rmdir(path.dirname(self.exe)).catch(() => {});
    addStep(report, "self", "done", `removed ${show(self.exe)}`);
  }
  if (rootExists) {
    const left = await fsp.rmdir(layout.root).then(
      () => false,
      () => true,
    );
    addStep(report, "root", "done", left ? `removed tshup's files from ${show(layout.root)} (kept what it did not make)` : `removed ${show(layout.root)}`);
  }
  report.version = null;
  if (!opts.json && !opts.quiet) {
    for (const s of report.steps) host.stdout.write(`${s.detail}\n`);
    host.stdout.write(`tshup removed; tsh's own files in ${show(ctx.teleportHome)} were kept\n`);
  }
  return 0;
}

/** bin/ and versions/ go only once emptied of what tshup made in them. */
function isContainer(e: RootEntry, layout: Context["layout"]): boolean {
  return e.path === layout.binDir || e.path === layout.versionsDir;
}

async function removeEntry(ctx: Context, e: RootEntry, layout: Context["layout"]): Promise<void> {
  if (isContainer(e, layout)) {
    await fsp.rmdir(e.path).catch(() => {});
    return;
  }
  const parked = await ctx.platform.removeOwned(e.path);
  if (parked) {
    ctx.feedback.warn(`${parked.count} file(s) under ${e.path} are in use (a tsh.exe still running?); moved them to ${parked.parkedIn}: delete that once the program has ended`);
  }
}

