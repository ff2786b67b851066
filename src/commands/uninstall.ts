import fsp from "node:fs/promises";
import path from "node:path";
import { reportPaths, type Context } from "../context.js";
import { addStep } from "../core/report.js";
import { fsError } from "../core/errors.js";
import { tildify } from "../core/format.js";
import { acquireLock, lockTimeoutMs } from "../io/lock.js";
import { readState } from "../io/store.js";
import { exists, removeWithRetry } from "../io/fsx.js";
import { installedAndActive } from "./install.js";

/**
 * Removes exactly what tshup added: versions, bin, env scripts, rc blocks (files it created are
 * deleted, others get their earlier bytes back), the Windows Path entry, the ssh Include block and
 * tshup's ssh files. tsh's own ~/.tsh (profiles, keys) stays.
 */
export async function runUninstall(ctx: Context): Promise<number> {
  const { report, layout, platform, host, opts } = ctx;
  const dryRun = opts.dryRun;
  const show = (p: string) => tildify(p, host.home, host.platform === "win32" ? "\\" : "/");
  const { installed, active } = await installedAndActive(ctx);
  report.previous = active?.version ?? null;
  report.installed = installed.map((r) => r.version);
  report.paths = reportPaths(ctx);
  const rootExists = await exists(layout.root);
  const lock = rootExists && !dryRun ? await acquireLock(layout.lockPath, { pid: host.pid, timeoutMs: lockTimeoutMs(host, 60_000) }) : null;
  const verb = dryRun ? "would remove" : "removed";
  const status = dryRun ? "skipped" : "done";
  try {
    const state = await readState(layout);
    const pathOutcome = await platform.removeFromPath(layout, { dryRun, createdFiles: state.createdFiles });
    for (const e of pathOutcome.edits.filter((x) => x.action !== "unchanged")) {
      addStep(report, "path", status, `${dryRun ? "would restore" : e.action === "deleted" ? "deleted" : "restored"} ${show(e.file)}`);
    }
    for (const n of pathOutcome.notes) ctx.feedback.warn(n);

    const { removeTshupSshConfig } = await import("./config.js");
    for (const e of await removeTshupSshConfig(ctx, dryRun)) addStep(report, "ssh-config", status, `${dryRun ? "would restore" : e.action} ${show(e.file)}`);

    if (rootExists) {
      for (const r of installed) addStep(report, "versions", status, `${verb} tsh ${r.id}`);
      if (!dryRun) {
        for (const name of await fsp.readdir(layout.root)) {
          if (name === path.basename(layout.lockPath)) continue;
          const entry = path.join(layout.root, name);
          try {
            await removeWithRetry(entry, host.platform === "win32");
          } catch (err) {
            if (host.platform !== "win32") throw fsError(err, "remove", entry);
            // A running tsh.exe cannot be deleted, only renamed: park what is left in the temp dir.
            const parked = await parkInUse(entry, path.join(host.tmpdir, `tshup-leftover-${host.pid}`));
            if (parked === 0) throw fsError(err, "remove", entry);
            ctx.feedback.warn(`${parked} file(s) under ${entry} are in use (a tsh.exe still running?); moved them to ${path.join(host.tmpdir, `tshup-leftover-${host.pid}`)}: delete that once the program has ended`);
          }
        }
      }
      addStep(report, "root", status, `${verb} ${show(layout.root)}`);
    } else {
      addStep(report, "root", "skipped", `${show(layout.root)} does not exist`);
    }
  } finally {
    await lock?.release();
  }
  if (!dryRun && rootExists) await fsp.rmdir(layout.root).catch(() => {});
  report.version = dryRun ? report.previous : null;
  if (!opts.json && !opts.quiet) {
    for (const s of report.steps) host.stdout.write(`${s.detail}\n`);
    host.stdout.write(dryRun ? "(dry run: nothing was changed)\n" : `tshup removed; tsh's own files in ${show(ctx.teleportHome)} were kept\n`);
  }
  if (dryRun) {
    report.dry_run = true;
    report.would_change = report.steps.some((s) => !s.detail.includes("does not exist"));
    return report.would_change ? 3 : 0;
  }
  return 0;
}

/** Deletes what it can under `target` and renames each file it cannot into `parkDir`; returns how many it parked. */
async function parkInUse(target: string, parkDir: string): Promise<number> {
  let parked = 0;
  const stat = await fsp.lstat(target).catch(() => null);
  if (!stat) return 0;
  if (stat.isDirectory()) {
    for (const name of await fsp.readdir(target)) parked += await parkInUse(path.join(target, name), parkDir);
    await fsp.rmdir(target).catch(() => {});
    return parked;
  }
  try {
    await fsp.rm(target, { force: true });
    return 0;
  } catch {
    await fsp.mkdir(parkDir, { recursive: true });
    await fsp.rename(target, path.join(parkDir, `${Math.random().toString(36).slice(2, 10)}-${path.basename(target)}`));
    return 1;
  }
}
