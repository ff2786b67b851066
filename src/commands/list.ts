import type { Context } from "../context.js";
import { installedAndActive } from "./facts.js";

export async function runList(ctx: Context): Promise<number> {
  const { report, host, opts } = ctx;
  const { installed, active } = await installedAndActive(ctx);
  report.version = active?.version ?? null;
  report.previous = report.version;
  report.installed = installed.map((r) => r.version);
  report.versions = installed.map((r) => ({ id: r.id, version: r.version, edition: r.edition, fips: r.fips, active: r.id === active?.id, tools: Object.keys(r.tools), installed_at: r.installedAt }));
  if (!opts.json && !opts.quiet) {
    if (installed.length === 0) host.stdout.write("no tsh installed by tshup yet; run tshup --proxy <your proxy>\n");
    for (const r of installed) host.stdout.write(`${r.id === active?.id ? "*" : " "} ${r.id}\n`);
  }
  return 0;
}
