import type { Context } from "../context.js";
import type { ClusterInfo } from "../core/ping.js";
import { pathFor } from "../core/layout.js";
import { changeHeadline, type Plan } from "../core/plan.js";
import { loginCommand, manifestClusterFor } from "../commands/config.js";

/** The few lines a person reads at the end: what happened, where tsh is, and what to type next. */
export async function printSummary(ctx: Context, clusters: ClusterInfo[], plan: Plan): Promise<void> {
  const { report, opts, host, layout, platform } = ctx;
  if (opts.json || opts.quiet) return;
  const out = (s = "") => host.stdout.write(`${s}\n`);
  const color = ctx.feedback.color;
  const ok = color ? "\x1b[32m✔\x1b[0m" : "✔";
  if (report.dry_run) {
    out("Plan (dry run, nothing changed):");
    for (const s of report.steps) out(`  - ${s.detail}`);
    out(report.would_change ? "Run without --dry-run to apply." : "Nothing to do.");
    return;
  }
  if (!report.changed) {
    out(`${ok} tsh ${report.version} is up to date (${clusters.map((c) => `${c.cluster || c.proxy} runs ${c.serverVersion}`).join(", ")})`);
    return;
  }
  out(`${ok} ${changeHeadline(plan, report.previous)}`);
  const show = platform.display;
  out(`  tsh:  ${show(report.paths?.tsh ?? "")}`);
  const pathStep = report.steps.find((s) => s.step === "path");
  if (!opts.modifyPath) {
    out("  PATH: left alone (--no-modify-path). To use tsh, add this yourself:");
    for (const line of platform.pathInstructions(layout).split("\n")) out(`    ${line}`);
  } else if (pathStep?.status === "done") {
    const files = ((report.path_files as { file: string; action: string }[] | undefined) ?? [])
      .filter((e) => e.action !== "unchanged" && pathFor(host).dirname(e.file) !== layout.root)
      .map((e) => `${show(e.file)} (${e.action})`);
    out(`  PATH: ${show(layout.binDir)} added${files.length ? ` via ${files.join(", ")}` : ""}`);
    out(`        new terminals find tsh; in this one run: ${platform.currentShellHint(layout)}`);
  }
  const sshEdits = ((report.ssh_files as { file: string; action: string }[] | undefined) ?? []).filter((e) => e.action !== "unchanged");
  if (sshEdits.length > 0) {
    out(`  ssh:  ${sshEdits.map((e) => `${show(e.file)} (${e.action})`).join(", ")}`);
  }
  const first = clusters[0];
  if (first) {
    out("");
    out("Next:");
    out(`  ${await loginCommand(ctx, first)}`);
    const example = exampleHost(ctx, first);
    if (example) out(`  ssh ${example}`);
  }
}

/** A host name the seeded ssh config covers, made from the first host pattern. */
function exampleHost(ctx: Context, c: ClusterInfo): string | null {
  // Only when ssh config was seeded (it needs a known Teleport user).
  if (!ctx.opts.seedConfig || ctx.report.ssh_files === undefined) return null;
  const site = manifestClusterFor(ctx.site, c);
  const pattern = site?.ssh?.hosts?.find((h) => !h.startsWith("!")) ?? `*.${c.cluster || c.proxy.replace(/:\d+$/, "")}`;
  return pattern.replace(/\*/g, "node").replace(/\?/g, "1");
}
