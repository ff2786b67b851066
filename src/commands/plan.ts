import path from "node:path";
import type { Context } from "../context.js";
import type { Tool } from "../core/artifact.js";
import { describePlan, type Plan } from "../core/plan.js";

/** The plan in words, with paths shown the way the person would type them. */
export function planLines(ctx: Context, plan: Plan): string[] {
  const { layout, platform } = ctx;
  const show = platform.display;
  return describePlan(plan, {
    versionDir: (id) => show(path.join(layout.versionsDir, id)),
    bin: (name) => show(path.join(layout.binDir, platform.binName(name as Tool))),
    binDir: show(layout.binDir),
    file: show,
  }).map((l) => l.replace(/ (\/\S+|[A-Z]:\\\S+)/, (_m, p: string) => ` ${show(p)}`));
}

/**
 * The wizard's last step: show the plan, then Proceed / Customize / Cancel. Customize changes the
 * same options a flag would (the proxy, the names, PATH and config), and the plan is made again
 * from them, the new proxy asked first, before it is shown. Returns
 * false when the person cancelled.
 */
export async function confirmPlan(ctx: Context, plan: Plan, proxies: string[], replan: () => Promise<Plan>): Promise<boolean> {
  const { askPlan, askName, askYesNo, askProxy } = await import("../ui/wizard.js");
  const { opts, host } = ctx;
  for (;;) {
    const choice = await askPlan(host, ["tshup will:", ...planLines(ctx, plan).map((l) => `  - ${l}`)]);
    if (choice === "proceed") return true;
    if (choice === "cancel") {
      host.stdout.write("Cancelled; nothing was changed.\n");
      return false;
    }
    // One proxy can be changed here; several came from flags or a manifest, which say what they are.
    if (proxies.length === 1) {
      const proxy = await askProxy(host, proxies[0]);
      if (proxy !== proxies[0]) {
        opts.proxies = [proxy];
        proxies = [proxy];
      }
    }
    opts.user = await askName(host, "Teleport user name", opts.user ?? undefined);
    opts.login = await askName(host, "SSH login on the hosts", opts.login ?? opts.user ?? undefined);
    opts.modifyPath = await askYesNo(host, "Put tsh on PATH (shell startup files)?", opts.modifyPath);
    opts.seedConfig = await askYesNo(host, "Seed ~/.ssh/config and the tsh profile?", opts.seedConfig);
    for (const k of ["user", "login"]) opts.explicit.add(k);
    plan = await replan();
  }
}
