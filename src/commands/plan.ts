import path from "node:path";
import type { Context } from "../context.js";
import { tildify } from "../core/format.js";
import { seedConfig } from "./config.js";
import type { QueriedCluster } from "./clusters.js";
import { hasTools, tshPathFor, type Group, type Installed } from "./install.js";

/** What an install would do, computed by running every step as a dry run. */
export async function describePlan(ctx: Context, clusters: QueriedCluster[], groups: Group[], before: Installed): Promise<{ lines: string[]; wouldChange: boolean }> {
  const { opts, layout, platform, host } = ctx;
  const show = (p: string) => tildify(p, host.home, host.platform === "win32" ? "\\" : "/");
  const lines: string[] = [];
  let install = false;
  for (const g of groups) {
    const have = before.installed.find((r) => r.id === g.target.id && hasTools(r, opts.tools));
    const clusterText = g.clusters.map((c) => `${c.cluster || c.proxy} runs ${c.serverVersion}`).join(", ");
    const needed = !have || opts.force;
    install ||= needed;
    lines.push(needed ? `install tsh ${g.target.version} (${clusterText}) into ${show(path.join(layout.versionsDir, g.target.id))}` : `tsh ${g.target.version} is already installed (${clusterText})`);
    if (g.alias) lines.push(`run it as ${show(path.join(layout.binDir, platform.binName(g.alias as "tsh")))}`);
  }
  const target = groups[0]!.target;
  const activate = before.activeId !== target.id || opts.force;
  if (activate) lines.push(`make tsh ${target.version} the active tsh: ${show(path.join(layout.binDir, platform.binName("tsh")))}${before.active ? ` (now ${before.active.version})` : ""}`);
  let pathChange = false;
  if (opts.modifyPath) {
    const outcome = await platform.addToPath(layout, { dryRun: true });
    pathChange = outcome.changed;
    const files = outcome.edits.filter((e) => e.action !== "unchanged").map((e) => `${show(e.file)} (${e.action})`);
    lines.push(pathChange ? `put ${show(layout.binDir)} on PATH: ${files.join(", ")}` : `${show(layout.binDir)} is already on PATH`);
  } else {
    lines.push("leave PATH alone (--no-modify-path)");
  }
  let configChange = false;
  if (opts.seedConfig) {
    const config = await seedConfig(ctx, clusters, (c) => tshPathFor(ctx, groups, c), { dryRun: true });
    configChange = config.changed;
    lines.push(...(config.lines.length ? config.lines.map((l) => l.replace(/ (\/\S+|[A-Z]:\\\S+)/, (_m, p: string) => ` ${show(p)}`)) : ["ssh and tsh config already seeded"]));
  } else {
    lines.push("leave ssh and tsh config alone (--no-config)");
  }
  return { lines, wouldChange: install || activate || pathChange || configChange };
}

/**
 * The wizard's last step: show the plan, then Proceed / Customize / Cancel. Customize changes the
 * same options a flag would and shows the plan again. Returns false when the person cancelled.
 */
export async function confirmPlan(ctx: Context, clusters: QueriedCluster[], groups: Group[], before: Installed): Promise<boolean> {
  const { askPlan, askName, askYesNo } = await import("../ui/wizard.js");
  const { opts, host } = ctx;
  for (;;) {
    const plan = await describePlan(ctx, clusters, groups, before);
    const choice = await askPlan(host, ["tshup will:", ...plan.lines.map((l) => `  - ${l}`)]);
    if (choice === "proceed") return true;
    if (choice === "cancel") {
      host.stdout.write("Cancelled; nothing was changed.\n");
      return false;
    }
    opts.user = await askName(host, "Teleport user name", opts.user ?? undefined);
    opts.login = await askName(host, "SSH login on the hosts", opts.login ?? opts.user ?? undefined);
    opts.modifyPath = await askYesNo(host, "Put tsh on PATH (shell startup files)?", opts.modifyPath);
    opts.seedConfig = await askYesNo(host, "Seed ~/.ssh/config and the tsh profile?", opts.seedConfig);
  }
}
