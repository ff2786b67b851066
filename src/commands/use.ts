import type { Context } from "../context.js";
import { addStep } from "../core/report.js";
import { usageError } from "../core/errors.js";
import { acquireLock, lockTimeoutMs } from "../io/lock.js";
import { readState, writeState } from "../io/store.js";
import { requireOwnRoot } from "../io/root.js";
import { installedAndActive } from "./facts.js";

/** Switches the active tsh to an installed version, offline. */
export async function runUse(ctx: Context): Promise<number> {
  const { report, layout, platform, host, opts } = ctx;
  const wanted = opts.positionals[0]!.replace(/^v(?=\d)/, "");
  const kind = await requireOwnRoot(layout, host, "use");
  if (kind === "absent" || kind === "empty") {
    throw usageError(`nothing is installed in ${layout.root}, so there is no tsh ${wanted} to use`, `install it first: tshup --proxy <your proxy> --version ${wanted}`);
  }
  const lock = await acquireLock(layout.lockPath, { host, timeoutMs: lockTimeoutMs(host, 60_000) });
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
    if (record.id === active?.id) {
      addStep(report, "activate", "skipped", `tsh ${record.version} is already active`);
    } else {
      await platform.activate(layout, record);
      addStep(report, "activate", "done", `tsh ${record.version} is now the active tsh`);
    }
    report.version = record.version;
    // Pinned, so the next routine run (a timer) keeps this version until --version asks for another.
    const state = await readState(layout);
    if (state.settings.pin !== record.version) {
      state.settings = { ...state.settings, pin: record.version };
      await writeState(layout, state);
      addStep(report, "pin", "done", `tsh ${record.version} stays active on later runs; tshup --version V lifts the pin`);
    }
  } finally {
    await lock.release();
  }
  if (!opts.json && !opts.quiet) host.stdout.write(`tsh ${report.version} is active\n`);
  return 0;
}
