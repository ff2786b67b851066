import type { Context } from "../context.js";
import { addStep, dryRunExit } from "../core/report.js";
import { usageError } from "../core/errors.js";
import { acquireLock, lockTimeoutMs } from "../io/lock.js";
import { readState, writeState } from "../io/store.js";
import { requireOwnRoot } from "../io/root.js";
import { installedAndActive } from "./facts.js";

/** Switches the active tsh to an installed version, offline. With --dry-run: exit 3 when it would switch. */
export async function runUse(ctx: Context): Promise<number> {
  const { report, layout, platform, host, opts } = ctx;
  const wanted = opts.positionals[0]!.replace(/^v(?=\d)/, "");
  const kind = await requireOwnRoot(layout, host, "use");
  if (kind === "absent" || kind === "empty") {
    throw usageError(`nothing is installed in ${layout.root}, so there is no tsh ${wanted} to use`, `install it first: tshup --proxy <your proxy> --version ${wanted}`);
  }
  // A dry run only reads, so it never waits for another run's lock.
  const lock = opts.dryRun ? null : await acquireLock(layout.lockPath, { host, timeoutMs: lockTimeoutMs(host, 60_000) });
  let wouldChange = false;
  try {
    const { installed, active } = await installedAndActive(ctx);
    report.previous = active?.version ?? null;
    report.version = report.previous;
    report.installed = installed.map((r) => r.version);
    const record = installed.find((r) => r.id === wanted) ?? installed.find((r) => r.version === wanted);
    if (!record) {
      throw usageError(
        `tsh ${wanted} is not installed`,
        installed.length ? `installed: ${installed.map((r) => r.id).join(", ")}; install others with tshup --version ${wanted}` : `install it with tshup --version ${wanted}`,
      );
    }
    const activates = record.id !== active?.id;
    const state = await readState(layout);
    // Pinned, so the next routine run (a timer) keeps this version until --version asks for another.
    const pins = state.settings.pin !== record.version;
    wouldChange = activates || pins;
    if (!activates) addStep(report, "activate", "skipped", `tsh ${record.version} is already active`);
    if (opts.dryRun) {
      if (activates) addStep(report, "plan", "skipped", `make tsh ${record.version} the active tsh${active ? ` (now ${active.version})` : ""}`);
      if (pins) addStep(report, "plan", "skipped", `keep tsh ${record.version} on later runs (a pin; tshup --version V lifts it)`);
    } else {
      // The pin is written before the switch: on a full disk its write fails with nothing changed,
      // where a switch made first would stand behind a run reported as failed.
      if (pins) await writeState(layout, { ...state, settings: { ...state.settings, pin: record.version } });
      if (activates) {
        try {
          // A switch changes the version, not which tools bin/ holds.
          await platform.activate(layout, record, await platform.linkedTools(layout));
        } catch (err) {
          if (pins) await writeState(layout, state).catch(() => {});
          throw err;
        }
        addStep(report, "activate", "done", `tsh ${record.version} is now the active tsh`);
        report.version = record.version;
      }
      if (pins) addStep(report, "pin", "done", `tsh ${record.version} stays active on later runs; tshup --version V lifts the pin`);
    }
  } finally {
    await lock?.release();
  }
  if (opts.dryRun) {
    if (!opts.json && !opts.quiet) host.stdout.write(`${report.steps.map((s) => s.detail).join("\n")}\n(dry run: nothing was changed)\n`);
    return dryRunExit(report, wouldChange);
  }
  if (!opts.json && !opts.quiet) host.stdout.write(`tsh ${report.version} is active\n`);
  return 0;
}
