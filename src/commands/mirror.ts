import type { Context } from "../context.js";
import { usageError } from "../core/errors.js";

export async function runMirror(_ctx: Context): Promise<number> {
  throw usageError("tshup mirror is not available yet", "");
}
