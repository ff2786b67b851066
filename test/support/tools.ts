import { spawnSync } from "node:child_process";

/**
 * Returns the absolute path of a system program the tests need, or throws naming the apt-get command
 * that installs it: a missing tool is a failure, never a silent skip.
 */
export function requireTool(program: string, aptPackage: string): string {
  const r = spawnSync("sh", ["-c", `command -v ${program}`], { encoding: "utf8" });
  const found = r.stdout.trim();
  if (r.status !== 0 || !found) {
    throw new Error(`${program} is not installed; install it with: apt-get install -y ${aptPackage}`);
  }
  return found;
}
