import type { Host } from "./host.js";
import { VERSION, COMMIT } from "./build-info.js";
import { EXIT_CODES, TshupError } from "./core/errors.js";
import { newReport, type Report } from "./core/report.js";
import { printable } from "./core/format.js";
import { runAbortCleanups } from "./io/abort.js";
import { COMMAND_NAMES, commandSpec } from "./commandline.js";
import { parseOptions, type Options } from "./options.js";

/** argv -> command -> exit code: the only place that turns errors into exit codes and output. */
export async function main(argv: string[], host: Host): Promise<number> {
  let opts: Options | null = null;
  // Where to record how this run ended: set once an install that may change something has a root.
  let recordIn: import("./core/layout.js").Layout | null = null;
  // Until the flags are parsed, the command is the first word that names one.
  let report: Report = newReport(argv.find((a) => (COMMAND_NAMES as string[]).includes(a)) ?? "install");
  const wantsJson = argv.includes("--json");
  // A signal mid-run still gives one JSON document, and the lock and staged files are released.
  const stopListening = host.onSignal((signal) => {
    runAbortCleanups();
    report.ok = false;
    report.error = { code: "system", message: `interrupted by ${signal}; the previous tsh is still in place`, hint: "run tshup again to finish; a download resumes where it stopped" };
    report.steps.push({ step: "interrupted", status: "failed", detail: signal });
    host.stderr.write(`\ntshup: interrupted by ${signal}\n`);
    host.exitNow(signal === "SIGINT" ? 130 : 143, (opts?.json ?? wantsJson) ? `${JSON.stringify(report, null, 2)}\n` : "");
  });
  try {
    opts = parseOptions(argv);
    if (opts.showVersion) {
      host.stdout.write(opts.json ? `${JSON.stringify({ version: VERSION, commit: COMMIT }, null, 2)}\n` : `tshup ${VERSION} (${COMMIT})\n`);
      return 0;
    }
    if (opts.help) {
      const { helpPage } = await import("./ui/help.js");
      host.stdout.write(helpPage(opts.help, opts.command));
      return 0;
    }
    const { createContext } = await import("./context.js");
    const ctx = await createContext(host, opts);
    report = ctx.report;
    if (opts.command === "install" || opts.command === "status" || opts.command === "doctor") {
      // Remembered settings first, so that the manifest (read next) still overrides them.
      const { applyRemembered } = await import("./commands/settings.js");
      const { readState } = await import("./io/store.js");
      ctx.remembered = await readState(ctx.layout);
      applyRemembered(opts, ctx.remembered.settings);
      ctx.usePin = opts.explicit.has("version") ? null : opts.version;
    }
    // A command reads the site manifest only when it takes --manifest: the others have no use for it.
    if (commandSpec(opts.command).flags.includes("manifest")) {
      const { loadManifest, applyManifest } = await import("./commands/config.js");
      ctx.site = await loadManifest(ctx);
      if (ctx.site) applyManifest(ctx, ctx.site);
      if (ctx.usePin !== opts.version) ctx.usePin = null;
    }
    if (opts.command === "install" && !opts.dryRun) recordIn = ctx.layout;
    const code = await dispatch(ctx);
    if (opts.json) host.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    await recordRun(recordIn, report, code, host);
    return code;
  } catch (err) {
    if ((err as Error)?.name === "Cancelled") {
      // Ctrl-C in the wizard: nothing was written yet.
      host.stdout.write("\nCancelled; nothing was changed.\n");
      return 130;
    }
    const code = reportFailure(host, err, report, opts?.json ?? wantsJson, opts?.verbose ?? argv.includes("--verbose"));
    await recordRun(recordIn, report, code, host);
    return code;
  } finally {
    stopListening();
  }
}

async function recordRun(layout: import("./core/layout.js").Layout | null, report: Report, code: number, host: Host): Promise<void> {
  if (!layout) return;
  const { recordLastRun } = await import("./io/store.js");
  await recordLastRun(layout, host, {
    at: new Date(host.now()).toISOString(),
    command: report.command,
    ok: code === 0,
    exit_code: code,
    changed: report.changed,
    version: report.version,
    error: report.error ? { code: report.error.code, message: report.error.message } : null,
  });
}

async function dispatch(ctx: import("./context.js").Context): Promise<number> {
  switch (ctx.opts.command) {
    case "install":
      return (await import("./commands/install.js")).runInstall(ctx);
    case "status":
      return (await import("./commands/status.js")).runStatus(ctx);
    case "list":
      return (await import("./commands/list.js")).runList(ctx);
    case "use":
      return (await import("./commands/use.js")).runUse(ctx);
    case "uninstall":
      return (await import("./commands/uninstall.js")).runUninstall(ctx);
    case "doctor":
      return (await import("./commands/doctor.js")).runDoctor(ctx);
    case "mirror":
      return (await import("./commands/mirror.js")).runMirror(ctx);
    case "completions":
      return (await import("./commands/completions.js")).runCompletions(ctx);
    case "self install":
    case "self update":
      return (await import("./commands/self.js")).runSelf(ctx);
  }
}

function reportFailure(host: Host, err: unknown, report: Report, json: boolean, verbose: boolean): number {
  const known = err instanceof TshupError;
  const code = known ? err.code : "internal";
  // Messages may carry what a server sent: never let it reach the terminal raw, nor at any length.
  const message = printable(known ? err.message : `internal error: ${(err as Error)?.message ?? String(err)}`, 1000);
  const hint = printable(known ? err.hint : "this is a bug in tshup; please report it with the output of the same command run with --verbose", 1000);
  report.ok = false;
  report.error = { code, message, hint };
  const failedStep = report.steps.find((s) => s.status === "failed");
  if (!failedStep) report.steps.push({ step: "error", status: "failed", detail: message });
  host.stderr.write(`tshup: error: ${message}\n`);
  if (hint) host.stderr.write(`  hint: ${hint}\n`);
  // A known failure is explained by its message and hint; a stack is for reporting a bug.
  if (verbose && !known && err instanceof Error && err.stack) host.stderr.write(`${err.stack}\n`);
  if (json) host.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return EXIT_CODES[code];
}
