import type { Context } from "../context.js";
import type { Shell } from "../commandline.js";

/** Prints the completion script for the shell named (the parser has checked the name). */
export async function runCompletions(ctx: Context): Promise<number> {
  const { completionScript } = await import("../ui/completions.js");
  ctx.host.stdout.write(completionScript(ctx.opts.positionals[0] as Shell));
  return 0;
}
